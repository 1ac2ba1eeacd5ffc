// Cross checks over a whole config, and the defaults that depend on other keys.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/config_reader.hpp"
#include "common/duration.hpp"

namespace vigil::common::config_detail {

namespace {

std::string region_list(const config& cfg) {
  std::string all;
  for (const auto& r : cfg.regions)
    all += (all.empty() ? "" : "|") + r.name;
  return all;
}

/// Reports `name` at `path` when it is not a region of the deployment.
bool check_region_ref(load_context& ctx, const config& cfg, const std::string& name, const std::string& path) {
  if (cfg.regions.empty()) return true;  // already reported: no regions at all
  std::vector<std::string_view> names;
  for (const auto& r : cfg.regions)
    names.push_back(r.name);
  if (std::find(names.begin(), names.end(), name) != names.end()) return true;
  ctx.error_at(ctx.at(path), "unknown region " + quote_value(name) + ": expected one of " + region_list(cfg) +
                                 did_you_mean(name, names));
  return false;
}

void validate_regions(load_context& ctx, const config& cfg) {
  if (cfg.regions.empty()) return;
  std::map<std::string, const region_config*> seen;
  const region_config* primary = nullptr;
  const region_config* dr = nullptr;
  for (const auto& r : cfg.regions) {
    if (const auto [it, fresh] = seen.emplace(r.name, &r); !fresh) {
      ctx.error_at(ctx.at(r.pos.key_path + ".name"), "duplicate region " + quote_value(r.name) + " (first at line " +
                                                         std::to_string(it->second->pos.line) + ")");
      continue;
    }
    const region_config*& slot = r.role == region_role::primary ? primary : dr;
    if (slot != nullptr) {
      ctx.error_at(ctx.at(r.pos.key_path + ".role"),
                   "a second " + std::string(to_string(r.role)) + " region " + quote_value(r.name) + " (" +
                       quote_value(slot->name) + " at line " + std::to_string(slot->pos.line) +
                       " is one already): expected exactly one primary and one dr region");
      continue;
    }
    slot = &r;
  }
  // A region entry that did not parse was reported already; its role is unknown.
  const auto entries = static_cast<std::size_t>(std::count_if(ctx.seen.begin(), ctx.seen.end(), [](const auto& kv) {
    return kv.first.rfind("regions[", 0) == 0 && kv.first.find('.') == std::string::npos;
  }));
  if (entries != cfg.regions.size()) return;
  for (const auto role : {region_role::primary, region_role::dr}) {
    if ((role == region_role::primary ? primary : dr) == nullptr) {
      ctx.error_at(ctx.at("regions"), "no region with role: " + std::string(to_string(role)) +
                                          ": expected exactly one primary and one dr region");
    }
  }
}

void validate_quorum(load_context& ctx, config& cfg) {
  const int n = static_cast<int>(cfg.vantages.size());
  if (n == 0) return;
  int& q = cfg.decision.quorum;
  const int majority = n / 2 + 1;
  if (q == 0) {
    q = majority;
  } else if (q > n) {
    ctx.error_at(ctx.at("decision.quorum"),
                 "expected at most " + std::to_string(n) + " (the number of vantages), got " + std::to_string(q));
    return;
  } else if (q * 2 <= n) {
    // With 4 vantages a quorum of 2 lets two pairs reach opposite verdicts.
    ctx.error_at(ctx.at("decision.quorum"), "expected a strict majority of the " + std::to_string(n) +
                                                " vantages (at least " + std::to_string(majority) + "), got " +
                                                std::to_string(q) +
                                                ": two disjoint groups of vantages could reach opposite verdicts");
    return;
  }
  // A vantage runs in the region it is named after unless {name, region} says otherwise.
  std::map<std::string, std::vector<std::string>> hosted;
  for (const auto& v : cfg.vantages)
    hosted[cfg.vantage_regions.count(v) != 0 ? cfg.vantage_regions[v] : v].push_back(v);
  for (const auto& [region, vs] : hosted) {
    if (static_cast<int>(vs.size()) < q) continue;
    std::string names;
    for (const auto& v : vs)
      names.append(names.empty() ? "" : ", ").append(v);
    ctx.warning_at(ctx.at("vantages"),
                   fmt::format("region {} hosts {} vantages ({}), enough for the quorum of {} alone: "
                               "an outage of that region can outvote the others",
                               region, vs.size(), names, q));
  }
}

void validate_decision(load_context& ctx, config& cfg) {
  auto& d = cfg.decision;
  if (d.clear_for <= d.confirm_for) {
    ctx.error_at(ctx.at(ctx.seen.count("decision.clear_for") != 0 ? "decision.clear_for" : "decision.confirm_for"),
                 "clear_for (" + format_duration(d.clear_for) + ") must be longer than confirm_for (" +
                     format_duration(d.confirm_for) + ") so that a flapping region does not clear and re-page");
  }
  if (d.stale_after.count() == 0) d.stale_after = 3 * cfg.probe_defaults.interval;
  if (!d.impaired_after) d.impaired_after = cfg.probe_defaults.interval + d.tick;
  if (cfg.probe_defaults.timeout > cfg.probe_defaults.interval) {
    ctx.error_at(ctx.at("probe_defaults.timeout"), "timeout (" + format_duration(cfg.probe_defaults.timeout) +
                                                       ") must not exceed interval (" +
                                                       format_duration(cfg.probe_defaults.interval) + ")");
  }
  if (cfg.probe_defaults.fast_interval.count() > 0 && cfg.probe_defaults.fast_interval >= cfg.probe_defaults.interval) {
    ctx.error_at(ctx.at("probe_defaults.fast_interval"),
                 "fast_interval (" + format_duration(cfg.probe_defaults.fast_interval) +
                     ") must be shorter than interval (" + format_duration(cfg.probe_defaults.interval) +
                     "): it hurries the re-probes of a check in doubt");
  }
}

void validate_checks(load_context& ctx, const config& cfg) {
  if (cfg.checks.empty() && ctx.seen.count("services") == 0 && ctx.seen.count("region_checks") == 0) {
    ctx.error_at(ctx.at("services"), "no checks: expected services[].checks[] or region_checks[] entries");
  }
  std::map<std::string, const check_config*> ids;
  for (const auto& c : cfg.checks) {
    const std::string& path = c.pos.key_path;
    check_region_ref(ctx, cfg, c.region, path + ".region");
    if (const auto [it, fresh] = ids.emplace(c.id, &c); !fresh) {
      ctx.error_at(ctx.at(c.region_scope ? path + ".name" : path + ".region"),
                   "duplicate check id " + quote_value(c.id) + " (first defined at line " +
                       std::to_string(it->second->pos.line) + ")");
    }
    if (c.timeout > c.interval) {
      ctx.error_at(ctx.at(ctx.seen.count(path + ".timeout") != 0 ? path + ".timeout" : path + ".interval"),
                   "timeout (" + format_duration(c.timeout) + ") must not exceed interval (" +
                       format_duration(c.interval) + "): probes of one check must not overlap");
    }
    // A cloudwatch check is sampled once per interval in one GetMetricData
    // call: it has no re-probe, and ignores probe_defaults.fast_interval.
    const bool own_fast = ctx.seen.count(path + ".fast_interval") != 0;
    if (c.cloudwatch && own_fast && c.fast_interval.count() > 0) {
      ctx.error_at(ctx.at(path + ".fast_interval"),
                   "fast_interval does not apply to a cloudwatch check (one GetMetricData call per interval)");
    } else if (!c.cloudwatch && c.fast_interval.count() > 0 && c.fast_interval >= c.interval) {
      ctx.error_at(ctx.at(own_fast ? path + ".fast_interval" : path + ".interval"),
                   "fast_interval (" + format_duration(c.fast_interval) + ") must be shorter than interval (" +
                       format_duration(c.interval) + "): it hurries the re-probes of a check in doubt");
    }
    if (c.degraded_after.count() > 0 && c.degraded_after >= c.timeout) {
      ctx.error_at(ctx.at(path + ".degraded_after"), "degraded_after (" + format_duration(c.degraded_after) +
                                                         ") must be shorter than the timeout (" +
                                                         format_duration(c.timeout) + ")");
    }
  }
  // dr_healthy can only speak for services it can see in the dr region.
  if (cfg.regions.size() < 2) return;
  for (const auto& s : cfg.services) {
    for (const auto& r : cfg.regions) {
      const bool covered = std::any_of(s.check_ids.begin(), s.check_ids.end(),
                                       [&](const std::string& id) { return id == s.name + "@" + r.name; });
      if (!covered) {
        ctx.warning_at(ctx.at(s.pos.key_path + ".checks"), "service " + s.name + " has no check in " +
                                                               std::string(to_string(r.role)) + " region " + r.name +
                                                               ": its health there is not seen");
      }
    }
  }
}

// With few services a regional outage is a small count: at 4 services and
// regional_fraction 0.5 it is 2, so one real service outage plus one more
// service failing `fall` times from a quorum reaches it. The core holds such
// thin evidence for clear_for (docs/failure-detection.md); a `scope: region`
// check in the region is evidence that needs no hold.
void warn_thin_regions(load_context& ctx, const config& cfg) {
  const double f = cfg.decision.regional_fraction;
  for (const auto& r : cfg.regions) {
    std::set<std::string> services;
    bool region_check = false;
    for (const auto& c : cfg.checks) {
      if (c.region != r.name || c.role != check_role::classify) continue;
      if (c.region_scope) {
        region_check = true;
      } else {
        services.insert(c.service);
      }
    }
    const auto n = static_cast<int>(services.size());
    if (region_check || n == 0) continue;
    int k = 1;  // the fewest services down that meet the fraction
    while (k < n && static_cast<double>(k) < f * static_cast<double>(n))
      ++k;
    if (k > 2) continue;
    const std::string enough =
        k == 1 ? "a single failing service is enough" : "one service outage plus one more failing service is enough";
    // Above 2/n three services must fail; with fewer than three services no
    // fraction asks for three.
    const std::string raise = n >= 3
                                  ? fmt::format(", or raise decision.regional_fraction above {:.2g} (3 of {} services)",
                                                2.0 / static_cast<double>(n), n)
                                  : std::string();
    ctx.warning_at(
        ctx.at(ctx.seen.count("decision.regional_fraction") != 0 ? "decision.regional_fraction" : "services"),
        fmt::format("{} region {}: {} of its {} services down is a regional outage (regional_fraction {}): {}; "
                    "vigil then waits clear_for ({}) instead of confirm_for before declaring it. Add a "
                    "`scope: region` check for {} (region_checks: an HTTP or CloudWatch check of the whole region), "
                    "or checks for more services{}",
                    to_string(r.role), r.name, k, n, f, enough, format_duration(cfg.decision.clear_for), r.name,
                    raise));
  }
}

void validate_lag(load_context& ctx, config& cfg) {
  auto& lag = cfg.replication_lag;
  if (lag.source == lag_source::none) return;
  const bool has_dr = std::any_of(cfg.regions.begin(), cfg.regions.end(),
                                  [](const region_config& r) { return r.role == region_role::dr; });
  if (lag.region.empty() && has_dr) lag.region = cfg.dr().name;
  if (!lag.region.empty()) check_region_ref(ctx, cfg, lag.region, "replication_lag.region");
  if (lag.failback) {
    const bool has_primary = std::any_of(cfg.regions.begin(), cfg.regions.end(),
                                         [](const region_config& r) { return r.role == region_role::primary; });
    if (lag.failback->region.empty() && has_primary) lag.failback->region = cfg.primary().name;
    if (!lag.failback->region.empty()) {
      check_region_ref(ctx, cfg, lag.failback->region, "replication_lag.failback.region");
      if (lag.failback->region == lag.region) {
        ctx.error_at(ctx.at("replication_lag.failback.region"),
                     "replication_lag.failback.region " + quote_value(lag.failback->region) +
                         " is the region the main block measures: the failback source measures the other region "
                         "(the configured primary as a secondary)");
      }
    }
  }
  if (!lag.vantage.empty() && std::find(cfg.vantages.begin(), cfg.vantages.end(), lag.vantage) == cfg.vantages.end()) {
    const std::vector<std::string_view> names(cfg.vantages.begin(), cfg.vantages.end());
    ctx.error_at(ctx.at("replication_lag.vantage"), "unknown vantage " + quote_value(lag.vantage) +
                                                        ": expected one of the vantages list" +
                                                        did_you_mean(lag.vantage, names));
  }
  // CloudWatch publishes the Aurora lag metrics once a minute: a sample is up
  // to 60 s old when it arrives, plus the polling interval.
  const common::duration worst_age = common::duration{60000} + lag.interval;
  if (lag.source == lag_source::cloudwatch && cfg.decision.lag_max_age < worst_age) {
    ctx.warning_at(
        ctx.at(ctx.seen.count("decision.lag_max_age") != 0 ? "decision.lag_max_age" : "replication_lag.source"),
        "CloudWatch lag samples can be " + format_duration(worst_age) + " old but decision.lag_max_age is " +
            format_duration(cfg.decision.lag_max_age) +
            ": the lag gate will often see a stale lag and ask for allow_data_loss");
  }
}

namespace {

/// engine.state_dir must be a directory or creatable as one: said here, at
/// the key, rather than by the engine failing to start.
void validate_state_dir(load_context& ctx, const config& cfg) {
  if (cfg.engine.state_dir.empty()) return;
  std::error_code ec;
  for (std::filesystem::path p = cfg.engine.state_dir; !p.empty(); p = p.parent_path()) {
    const auto st = std::filesystem::status(p, ec);
    if (!std::filesystem::exists(st)) {
      if (p == p.parent_path()) break;
      continue;
    }
    if (!std::filesystem::is_directory(st)) {
      ctx.error_at(ctx.at("engine.state_dir"),
                   quote_value(cfg.engine.state_dir) +
                       (p == std::filesystem::path(cfg.engine.state_dir)
                            ? std::string(" exists and is not a directory")
                            : " cannot be created: " + quote_value(p.string()) + " is not a directory"));
    }
    break;
  }
}

}  // namespace

void validate_rest(load_context& ctx, config& cfg) {
  validate_state_dir(ctx, cfg);
  if (cfg.engine.public_url.empty()) cfg.engine.public_url = "http://" + cfg.engine.listen;
  if (cfg.coordination.prefix.empty()) cfg.coordination.prefix = "/vigil/" + cfg.deployment;
  if (cfg.engine.agent_key.empty()) {
    ctx.warning_at(ctx.at("engine"), "no agent_key or agent_key_file: agent batches cannot be authenticated");
  }
  auto& a = cfg.approvals;
  if (a.approvers.empty() && ctx.seen.count("approvals.approvers") == 0) {
    ctx.warning_at(ctx.at("approvals"), "no approvers: a recommendation can never be approved");
  } else if (!a.approvers.empty() && static_cast<std::size_t>(a.required) > a.approvers.size()) {
    ctx.error_at(ctx.at("approvals.required"), "expected at most " + std::to_string(a.approvers.size()) +
                                                   " (the number of approvers), got " + std::to_string(a.required));
  }
  if (cfg.paging.empty() && ctx.seen.count("paging") == 0)
    ctx.warning_at(ctx.at("paging"), "no paging sinks: incidents are only logged");
  if (cfg.failover.steps.empty() && ctx.seen.count("plan.failover") == 0) {
    ctx.warning_at(ctx.at("plan"), "no plan.failover steps: an approved failover has nothing to execute");
  }
}

}  // namespace

void validate(load_context& ctx, config& cfg) {
  validate_regions(ctx, cfg);
  validate_quorum(ctx, cfg);
  validate_decision(ctx, cfg);
  validate_checks(ctx, cfg);
  warn_thin_regions(ctx, cfg);
  validate_lag(ctx, cfg);
  validate_rest(ctx, cfg);
}

}  // namespace vigil::common::config_detail
