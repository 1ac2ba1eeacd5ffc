#include "detector/cloudwatch_sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>

#include "aws/timefmt.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;

std::chrono::milliseconds lookback(const aws::metric_query& q) {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(3 * q.period_s), 3min);
}

}  // namespace

std::variant<cloudwatch_check, std::string> compile_cloudwatch_check(const common::check_config& c) {
  if (!c.cloudwatch) return c.id + ": not a cloudwatch check";
  const auto& cw = *c.cloudwatch;
  cloudwatch_check out;
  out.id = c.id;
  out.region = c.region;
  out.call_region = cw.aws_region.empty() ? c.region : cw.aws_region;
  out.query.namespace_ = cw.namespace_;
  out.query.metric = cw.metric;
  out.query.dimensions = cw.dimensions;
  out.query.stat = cw.stat;
  out.query.period_s = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(cw.period).count());
  if (out.query.period_s <= 0) return c.id + ": cloudwatch.period must be at least 1s";
  std::string why;
  auto cond = parse_condition(cw.condition.empty() ? ">= -1e308" : cw.condition, &why);
  if (!cond)
    return fmt::format("{}:{}:{}: {}.cloudwatch.condition: {}", c.pos.file, c.pos.line, c.pos.column, c.pos.key_path,
                       why);
  out.cond = *cond;
  out.on_missing = cw.on_missing;
  out.interval = c.interval;
  return out;
}

cloudwatch_sampler::cloudwatch_sampler(std::vector<cloudwatch_check> checks, metric_source& source,
                                       const common::clock& clock, cloudwatch_sampler_options options)
    : checks_(std::move(checks)), source_(source), clock_(clock), options_(std::move(options)) {
  const auto now = clock_.monotonic();
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    auto& st = regions_[checks_[i].call_region];
    if (st.checks.empty()) {
      st.interval = checks_[i].interval;
      st.due = now;
    }
    st.interval = std::min(st.interval, checks_[i].interval);  // the most demanding check sets the pace
    st.checks.push_back(i);
  }
}

common::mono_time cloudwatch_sampler::next_due() const {
  common::mono_time next = common::mono_time::max();
  for (const auto& [region, st] : regions_)
    next = std::min(next, st.due);
  return next;
}

std::map<std::string, region_stats> cloudwatch_sampler::stats() const {
  std::map<std::string, region_stats> out;
  for (const auto& [region, st] : regions_)
    out[region] = st.stats;
  return out;
}

