#pragma once
// AWS Signature Version 4, header form, for any service and region.
//
// Each stage is exposed so tests can check them one by one against AWS's
// published vectors and botocore:
//   canonical_request -> string_to_sign -> signing_key -> signature.
//
// Canonicalisation (docs/aws-notes.md, "SigV4 signing"):
// - URI: the wire path, dot segments removed and empty segments collapsed,
//   then URI-encoded once more ("double encoding") — except for S3, where the
//   path is used as sent.
// - Query: raw names and values are encoded FIRST, then sorted by encoded name,
//   then encoded value; a parameter without value is "name=".
// - Headers: names lowercased, values trimmed with inner whitespace runs
//   collapsed to one space, repeated headers joined with ',' in order, sorted
//   by name. user-agent, expect, transfer-encoding and x-amzn-trace-id are not
//   signed (as botocore), since proxies may rewrite them.
// - Payload: hex SHA-256 of the body (e3b0c442... for an empty body), or the
//   value of an x-amz-content-sha256 header when the request carries one.
//
// Thread safety: free functions are pure; clock_skew is safe to share.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "aws/error.hpp"
#include "aws/http.hpp"
#include "common/clock.hpp"

namespace vigil::aws {

/// An AWS identity's signing material. Never log it: use redacted().
struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;                    ///< empty for long-term keys
  std::optional<common::wall_time> expiration;  ///< nullopt: does not expire
  std::string source;                           ///< which provider produced it ("environment", ...)

  [[nodiscard]] bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
  /// "AKID…MPLE (environment, session, expires 2026-…)": safe to log.
  [[nodiscard]] std::string redacted() const;
};

struct signing_params {
  std::string service;   ///< signing name: "monitoring", "rds", "route53-recovery-cluster", ...
  std::string region;    ///< "us-east-1"
  common::wall_time at;  ///< signing time (already skew-corrected)
  bool s3 = false;       ///< S3 rules: no path normalisation or double encoding
  /// Add x-amz-content-sha256 (S3 requires it; optional elsewhere).
  bool content_sha256_header = false;
  /// Sign X-Amz-Security-Token (the default, as every SDK). When false it is
  /// added after signing (the suite's post-sts-header-after case).
  bool sign_security_token = true;
};

struct signing_result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       ///< lowercase hex
  std::string signed_headers;  ///< "host;x-amz-date"
  std::string authorization;   ///< full Authorization header value
};

[[nodiscard]] std::string sha256_hex(std::string_view data);
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);  ///< raw bytes
[[nodiscard]] std::string hex(std::string_view bytes);

[[nodiscard]] std::string canonical_uri(std::string_view wire_path, bool s3);
[[nodiscard]] std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& q);
/// Canonical header block (each line ends in '\n') and the signed-headers list.
struct canonical_header_block {
  std::string block;
  std::string signed_headers;
};
[[nodiscard]] canonical_header_block canonical_headers(const http_request& req);

/// Stage 1, over the request exactly as given (no headers added).
[[nodiscard]] std::string canonical_request(const http_request& req, bool s3 = false);
/// Stage 2.
[[nodiscard]] std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                                         std::string_view canonical_request);
/// Stage 3: the derived key ("AWS4"+secret -> date -> region -> service -> aws4_request).
[[nodiscard]] std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                                      std::string_view service);
/// Stage 4: lowercase hex HMAC of the string to sign.
[[nodiscard]] std::string signature(std::string_view key, std::string_view string_to_sign);

/// Signs in place: sets Host (if absent), X-Amz-Date, X-Amz-Security-Token
/// (session credentials), x-amz-content-sha256 (when asked) and Authorization.
signing_result sign(http_request& req, const credentials& creds, const signing_params& params);

/// Learns the offset between vigil's clock and AWS's from the Date header of
/// an answer that says the signature's time is off, so that later requests are
/// signed with AWS's time. One correction per call (client.cpp retries once).
class clock_skew {
 public:
  /// RequestTimeTooSkewed, SignatureExpired, RequestExpired, or
  /// InvalidSignatureException with "Signature expired" in the message.
  [[nodiscard]] static bool is_skew_error(const aws_error& e);

  /// Returns true when `e` is a skew error and `date_header` parsed: the
  /// offset is then server_date - local_now.
  bool learn(const aws_error& e, std::string_view date_header, common::wall_time local_now);

  [[nodiscard]] std::chrono::milliseconds offset() const { return std::chrono::milliseconds{offset_ms_.load()}; }
  [[nodiscard]] common::wall_time corrected(common::wall_time local) const { return local + offset(); }

 private:
  std::atomic<std::int64_t> offset_ms_{0};
};

}  // namespace vigil::aws
