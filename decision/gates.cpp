#include "decision/gates.hpp"

#include <algorithm>

#include "decision/silences.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

std::string ms_text(std::int64_t ms) {
  return format_seconds(duration{ms});
}

gate_result state_gate(gate_name name, const std::string& region, classification declared, classification wanted,
                       int gate_checks_not_up, time_point since, time_point now) {
  gate_result g{name, false, true, {}};
  const std::string state{to_string(declared)};
  if (declared != wanted) {
    g.detail = region + " is " + state + ", needs " + std::string(to_string(wanted));
  } else if (gate_checks_not_up > 0) {
    g.detail =
        region + " is " + state + " but " + std::to_string(gate_checks_not_up) + " of its gate checks are not up";
  } else {
    g.ok = true;
    g.detail = region + " is " + state + " (for " + format_seconds(now - since) + ")";
  }
  return g;
}

void lag_gate(const gate_inputs& in, bool blocking, gate_evaluation& out) {
  const params& p = *in.p;
  gate_result g{gate_name::replication_lag, false, blocking, {}};
  const std::string budget = format_seconds(p.max_lag);
  if (!p.lag_source_configured) {
    g.detail = "no replication_lag source configured: data loss bound unknown";
    out.data_loss_bound = "unknown (no lag source)";
  } else if (!in.lag_direction_measured) {
    g.detail = "no replication_lag source measures this direction (replication into " + in.lag_region +
               "; configure replication_lag.failback): data loss bound unknown";
    out.data_loss_bound = "unknown (no lag source for this direction)";
  } else if (!in.lag_last_value) {
    g.detail = in.lag_latest ? "lag source unreachable, no value ever read: data loss bound unknown"
                             : "no lag sample yet: data loss bound unknown";
    out.data_loss_bound = "unknown";
  } else {
    const auto lag_ms = in.lag_last_value->lag->count();
    const auto age = std::max(duration{0}, in.now - in.lag_last_value->at);  // never negative
    const bool reachable = in.lag_latest && in.lag_latest->lag.has_value();
    if (!reachable || age > p.lag_max_age) {
      // Stale: if replication stopped right after the last reading, everything
      // written since is at risk too: bound = last lag + its age.
      // Worked numbers: 800ms read 45s ago -> bound 45.8s.
      const std::int64_t bound = lag_ms + age.count();
      out.expected_data_loss_ms = bound;
      out.data_loss_bound =
          "<= " + ms_text(bound) + " (last lag " + ms_text(lag_ms) + ", " + format_seconds(age) + " old)";
      g.detail = std::string(reachable ? "lag sample stale" : "lag source unreachable") + ": last " + ms_text(lag_ms) +
                 " read " + format_seconds(age) + " ago (max age " + format_seconds(p.lag_max_age) +
                 "); data loss bound " + out.data_loss_bound;
    } else if (lag_ms > p.max_lag.count()) {
      out.expected_data_loss_ms = lag_ms;
      out.data_loss_bound = "<= " + ms_text(lag_ms);
      g.detail = "lag " + ms_text(lag_ms) + " above budget " + budget + " (" + format_seconds(age) + " old)";
    } else {
      g.ok = true;
      out.expected_data_loss_ms = lag_ms;
      out.data_loss_bound = "<= " + ms_text(lag_ms);
      g.detail = "lag " + ms_text(lag_ms) + " within budget " + budget + " (" + format_seconds(age) + " old)";
    }
  }
  out.allow_data_loss_required = !g.ok;
  out.gates.push_back(std::move(g));
}

void readiness_gate_result(const gate_inputs& in, gate_evaluation& out) {
  const params& p = *in.p;
  if (p.readiness == readiness_gate::off) return;
  gate_result g{gate_name::dr_ready, false, p.readiness == readiness_gate::blocking, {}};
  const std::string plan{to_string(in.action)};
  if (!in.readiness) {
    g.detail = "the " + plan + " plan's readiness has not been checked yet";
  } else {
    g.ok = in.readiness->ok;
    g.detail = (g.ok ? "the " + plan + " plan was ready " : "the " + plan + " plan was not ready ") +
               format_seconds(in.now - in.readiness->checked_at) + " ago" +
               (in.readiness->detail.empty() ? "" : ": " + in.readiness->detail);
  }
  out.gates.push_back(std::move(g));
}

}  // namespace

gate_evaluation evaluate_gates(const gate_inputs& in) {
  const params& p = *in.p;
  gate_evaluation out;
  if (!in.planned.value_or(in.action != action_kind::failover)) {
    gate_result g{gate_name::primary_regional, in.primary_declared == classification::regional_outage, true, {}};
    g.detail = in.primary + " is " + std::string(to_string(in.primary_declared)) +
               (g.ok ? " (confirmed for " + format_seconds(in.now - in.primary_since) + ")"
                     : ", needs a confirmed regional_outage");
    out.gates.push_back(std::move(g));
    out.gates.push_back(state_gate(gate_name::dr_healthy, in.dr, in.dr_declared, classification::healthy,
                                   in.dr_gate_checks_not_up, in.dr_since, in.now));
    readiness_gate_result(in, out);
    lag_gate(in, false, out);
  } else {
    out.gates.push_back(state_gate(gate_name::primary_healthy, in.primary, in.primary_declared, classification::healthy,
                                   in.primary_gate_checks_not_up, in.primary_since, in.now));
    readiness_gate_result(in, out);
    lag_gate(in, true, out);
  }
  {
    gate_result g{gate_name::cooldown, true, true, {}};
    if (!in.last_failover) {
      g.detail = "no failover executed";
    } else if (in.now - *in.last_failover >= p.cooldown) {
      g.detail = "last failover " + format_seconds(in.now - *in.last_failover) + " ago, cooldown " +
                 format_seconds(p.cooldown) + " over";
    } else if (in.cooldown_acknowledged) {
      g.detail = "failover " + format_seconds(in.now - *in.last_failover) + " ago; cooldown acknowledged by " +
                 in.cooldown_acknowledged_by;
    } else {
      g.ok = false;
      g.detail = "failover executed " + format_seconds(in.now - *in.last_failover) + " ago, cooldown " +
                 format_seconds(p.cooldown) + ": acknowledge it to proceed";
    }
    out.gates.push_back(std::move(g));
  }
  {
    gate_result g{gate_name::not_silenced, true, true, "no active silence"};
    const silence_spec* s = covering_silence(in.silences, in.now, in.primary, in.primary_down);
    if (s == nullptr) s = covering_silence(in.silences, in.now, in.dr, {});
    if (s != nullptr) {
      g.ok = false;
      g.detail = "silenced by " + s->by + " until " + format_time(s->until) +
                 (s->scope.empty() ? "" : " (scope " + s->scope + ")") + (s->reason.empty() ? "" : ": " + s->reason);
    }
    out.gates.push_back(std::move(g));
  }
  out.gates.push_back(gate_result{gate_name::leader, in.leader, true,
                                  in.leader ? "this replica holds the lease" : "this replica is not the leader"});
  return out;
}

}  // namespace vigil::decision
