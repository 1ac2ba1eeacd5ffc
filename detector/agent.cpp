#include "detector/agent.hpp"

#include <functional>
#include <stdexcept>

#include "common/log.hpp"
#include "detector/probe_metrics.hpp"
#include "detector/scheduler.hpp"

namespace vigil::detector {

namespace {

std::vector<compiled_check> compile_all(const common::config& cfg) {
  std::vector<compiled_check> out;
  std::string errors;
  for (const auto& c : cfg.checks) {
    if (!c.http) continue;  // CloudWatch checks are sampled by the cloudwatch sampler
    auto r = compile_check(c, cfg.probe_defaults);
    if (auto* ok = std::get_if<compiled_check>(&r)) {
      out.push_back(std::move(*ok));
    } else {
      for (const auto& e : std::get<std::vector<std::string>>(r)) errors += e + "\n";
    }
  }
  if (!errors.empty()) throw std::invalid_argument(errors);
  return out;
}

batch_sender_options sender_options(const common::config& cfg, const agent_options& o) {
  batch_sender_options s;
  s.vantage = o.vantage;
  s.key = cfg.engine.agent_key;
  s.endpoints = o.endpoints.empty() ? cfg.engine.endpoints : o.endpoints;
  s.flush_interval = o.flush_interval;
  s.request_timeout = std::max<std::chrono::milliseconds>(cfg.probe_defaults.timeout, std::chrono::milliseconds(1000));
  return s;
}

}  // namespace

struct agent::impl {
  const common::clock& clock;
  agent_options options;
  probe_metrics metrics;
  std::unique_ptr<http_prober> own_prober;
  prober* probe;
  batch_sender sender;
  std::unique_ptr<scheduler> sched;

  impl(boost::asio::io_context& io, const common::config& cfg, agent_options o, const common::clock& clk,
       prometheus::Registry& registry, prober* p, http_post_fn post)
      : clock(clk),
        options(std::move(o)),
        metrics(registry, options.vantage),
        own_prober(p == nullptr ? std::make_unique<http_prober>(io, clk, &metrics) : nullptr),
        probe(p == nullptr ? own_prober.get() : p),
        sender(sender_options(cfg, options), clk, std::move(post), &registry) {
    auto checks = compile_all(cfg);
    for (const auto& c : checks) metrics.add_check(c);
    scheduler_options so;
    so.max_in_flight = options.max_in_flight;
    so.seed = options.seed != 0 ? options.seed : std::hash<std::string>{}(options.vantage) | 1U;
    sched = std::make_unique<scheduler>(
        io, clk, *probe, std::move(checks), so,
        [this](const compiled_check& c, const probe_result& r, const probe_timing&) { on_result(c, r); },
        &metrics);
  }

  void on_result(const compiled_check& c, const probe_result& r) {
    common::wire_observation w;
    w.check = c.id;
    w.at_ms = clock.wall().time_since_epoch().count();
    w.result = r.result;
    w.latency_ms = r.latency_ms;
    w.http_status = static_cast<int>(r.http_status);
    w.detail = r.detail;
    sender.add(std::move(w));
  }
};

agent::agent(boost::asio::io_context& io, const common::config& cfg, agent_options options,
             const common::clock& clock, prometheus::Registry& registry, prober* probe, http_post_fn post)
    : impl_(std::make_unique<impl>(io, cfg, std::move(options), clock, registry, probe, std::move(post))) {}

agent::~agent() { stop(); }

void agent::start() {
  impl_->sender.start();
  impl_->sched->start();
  common::logger("agent")->info("agent {} probing {} checks, sending to {} engine(s)", impl_->options.vantage,
                                impl_->sched->checks().size(), impl_->options.endpoints.size());
}

void agent::stop() {
  if (!impl_) return;
  impl_->sched->stop();
  impl_->sender.stop();
}

void agent::add_lag(common::wire_lag lag) { impl_->sender.add_lag(std::move(lag)); }

const std::string& agent::vantage() const { return impl_->options.vantage; }

std::size_t agent::check_count() const { return impl_->sched->checks().size(); }

batch_sender_stats agent::sender_stats() const { return impl_->sender.stats(); }

}  // namespace vigil::detector
