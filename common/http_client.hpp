#pragma once
// One blocking HTTP request with libcurl's easy interface, for the few calls
// actuators make (paging sinks, `vigil approve`). Not for probes (detector/
// has its own multi-handle prober).
//
// Behaviour (docs/aws-notes.md, "libcurl"): an HTTP error status is a normal
// reply (check `status`); the body is capped in the write callback; no
// redirects are followed; connect and total timeouts always apply; libcurl's
// proxy environment (http_proxy, https_proxy, no_proxy) is honoured; TLS
// peers are always verified. Transport failures come back as a value with
// `error` set, never as an exception.
//
// Thread-safe: each call uses its own easy handle.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace vigil::common {

struct http_call {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds connect_timeout{3000};
  std::size_t max_response_bytes = std::size_t{1024} * 1024;
  /// TLS (https:// only): PEM files read by libcurl on every call. `ca_file`
  /// replaces the system trust store; `cert_file` + `key_file` present a
  /// client certificate (mutual TLS). Empty: not used.
  std::string ca_file{};
  std::string cert_file{};
  std::string key_file{};
};

struct http_reply {
  long status = 0;  ///< 0 when no HTTP answer arrived
  std::string body;
  std::string error;  ///< transport error (timeout, refused, TLS...); empty when an answer arrived
  int curl_code = 0;
  [[nodiscard]] bool transport_ok() const { return error.empty(); }
  [[nodiscard]] bool success() const { return error.empty() && status >= 200 && status < 300; }
};

[[nodiscard]] http_reply http_perform(const http_call& call);

}  // namespace vigil::common
