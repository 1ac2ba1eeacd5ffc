// Reading plan.failover / plan.failback: the step kinds and their keys.
#include <algorithm>
#include <array>

#include "common/config_reader.hpp"

namespace vigil::common::config_detail {

namespace {

enum class ptype : std::uint8_t {
  string,
  integer,
  duration,
  boolean,
  string_list,
  string_map,
  url,
  url_list,
  region,       ///< a region of this deployment
  secret,       ///< key or key_file; resolved into key
  on_off,       ///< On | Off (ARC routing control state)
  aurora_mode,  ///< auto | failover | switchover (how an Aurora step promotes)
  check_ids,    ///< ids of configured checks
  http_probes,  ///< list of {url, expect}
};

struct param_spec {
  std::string_view key;
  ptype type;
  bool required = false;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
};

struct kind_spec {
  std::string_view kind;
  std::vector<param_spec> params;
  /// Each group: exactly one of these keys must be given.
  std::vector<std::array<std::string_view, 2>> one_of;
};

constexpr bool req = true;

// The step kinds and their keys (docs/configuration.md mirrors this table).
const std::vector<kind_spec>& kinds() {
  static const std::vector<kind_spec> table{
      {"arc_routing_control",
       {{"routing_control_arn", ptype::string},
        {"routing_control_arns", ptype::string_list},
        {"state", ptype::on_off, req},
        {"cluster_endpoints", ptype::url_list, req},
        {"region", ptype::string}},
       {{"routing_control_arn", "routing_control_arns"}}},
      {"aurora_global_failover",
       {{"global_cluster", ptype::string, req},
        {"target_cluster_arn", ptype::string, req},
        {"region", ptype::region, req},
        {"allow_data_loss", ptype::boolean},
        {"mode", ptype::aurora_mode}},
       {}},
      {"aurora_switchover",
       {{"global_cluster", ptype::string, req},
        {"target_cluster_arn", ptype::string, req},
        {"region", ptype::region, req}},
       {}},
      {"aurora_detach",
       {{"global_cluster", ptype::string, req}, {"db_cluster_arn", ptype::string, req}, {"region", ptype::region, req}},
       {}},
      {"wait_db_cluster",
       {{"cluster", ptype::string, req},
        {"region", ptype::region, req},
        {"status", ptype::string},
        {"poll_interval", ptype::duration, false, 100}},
       {}},
      {"ecs_scale",
       {{"cluster", ptype::string, req},
        {"service", ptype::string, req},
        {"desired_count", ptype::integer, req, 0, 10000},
        {"region", ptype::region, req},
        {"wait", ptype::boolean},
        {"min_capacity", ptype::integer, false, 0, 10000},
        {"scalable_target", ptype::boolean}},
       {}},
      {"route53_upsert",
       {{"hosted_zone_id", ptype::string, req},
        {"record_name", ptype::string, req},
        {"record_type", ptype::string, req},
        {"value", ptype::string},
        {"values", ptype::string_list},
        {"ttl", ptype::integer, false, 0, 172800},
        {"set_identifier", ptype::string}},
       {{"value", "values"}}},
      // The parameter's name is `parameter`: `name` is the step's own name.
      {"ssm_parameter",
       {{"parameter", ptype::string, req},
        {"value", ptype::string, req},
        {"region", ptype::region, req},
        {"secure", ptype::boolean}},
       {}},
      {"exec", {{"command", ptype::string_list, req}, {"env", ptype::string_map}, {"working_dir", ptype::string}}, {}},
      {"webhook",
       {{"url", ptype::url, req},
        {"method", ptype::string},
        {"body", ptype::string},
        {"headers", ptype::string_map},
        {"secret", ptype::secret}},
       {}},
      {"verify",
       {{"region", ptype::region, req},
        {"checks", ptype::check_ids},
        {"http", ptype::http_probes},
        {"within", ptype::duration, false, 1000}},
       {}},
  };
  return table;
}

constexpr std::array<std::string_view, 5> step_common_keys{"name", "kind", "timeout", "retries", "on_failure"};

/// Reads one kind-specific key into `params`; false when bad or missing.
bool read_param(map_reader& m, const param_spec& p, const config& cfg, nlohmann::json& params) {
  const std::string key(p.key);
  load_context& ctx = m.ctx();
  switch (p.type) {
    case ptype::string: {
      std::string v;
      if (!m.string(p.key, v, p.required)) return false;
      params[key] = v;
      return true;
    }
    case ptype::secret: {
      std::string v;
      if (!m.secret(p.key, v, p.required)) return false;
      params[key] = v;
      return true;
    }
    case ptype::integer: {
      std::int64_t v = 0;
      if (p.required && !m.require(p.key)) return false;
      if (!m.integer64(p.key, v, p.lo, p.hi)) return false;
      params[key] = v;
      return true;
    }
    case ptype::duration: {
      common::duration v{0};
      if (!m.duration(p.key, v, common::duration{p.lo}, p.required)) return false;
      params[key] = v.count();
      return true;
    }
    case ptype::boolean: {
      bool v = false;
      if (p.required && !m.require(p.key)) return false;
      if (!m.boolean(p.key, v)) return false;
      params[key] = v;
      return true;
    }
    case ptype::string_map: {
      std::map<std::string, std::string> v;
      if (p.required && !m.require(p.key)) return false;
      if (!m.string_map(p.key, v, p.key == "headers")) return false;
      params[key] = v;
      return true;
    }
    case ptype::url: {
      std::string v;
      if (!m.url(p.key, v, p.required)) return false;
      params[key] = v;
      return true;
    }
    case ptype::on_off: {
      const auto i = m.choice(p.key, {"On", "Off"}, p.required);
      if (!i) return false;
      params[key] = *i == 0 ? "On" : "Off";
      return true;
    }
    case ptype::aurora_mode: {
      const auto i = m.choice(p.key, {"auto", "failover", "switchover"}, p.required);
      if (!i) return false;
      params[key] = *i == 0 ? "auto" : (*i == 1 ? "failover" : "switchover");
      return true;
    }
    case ptype::region: {
      std::string v;
      if (!m.string(p.key, v, p.required)) return false;
      std::vector<std::string_view> names;
      for (const auto& r : cfg.regions)
        names.push_back(r.name);
      if (!names.empty() && std::find(names.begin(), names.end(), v) == names.end()) {
        std::string all;
        for (const auto& n : names)
          all += (all.empty() ? "" : "|") + std::string(n);
        m.error(p.key, "unknown region " + quote_value(v) + ": expected one of " + all + did_you_mean(v, names));
        return false;
      }
      params[key] = v;
      return true;
    }
    case ptype::string_list:
    case ptype::url_list:
    case ptype::check_ids: {
      std::vector<std::string> v;
      std::vector<source_pos> positions;
      if (!m.string_list(p.key, v, p.required, &positions)) return false;
      if (v.empty()) {
        m.error(p.key, "expected a non-empty list");
        return false;
      }
      bool ok = true;
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (p.type == ptype::url_list) {
          if (const std::string why = check_url(v[i]); !why.empty()) {
            ctx.error_at(positions[i],
                         "expected an http:// or https:// URL with a host: " + why + ", got " + quote_value(v[i]));
            ok = false;
          }
        } else if (p.type == ptype::check_ids && cfg.find_check(v[i]) == nullptr) {
          std::vector<std::string_view> ids;
          for (const auto& c : cfg.checks)
            ids.push_back(c.id);
          ctx.error_at(positions[i], "unknown check id " + quote_value(v[i]) + did_you_mean(v[i], ids));
          ok = false;
        }
      }
      if (!ok) return false;
      params[key] = v;
      return true;
    }
    case ptype::http_probes: {
      const YAML::Node n = m.child(p.key);
      if (!n.IsDefined()) return false;
      if (!n.IsSequence()) {
        m.error(p.key, "expected a list of {url, expect}, got " + std::string(node_kind(n)));
        return false;
      }
      nlohmann::json probes = nlohmann::json::array();
      for (std::size_t i = 0; i < n.size(); ++i) {
        map_reader pm(ctx, n[i], m.key_path(p.key) + "[" + std::to_string(i) + "]", {"url", "expect"});
        if (!pm.valid()) continue;
        std::string u;
        std::vector<std::string> expect;
        pm.url("url", u, true);
        pm.string_list("expect", expect);
        probes.push_back({{"url", u}, {"expect", expect}});
      }
      params[key] = probes;
      return true;
    }
  }
  return false;
}

void read_step(map_reader& m, const config& cfg, plan_step_config& step, std::vector<std::string>& names) {
  std::vector<std::string_view> kind_names;
  for (const auto& k : kinds())
    kind_names.push_back(k.kind);
  step.pos = m.pos();
  if (read_name(m, "name", step.name)) {
    if (std::find(names.begin(), names.end(), step.name) != names.end()) {
      m.error("name", "duplicate step name " + quote_value(step.name) + " in this plan");
    }
    names.push_back(step.name);
  }
  m.duration("timeout", step.timeout, common::duration{1000});
  m.integer("retries", step.retries, 0, 10);
  if (const auto f = m.choice("on_failure", {"abort", "continue"})) step.failure = static_cast<on_failure>(*f);
  const auto kind = m.choice("kind", kind_names, true);
  if (!kind) return;
  const kind_spec& spec = kinds()[*kind];
  step.kind = std::string(spec.kind);
  std::vector<std::string> allowed_names(step_common_keys.begin(), step_common_keys.end());
  for (const auto& p : spec.params) {
    allowed_names.emplace_back(p.key);
    if (p.type == ptype::secret) allowed_names.push_back(std::string(p.key) + "_file");
  }
  const std::vector<std::string_view> allowed(allowed_names.begin(), allowed_names.end());
  for (const auto& key : m.keys()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      m.key_error(key, "unknown key for kind " + step.kind + did_you_mean(key, allowed));
    }
  }
  for (const auto& group : spec.one_of) {
    const int given = (m.has(group[0]) ? 1 : 0) + (m.has(group[1]) ? 1 : 0);
    if (given != 1) {
      const std::string both = std::string(group[0]) + " or " + std::string(group[1]);
      if (given == 0) {
        m.ctx().error(m.node(), m.key_path(group[0]), "missing required key: kind " + step.kind + " needs " + both);
      } else {
        m.error(group[1], "set either " + both + ", not both");
      }
    }
  }
  for (const auto& p : spec.params)
    read_param(m, p, cfg, step.params);
}

