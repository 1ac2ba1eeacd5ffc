#pragma once
// Small OpenSSL wrappers used across vigil: hashes, HMAC, hex, random bytes.
// All functions are thread-safe and never throw on bad input.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::common {

/// Raw 32-byte SHA-256 digest.
[[nodiscard]] std::string sha256(std::string_view data);
/// Lower-case hex SHA-256 digest.
[[nodiscard]] std::string sha256_hex(std::string_view data);
/// Raw 32-byte HMAC-SHA256.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view data);
/// X-Vigil-Signature value of webhooks (pages and plan `webhook` steps):
/// "sha256=" hex HMAC-SHA256(secret, timestamp "." body).
[[nodiscard]] std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body);
[[nodiscard]] std::string to_hex(std::string_view bytes);
/// Comparison whose time does not depend on where the inputs differ.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);
/// Cryptographically random bytes (RAND_bytes), hex encoded: ids, nonces.
[[nodiscard]] std::string random_hex(std::size_t bytes);

}  // namespace vigil::common
