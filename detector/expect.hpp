#pragma once
// `expect` expressions of HTTP checks (docs/configuration.md), parsed once
// at config time into a compiled form and evaluated against every response.
//
// Grammar (whitespace between tokens is free):
//   expr    := subject op value
//   subject := status | body | latency | cert_expiry
//            | body.json("<JSON pointer>") | header("<name>")
//   op      := == | != | < | <= | > | >= | in | not in | contains | not contains
//   value   := integer | "string" | duration (250ms, 2s, 7d) | JSON literal
//            | [integer, ...] (only after in / not in)
//
// What each subject accepts:
//   status       ==, !=, <, <=, >, >=, in, not in    integer(s) 100..599
//   body         ==, !=, contains, not contains      "string" (byte-exact)
//   header(n)    ==, !=, contains, not contains      "string"; n is case-insensitive
//   body.json(p) ==, !=, contains, not contains,     JSON literal: "UP", 3, true, null;
//                <, <=, >, >=                        ordering needs a number
//   latency      <, <=, >, >=                        duration
//   cert_expiry  <, <=, >, >=                        duration (time left on the certificate)
//
// A failed expectation maps to an outcome (decision/outcome.hpp):
//   status                   -> http_status
//   body, header, body.json  -> body_mismatch (also: body is not JSON, pointer absent)
//   latency                  -> timeout. `latency < 300ms` is a hard deadline the
//                               operator wrote down: an answer after it is as useless
//                               to them as no answer. (`degraded_after` is the soft
//                               variant that still counts as up.)
//   cert_expiry              -> cert_expiring (the certificate is valid, see tls_error)
// When several fail, the first in that order wins (status before content, since
// a 503 page rarely holds the expected JSON), and the detail names it.
//
// Severity: an expression may end with `warn` or `fail`. A `fail` expectation
// that fails makes the probe fail as above (it votes the check down). A `warn`
// one only warns: when nothing else failed the outcome is `degraded` (which
// counts as up), `warning` names the outcome it would have been and the
// detail names the expression. `cert_expiry` is `warn` unless it says `fail`
// (an expiring certificate still serves: it is no reason to fail a region
// over); `latency` is `fail` unless it says `warn`; other subjects are always
// `fail`.
// Without any status expectation a 2xx or 3xx status passes (as Route 53 does).
//
// A missing header fails every operator except `!=` and `not contains`.
// Thread safety: compiled objects are immutable; evaluate() is const.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "decision/outcome.hpp"

namespace vigil::detector {

enum class expect_subject : std::uint8_t { status, body, json, header, latency, cert_expiry };
enum class expect_op : std::uint8_t { eq, ne, lt, le, gt, ge, in, not_in, contains, not_contains };
enum class expect_severity : std::uint8_t { fail, warn };

[[nodiscard]] std::string_view to_string(expect_subject s);
[[nodiscard]] std::string_view to_string(expect_op o);

/// One compiled expectation.
struct expectation {
  expect_subject subject = expect_subject::status;
  expect_op op = expect_op::eq;
  std::string argument;                                 ///< header name (lower-cased) or JSON pointer text
  nlohmann::json::json_pointer pointer{std::string{}};  ///< body.json only
  std::vector<std::int64_t> numbers;                    ///< status: one value, or the list for in / not in
  std::string text;                                     ///< body / header operand
  nlohmann::json literal;                               ///< body.json operand
  std::chrono::milliseconds span{0};                    ///< latency / cert_expiry operand
  expect_severity severity = expect_severity::fail;     ///< cert_expiry defaults to warn
  std::string source;                                   ///< the expression as written, for details
};

/// A parse error: 1-based column into the expression and what was expected.
struct expect_error {
  int column = 1;
  std::string message;
};

[[nodiscard]] std::variant<expectation, expect_error> parse_expect(std::string_view text);

/// What a response looked like, for evaluation. Header names are lower-case.
struct response_view {
  long status = 0;
  std::string_view body;
  const std::multimap<std::string, std::string>* headers = nullptr;
  std::chrono::milliseconds latency{0};
  std::optional<std::chrono::seconds> cert_left;  ///< time until the earliest notAfter
};

struct expect_verdict {
  decision::outcome result = decision::outcome::ok;
  std::string detail;  ///< empty when ok; otherwise names the failed expression and the value seen
  /// result degraded because a `warn` expectation failed: the outcome it maps to (else ok).
  decision::outcome warning = decision::outcome::ok;
};

/// All expectations of one check.
class expect_set {
 public:
  expect_set() = default;
  explicit expect_set(std::vector<expectation> items);

  [[nodiscard]] const std::vector<expectation>& items() const { return items_; }
  [[nodiscard]] bool needs_body() const { return needs_body_; }
  [[nodiscard]] bool needs_headers() const { return needs_headers_; }
  [[nodiscard]] bool needs_cert() const { return needs_cert_; }
  /// Some expectation is `warn`: a probe can be `degraded` by it.
  [[nodiscard]] bool warns() const { return warns_; }

  [[nodiscard]] expect_verdict evaluate(const response_view& r) const;

 private:
  std::vector<expectation> items_;
  bool has_status_ = false;
  bool needs_body_ = false;
  bool needs_headers_ = false;
  bool needs_cert_ = false;
  bool warns_ = false;
};

}  // namespace vigil::detector