void read_plan(map_reader& plan, std::string_view which, const config& cfg, plan_config& out) {
  if (!plan.has(which)) return;
  map_reader m(plan.ctx(), plan.child(which), plan.key_path(which), {"dry_run", "steps"});
  if (!m.valid()) return;
  m.boolean("dry_run", out.dry_run);
  if (!m.require("steps")) return;
  const YAML::Node steps = m.child("steps");
  if (!steps.IsSequence() || steps.size() == 0) {
    m.error("steps", "expected a non-empty list of steps, got " + std::string(node_kind(steps)));
    return;
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string path = m.key_path("steps") + "[" + std::to_string(i) + "]";
    plan.ctx().record(steps[i], path);
    std::vector<std::string_view> any;
    map_reader sm(plan.ctx(), steps[i], path, any, true);
    if (!sm.valid()) continue;
    plan_step_config step;
    read_step(sm, cfg, step, names);
    out.steps.push_back(std::move(step));
  }
}

}  // namespace

void read_plans(map_reader& top, config& cfg) {
  if (!top.has("plan")) return;
  map_reader m(top.ctx(), top.child("plan"), "plan", {"failover", "failback"});
  if (!m.valid()) return;
  read_plan(m, "failover", cfg, cfg.failover);
  read_plan(m, "failback", cfg, cfg.failback);
}

}  // namespace vigil::common::config_detail
