#pragma once
// base64url (RFC 4648 section 5) without padding: PASETO tokens and the etcd
// v3 JSON gateway (which carries keys and values as base64) use it.

#include <optional>
#include <string>
#include <string_view>

namespace vigil::common {

/// RFC 4648 section 5 without padding.
[[nodiscard]] std::string base64url_encode(std::string_view data);
/// Strict: rejects padding, characters outside the alphabet, a length of 1
/// mod 4 and non-zero trailing bits (a non-canonical spelling).
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace vigil::common
