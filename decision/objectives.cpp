#include "decision/objectives.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

using nlohmann::json;

double secs(duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}

json time_json(const std::optional<time_point>& t) {
  return t ? json(format_time(*t)) : json(nullptr);
}

std::optional<time_point> time_from(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw std::invalid_argument(std::string(key) + " must be an RFC 3339 time or null");
  auto t = parse_time(it->get<std::string>());
  if (!t) throw std::invalid_argument(std::string(key) + " is not an RFC 3339 time: " + it->get<std::string>());
  return t;
}

std::optional<double> between(const std::optional<time_point>& a, const std::optional<time_point>& b) {
  if (!a || !b) return std::nullopt;
  return secs(std::chrono::duration_cast<duration>(*b - *a));
}

/// "2.5s", "300s": the numbers in the term details.
std::string num(double s) {
  return format_seconds(duration{static_cast<std::int64_t>(std::llround(s * 1000.0))});
}

}  // namespace

std::optional<double> recorded_timeline::approval_s() const {
  return between(pending_approval, approved);
}

std::optional<double> recorded_timeline::plan_s() const {
  return between(plan_started, plan_finished);
}

json to_json(const recorded_timeline& t) {
  json steps = json::array();
  for (const auto& s : t.steps) {
    steps.push_back({{"name", s.name},
                     {"outcome", s.outcome},
                     {"duration_s", s.duration_s},
                     {"started", time_json(s.started)},
                     {"finished", time_json(s.finished)}});
  }
  const auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", t.id},
          {"kind", t.kind},
          {"dry_run", t.dry_run},
          {"scheduled", t.scheduled},
          {"action", t.action},
          {"result", t.result},
          {"first_evidence", time_json(t.first_evidence)},
          {"classified", time_json(t.classified)},
          {"paged", time_json(t.paged)},
          {"pending_approval", time_json(t.pending_approval)},
          {"approved", time_json(t.approved)},
          {"plan_started", time_json(t.plan_started)},
          {"plan_finished", time_json(t.plan_finished)},
          {"approval_s", opt(t.approval_s())},
          {"plan_s", opt(t.plan_s())},
          {"steps", steps}};
}

recorded_timeline timeline_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("a timeline must be a JSON object");
  recorded_timeline t;
  const auto str = [&](const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) throw std::invalid_argument(std::string(key) + " must be a string");
    return it->get<std::string>();
  };
  t.id = str("id");
  t.kind = str("kind");
  t.action = str("action");
  t.result = str("result");
  t.dry_run = j.value("dry_run", true);
  t.scheduled = j.value("scheduled", false);
  t.first_evidence = time_from(j, "first_evidence");
  t.classified = time_from(j, "classified");
  t.paged = time_from(j, "paged");
  t.pending_approval = time_from(j, "pending_approval");
  t.approved = time_from(j, "approved");
  t.plan_started = time_from(j, "plan_started");
  t.plan_finished = time_from(j, "plan_finished");
  const auto steps = j.find("steps");
  if (steps != j.end() && !steps->is_array()) throw std::invalid_argument("steps must be an array");
  if (steps != j.end()) {
    for (const auto& s : *steps) {
      if (!s.is_object() || !s.contains("name") || !s["name"].is_string())
        throw std::invalid_argument("each step needs a name");
      const auto d = s.find("duration_s");
      if (d != s.end() && !d->is_number()) throw std::invalid_argument("duration_s must be a number");
      recorded_step r;
      r.name = s["name"].get<std::string>();
      r.outcome = s.value("outcome", std::string{});
      r.duration_s = d != s.end() ? d->get<double>() : 0.0;
      if (r.duration_s < 0) throw std::invalid_argument("duration_s must not be negative");
      r.started = time_from(s, "started");
      r.finished = time_from(s, "finished");
      t.steps.push_back(std::move(r));
    }
  }
  return t;
}

