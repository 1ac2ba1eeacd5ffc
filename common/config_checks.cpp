// Reading services[].checks[] and region_checks[] into config::checks.
#include <algorithm>
#include <array>
#include <cctype>

#include "common/config_reader.hpp"

namespace vigil::common::config_detail {

namespace {

constexpr common::duration zero{0};

/// "< 50", ">= 0.5", "== 0": an operator and a number.
bool valid_condition(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  std::size_t op = 0;
  for (const std::string_view o : {"<=", ">=", "==", "!=", "<", ">"}) {
    if (s.substr(0, o.size()) == o) {
      op = o.size();
      break;
    }
  }
  if (op == 0) return false;
  s.remove_prefix(op);
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return parse_number(s).has_value();
}

/// Average, Sum, Minimum, Maximum, SampleCount or a percentile p0..p100 (p99.9).
bool valid_stat(std::string_view s) {
  for (const std::string_view st : {"Average", "Sum", "Minimum", "Maximum", "SampleCount"}) {
    if (s == st) return true;
  }
  if (s.size() < 2 || s.front() != 'p') return false;
  const auto n = parse_number(s.substr(1));
  return n && *n >= 0 && *n <= 100 && std::isdigit(static_cast<unsigned char>(s[1])) != 0;
}

void read_http(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("http"), parent.key_path("http"),
               {"url", "method", "headers", "body", "expect", "follow_redirects", "max_redirects", "ca_file",
                "keep_alive", "body_limit", "connect_timeout", "low_speed_limit", "low_speed_time"});
  if (!m.valid()) return;
  http_check_config h;
  m.url("url", h.url, true);
  if (const auto method = m.choice("method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})) {
    static constexpr std::array<std::string_view, 7> methods{"GET",   "HEAD",   "POST",   "PUT",
                                                             "PATCH", "DELETE", "OPTIONS"};
    h.method = std::string(methods.at(*method));
  }
  m.string_map("headers", h.headers);
  m.string("body", h.body, false, true);
  if (m.string_list("expect", h.expect, false, &h.expect_pos)) {
    for (std::size_t i = 0; i < h.expect.size(); ++i) {
      if (h.expect[i].empty()) m.ctx().error_at(h.expect_pos[i], "expected a non-empty expression");
    }
  }
  m.boolean("follow_redirects", h.follow_redirects);
  // libcurl follows redirects without bound unless told: 5 when following.
  if (!m.integer("max_redirects", h.max_redirects, 0, 50) && h.follow_redirects) h.max_redirects = 5;
  if (m.has("max_redirects") && !h.follow_redirects) {
    m.key_error("max_redirects", "only used with follow_redirects: true");
  }
  if (m.file_path("ca_file", h.ca_file)) {
    std::string err;
    if (!m.ctx().files || !m.ctx().files(h.ca_file, err)) {
      m.error("ca_file", "cannot read CA bundle " + quote_value(h.ca_file) + (err.empty() ? "" : ": " + err));
    }
  }
  m.boolean("keep_alive", h.keep_alive);
  std::int64_t limit = static_cast<std::int64_t>(h.body_limit);
  if (m.integer64("body_limit", limit, 1, 64LL * 1024 * 1024)) h.body_limit = static_cast<std::size_t>(limit);
  m.duration("connect_timeout", h.connect_timeout, zero);
  m.integer64("low_speed_limit", h.low_speed_limit, 0, 1'000'000'000);
  m.duration("low_speed_time", h.low_speed_time, zero);
  c.http = std::move(h);
}

void read_cloudwatch(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("cloudwatch"), parent.key_path("cloudwatch"),
               {"namespace", "metric", "dimensions", "stat", "period", "condition", "missing_data", "aws_region"});
  if (!m.valid()) return;
  cloudwatch_check_config w;
  m.string("namespace", w.namespace_, true);
  m.string("metric", w.metric, true);
  m.string_map("dimensions", w.dimensions);
  if (m.string("stat", w.stat) && !valid_stat(w.stat)) {
    m.error("stat", "expected Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99, got " +
                        quote_value(w.stat));
  }
  // CloudWatch accepts periods of 1, 5, 10, 30 s or a multiple of 60 s.
  if (m.duration("period", w.period, common::duration{1000})) {
    const auto s = w.period.count() / 1000;
    if (w.period.count() % 1000 != 0 || !(s == 1 || s == 5 || s == 10 || s == 30 || s % 60 == 0)) {
      m.error("period", "expected 1s, 5s, 10s, 30s or a multiple of 60s (what CloudWatch accepts)");
    }
  }
  if (m.string("condition", w.condition, true) && !valid_condition(w.condition)) {
    m.error("condition", "expected a comparison such as '< 50' or '>= 0.5' (operators < <= > >= == !=), got " +
                             quote_value(w.condition));
  }
  if (const auto md = m.choice("missing_data", {"ok", "fail", "ignore"})) w.on_missing = static_cast<missing_data>(*md);
  m.string("aws_region", w.aws_region);
  c.cloudwatch = std::move(w);
}

/// The keys every check has, then exactly one of http / cloudwatch.
void read_check_body(map_reader& m, check_config& c, const probe_defaults_config& d) {
  if (const auto role = m.choice("role", {"classify", "gate"})) c.role = static_cast<check_role>(*role);
  c.interval = d.interval;
  c.timeout = d.timeout;
  c.degraded_after = d.degraded_after;
  m.duration("interval", c.interval, common::duration{100});
  m.duration("timeout", c.timeout, common::duration{10});
  m.duration("degraded_after", c.degraded_after, zero);
  const bool http = m.has("http");
  const bool cw = m.has("cloudwatch");
  if (http && cw) {
    m.error("cloudwatch", "a check is either http or cloudwatch, not both: split it into two checks");
  } else if (!http && !cw) {
    m.ctx().error(m.node(), m.path(), "missing the probe: expected an http or a cloudwatch key");
  } else if (http) {
    read_http(m, c);
  } else {
    read_cloudwatch(m, c);
  }
}

constexpr std::array<std::string_view, 7> check_keys{"region",         "role", "interval",  "timeout",
                                                     "degraded_after", "http", "cloudwatch"};

}  // namespace

void read_checks(map_reader& top, config& cfg) {
  load_context& ctx = top.ctx();
  std::vector<check_config> region_scoped;
  for_each_item(top, "services", [&](const YAML::Node& n, const std::string& path) {
    map_reader sm(ctx, n, path, {"name", "checks"});
    if (!sm.valid()) return;
    service_config svc;
    svc.pos = sm.pos();
    if (!read_name(sm, "name", svc.name)) return;
    const bool duplicate = std::any_of(cfg.services.begin(), cfg.services.end(),
                                       [&](const service_config& s) { return s.name == svc.name; });
    if (duplicate) {
      sm.error("name", "duplicate service name " + quote_value(svc.name) + ": list all its checks under one entry");
      return;
    }
    if (!sm.require("checks")) return;
    const YAML::Node checks = sm.child("checks");
    if (!checks.IsSequence() || checks.size() == 0) {
      sm.error("checks", "expected a non-empty list of checks, got " + std::string(node_kind(checks)));
      return;
    }
    for_each_item(sm, "checks", [&](const YAML::Node& cn, const std::string& cpath) {
      map_reader cm(ctx, cn, cpath, std::vector<std::string_view>(check_keys.begin(), check_keys.end()));
      if (!cm.valid()) return;
      check_config c;
      c.pos = cm.pos();
      c.service = svc.name;
      if (!cm.string("region", c.region, true)) c.region.clear();
      read_check_body(cm, c, cfg.probe_defaults);
      if (c.region.empty()) return;
      c.id = svc.name + "@" + c.region;
      svc.check_ids.push_back(c.id);
      cfg.checks.push_back(std::move(c));
    });
    cfg.services.push_back(std::move(svc));
  });
  for_each_item(top, "region_checks", [&](const YAML::Node& n, const std::string& path) {
    std::vector<std::string_view> keys(check_keys.begin(), check_keys.end());
    keys.emplace_back("name");
    map_reader cm(ctx, n, path, keys);
    if (!cm.valid()) return;
    check_config c;
    c.pos = cm.pos();
    c.region_scope = true;
    const bool named = read_name(cm, "name", c.service);
    if (!cm.string("region", c.region, true)) c.region.clear();
    read_check_body(cm, c, cfg.probe_defaults);
    if (!named || c.region.empty()) return;
    c.id = c.service + "@" + c.region;
    region_scoped.push_back(std::move(c));
  });
  for (auto& c : region_scoped)
    cfg.checks.push_back(std::move(c));
}

}  // namespace vigil::common::config_detail
