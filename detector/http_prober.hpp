#pragma once
// HTTP deep probes: libcurl's multi interface driven by Boost.Asio.
//
// One http_prober runs any number of probes concurrently on one io_context:
// curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
// wake it (CURLMOPT_TIMERFUNCTION); we wait with asio and hand readiness back
// through curl_multi_socket_action. No thread per probe, no curl_easy_perform.
// (curl's threaded resolver may run a short-lived thread per uncached name;
// IP literals and cached names need none.)
//
// An expected failure is a value, never an exception (docs/design.md, "I/O seams"): every probe
// ends with exactly one call of its `done` callback carrying a probe_result.
//
// Thread affinity: construct, call probe() and destroy on the io_context's
// thread (or before it runs). `done` runs on that thread, never inside probe().
// Destroying the prober abandons probes in flight without calling their `done`.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "decision/outcome.hpp"
#include "detector/expect.hpp"

namespace vigil::detector {

class probe_metrics;

/// What a compiled_check probes. grpc runs on the HTTP prober (HTTP/2).
enum class check_kind : std::uint8_t { http, tcp, dns, postgres, grpc };

/// A check ready to probe: config resolved against the defaults, expect
/// expressions compiled. Build it with compile_check(). The HTTP fields below
/// serve http and grpc checks; tcp, dns and postgres checks carry their own
/// settings in the optional member of their kind.
struct compiled_check {
  check_kind kind = check_kind::http;
  std::string id;
  std::string region;
  std::string url;
  std::string method = "GET";
  std::vector<std::string> headers;  ///< "Name: value" lines
  std::string body;                  ///< request body; sent when non-empty
  expect_set expect;
  std::chrono::milliseconds timeout{2000};          ///< whole probe
  std::chrono::milliseconds connect_timeout{2000};  ///< TCP (+ proxy) connect
  std::int64_t low_speed_limit = 1;                 ///< bytes/s ...
  std::chrono::milliseconds low_speed_time{2000};   ///< ... sustained this long: timeout (curl: whole seconds, min 1 s)
  std::size_t body_limit = std::size_t{64} * 1024;  ///< bytes; more is body_too_large
  bool follow_redirects = false;
  long max_redirects = 0;                       ///< only when follow_redirects
  std::string ca_file;                          ///< replaces the CA bundle for this check
  bool keep_alive = false;                      ///< default: a fresh connection per probe
  std::chrono::milliseconds degraded_after{0};  ///< 0 = off
  std::string proxy;  ///< explicit proxy URL; empty = libcurl's default (http_proxy, https_proxy, no_proxy)
  std::chrono::milliseconds interval{2000};    ///< for the scheduler
  std::chrono::milliseconds fast_interval{0};  ///< suspicion-mode re-probe cadence, for the scheduler; 0 = off
  double jitter = 0.1;                         ///< fraction of interval, for the scheduler
  std::optional<common::tcp_check_config> tcp;
  std::optional<common::dns_check_config> dns;
  std::optional<common::postgres_check_config> postgres;
};

/// Builds a compiled_check from a loaded config. Errors (one per bad expect
/// expression, "file:line:col: key_path: message (expression column N)") come
/// back instead of a check; a CloudWatch check is an error too.
[[nodiscard]] std::variant<compiled_check, std::vector<std::string>> compile_check(
    const common::check_config& check, const common::probe_defaults_config& defaults);

/// Phase durations in milliseconds (not cumulative): name resolution, TCP
/// connect, TLS handshake, server think time up to the first byte, and total.
/// A phase that did not happen is 0.
struct phase_timings {
  double dns_ms = 0;
  double connect_ms = 0;
  double tls_ms = 0;
  double first_byte_ms = 0;
  double total_ms = 0;
};

struct probe_result {
  decision::outcome result = decision::outcome::internal;
  long http_status = 0;                               ///< 0 when no response was read
  std::string detail;                                 ///< human-readable; empty when ok
  decision::outcome warning = decision::outcome::ok;  ///< result degraded by a `warn` expectation: what failed
  phase_timings phases;
  double latency_ms = 0;                            ///< total time as curl measured it
  std::size_t body_bytes = 0;                       ///< bytes of body received (stops at the cap)
  std::optional<common::wall_time> cert_not_after;  ///< earliest notAfter of the server's chain
  std::optional<std::chrono::seconds> cert_left;    ///< cert_not_after - clock.wall() at completion
  bool reused_connection = false;                   ///< keep-alive hit: no new connection was made
  common::mono_time started{};                      ///< clock.monotonic() when the probe began
};

/// The seam the scheduler and the agent depend on (docs/design.md, "I/O seams").
class prober {
 public:
  using done_fn = std::function<void(probe_result)>;
  virtual ~prober() = default;
  /// Starts one probe; `done` is called exactly once, later, on the prober's thread.
  virtual void probe(const compiled_check& check, done_fn done) = 0;
};

/// The production prober. `metrics` may be null; when set, every finished
/// probe is recorded (checks must be registered with it first).
class http_prober final : public prober {
 public:
  http_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics = nullptr);
  ~http_prober() override;
  http_prober(const http_prober&) = delete;
  http_prober& operator=(const http_prober&) = delete;

  void probe(const compiled_check& check, done_fn done) override;

  /// Probes started and not yet finished.
  [[nodiscard]] std::size_t in_flight() const;

  class impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace vigil::detector