std::vector<cloudwatch_sample> cloudwatch_sampler::poll() {
  const auto now = clock_.monotonic();
  std::vector<std::pair<const std::string*, region_state*>> due;
  for (auto& [region, st] : regions_) {
    if (st.due <= now) due.emplace_back(&region, &st);
  }
  std::vector<std::future<std::vector<cloudwatch_sample>>> running;
  running.reserve(due.size());
  for (auto& [region, st] : due) {
    // One thread per due region: a slow or throttled region never holds up the others.
    running.push_back(
        std::async(std::launch::async, [this, region = region, st = st] { return sample_region(*region, *st); }));
  }
  std::vector<cloudwatch_sample> out;
  for (auto& f : running) {
    auto part = f.get();
    std::move(part.begin(), part.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<cloudwatch_sample> cloudwatch_sampler::sample_region(const std::string& region, region_state& st) {
  const auto started = clock_.monotonic();
  const auto now = clock_.wall();
  std::vector<cloudwatch_sample> out;
  std::vector<aws::metric_result> results;
  std::optional<aws::aws_error> failure;
  // Chunks of at most 500 queries; query ids are "m<index>" (CloudWatch wants [a-z][A-Za-z0-9_]*).
  for (std::size_t first = 0; first < st.checks.size() && !failure; first += aws::max_metric_queries) {
    std::vector<aws::metric_query> queries;
    auto window = 0ms;
    for (std::size_t k = first; k < std::min(st.checks.size(), first + aws::max_metric_queries); ++k) {
      auto q = checks_[st.checks[k]].query;
      q.id = "m" + std::to_string(st.checks[k]);
      window = std::max(window, lookback(q));
      queries.push_back(std::move(q));
    }
    ++st.stats.calls;
    auto r = source_.get_metric_data(region, queries, now - window, now);
    if (r) {
      std::move(r->begin(), r->end(), std::back_inserter(results));
    } else {
      failure = r.error();
    }
  }
  const double latency_ms = std::chrono::duration<double, std::milli>(clock_.monotonic() - started).count();

  if (failure && aws::is_throttling(*failure)) {
    ++st.stats.throttled;
    ++st.throttled_rounds;
    // Exponential backoff with jitter, from one interval up to max_backoff.
    const auto base = st.backoff.count() == 0 ? st.interval : std::min(st.backoff * 2, options_.max_backoff);
    st.backoff = std::max(st.interval, base);
    const auto jittered = std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(st.backoff.count()) * (0.5 + 0.5 * options_.random())));
    st.due = clock_.monotonic() + jittered;
    st.stats.backoff_until = st.due;
    if (st.throttled_rounds < options_.throttle_report_after) return out;
  } else {
    st.backoff = 0ms;
    st.throttled_rounds = 0;
    st.stats.backoff_until.reset();
    st.due = std::max(st.due + st.interval, clock_.monotonic());
  }
  for (const auto idx : st.checks) {
    const auto& c = checks_[idx];
    if (failure) {
      ++st.stats.errors;
      cloudwatch_sample s;
      s.check_id = c.id;
      s.at = now;
      s.result.result = outcome::aws_error;
      s.result.detail = failure->to_string();
      s.result.http_status = failure->http_status;
      s.result.latency_ms = latency_ms;
      s.result.phases.total_ms = latency_ms;
      out.push_back(std::move(s));
      continue;
    }
    const std::string qid = "m" + std::to_string(idx);
    const auto it = std::find_if(results.begin(), results.end(), [&](const auto& r) { return r.id == qid; });
    auto s = judge(c, it == results.end() ? nullptr : &*it, now, latency_ms);
    if (s.result.result == outcome::internal && s.result.detail.empty()) {
      ++st.stats.ignored_missing;  // missing_data: ignore -> no vote
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

cloudwatch_sample cloudwatch_sampler::judge(const cloudwatch_check& c, const aws::metric_result* r,
                                            common::wall_time now, double latency_ms) const {
  cloudwatch_sample s;
  s.check_id = c.id;
  s.at = now;
  s.result.latency_ms = latency_ms;
  s.result.phases.total_ms = latency_ms;
  const std::string what = fmt::format("{} {} {}s", c.query.metric, c.query.stat, c.query.period_s);
  if (r != nullptr && (r->status_code == "Forbidden" || r->status_code == "InternalError")) {
    s.result.result = outcome::aws_error;
    s.result.detail = what + ": CloudWatch status " + r->status_code;
    return s;
  }
  if (r == nullptr || r->points.empty()) {
    switch (c.on_missing) {
      case common::missing_data::ok:
        s.result.result = outcome::ok;
        s.result.detail = what + ": no data (missing_data: ok)";
        return s;
      case common::missing_data::fail:
        s.result.result = outcome::no_data;
        s.result.detail = what + ": no data (missing_data: fail)";
        return s;
      case common::missing_data::ignore:
        s.result.result = outcome::internal;  // marker: dropped by the caller
        s.result.detail.clear();
        return s;
    }
  }
  const auto& p = r->points.front();  // newest
  s.value = p.value;
  s.datapoint_at = p.at;
  if (c.cond.holds(p.value)) {
    s.result.result = outcome::ok;
  } else {
    s.result.result = outcome::condition_failed;
    s.result.detail =
        fmt::format("{} = {} at {} (healthy when {})", what, p.value, aws::format_iso8601(p.at), c.cond.to_string());
  }
  return s;
}

}  // namespace vigil::detector
