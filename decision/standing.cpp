#include "decision/standing.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "decision/canonical_json.hpp"
#include "decision/vocabulary.hpp"

namespace vigil::decision {

namespace {

constexpr std::array<std::string_view, standing_hold_count> hold_names{
    "none",         "not_active", "no_outage", "too_short", "too_few_vantages", "lag_unknown", "lag_too_high",
    "dr_not_ready", "cooldown",   "silenced",  "brake",     "outside_hours",    "not_pending", "gate_failed"};

std::string secs(duration d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

int minute_of_day(time_point t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(t - day).count());
}

std::optional<int> hhmm(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  int h = 0;
  int m = 0;
  if (std::from_chars(s.data(), s.data() + 2, h).ptr != s.data() + 2) return std::nullopt;
  if (std::from_chars(s.data() + 3, s.data() + 5, m).ptr != s.data() + 5) return std::nullopt;
  if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::string two(int v) {
  return (v < 10 ? "0" : "") + std::to_string(v);
}

const gate_result* find_gate(const recommendation& r, std::string_view name) {
  for (const auto& g : r.gates)
    if (to_string(g.name) == name) return &g;
  return nullptr;
}

standing_verdict held(standing_hold h, std::string detail) {
  return {h, std::move(detail)};
}

}  // namespace

std::string_view to_string(standing_hold h) {
  return hold_names.at(static_cast<std::size_t>(h));
}

std::optional<standing_hold> standing_hold_from_string(std::string_view s) {
  for (std::size_t i = 0; i < hold_names.size(); ++i)
    if (hold_names[i] == s) return static_cast<standing_hold>(i);
  return std::nullopt;
}

std::optional<standing_hours> parse_standing_hours(std::string_view s) {
  if (s.size() != 11 || s[5] != '-') return std::nullopt;
  const auto a = hhmm(s.substr(0, 5));
  const auto b = hhmm(s.substr(6, 5));
  if (!a || !b || *a == *b) return std::nullopt;
  return standing_hours{*a % 1440, *b % 1440};
}

std::string format_standing_hours(const standing_hours& h) {
  auto f = [](int m) { return two(m / 60) + ":" + two(m % 60); };
  return f(h.from_min) + "-" + f(h.to_min);
}

bool within_hours(const standing_hours& h, time_point now) {
  const int m = minute_of_day(now);
  if (h.from_min < h.to_min) return m >= h.from_min && m < h.to_min;
  return m >= h.from_min || m < h.to_min;  // wraps midnight
}

standing_verdict evaluate_standing(const standing_conditions& c, const standing_inputs& in) {
  const snapshot& s = *in.s;
  if (s.active.region != c.from) {
    return held(standing_hold::not_active,
                "the active region is " + s.active.region + ", the policy moves " + c.from + " -> " + c.to);
  }
  const auto region =
      std::find_if(s.regions.begin(), s.regions.end(), [&](const region_status& r) { return r.name == c.from; });
  if (region == s.regions.end() || region->declared != classification::regional_outage) {
    return held(
        standing_hold::no_outage,
        c.from + " is " + std::string(region == s.regions.end() ? "not configured" : to_string(region->declared)));
  }
  const duration for_how_long = in.now - region->since;
  if (for_how_long < c.min_duration) {
    return held(standing_hold::too_short, "regional_outage for " + secs(for_how_long) + " < " + secs(c.min_duration));
  }
  std::set<std::size_t> seeing;
  for (const auto& chk : s.checks) {
    if (chk.region != c.from) continue;
    for (std::size_t v = 0; v < chk.by_vantage.size(); ++v)
      if (chk.by_vantage[v] == to_string(verdict::down)) seeing.insert(v);
  }
  if (static_cast<int>(seeing.size()) < c.min_vantages) {
    return held(standing_hold::too_few_vantages, std::to_string(seeing.size()) + " vantages see " + c.from +
                                                     " down, the policy needs " + std::to_string(c.min_vantages));
  }
  const bool fresh = s.lag.at && in.now - *s.lag.at <= in.lag_max_age;
  if (!s.lag.reachable || !s.lag.ms || !fresh) {
    return held(standing_hold::lag_unknown, !s.lag.at ? "no replication lag sample"
                                            : !fresh  ? "the newest lag sample is older than " + secs(in.lag_max_age)
                                                      : "the lag source is unreachable");
  }
  const duration bound = std::min(c.max_lag, in.rpo);
  if (duration{*s.lag.ms} > bound) {
    return held(standing_hold::lag_too_high, "lag " + secs(duration{*s.lag.ms}) + " > " + secs(bound) +
                                                 (in.rpo < c.max_lag ? " (the RPO, decision.max_lag)" : ""));
  }
  const recommendation* rec = s.rec ? &*s.rec : nullptr;
  const bool ours = rec && rec->action == action_kind::failover && rec->from == c.from && rec->to == c.to;
  if (!ours) {
    return held(standing_hold::not_pending, rec ? "the recommendation is " + std::string(to_string(rec->action)) + " " +
                                                      rec->from + " -> " + rec->to
                                                : "no recommendation yet");
  }
  const gate_result* dr = find_gate(*rec, "dr_ready");
  if (!dr || !dr->ok) {
    return held(standing_hold::dr_not_ready,
                dr ? "dr_ready fails: " + dr->detail : "readiness is not configured: no dr_ready gate");
  }
  if (const auto* g = find_gate(*rec, "cooldown"); g && !g->ok)
    return held(standing_hold::cooldown, "cooldown: " + g->detail);
  if (const auto* g = find_gate(*rec, "not_silenced"); g && !g->ok)
    return held(standing_hold::silenced, "not_silenced: " + g->detail);
  if (in.brake) return held(standing_hold::brake, "the actuation brake is on");
  if (c.hours && !within_hours(*c.hours, in.now)) {
    return held(standing_hold::outside_hours, "outside " + format_standing_hours(*c.hours) + " UTC");
  }
  if (rec->state != recommendation_state::pending_approval) {
    return held(standing_hold::not_pending, "the recommendation is " + std::string(to_string(rec->state)));
  }
  if (rec->allow_data_loss_required) {
    return held(standing_hold::lag_unknown, "the recommendation requires allow_data_loss: " + rec->data_loss_bound);
  }
  if (const auto* g = rec->first_blocking_failure()) {
    return held(standing_hold::gate_failed, std::string(to_string(g->name)) + ": " + g->detail);
  }
  return {standing_hold::none, "every condition holds: " + c.from + " regional_outage for " + secs(for_how_long) +
                                   " seen by " + std::to_string(seeing.size()) + " vantages, lag " +
                                   secs(duration{*s.lag.ms})};
}

std::vector<verified_approval> standing_approvals(const recommendation& rec, const std::string& policy_id,
                                                  const std::vector<std::string>& signers, int use, time_point now,
                                                  time_point expires_at) {
  std::vector<verified_approval> out;
  for (const auto& who : signers) {
    verified_approval a;
    a.recommendation_id = rec.id;
    a.recommendation_hash = rec.hash;
    a.approver = "standing:";
    a.approver += policy_id;
    a.approver += ':';
    a.approver += who;
    a.jti = "standing:";
    a.jti += policy_id;
    a.jti += ":use:";
    a.jti += std::to_string(use);
    a.jti += ':';
    a.jti += who;
    a.allow_data_loss = false;
    a.issued_at = now;
    a.expires_at = expires_at;
    out.push_back(std::move(a));
  }
  return out;
}

std::string standing_plan_hash(const nlohmann::json& plan) {
  return canonical_hash(plan);
}

}  // namespace vigil::decision
