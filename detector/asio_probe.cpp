#include "detector/asio_probe.hpp"

#include <boost/asio/post.hpp>

#include "detector/probe_metrics.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
using decision::outcome;

asio_probe::asio_probe(asio::io_context& io, const common::clock& clock, const compiled_check& check,
                       prober::done_fn done, probe_metrics* metrics)
    : io_(io), clock_(clock), check_(check), done_(std::move(done)), metrics_(metrics), deadline_(io) {}

void asio_probe::run(asio_probe_set& owner) {
  owner_ = &owner;
  owner.add(shared_from_this());
  result_.started = clock_.monotonic();
  mark_ = result_.started;
  arm_deadline(check_.timeout);
  start();
}

void asio_probe::arm_deadline(std::chrono::milliseconds after) {
  if (finished_) return;
  const auto left = result_.started + after - clock_.monotonic();
  deadline_.expires_after(std::max(left, common::mono_time::duration::zero()));
  deadline_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or finished
    if (auto p = self.lock()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p->clock_.monotonic() - p->result_.started);
      p->finish(outcome::timeout,
                std::string("timed out while ") + p->phase_ + " (after " + std::to_string(ms.count()) + " ms)");
    }
  });
}

double asio_probe::lap_ms() {
  const auto now = clock_.monotonic();
  const double ms = std::chrono::duration<double, std::milli>(now - mark_).count();
  mark_ = now;
  return ms;
}

void asio_probe::finish(outcome o, std::string detail) {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  close();
  result_.phases.total_ms = std::chrono::duration<double, std::milli>(clock_.monotonic() - result_.started).count();
  result_.latency_ms = result_.phases.total_ms;
  if (o == outcome::ok && check_.degraded_after.count() > 0 &&
      result_.latency_ms > static_cast<double>(check_.degraded_after.count())) {
    o = outcome::degraded;
    detail = "latency " + std::to_string(static_cast<long>(result_.latency_ms)) + "ms above degraded_after " +
             std::to_string(check_.degraded_after.count()) + "ms";
  }
  result_.result = o;
  result_.detail = std::move(detail);
  if (metrics_ != nullptr) metrics_->record(check_.id, result_);
  auto self = shared_from_this();  // the set's reference goes now; this one lives until the post
  asio::post(io_, [alive = owner_->alive(), self, done = std::move(done_)]() mutable {
    if (!alive.expired()) done(std::move(self->result_));
  });
  owner_->remove(this);
}

void asio_probe::abandon() {
  finished_ = true;
  deadline_.cancel();
  close();
}

asio_probe_set::~asio_probe_set() {
  alive_.reset();
  auto running = std::move(running_);
  for (auto& [p, probe] : running)
    probe->abandon();
}

std::pair<std::string, std::string> split_host_port(const std::string& address) {
  if (address.starts_with("[")) {
    const auto close = address.find(']');
    if (close == std::string::npos) return {address, ""};
    const std::string port = close + 2 <= address.size() ? address.substr(close + 2) : "";
    return {address.substr(1, close - 1), port};
  }
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, ""};
  return {address.substr(0, colon), address.substr(colon + 1)};
}

}  // namespace vigil::detector
