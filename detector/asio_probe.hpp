#pragma once
// What the probers written directly on Boost.Asio (tcp, dns, postgres) share:
// one probe in flight as an object with a deadline, phase marks on the
// injected clock and a finish-once rule, and the set of probes a prober owns.
//
// Every probe ends with exactly one finish() (its outcome) unless the prober
// is destroyed first: abandon() then closes its sockets and nothing is
// reported. `done` is posted to the io_context, never called inside probe().
// Thread affinity: the io_context's thread, as for http_prober.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>

#include "detector/http_prober.hpp"

namespace vigil::detector {

class probe_metrics;
class asio_probe_set;

class asio_probe : public std::enable_shared_from_this<asio_probe> {
 public:
  asio_probe(boost::asio::io_context& io, const common::clock& clock, const compiled_check& check, prober::done_fn done,
             probe_metrics* metrics);
  virtual ~asio_probe() = default;
  asio_probe(const asio_probe&) = delete;
  asio_probe& operator=(const asio_probe&) = delete;

  /// Starts the probe; the set keeps it alive until it finishes.
  void run(asio_probe_set& owner);
  /// Stops without reporting (the prober is going away).
  void abandon();

 protected:
  /// The first step; called by run() after the deadline is armed.
  virtual void start() = 0;
  /// Closes every socket (cancelling what is pending on them).
  virtual void close() = 0;

  /// Reports the outcome once: phases.total_ms and latency are filled in,
  /// `ok` turns into `degraded` above degraded_after, metrics are recorded.
  void finish(decision::outcome o, std::string detail);
  [[nodiscard]] bool finished() const { return finished_; }
  /// Milliseconds since the previous mark (or the start); moves the mark.
  double lap_ms();
  /// (Re)arms the deadline `after` from the start of the probe; on expiry the
  /// probe ends with `timeout`, naming `phase_`.
  void arm_deadline(std::chrono::milliseconds after);

  boost::asio::io_context& io_;
  const common::clock& clock_;
  const compiled_check& check_;
  probe_result result_;
  const char* phase_ = "start";  ///< what the probe is doing, for timeout details

 private:
  prober::done_fn done_;
  probe_metrics* metrics_;
  boost::asio::steady_timer deadline_;
  common::mono_time mark_{};
  asio_probe_set* owner_ = nullptr;
  bool finished_ = false;
};

/// The probes a prober has in flight; destroying the set abandons them.
class asio_probe_set {
 public:
  asio_probe_set() = default;
  ~asio_probe_set();
  asio_probe_set(const asio_probe_set&) = delete;
  asio_probe_set& operator=(const asio_probe_set&) = delete;

  void add(std::shared_ptr<asio_probe> p) { running_.emplace(p.get(), std::move(p)); }
  void remove(asio_probe* p) { running_.erase(p); }
  [[nodiscard]] std::size_t size() const { return running_.size(); }
  /// Posted callbacks check it: none runs after the set is gone.
  [[nodiscard]] std::weak_ptr<char> alive() const { return alive_; }

 private:
  std::unordered_map<asio_probe*, std::shared_ptr<asio_probe>> running_;
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

/// host:port or [v6]:port split into host and port (no validation beyond the split).
[[nodiscard]] std::pair<std::string, std::string> split_host_port(const std::string& address);

}  // namespace vigil::detector
