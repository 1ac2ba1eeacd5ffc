// Reading the plain sections of a config file: deployment, regions, vantages,
// decision, probe_defaults, replication_lag, engine, coordination, paging,
// approvals, aws, logging. Checks and plans have their own files.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/config_reader.hpp"
#include "common/log.hpp"
#include "decision/silences.hpp"

namespace vigil::common::config_detail {

namespace {

constexpr common::duration zero{0};
constexpr common::duration one_ms{1};

void read_regions(map_reader& top, config& cfg) {
  if (!top.require("regions")) return;
  for_each_item(top, "regions", [&](const YAML::Node& n, const std::string& path) {
    map_reader m(top.ctx(), n, path, {"name", "role"});
    if (!m.valid()) return;
    region_config r;
    read_name(m, "name", r.name);
    if (const auto role = m.choice("role", {"primary", "dr"}, true)) {
      r.role = *role == 0 ? region_role::primary : region_role::dr;
    } else {
      return;
    }
    r.pos = m.pos();
    if (!r.name.empty()) cfg.regions.push_back(std::move(r));
  });
}

void read_vantages(map_reader& top, config& cfg) {
  if (!top.require("vantages")) return;
  const YAML::Node n = top.child("vantages");
  if (!n.IsSequence() || n.size() == 0) {
    top.error("vantages", "expected a non-empty list of vantage names, got " + std::string(node_kind(n)));
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string path = "vantages[" + std::to_string(i) + "]";
    top.ctx().record(n[i], path);
    std::string name;
    std::string region;
    if (n[i].IsMap()) {
      map_reader m(top.ctx(), n[i], path, {"name", "region"});
      if (!read_name(m, "name", name)) continue;
      m.string("region", region);
    } else {
      auto v = read_scalar(top.ctx(), n[i], path, "a vantage name or {name, region}");
      if (!v) continue;
      if (!is_name(v->value)) {
        top.ctx().error(n[i], path,
                        "expected a name of letters, digits, '-', '_' or '.', got " + quote_value(v->value));
        continue;
      }
      name = std::move(v->value);
    }
    if (std::find(cfg.vantages.begin(), cfg.vantages.end(), name) != cfg.vantages.end()) {
      top.ctx().error(n[i], path, "duplicate vantage " + quote_value(name));
      continue;
    }
    cfg.vantage_regions[name] = region.empty() ? name : region;
    cfg.vantages.push_back(std::move(name));
  }
}

void read_decision(map_reader& top, decision_config& d) {
  if (!top.has("decision")) return;
  map_reader m(top.ctx(), top.child("decision"), "decision",
               {"tick", "quorum", "fall", "rise", "stale_after", "impaired_fraction", "impaired_after",
                "partition_after", "regional_fraction", "confirm_for", "clear_for", "service_page_grace", "max_lag",
                "lag_max_age", "cooldown", "recommendation_ttl"});
  if (!m.valid()) return;
  m.duration("tick", d.tick, common::duration{10});
  m.integer("quorum", d.quorum, 1, 100);
  m.integer("fall", d.fall, 1, 100);
  m.integer("rise", d.rise, 1, 100);
  m.duration("stale_after", d.stale_after, one_ms);
  m.number("impaired_fraction", d.impaired_fraction, 0, 1, true);
  if (m.has("impaired_after")) {
    common::duration after{0};
    m.duration("impaired_after", after, zero);
    d.impaired_after = after;
  }
  m.duration("partition_after", d.partition_after, zero);
  m.number("regional_fraction", d.regional_fraction, 0, 1, true);
  m.duration("confirm_for", d.confirm_for, zero);
  m.duration("clear_for", d.clear_for, zero);
  m.duration("service_page_grace", d.service_page_grace, zero);
  m.duration("max_lag", d.max_lag, one_ms);
  m.duration("lag_max_age", d.lag_max_age, one_ms);
  m.duration("cooldown", d.cooldown, zero);
  m.duration("recommendation_ttl", d.recommendation_ttl, one_ms);
}

void read_probe_defaults(map_reader& top, probe_defaults_config& p) {
  if (!top.has("probe_defaults")) return;
  map_reader m(top.ctx(), top.child("probe_defaults"), "probe_defaults",
               {"interval", "timeout", "jitter", "degraded_after", "fast_interval"});
  if (!m.valid()) return;
  m.duration("interval", p.interval, common::duration{100});
  m.duration("timeout", p.timeout, common::duration{10});
  m.number("jitter", p.jitter, 0, 0.5, false);
  m.duration("degraded_after", p.degraded_after, zero);
  read_fast_interval(m, p.fast_interval);
}

void read_replication_lag(map_reader& top, replication_lag_config& r) {
  if (!top.has("replication_lag")) return;
  map_reader m(
      top.ctx(), top.child("replication_lag"), "replication_lag",
      {"source", "region", "cluster", "metric", "dsn", "dsn_file", "interval", "timeout", "vantage", "failback"});
  if (!m.valid()) return;
  const auto source = m.choice("source", {"none", "cloudwatch", "aurora_sql", "postgres_standby"}, true);
  if (source) r.source = static_cast<lag_source>(*source);
  m.string("region", r.region);
  m.string("cluster", r.cluster, r.source == lag_source::cloudwatch);
  if (const auto metric = m.choice("metric", {"AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"})) {
    r.metric = *metric == 0 ? "AuroraGlobalDBRPOLag" : "AuroraGlobalDBReplicationLag";
  }
  const bool sql = r.source == lag_source::aurora_sql || r.source == lag_source::postgres_standby;
  m.secret("dsn", r.dsn, sql);
  m.duration("interval", r.interval, common::duration{100});
  m.duration("timeout", r.timeout, one_ms);
  m.string("vantage", r.vantage);
  if (!m.has("failback")) return;
  map_reader f(m.ctx(), m.child("failback"), "replication_lag.failback",
               {"region", "cluster", "metric", "dsn", "dsn_file"});
  if (!f.valid()) return;
  auto& d = r.failback.emplace();
  f.string("region", d.region);
  f.string("cluster", d.cluster, r.source == lag_source::cloudwatch);
  d.metric = r.metric;
  if (const auto metric = f.choice("metric", {"AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"})) {
    d.metric = *metric == 0 ? "AuroraGlobalDBRPOLag" : "AuroraGlobalDBReplicationLag";
  }
  f.secret("dsn", d.dsn, sql);
}

void read_engine(map_reader& top, config& cfg) {
  engine_config& e = cfg.engine;
  if (!top.has("engine")) return;
  map_reader m(
      top.ctx(), top.child("engine"), "engine",
      {"listen", "metrics_listen", "endpoints", "agent_key", "agent_key_file", "state_dir", "record", "public_url",
       "runbook_url", "dashboard_url", "batch_max_age", "max_batch_bytes", "actuation_brake", "max_connections",
       "max_connections_per_address", "header_timeout", "history_bucket", "history_buckets", "read_tokens_file"});
  if (!m.valid()) return;
  for (const std::string_view key : {"listen", "metrics_listen"}) {
    std::string v;
    if (!m.string(key, v)) continue;
    if (const std::string why = check_listen(v); !why.empty()) {
      m.error(key, "expected host:port: " + why + ", got " + quote_value(v));
      continue;
    }
    (key == "listen" ? e.listen : e.metrics_listen) = v;
  }
  std::vector<source_pos> positions;
  if (m.string_list("endpoints", e.endpoints, false, &positions)) {
    if (e.endpoints.empty()) m.error("endpoints", "expected at least one engine URL");
    for (std::size_t i = 0; i < e.endpoints.size(); ++i) {
      if (const std::string why = check_url(e.endpoints[i]); !why.empty()) {
        top.ctx().error_at(positions[i], "expected an http:// or https:// URL with a host: " + why + ", got " +
                                             quote_value(e.endpoints[i]));
      }
    }
  }
  m.secret("agent_key", e.agent_key);
  m.string("state_dir", e.state_dir);
  m.string("record", e.record);
  m.url("public_url", e.public_url);
  m.url("runbook_url", e.runbook_url);
  m.url("dashboard_url", e.dashboard_url);
  m.duration("batch_max_age", e.batch_max_age, common::duration{1000});
  std::int64_t bytes = static_cast<std::int64_t>(e.max_batch_bytes);
  if (m.integer64("max_batch_bytes", bytes, 1024, 256LL * 1024 * 1024))
    e.max_batch_bytes = static_cast<std::size_t>(bytes);
  m.boolean("actuation_brake", e.actuation_brake);
  int conns = static_cast<int>(e.max_connections);
  if (m.integer("max_connections", conns, 16, 65536)) e.max_connections = static_cast<std::size_t>(conns);
  int per_address = static_cast<int>(e.max_connections_per_address);
  if (m.integer("max_connections_per_address", per_address, 1, 65536)) {
    if (static_cast<std::size_t>(per_address) > e.max_connections) {
      m.error("max_connections_per_address", "expected at most engine.max_connections (" +
                                                 std::to_string(e.max_connections) + "), got " +
                                                 std::to_string(per_address));
    } else {
      e.max_connections_per_address = static_cast<std::size_t>(per_address);
    }
  }
  if (m.duration("header_timeout", e.header_timeout, common::duration{500}) &&
      e.header_timeout > common::duration{60000}) {
    m.error("header_timeout", "expected at most 60s: a client that needs longer to send a request head is stalling");
  }
  if (m.duration("history_bucket", e.history_bucket, common::duration{1000}) &&
      e.history_bucket > common::duration{3600 * 1000}) {
    m.error("history_bucket", "expected at most 1h");
  }
  m.integer("history_buckets", e.history_buckets, 1, 1440);
  read_read_tokens(m, e);
}

void read_silences(map_reader& top, config& cfg) {
  silences_config& s = cfg.silences;
  if (top.has("silences")) {
    map_reader m(top.ctx(), top.child("silences"), "silences", {"pages", "max_active", "max_duration"});
    if (m.valid()) {
      if (const auto p = m.choice("pages", {"downgrade", "hold"})) s.hold_pages = *p == 1;
      m.integer("max_active", s.max_active, 1, 1000);
      if (m.duration("max_duration", s.max_duration, common::duration{60000}) &&
          s.max_duration > common::duration{31LL * 24 * 3600 * 1000}) {
        m.error("max_duration", "expected at most 31d: a longer silence is a configuration change");
      }
    }
  }
  if (!top.has("maintenance_windows")) return;
  for_each_item(top, "maintenance_windows", [&](const YAML::Node& n, const std::string& path) {
    map_reader wm(top.ctx(), n, path, {"name", "scope", "schedule", "timezone"});
    if (!wm.valid()) return;
    maintenance_window_config w;
    w.pos = wm.pos();
    if (!read_name(wm, "name", w.name)) return;
    if (!wm.string("scope", w.scope, true) || !wm.string("schedule", w.schedule, true)) return;
    wm.string("timezone", w.timezone);
    for (const auto& other : s.windows) {
      if (other.name == w.name) {
        wm.error("name", "duplicate maintenance window " + quote_value(w.name));
        return;
      }
    }
    std::string err;
    if (!decision::parse_maintenance_window(w.name, w.scope, w.schedule, w.timezone, err)) {
      const bool tz = err.starts_with("timezone");
      wm.error(tz ? "timezone" : (err.starts_with("scope") ? "scope" : "schedule"), err);
      return;
    }
    if (s.windows.size() >= 64) {
      wm.error("name", "at most 64 maintenance windows");
      return;
    }
    s.windows.push_back(std::move(w));
  });
}

/// A PEM file for libcurl (CA bundle, certificate, key): the path resolved,
/// the file regular, readable and at most max_secret_file_bytes, and holding
/// the PEM block `marker` ("CERTIFICATE", "PRIVATE KEY"; a private key must
/// not be readable by group or others, like every secret). libcurl reads it
/// again on every request; this only catches mistakes at load time.
bool read_pem_path(map_reader& m, std::string_view key, std::string_view marker, std::string& out) {
  if (!m.file_path(key, out)) return false;
  if (const std::string exposed = marker == "PRIVATE KEY" ? m.ctx().exposed_secret(out) : std::string{};
      !exposed.empty()) {
    m.error(key, exposed);
    return false;
  }
  std::string err;
  const auto text = m.ctx().files ? m.ctx().files(out, err) : std::nullopt;
  if (!text) {
    m.error(key, "cannot read " + quote_value(out) + (err.empty() ? "" : ": " + err));
    return false;
  }
  if (text->find("-----BEGIN ") == std::string::npos ||
      text->find(std::string(marker) + "-----") == std::string::npos) {
    m.error(key, quote_value(out) + " holds no PEM " + std::string(marker));
    return false;
  }
  return true;
}

/// ca_file, cert_file + key_file, username (or username_file) + password
/// (password_file or ${ENV}) of the etcd backend.
void read_coordination_security(map_reader& m, coordination_config& c) {
  const bool etcd = c.backend == coordination_backend::etcd;
  for (const std::string_view key :
       {"ca_file", "cert_file", "key_file", "username", "username_file", "password", "password_file"}) {
    if (m.has(key) && !etcd) m.key_error(key, "only used with backend: etcd");
  }
  if (!etcd) return;
  read_pem_path(m, "ca_file", "CERTIFICATE", c.ca_file);
  const bool cert = read_pem_path(m, "cert_file", "CERTIFICATE", c.cert_file);
  const bool key = read_pem_path(m, "key_file", "PRIVATE KEY", c.key_file);
  if (m.has("cert_file") != m.has("key_file")) {
    m.error(m.has("cert_file") ? "cert_file" : "key_file", "set both cert_file and key_file (mutual TLS), or neither");
  }
  if (m.has("ca_file") || cert || key) {
    for (const auto& e : c.endpoints) {
      if (!e.starts_with("https://")) {
        m.error("endpoints", "ca_file, cert_file and key_file need https:// endpoints, got " + quote_value(e));
        break;
      }
    }
  }
  if (m.has("username_file")) {
    m.secret("username", c.username);
  } else {
    m.string("username", c.username);
  }
  m.secret("password", c.password);
  const bool user = m.has("username") || m.has("username_file");
  const bool pass = m.has("password") || m.has("password_file");
  if (user != pass) {
    m.error(
        user ? (m.has("username") ? "username" : "username_file") : (m.has("password") ? "password" : "password_file"),
        "set both username and password (or password_file), or neither");
  } else if (user) {
    for (const auto& e : c.endpoints) {
      if (e.starts_with("http://")) {
        m.ctx().warning(
            m.child("endpoints"), m.key_path("endpoints"),
            "the etcd password and token travel in clear text over " + quote_value(e) + "; use https:// with ca_file");
        break;
      }
    }
  }
}

void read_coordination(map_reader& top, config& cfg) {
  coordination_config& c = cfg.coordination;
  if (!top.has("coordination")) return;
  map_reader m(top.ctx(), top.child("coordination"), "coordination",
               {"backend", "endpoints", "lease_ttl", "prefix", "ca_file", "cert_file", "key_file", "username",
                "username_file", "password", "password_file"});
  if (!m.valid()) return;
  if (const auto b = m.choice("backend", {"file", "etcd"}, true)) c.backend = static_cast<coordination_backend>(*b);
  std::vector<source_pos> positions;
  if (m.string_list("endpoints", c.endpoints, c.backend == coordination_backend::etcd, &positions)) {
    if (c.backend != coordination_backend::etcd) m.key_error("endpoints", "only used with backend: etcd");
    if (c.endpoints.empty()) m.error("endpoints", "expected at least one etcd URL");
    for (std::size_t i = 0; i < c.endpoints.size(); ++i) {
      if (const std::string why = check_url(c.endpoints[i]); !why.empty()) {
        top.ctx().error_at(positions[i], "expected an http:// or https:// URL with a host: " + why + ", got " +
                                             quote_value(c.endpoints[i]));
      }
    }
  }
  // etcd leases are granted in whole seconds.
  m.duration("lease_ttl", c.lease_ttl, common::duration{1000});
  if (m.string("prefix", c.prefix) && c.prefix.front() != '/') {
    m.error("prefix", "expected a key prefix starting with '/', got " + quote_value(c.prefix));
  }
  read_coordination_security(m, c);
}

void read_approvals(map_reader& top, config& cfg) {
  approvals_config& a = cfg.approvals;
  if (!top.has("approvals")) return;
  map_reader m(top.ctx(), top.child("approvals"), "approvals",
               {"required", "max_ttl", "max_skew", "max_standing_ttl", "approvers"});
  if (!m.valid()) return;
  m.integer("required", a.required, 1, 10);
  m.duration("max_ttl", a.max_ttl, common::duration{1000});
  m.duration("max_skew", a.max_skew, zero);
  if (m.duration("max_standing_ttl", a.max_standing_ttl, common::duration{60000}) &&
      a.max_standing_ttl > common::duration{90LL * 24 * 3600 * 1000}) {
    m.error("max_standing_ttl", "at most 90d: a standing approval is re-signed at least once a quarter");
  }
  for_each_item(m, "approvers", [&](const YAML::Node& n, const std::string& path) {
    map_reader am(top.ctx(), n, path, {"id", "public_key_file", "public_key"});
    if (!am.valid()) return;
    approver_config ap;
    ap.pos = am.pos();
    if (!read_name(am, "id", ap.id)) return;
    if (am.has("public_key") && am.has("public_key_file")) {
      am.error("public_key_file", "set either public_key or public_key_file, not both");
      return;
    }
    if (am.has("public_key")) {
      am.string("public_key", ap.public_key_pem);
    } else if (am.file_path("public_key_file", ap.public_key_file)) {
      std::string err;
      auto pem = top.ctx().files ? top.ctx().files(ap.public_key_file, err) : std::nullopt;
      if (!pem) {
        am.error("public_key_file",
                 "cannot read public key file " + quote_value(ap.public_key_file) + (err.empty() ? "" : ": " + err));
        return;
      }
      ap.public_key_pem = std::move(*pem);
    } else {
      if (!am.has("public_key_file")) am.require("public_key_file");
      return;
    }
    if (ap.public_key_pem.find("-----BEGIN PUBLIC KEY-----") == std::string::npos) {
      am.error(am.has("public_key") ? "public_key" : "public_key_file",
               "expected an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----), as written by "
               "`openssl pkey -pubout` or `vigil keygen`");
      return;
    }
    for (const auto& other : a.approvers) {
      if (other.id == ap.id) {
        am.error("id", "duplicate approver id " + quote_value(ap.id));
        return;
      }
    }
    a.approvers.push_back(std::move(ap));
  });
}

void read_aws(map_reader& top, aws_config& a) {
  if (!top.has("aws")) return;
  map_reader m(top.ctx(), top.child("aws"), "aws",
               {"profile", "endpoints", "region_endpoints", "max_attempts", "call_timeout"});
  if (!m.valid()) return;
  m.string("profile", a.profile);
  const auto check_urls = [&](const std::map<std::string, std::string>& urls, const std::string& path) {
    for (const auto& [service, u] : urls) {
      if (const std::string why = check_url(u); !why.empty()) {
        top.ctx().error_at(
            top.ctx().at(fmt::format("{}.{}", path, service)),
            fmt::format("expected an http:// or https:// URL with a host: {}, got {}", why, quote_value(u)));
      }
    }
  };
  if (m.string_map("endpoints", a.endpoints)) check_urls(a.endpoints, "aws.endpoints");
  if (m.has("region_endpoints")) {
    // Region names are free-form here: any key, each a map of service URLs.
    map_reader regions(top.ctx(), m.child("region_endpoints"), "aws.region_endpoints", {}, true);
    if (regions.valid()) {
      for (const auto& region : regions.keys()) {
        std::map<std::string, std::string> urls;
        if (regions.string_map(region, urls)) {
          check_urls(urls, "aws.region_endpoints." + region);
          a.region_endpoints[region] = std::move(urls);
        }
      }
    }
  }
  m.integer("max_attempts", a.max_attempts, 1, 10);
  m.duration("call_timeout", a.call_timeout, common::duration{100});
}

void read_readiness(map_reader& top, readiness_config& r) {
  if (!top.has("readiness")) return;
  map_reader m(top.ctx(), top.child("readiness"), "readiness", {"interval", "gate", "cert_min_days", "timeout"});
  if (!m.valid()) return;
  r.enabled = true;
  if (m.duration("interval", r.interval, common::duration{1000}) && r.interval > common::duration{86400000}) {
    m.error("interval", "at most 24h: readiness that old proves little");
  }
  if (const auto g = m.choice("gate", {"advisory", "blocking"})) r.gate_blocking = *g == 1;
  m.integer("cert_min_days", r.cert_min_days, 0, 365);
  if (m.duration("timeout", r.timeout, common::duration{100}) && r.timeout > common::duration{120000}) {
    m.error("timeout", "at most 2m per call");
  }
}

void read_objectives(map_reader& top, objectives_config& o) {
  if (!top.has("objectives")) return;
  map_reader m(top.ctx(), top.child("objectives"), "objectives", {"rto", "rpo"});
  if (!m.valid()) return;
  common::duration d{0};
  if (m.duration("rto", d, common::duration{1000})) o.rto = d;
  if (m.duration("rpo", d, zero)) o.rpo = d;
}

void read_drill(map_reader& top, drill_config& dr) {
  if (!top.has("drill")) return;
  map_reader m(top.ctx(), top.child("drill"), "drill", {"schedule"});
  if (!m.valid()) return;
  common::duration d{0};
  if (m.duration("schedule", d, common::duration{1000})) dr.schedule = d;
}

void read_logging(map_reader& top, logging_config& l) {
  if (!top.has("logging")) return;
  map_reader m(top.ctx(), top.child("logging"), "logging", {"level", "format"});
  if (!m.valid()) return;
  const std::vector<std::string_view> levels(log_level_names().begin(), log_level_names().end());
  if (const auto i = m.choice("level", levels)) l.level = std::string(levels[*i]);
  if (const auto f = m.choice("format", {"text", "json"})) l.format = *f == 0 ? "text" : "json";
}

}  // namespace

const std::vector<std::string_view>& top_level_keys() {
  static const std::vector<std::string_view> keys{"deployment",
                                                  "regions",
                                                  "vantages",
                                                  "decision",
                                                  "probe_defaults",
                                                  "services",
                                                  "region_checks",
                                                  "replication_lag",
                                                  "engine",
                                                  "coordination",
                                                  "paging",
                                                  "approvals",
                                                  "plan",
                                                  "aws",
                                                  "logging",
                                                  "silences",
                                                  "maintenance_windows",
                                                  "readiness",
                                                  "objectives",
                                                  "drill"};
  return keys;
}

void read_sections(map_reader& top, config& cfg) {
  if (read_name(top, "deployment", cfg.deployment) && cfg.deployment.size() > 256) {
    // Approvals carry it as the token's `aud` (approvals/approval.hpp: 1..256 printable ASCII).
    top.error("deployment", "longer than 256 characters (" + std::to_string(cfg.deployment.size()) +
                                "): approvals carry it as their audience (aud), at most 256");
    cfg.deployment.clear();
  }
  read_regions(top, cfg);
  read_vantages(top, cfg);
  read_decision(top, cfg.decision);
  read_probe_defaults(top, cfg.probe_defaults);
  read_replication_lag(top, cfg.replication_lag);
  read_engine(top, cfg);
  read_coordination(top, cfg);
  read_approvals(top, cfg);
  read_silences(top, cfg);
  read_aws(top, cfg.aws);
  read_logging(top, cfg.logging);
  read_readiness(top, cfg.readiness);
  read_objectives(top, cfg.objectives);
  read_drill(top, cfg.drill);
}

void read_paging(map_reader& top, config& cfg) {
  // Which keys each sink kind takes besides kind, name and timeout.
  struct kind_keys {
    std::string_view kind;
    std::vector<std::string_view> keys;
  };
  static const std::vector<kind_keys> table{
      {"pagerduty", {"routing_key", "routing_key_file", "url"}},
      {"slack", {"webhook_url", "webhook_url_file"}},
      {"alertmanager", {"url"}},
      {"webhook", {"url", "secret", "secret_file"}},
      {"log", {}},
  };
  for_each_item(top, "paging", [&](const YAML::Node& n, const std::string& path) {
    map_reader m(top.ctx(), n, path,
                 {"kind", "name", "timeout", "routing_key", "routing_key_file", "url", "webhook_url",
                  "webhook_url_file", "secret", "secret_file"});
    if (!m.valid()) return;
    std::vector<std::string_view> kinds;
    kinds.reserve(table.size());
    for (const auto& k : table)
      kinds.push_back(k.kind);
    const auto kind = m.choice("kind", kinds, true);
    if (!kind) return;
    paging_sink_config s;
    s.kind = static_cast<sink_kind>(*kind);
    s.pos = m.pos();
    for (const auto& key : m.keys()) {
      const auto& allowed = table[*kind].keys;
      if (key != "kind" && key != "name" && key != "timeout" &&
          std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        m.key_error(key, "not used by kind " + std::string(table[*kind].kind));
      }
    }
    s.name = std::string(table[*kind].kind);
    if (m.has("name")) read_name(m, "name", s.name);
    m.duration("timeout", s.timeout, common::duration{100});
    bool ok = true;
    switch (s.kind) {
      case sink_kind::pagerduty:
        ok = m.secret("routing_key", s.routing_key, true);
        m.url("url", s.url);
        break;
      case sink_kind::slack:
        ok = m.secret("webhook_url", s.webhook_url, true);
        if (ok && !check_url(s.webhook_url).empty()) {
          m.error(m.has("webhook_url") ? "webhook_url" : "webhook_url_file",
                  "expected an http:// or https:// URL with a host (value not shown: it is a secret)");
        }
        break;
      case sink_kind::alertmanager:
        ok = m.url("url", s.url, true);
        break;
      case sink_kind::webhook:
        ok = m.url("url", s.url, true);
        m.secret("secret", s.secret);
        break;
      case sink_kind::log:
        break;
    }
    for (const auto& other : cfg.paging) {
      if (other.name == s.name) {
        m.error(m.has("name") ? "name" : "kind", "duplicate paging sink name " + quote_value(s.name) +
                                                     " (give each sink of the same kind a distinct name)");
        ok = false;
        break;
      }
    }
    if (ok) cfg.paging.push_back(std::move(s));
  });
}

}  // namespace vigil::common::config_detail
