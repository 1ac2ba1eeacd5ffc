#pragma once
// PASETO v4.public (https://github.com/paseto-standard/paseto-spec), the only
// version and purpose vigil accepts.
//
//   token = "v4.public." base64url(message || sig64) [ "." base64url(footer) ]
//   sig64 = Ed25519(PAE("v4.public.", message, footer, implicit_assertion))
//
// Parsing is strict, so that one token has exactly one spelling: base64url
// without padding and with zero trailing bits, no empty footer segment, no
// extra segments, at most max_token_bytes in all. Anything else is rejected
// before a signature is computed. Other versions and purposes (v1..v3,
// v4.local) are reported as unsupported_version, distinct from garbage.
//
// These functions do not look at the message: claims are approval.hpp's job.
// They are pure apart from OpenSSL and safe to call from any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "approvals/keys.hpp"

namespace vigil::approvals {

inline constexpr std::string_view paseto_v4_public_header = "v4.public.";
inline constexpr std::size_t paseto_max_token_bytes = std::size_t{8} * 1024;
inline constexpr std::size_t paseto_signature_bytes = 64;

enum class paseto_error : std::uint8_t {
  bad_format,           ///< not a well-formed v4.public token
  unsupported_version,  ///< a PASETO of another version or purpose
  too_large,            ///< longer than paseto_max_token_bytes
  bad_signature,        ///< well-formed, but the key does not verify it
};
[[nodiscard]] std::string_view to_string(paseto_error e);

/// A syntactically valid v4.public token, not yet verified.
struct paseto_parts {
  std::string message;    ///< the signed payload (claims JSON for vigil)
  std::string signature;  ///< 64 bytes
  std::string footer;     ///< empty when absent
};

struct paseto_parse_result {
  std::optional<paseto_parts> parts;
  paseto_error error = paseto_error::bad_format;
  std::string detail;  ///< what exactly is wrong, for the operator
};

/// Splits and decodes a token. Never verifies.
[[nodiscard]] paseto_parse_result paseto_v4_parse(std::string_view token);

/// True iff `key` (public or private) verifies the parsed token.
[[nodiscard]] bool paseto_v4_verify(const ed25519_key& key, const paseto_parts& parts,
                                    std::string_view implicit_assertion = {});

/// Parse + verify with one key; on success parts holds the verified message.
[[nodiscard]] paseto_parse_result paseto_v4_verify(const ed25519_key& key, std::string_view token,
                                                   std::string_view implicit_assertion = {});

/// Signs `message`; throws std::invalid_argument for a public-only key or a
/// token that would exceed paseto_max_token_bytes.
[[nodiscard]] std::string paseto_v4_sign(const ed25519_key& key, std::string_view message, std::string_view footer = {},
                                         std::string_view implicit_assertion = {});

/// Pre-Authentication Encoding (PASETO spec section "PAE").
[[nodiscard]] std::string paseto_pae(std::span<const std::string_view> pieces);

}  // namespace vigil::approvals
