#pragma once
// Canonical JSON for content hashes: object keys sorted (bytewise), no
// whitespace, strings escaped as nlohmann::json dumps them (UTF-8 kept),
// integers as integers. Floating-point numbers are refused (they have no
// single canonical spelling): hash inputs carry integers (milliseconds).

#include <nlohmann/json.hpp>
#include <string>

namespace vigil::decision {

/// Throws std::invalid_argument on a floating-point number anywhere in `j`.
[[nodiscard]] std::string canonical_json(const nlohmann::json& j);
/// hex SHA-256 of canonical_json(j).
[[nodiscard]] std::string canonical_hash(const nlohmann::json& j);

}  // namespace vigil::decision
