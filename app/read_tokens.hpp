#pragma once
// Read tokens (engine.read_tokens_file; docs/design.md, "HTTP API"): when any
// are configured, GET (and HEAD) on every /v1/* route needs
// `Authorization: Bearer T` with T one of them. /healthz, /readyz, /metrics
// and every POST (agent batches and signed commands carry their own proof)
// stay as they are, and so does the status page's HTML at / (static, no
// state in it: a browser fetches it before any script could add a header;
// its script sends the token, from #token= or a prompt, on every /v1/ fetch). Refusals are 401 with `WWW-Authenticate:
// Bearer` and
// {"error":"unauthorized","reason":"missing_token"|"bad_token"}, counted in
// vigil_read_token_refusals_total{reason}.
//
// Tokens are kept as SHA-256 digests and compared in constant time (every
// token, fixed-length digests: neither the match nor a length leaks).
//
// Threading: the engine's io thread only (requests and SIGHUP's reload).

#include <optional>
#include <string>
#include <vector>

#include "common/http_server.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace vigil::app {

class read_token_gate {
 public:
  read_token_gate(prometheus::Registry& registry, const std::vector<std::string>& tokens);

  /// Replaces the accepted tokens (SIGHUP); none: the read routes are open.
  void set(const std::vector<std::string>& tokens);
  [[nodiscard]] bool required() const { return !digests_.empty(); }
  [[nodiscard]] std::size_t count() const { return digests_.size(); }

  /// True for the requests a token guards: GET/HEAD of /v1/*.
  [[nodiscard]] static bool guarded(const common::http_request& r);
  /// nullopt: let the request through; else the 401 to answer.
  [[nodiscard]] std::optional<common::http_response> check(const common::http_request& r);

 private:
  std::vector<std::string> digests_;
  prometheus::Counter* missing_;
  prometheus::Counter* bad_;
};

}  // namespace vigil::app
