#include "detector/agent.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "aws/sts.hpp"
#include "common/log.hpp"
#include "detector/cloudwatch_sampler.hpp"
#include "detector/lag_source.hpp"
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
      for (const auto& e : std::get<std::vector<std::string>>(r))
        errors += e + "\n";
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

  // Replication lag: sampled on its own thread (libpq and AWS calls block),
  // by the configured lag vantage only (or every vantage when none is named).
  std::chrono::milliseconds lag_interval{5000};
  std::optional<aws::aws_stack> aws;
  std::unique_ptr<aws_metric_source> cw;
  std::unique_ptr<lag_source> lag;
  std::unique_ptr<lag_metrics> lag_gauges;
  std::thread lag_thread;
  std::mutex lag_mutex;
  std::condition_variable lag_cv;
  bool lag_stop = false;

  void make_lag(const common::config& cfg, prometheus::Registry& registry) {
    const auto& rl = cfg.replication_lag;
    if (!options.run_lag_source || rl.source == common::lag_source::none) return;
    if (!rl.vantage.empty() && rl.vantage != options.vantage) return;
    if (rl.source == common::lag_source::cloudwatch) {
      aws = aws::make_aws_stack(cfg.aws, clock);
      cw = std::make_unique<aws_metric_source>(*aws->client);
    }
    lag = make_lag_source(rl, clock, cw.get());
    lag_interval = rl.interval;
    lag_gauges = std::make_unique<lag_metrics>(registry);
  }

  void lag_loop() {
    std::unique_lock lock(lag_mutex);
    while (!lag_stop) {
      lock.unlock();
      const lag_sample s = lag->sample();
      lag_gauges->record(s, clock.wall());
      if (!s.lag) common::logger("agent")->warn("replication lag unknown: {}", s.error);
      sender.add_lag(to_wire(s));
      lock.lock();
      lag_cv.wait_for(lock, lag_interval, [this] { return lag_stop; });
    }
  }

  void stop_lag() {
    {
      std::lock_guard lock(lag_mutex);
      lag_stop = true;
    }
    lag_cv.notify_all();
    if (lag_thread.joinable()) lag_thread.join();
  }

  impl(boost::asio::io_context& io, const common::config& cfg, agent_options o, const common::clock& clk,
       prometheus::Registry& registry, prober* p, http_post_fn post)
      : clock(clk),
        options(std::move(o)),
        metrics(registry, options.vantage),
        own_prober(p == nullptr ? std::make_unique<http_prober>(io, clk, &metrics) : nullptr),
        probe(p == nullptr ? own_prober.get() : p),
        sender(sender_options(cfg, options), clk, std::move(post), &registry) {
    auto checks = compile_all(cfg);
    for (const auto& c : checks)
      metrics.add_check(c);
    scheduler_options so;
    so.max_in_flight = options.max_in_flight;
    so.seed = options.seed != 0 ? options.seed : std::hash<std::string>{}(options.vantage) | 1U;
    sched = std::make_unique<scheduler>(
        io, clk, *probe, std::move(checks), so,
        [this](const compiled_check& c, const probe_result& r, const probe_timing&) { on_result(c, r); }, &metrics);
    make_lag(cfg, registry);
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

agent::agent(boost::asio::io_context& io, const common::config& cfg, agent_options options, const common::clock& clock,
             prometheus::Registry& registry, prober* probe, http_post_fn post)
    : impl_(std::make_unique<impl>(io, cfg, std::move(options), clock, registry, probe, std::move(post))) {}

agent::~agent() {
  stop();
}

void agent::start() {
  impl_->sender.start();
  impl_->sched->start();
  if (impl_->lag) impl_->lag_thread = std::thread([this] { impl_->lag_loop(); });
  common::logger("agent")->info("agent {} probing {} checks{}", impl_->options.vantage, impl_->sched->checks().size(),
                                impl_->lag ? ", sampling replication lag" : "");
}

void agent::stop() {
  if (!impl_) return;
  impl_->sched->stop();
  impl_->stop_lag();
  impl_->sender.stop();
}

void agent::add_lag(common::wire_lag lag) {
  impl_->sender.add_lag(std::move(lag));
}

const std::string& agent::vantage() const {
  return impl_->options.vantage;
}

std::size_t agent::check_count() const {
  return impl_->sched->checks().size();
}

batch_sender_stats agent::sender_stats() const {
  return impl_->sender.stats();
}

}  // namespace vigil::detector
