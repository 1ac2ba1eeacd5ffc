#pragma once
// AWS call failures as values (docs/design.md, "I/O seams"): an expected failure (throttling,
// a bad signature, a 5xx, a transport error) never throws.
//
// `code` is the AWS error code ("SignatureDoesNotMatch", "ThrottlingException")
// or, for failures that never reached AWS, one of vigil's own codes:
//   "TransportError"   libcurl failed (connect, DNS, TLS); message says which
//   "RequestTimeout"   the per-call deadline passed
//   "MalformedResponse" the answer could not be parsed
//   "NoCredentials"    the credential chain found nothing
//   "InvalidEndpoint"  no endpoint could be resolved for the service/region

#include <string>
#include <utility>
#include <variant>

namespace vigil::aws {

struct aws_error {
  std::string code;
  std::string message;
  std::string request_id;
  int http_status = 0;     ///< 0 when no HTTP answer was received
  bool retryable = false;  ///< as classified by the retry policy (client.hpp)

  [[nodiscard]] std::string to_string() const;
};

/// Either a value or an aws_error. Minimal stand-in for C++23 std::expected.
template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  result(aws_error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  [[nodiscard]] const aws_error& error() const { return std::get<1>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

 private:
  std::variant<T, aws_error> v_;
};

struct none {};

[[nodiscard]] inline aws_error make_error(std::string code, std::string message, int http_status = 0,
                                          bool retryable = false) {
  return aws_error{std::move(code), std::move(message), {}, http_status, retryable};
}

}  // namespace vigil::aws
