// Reading services[].checks[] and region_checks[] into config::checks.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <unordered_set>

#include "common/config_reader.hpp"
#include "common/duration.hpp"

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

void read_ca_file(map_reader& m, std::string& out) {
  if (!m.file_path("ca_file", out)) return;
  std::string err;
  if (!m.ctx().files || !m.ctx().files(out, err)) {
    m.error("ca_file", "cannot read CA bundle " + quote_value(out) + (err.empty() ? "" : ": " + err));
  }
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
  m.string_map("headers", h.headers, true);
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
  read_ca_file(m, h.ca_file);
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

/// `addr` is host:port; reports at `key` when not.
bool valid_address(map_reader& m, std::string_view key, const std::string& addr) {
  if (const std::string why = check_listen(addr); !why.empty()) {
    m.error(key, "expected host:port: " + why + ", got " + quote_value(addr));
    return false;
  }
  return true;
}

/// An IPv4 literal or a bracketed IPv6 literal, then :port.
bool ip_literal_address(std::string_view addr) {
  if (addr.starts_with("[")) return true;  // check_listen() checked the brackets
  const std::string_view host = addr.substr(0, addr.rfind(':'));
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return dots == 3;
}

void read_tcp(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("tcp"), parent.key_path("tcp"),
               {"address", "tls", "server_name", "ca_file", "send", "expect", "read_limit", "connect_timeout"});
  if (!m.valid()) return;
  tcp_check_config t;
  if (m.string("address", t.address, true)) valid_address(m, "address", t.address);
  m.boolean("tls", t.tls);
  m.string("server_name", t.server_name);
  read_ca_file(m, t.ca_file);
  for (const std::string_view key : {"server_name", "ca_file"}) {
    if (m.has(key) && !t.tls) m.key_error(key, "only used with tls: true");
  }
  m.string("send", t.send);
  m.string("expect", t.expect);
  std::int64_t limit = static_cast<std::int64_t>(t.read_limit);
  if (m.integer64("read_limit", limit, 1, 16LL * 1024 * 1024)) t.read_limit = static_cast<std::size_t>(limit);
  if (t.expect.size() > t.read_limit) m.error("expect", "longer than read_limit");
  m.duration("connect_timeout", t.connect_timeout, zero);
  c.tcp = std::move(t);
}

void read_dns(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("dns"), parent.key_path("dns"), {"name", "type", "resolver", "expect"});
  if (!m.valid()) return;
  dns_check_config d;
  if (m.string("name", d.name, true)) {
    std::string_view n = d.name;
    if (n.ends_with(".")) n.remove_suffix(1);
    bool ok = !n.empty() && n.size() <= 253 && !n.starts_with(".") && n.find("..") == std::string_view::npos;
    std::size_t label = 0;
    for (const char ch : n) {
      label = ch == '.' ? 0 : label + 1;
      ok = ok && label <= 63 &&
           (std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || ch == '_' || ch == '.');
    }
    if (!ok) {
      m.error("name",
              "expected a domain name (labels of letters, digits, '-' or '_', at most 63 characters each, "
              "253 in all), got " +
                  quote_value(d.name));
    }
  }
  static const std::vector<std::string_view> types{"A", "AAAA", "CNAME", "TXT", "MX", "NS"};
  if (const auto t = m.choice("type", types)) d.type = std::string(types.at(*t));
  if (m.string("resolver", d.resolver, true) && valid_address(m, "resolver", d.resolver) &&
      !ip_literal_address(d.resolver)) {
    m.error("resolver", "expected an IP address and port such as 10.0.0.2:53, got " + quote_value(d.resolver));
  }
  m.string_list("expect", d.expect);
  c.dns = std::move(d);
}

void read_postgres(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("postgres"), parent.key_path("postgres"),
               {"dsn", "dsn_file", "query", "expect"});
  if (!m.valid()) return;
  postgres_check_config p;
  m.secret("dsn", p.dsn, true);
  m.string("query", p.query);
  std::string expect;
  if (m.string("expect", expect, false, true)) p.expect = std::move(expect);
  c.postgres = std::move(p);
}

void read_grpc(map_reader& parent, check_config& c) {
  map_reader m(parent.ctx(), parent.child("grpc"), parent.key_path("grpc"), {"address", "service", "tls", "ca_file"});
  if (!m.valid()) return;
  grpc_check_config g;
  if (m.string("address", g.address, true)) valid_address(m, "address", g.address);
  m.string("service", g.service);
  m.boolean("tls", g.tls);
  read_ca_file(m, g.ca_file);
  if (m.has("ca_file") && !g.tls) m.key_error("ca_file", "only used with tls: true");
  c.grpc = std::move(g);
}

}  // namespace

void read_fast_interval(map_reader& m, common::duration& out) {
  common::duration d = out;
  if (!m.duration("fast_interval", d, common::duration{0})) return;
  if (d.count() != 0 && (d < common::duration{100} || d > common::duration{3600000})) {
    m.key_error("fast_interval", "expected 0 (off) or a duration from 100ms to 1h, got " + format_duration(d));
    return;
  }
  out = d;
}

namespace {

/// The keys every check has, then exactly one probe: http, tcp, dns, postgres,
/// grpc or cloudwatch.
void read_check_body(map_reader& m, check_config& c, const probe_defaults_config& d) {
  if (const auto role = m.choice("role", {"classify", "gate"})) c.role = static_cast<check_role>(*role);
  c.interval = d.interval;
  c.timeout = d.timeout;
  c.degraded_after = d.degraded_after;
  c.fast_interval = d.fast_interval;
  m.duration("interval", c.interval, common::duration{100});
  m.duration("timeout", c.timeout, common::duration{10});
  m.duration("degraded_after", c.degraded_after, zero);
  read_fast_interval(m, c.fast_interval);
  static constexpr std::array<std::string_view, 6> probes{"http", "tcp", "dns", "postgres", "grpc", "cloudwatch"};
  std::vector<std::string_view> present;
  for (const std::string_view p : probes) {
    if (m.has(p)) present.push_back(p);
  }
  if (present.size() > 1) {
    m.error(present[1], "a check has one probe, got both " + std::string(present[0]) + " and " +
                            std::string(present[1]) + ": split it into two checks");
  } else if (present.empty()) {
    m.ctx().error(m.node(), m.path(),
                  "missing the probe: expected one of the keys http, tcp, dns, postgres, grpc, cloudwatch");
  } else if (present[0] == "http") {
    read_http(m, c);
  } else if (present[0] == "tcp") {
    read_tcp(m, c);
  } else if (present[0] == "dns") {
    read_dns(m, c);
  } else if (present[0] == "postgres") {
    read_postgres(m, c);
  } else if (present[0] == "grpc") {
    read_grpc(m, c);
  } else {
    read_cloudwatch(m, c);
  }
}

constexpr std::array<std::string_view, 12> check_keys{"region",         "role", "interval",   "timeout",
                                                      "degraded_after", "http", "tcp",        "dns",
                                                      "postgres",       "grpc", "cloudwatch", "fast_interval"};

}  // namespace

void read_checks(map_reader& top, config& cfg) {
  load_context& ctx = top.ctx();
  std::vector<check_config> region_scoped;
  std::unordered_set<std::string> service_names;  // a set, not a scan: 50,000 services load in linear time
  for_each_item(top, "services", [&](const YAML::Node& n, const std::string& path) {
    map_reader sm(ctx, n, path, {"name", "checks"});
    if (!sm.valid()) return;
    service_config svc;
    svc.pos = sm.pos();
    if (!read_name(sm, "name", svc.name)) return;
    if (!service_names.insert(svc.name).second) {
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
