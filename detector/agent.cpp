#include "detector/agent.hpp"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "aws/sts.hpp"
#include "common/log.hpp"
#include "detector/aws_metrics.hpp"
#include "detector/cloudwatch_sampler.hpp"
#include "detector/lag_source.hpp"
#include "detector/probe_metrics.hpp"
#include "detector/scheduler.hpp"
#include "detector/socket_probers.hpp"

namespace vigil::detector {

namespace {

std::vector<compiled_check> compile_all(const common::config& cfg) {
  std::vector<compiled_check> out;
  std::string errors;
  for (const auto& c : cfg.checks) {
    if (c.cloudwatch) continue;  // CloudWatch checks are sampled by the cloudwatch sampler
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

std::vector<cloudwatch_check> compile_cloudwatch(const common::config& cfg) {
  std::vector<cloudwatch_check> out;
  std::string errors;
  for (const auto& c : cfg.checks) {
    if (!c.cloudwatch) continue;
    auto r = compile_cloudwatch_check(c);
    if (auto* ok = std::get_if<cloudwatch_check>(&r)) {
      out.push_back(std::move(*ok));
    } else {
      errors += std::get<std::string>(r) + "\n";
    }
  }
  if (!errors.empty()) throw std::invalid_argument(errors);
  return out;
}

common::wire_observation to_observation(const cloudwatch_sample& s) {
  common::wire_observation w;
  w.check = s.check_id;
  w.at_ms = s.at.time_since_epoch().count();
  w.result = s.result.result;
  w.latency_ms = s.result.latency_ms;
  w.http_status = static_cast<int>(s.result.http_status);
  w.detail = s.result.detail;
  w.value = s.value;
  return w;
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
  std::unique_ptr<check_prober> own_prober;
  prober* probe;
  batch_sender sender;
  std::unique_ptr<scheduler> sched;

  // Background work off the io_context: replication lag (libpq and AWS calls
  // block) by the configured lag vantage only (or every vantage when none is
  // named), and the CloudWatch checks. One stop flag for both threads.
  std::mutex outcome_mutex;
  std::map<std::string, decision::outcome> last_probe_outcome;  ///< guarded by outcome_mutex; to log changes only

  std::mutex bg_mutex;
  std::condition_variable bg_cv;
  bool bg_stop = false;

  // AWS: one stack per agent, shared by the CloudWatch checks and the lag source.
  std::optional<aws::aws_stack> aws;
  std::unique_ptr<aws_metric_source> aws_source;
  std::unique_ptr<aws_call_metrics> aws_calls;
  std::unique_ptr<counting_metric_source> cw;  ///< counts every GetMetricData call and error

  std::chrono::milliseconds lag_interval{5000};
  std::unique_ptr<lag_source> lag;
  /// replication_lag.failback: the other direction's source (the configured
  /// primary's cluster as a secondary). When set, every sample names the
  /// region whose cluster it measured.
  std::unique_ptr<lag_source> failback_lag;
  std::string lag_region;
  std::string failback_region;
  std::unique_ptr<lag_metrics> lag_gauges;
  std::thread lag_thread;

  std::unique_ptr<cloudwatch_check_metrics> cw_metrics;
  /// One sampler and thread per region called: a slow, retrying or throttled
  /// region never delays another region's round (nor HTTP probes).
  std::vector<std::unique_ptr<cloudwatch_sampler>> samplers;
  std::size_t cw_checks = 0;
  std::vector<std::thread> cw_threads;

  bool wants_lag(const common::config& cfg) const {
    const auto& rl = cfg.replication_lag;
    if (!options.run_lag_source || rl.source == common::lag_source::none) return false;
    return rl.vantage.empty() || rl.vantage == options.vantage;
  }

  /// The CloudWatch source for checks and lag, built once.
  metric_source& cloudwatch_source(const common::config& cfg, prometheus::Registry& registry) {
    if (!cw) {
      metric_source* inner = options.cloudwatch;
      if (inner == nullptr) {
        aws = aws::make_aws_stack(cfg.aws, clock);
        aws_source = std::make_unique<aws_metric_source>(*aws->client);
        inner = aws_source.get();
      }
      aws_calls = std::make_unique<aws_call_metrics>(registry);
      cw = std::make_unique<counting_metric_source>(*inner, *aws_calls);
    }
    return *cw;
  }

  void make_lag(const common::config& cfg, prometheus::Registry& registry) {
    if (!wants_lag(cfg)) return;
    const auto& rl = cfg.replication_lag;
    metric_source* src = rl.source == common::lag_source::cloudwatch ? &cloudwatch_source(cfg, registry) : nullptr;
    lag = make_lag_source(rl, clock, src);
    if (const auto fb = rl.failback_source()) {
      failback_lag = make_lag_source(*fb, clock, src);
      lag_region = rl.region;
      failback_region = fb->region;
    }
    lag_interval = rl.interval;
    lag_gauges = std::make_unique<lag_metrics>(registry, options.vantage);
  }

  void make_cloudwatch(const common::config& cfg, prometheus::Registry& registry) {
    auto checks = compile_cloudwatch(cfg);  // compiled even when not run: a bad check is an error anyway
    cw_checks = checks.size();
    if (!options.run_cloudwatch || checks.empty()) return;
    cw_metrics = std::make_unique<cloudwatch_check_metrics>(registry, options.vantage);
    for (const auto& c : checks)
      cw_metrics->add_check(c);
    std::map<std::string, std::vector<cloudwatch_check>> by_region;
    for (auto& c : checks)
      by_region[c.call_region].push_back(std::move(c));
    for (auto& [region, group] : by_region)
      samplers.push_back(
          std::make_unique<cloudwatch_sampler>(std::move(group), cloudwatch_source(cfg, registry), clock));
  }

  void lag_loop() {
    std::unique_lock lock(bg_mutex);
    while (!bg_stop) {
      lock.unlock();
      const lag_sample s = lag->sample();
      lag_gauges->record(s, clock.wall());
      if (!s.lag) {
        const common::log_fields f{{"vantage", options.vantage}, {"region", lag_region}};
        common::logger("agent")->warn("replication lag unknown: {}", s.error);
      }
      common::wire_lag w = to_wire(s);
      w.region = lag_region;
      sender.add_lag(std::move(w));
      if (failback_lag) {
        const lag_sample f = failback_lag->sample();
        if (!f.lag) {
          const common::log_fields lf{{"vantage", options.vantage}, {"region", failback_region}};
          common::logger("agent")->warn("replication lag into {} unknown: {}", failback_region, f.error);
        }
        common::wire_lag fw = to_wire(f);
        fw.region = failback_region;
        sender.add_lag(std::move(fw));
      }
      lock.lock();
      bg_cv.wait_for(lock, lag_interval, [this] { return bg_stop; });
    }
  }

  void cw_loop(cloudwatch_sampler& sampler) {
    using namespace std::chrono_literals;
    std::map<std::string, decision::outcome> last_outcome;  ///< to log changes only
    std::unique_lock lock(bg_mutex);
    while (!bg_stop) {
      lock.unlock();
      for (auto& s : sampler.poll()) {
        cw_metrics->record(s);
        auto& last = last_outcome[s.check_id];
        if (last != s.result.result) {
          const auto at = s.check_id.rfind('@');
          const common::log_fields f{{"vantage", options.vantage},
                                     {"check", s.check_id},
                                     {"region", at == std::string::npos ? "" : s.check_id.substr(at + 1)}};
          if (!decision::is_success(s.result.result)) {
            common::logger("agent")->warn("cloudwatch check {}: {}: {}", s.check_id,
                                          decision::to_string(s.result.result), s.result.detail);
          } else {
            common::logger("agent")->info("cloudwatch check {}: ok", s.check_id);
          }
          last = s.result.result;
        }
        sender.add(to_observation(s));
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(sampler.next_due() - clock.monotonic());
      lock.lock();
      bg_cv.wait_for(lock, std::clamp<std::chrono::milliseconds>(wait, 10ms, 60s), [this] { return bg_stop; });
    }
  }

  void stop_background() {
    {
      std::lock_guard lock(bg_mutex);
      bg_stop = true;
    }
    bg_cv.notify_all();
    if (lag_thread.joinable()) lag_thread.join();
    for (auto& t : cw_threads) {
      if (t.joinable()) t.join();
    }
  }

  impl(boost::asio::io_context& io, const common::config& cfg, agent_options o, const common::clock& clk,
       prometheus::Registry& registry, prober* p, http_post_fn post)
      : clock(clk),
        options(std::move(o)),
        metrics(registry, options.vantage),
        own_prober(p == nullptr ? std::make_unique<check_prober>(io, clk, &metrics) : nullptr),
        probe(p == nullptr ? own_prober.get() : p),
        sender(sender_options(cfg, options), clk, std::move(post), &registry) {
    auto checks = compile_all(cfg);
    for (const auto& c : checks)
      metrics.add_check(c);
    scheduler_options so;
    so.max_in_flight = options.max_in_flight;
    so.fall = cfg.decision.fall;
    so.rise = cfg.decision.rise;
    so.seed = options.seed != 0 ? options.seed : std::hash<std::string>{}(options.vantage) | 1U;
    sched = std::make_unique<scheduler>(
        io, clk, *probe, std::move(checks), so,
        [this](const compiled_check& c, const probe_result& r, const probe_timing& t) { on_result(c, r, t.fast); },
        &metrics);
    make_cloudwatch(cfg, registry);
    make_lag(cfg, registry);
  }

  /// Logs a check's outcome when it changes (down or back up), with the
  /// check, its region and this vantage as log fields.
  void log_change(const compiled_check& c, const probe_result& r) {
    {
      const std::lock_guard lock(outcome_mutex);
      const bool up = decision::is_success(r.result);
      const auto it = last_probe_outcome.find(c.id);
      if (it == last_probe_outcome.end()) {
        last_probe_outcome.emplace(c.id, r.result);
        if (up) return;  // first result, up: nothing to say
      } else {
        // ok <-> degraded is no change (both up); a different failure is.
        if (decision::is_success(it->second) == up && (up || it->second == r.result)) return;
        it->second = r.result;
      }
    }
    const common::log_fields f{{"vantage", options.vantage}, {"check", c.id}, {"region", c.region}};
    if (decision::is_success(r.result)) {
      common::logger("agent")->info("check {}: {}", c.id, decision::to_string(r.result));
    } else {
      common::logger("agent")->warn("check {}: {}: {}", c.id, decision::to_string(r.result), r.detail);
    }
  }

  void on_result(const compiled_check& c, const probe_result& r, bool fast) {
    log_change(c, r);
    common::wire_observation w;
    w.check = c.id;
    w.at_ms = clock.wall().time_since_epoch().count();
    w.result = r.result;
    w.latency_ms = r.latency_ms;
    w.http_status = static_cast<int>(r.http_status);
    w.detail = r.detail;
    w.warning = r.warning;
    w.fast = fast;
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
  for (auto& sp : impl_->samplers)
    impl_->cw_threads.emplace_back([this, s = sp.get()] { impl_->cw_loop(*s); });
  common::logger("agent")->info(
      "agent {} probing {} checks (http, tcp, dns, postgres, grpc), sampling {} CloudWatch checks{}",
      impl_->options.vantage, impl_->sched->checks().size(), impl_->samplers.empty() ? 0 : impl_->cw_checks,
      impl_->lag ? ", sampling replication lag" : "");
}

void agent::stop() {
  if (!impl_) return;
  impl_->sched->stop();
  impl_->stop_background();
  impl_->sender.stop();
}

void agent::add_lag(common::wire_lag lag) {
  impl_->sender.add_lag(std::move(lag));
}

const std::string& agent::vantage() const {
  return impl_->options.vantage;
}

std::size_t agent::check_count() const {
  return impl_->sched->checks().size() + impl_->cw_checks;
}

std::size_t agent::cloudwatch_check_count() const {
  return impl_->cw_checks;
}

batch_sender_stats agent::sender_stats() const {
  return impl_->sender.stats();
}

}  // namespace vigil::detector