std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::optional<double> p90(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

detection_bound compute_detection_bound(const detection_inputs& in) {
  detection_bound out;
  double slowest = 0;
  std::string how = "no classify check";
  bool first = true;
  for (const auto& c : in.classify_checks) {
    const bool suspicion = c.fast_interval.count() > 0;
    const double confirm = suspicion ? secs(c.interval) + in.fall * secs(c.fast_interval) : in.fall * secs(c.interval);
    if (!first && confirm <= slowest) continue;
    first = false;
    slowest = confirm;
    how = suspicion ? "interval " + num(secs(c.interval)) + " + fall " + std::to_string(in.fall) + " x fast_interval " +
                          num(secs(c.fast_interval))
                    : "fall " + std::to_string(in.fall) + " x interval " + num(secs(c.interval));
  }
  out.seconds = slowest + secs(in.confirm_for) + 2 * secs(in.tick);
  out.detail = how + " (slowest classify check) + confirm_for " + num(secs(in.confirm_for)) + " + 2 ticks of " +
               num(secs(in.tick));
  return out;
}

rto_estimate estimate_rto(const std::vector<recorded_timeline>& history, const estimate_inputs& in) {
  rto_estimate e;
  e.terms.push_back({"detection", "", in.detection.seconds, "configured", 0, in.detection.detail});
  std::vector<double> approvals;
  for (const auto& t : history) {
    if (const auto a = t.approval_s(); a && *a >= 0) approvals.push_back(*a);
  }
  if (const auto m = median(approvals)) {
    e.approval_observed = true;
    e.terms.push_back({"approval", "", *m, "measured", approvals.size(),
                       "median of " + std::to_string(approvals.size()) + " approval(s), pending_approval -> approved"});
  } else {
    e.terms.push_back({"approval", "", secs(in.default_approval), "default", 0,
                       "unknown: no approval observed yet; the default " + num(secs(in.default_approval))});
  }
  for (const auto& s : in.steps) {
    std::vector<double> d;
    for (const auto& t : history) {
      if (t.dry_run || t.action != in.action) continue;
      for (const auto& r : t.steps) {
        if (r.name == s.name && r.outcome == "done") d.push_back(r.duration_s);
      }
    }
    if (const auto p = p90(d)) {
      e.terms.push_back(
          {"step", s.name, *p, "measured", d.size(), "p90 of " + std::to_string(d.size()) + " real execution(s)"});
    } else {
      e.terms.push_back({"step", s.name, secs(s.timeout), "timeout", 0,
                         "never executed for real: its configured timeout " + num(secs(s.timeout))});
    }
  }
  for (const auto& t : e.terms)
    e.total_s += t.seconds;
  if (in.rto_objective) e.objective_s = secs(*in.rto_objective);
  return e;
}

json to_json(const rto_estimate& e) {
  json terms = json::array();
  for (const auto& t : e.terms) {
    json j{
        {"term", t.term}, {"seconds", t.seconds}, {"source", t.source}, {"samples", t.samples}, {"detail", t.detail}};
    if (!t.name.empty()) j["name"] = t.name;
    terms.push_back(std::move(j));
  }
  return {{"estimate_s", e.total_s},
          {"objective_s", e.objective_s ? json(*e.objective_s) : json(nullptr)},
          {"exceeds", e.exceeds()},
          {"approval_observed", e.approval_observed},
          {"terms", terms}};
}

std::optional<double> rpo_exposure_s(std::optional<double> lag_ms, std::optional<double> age_s, bool reachable,
                                     duration lag_max_age) {
  if (!lag_ms) return std::nullopt;
  const double lag = *lag_ms / 1000.0;
  const double age = age_s.value_or(0.0);
  const bool stale = !reachable || age > secs(lag_max_age);
  return stale ? lag + age : lag;
}

json drill_trend(const std::vector<recorded_timeline>& history, std::size_t n) {
  json out = json::array();
  for (auto it = history.rbegin(); it != history.rend() && out.size() < n; ++it) {
    if (it->kind != "drill") continue;
    const auto plan = it->plan_s();
    out.push_back({{"id", it->id},
                   {"at", time_json(it->plan_finished)},
                   {"scheduled", it->scheduled},
                   {"action", it->action},
                   {"result", it->result},
                   {"plan_s", plan ? json(*plan) : json(nullptr)},
                   {"steps", it->steps.size()}});
  }
  return out;
}

}  // namespace vigil::decision
