// Virtual-time driver of the decision core for `vigil simulate`.
#include "decision/simulator.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "decision/core.hpp"
#include "decision/standing.hpp"
#include "decision/suspicion.hpp"

namespace vigil::decision {

namespace {

/// splitmix64: a tiny, seeded, portable generator (no std::random_device).
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

struct fault {
  scenario_action kind = scenario_action::fail;
  scenario_filter filter;
  duration latency{0};
  duration period{20000};
  duration start{0};
};

bool matches(const scenario_filter& f, const topology& topo, check_index c, vantage_index v) {
  const auto& ci = topo.checks[c];
  if (!f.region.empty() && f.region != topo.regions[ci.region].name) return false;
  if (!f.service.empty() && f.service != ci.service) return false;
  if (!f.check.empty() && f.check != ci.id) return false;
  if (!f.vantages.empty() && std::find(f.vantages.begin(), f.vantages.end(), topo.vantages[v]) == f.vantages.end()) {
    return false;
  }
  return true;
}

/// heal {region: X} undoes every fault inside region X.
bool covers(const scenario_filter& heal, const scenario_filter& f) {
  auto field = [](const std::string& h, const std::string& x) { return h.empty() || h == x; };
  return field(heal.region, f.region) && field(heal.service, f.service) && field(heal.check, f.check) &&
         (heal.vantages.empty() || heal.vantages == f.vantages);
}

void validate(const topology& topo, const scenario& sc) {
  auto fail = [&](int line, const std::string& what) {
    throw std::invalid_argument(sc.file + ":" + std::to_string(line) + ": " + what);
  };
  auto vantage = [&](int line, const std::string& v) {
    if (!topo.find_vantage(v)) fail(line, "unknown vantage '" + v + "'");
  };
  for (const auto& e : sc.events) {
    const auto& f = e.filter;
    if (!f.region.empty() && !topo.find_region(f.region)) fail(e.line, "unknown region '" + f.region + "'");
    if (!f.check.empty() && !topo.find_check(f.check)) fail(e.line, "unknown check '" + f.check + "'");
    if (!f.service.empty() && std::find(topo.services.begin(), topo.services.end(), f.service) == topo.services.end()) {
      fail(e.line, "unknown service '" + f.service + "'");
    }
    for (const auto& v : f.vantages)
      vantage(e.line, v);
    if (!e.vantage.empty()) vantage(e.line, e.vantage);
    if (e.standing) {
      for (const auto& r : {e.standing->from, e.standing->to})
        if (!r.empty() && !topo.find_region(r)) fail(e.line, "standing: unknown region '" + r + "'");
    }
  }
  for (const auto& x : sc.expects) {
    if (!x.region.empty() && !topo.find_region(x.region)) fail(x.line, "unknown region '" + x.region + "'");
    if (!x.vantage.empty()) vantage(x.line, x.vantage);
  }
}

class sim {
 public:
  sim(const topology& topo, const sim_settings& st, const scenario& sc)
      : topo_(topo),
        st_(st),
        sc_(sc),
        core_(topo),
        rng_(sc.seed),
        down_(topo.vantages.size()),
        isolated_(topo.vantages.size()),
        doubt_(topo.vantages.size() * topo.checks.size()) {
    core_.set_leader(true);
    lag_ = topo.p.lag_source_configured ? st.initial_lag : std::nullopt;
  }

  sim_result run() {
    std::vector<scenario_event> events = sc_.events;
    std::stable_sort(events.begin(), events.end(),
                     [](const scenario_event& a, const scenario_event& b) { return a.at < b.at; });
    std::size_t next = 0;
    const duration step{100};
    for (duration t{0}; t <= sc_.length; t += step) {
      const time_point now = st_.start + t;
      while (next < events.size() && events[next].at <= t)
        apply(events[next++], t, now);
      probe_round(t, now);
      if (topo_.p.lag_source_configured && t % st_.lag_interval == duration{0}) {
        // The agent runs a source per direction when replication_lag.failback is
        // configured: the sample then measures the region that is not active.
        std::optional<region_index> measured;
        if (topo_.p.failback_lag_source_configured) {
          const auto a = topo_.find_region(core_.active().region);
          if (a) measured = static_cast<region_index>(1 - *a);
        }
        core_.ingest_lag(lag_sample{now, lag_, measured});
      }
      if (t % topo_.p.tick == duration{0}) {
        core_.tick(now);
        drain(now);
        evaluate_standing_approval(t, now);
      }
    }
    result_.expects = check_expectations(result_.entries, sc_);
    return std::move(result_);
  }

 private:
  void probe_round(duration t, time_point now) {
    for (std::size_t vi = 0; vi < topo_.vantages.size(); ++vi) {
      const auto v = static_cast<vantage_index>(vi);  // topology::validate bounds the vantage count
      if (down_[v]) continue;
      const duration offset = static_cast<std::int64_t>(v) * sc_.stagger;
      bool sent = false;
      for (check_index c = 0; c < topo_.checks.size(); ++c) {
        const duration interval = topo_.checks[c].interval;
        // An interval round, or a suspicion-mode re-probe (the agent's rule,
        // decision/suspicion.hpp) that falls due first.
        reprobe& d = doubt_[vi * topo_.checks.size() + c];
        const bool grid = t >= offset && (t - offset) % interval == duration{0};
        const bool fast = !grid && d.due && t >= *d.due;
        if (!grid && !fast) continue;
        float latency = 0.0F;
        outcome warning = outcome::ok;
        const outcome o = probe(v, c, t, latency, warning);
        observation obs{v, c, now, o, latency};
        obs.warning = warning;
        obs.fast = fast;
        core_.ingest(obs);
        sent = true;
        const duration fast_interval = topo_.checks[c].fast_interval;
        d.due.reset();
        if (d.rule.observe(is_success(o), topo_.p.fall, topo_.p.rise) && fast_interval > duration{0}) {
          d.due = t + fast_interval;
        }
      }
      if (sent) core_.vantage_report(v, now);
    }
  }

  outcome probe(vantage_index v, check_index c, duration t, float& latency_ms, outcome& warning) {
    const bool region_check = topo_.checks[c].region_scope;
    const outcome failed = region_check ? outcome::condition_failed : outcome::connect_error;
    // Draw for noise on every probe so the sequence does not depend on faults.
    const bool noisy = rng_.uniform() < noise_;
    latency_ms = 20.0F;
    if (isolated_[v]) {
      latency_ms = static_cast<float>(st_.timeout.count());
      return outcome::timeout;
    }
    duration slow{0};
    bool expiring = false;
    for (const auto& f : faults_) {
      if (!matches(f.filter, topo_, c, v)) continue;
      switch (f.kind) {
        case scenario_action::fail:
          return failed;
        case scenario_action::flap:
          if ((t - f.start) % f.period < f.period / 2) return failed;
          break;
        case scenario_action::slow:
          slow = std::max(slow, f.latency);
          break;
        case scenario_action::cert_expiring:
          expiring = true;
          break;
        default:
          break;
      }
    }
    if (noisy) {
      latency_ms = static_cast<float>(st_.timeout.count());
      return outcome::timeout;
    }
    if (slow > duration{0}) {
      latency_ms = static_cast<float>(slow.count());
      if (slow >= st_.timeout) return outcome::timeout;
      if (st_.degraded_after > duration{0} && slow > st_.degraded_after) return outcome::degraded;
    }
    if (expiring) {
      warning = outcome::cert_expiring;
      return outcome::degraded;
    }
    return outcome::ok;
  }

  void apply(const scenario_event& e, duration t, time_point now) {
    auto vantage = [&] { return *topo_.find_vantage(e.vantage); };
    switch (e.what) {
      case scenario_action::fail:
      case scenario_action::slow:
      case scenario_action::flap:
      case scenario_action::cert_expiring:
        faults_.push_back(fault{e.what, e.filter, e.latency, e.period, t});
        break;
      case scenario_action::heal:
        std::erase_if(faults_, [&](const fault& f) { return covers(e.filter, f.filter); });
        break;
      case scenario_action::vantage_down:
        down_[vantage()] = true;
        break;
      case scenario_action::vantage_up:
        down_[vantage()] = false;
        break;
      case scenario_action::isolate:
        isolated_[vantage()] = true;
        break;
      case scenario_action::unisolate:
        isolated_[vantage()] = false;
        break;
      case scenario_action::lag:
        lag_ = e.lag;
        break;
      case scenario_action::noise:
        noise_ = e.probability;
        break;
      case scenario_action::approve:
        approve(e, now);
        break;
      case scenario_action::acknowledge:
        core_.acknowledge_cooldown(e.by, now);
        break;
      case scenario_action::silence:
        core_.silence({"sim-" + std::to_string(e.line), e.scope, e.by, "scenario", now + e.length}, now);
        break;
      case scenario_action::unsilence:
        for (const auto& x : core_.status().silences)
          core_.unsilence(x.id, now);
        break;
      case scenario_action::leader:
        core_.set_leader(e.flag);
        break;
      case scenario_action::propose:
        (void)core_.propose(e.action, e.by, now);
        break;
      case scenario_action::active:
        if (const auto r = core_.topo().find_region(e.filter.region)) core_.set_active(*r, now, {}, {e.by});
        break;
      case scenario_action::standing:
        arm_standing(e, t);
        break;
      case scenario_action::revoke_standing:
        if (standing_) standing_entry(t, "revoked", "");
        standing_.reset();
        break;
      case scenario_action::readiness:
        core_.set_readiness(e.action, plan_readiness{e.flag, e.reason, now});
        break;
    }
    drain(now);
  }

  void arm_standing(const scenario_event& e, duration t) {
    armed_standing a;
    a.id = "sim-" + std::to_string(e.line);
    a.conditions = e.standing.value_or(standing_conditions{});
    if (a.conditions.from.empty()) a.conditions.from = topo_.regions[0].name;
    if (a.conditions.to.empty()) a.conditions.to = topo_.regions[1].name;
    a.signers = e.approvers;
    a.uses_left = e.uses;
    standing_ = std::move(a);
    standing_entry(t, "armed", "");
  }

  void standing_entry(duration t, const std::string& result, const std::string& detail,
                      standing_hold hold = standing_hold::none) {
    nlohmann::json j{{"policy", standing_->id}, {"result", result}};
    if (hold != standing_hold::none) j["reason"] = to_string(hold);
    if (!detail.empty()) j["detail"] = detail;
    result_.entries.push_back({t, "standing", std::move(j)});
  }

  /// What the engine does after each tick with an armed standing approval
  /// (app/standing.cpp): evaluate, and on fire approve as each signer.
  void evaluate_standing_approval(duration t, time_point now) {
    if (!standing_ || standing_->uses_left <= 0) return;
    const snapshot snap = core_.status();
    standing_inputs in;
    in.s = &snap;
    in.now = now;
    in.rpo = topo_.p.max_lag;
    in.lag_max_age = topo_.p.lag_max_age;
    const auto v = evaluate_standing(standing_->conditions, in);
    const bool outage = v.hold != standing_hold::not_active && v.hold != standing_hold::no_outage;
    if (!v.fire()) {
      if (outage && v.hold != standing_->last) standing_entry(t, "held", v.detail, v.hold);
      standing_->last = v.hold;
      return;
    }
    standing_->last = standing_hold::none;
    const int use = ++standing_->used;
    --standing_->uses_left;
    standing_entry(t, "used", v.detail);
    const auto rec = core_.current_recommendation();
    for (const auto& a : standing_approvals(*rec, standing_->id, standing_->signers, use, now, now + st_.token_ttl)) {
      (void)core_.approve(a, now);
      drain(now);
    }
  }

  void approve(const scenario_event& e, time_point now) {
    for (const auto& who : e.approvers) {
      const auto rec = core_.current_recommendation();
      verified_approval a;
      a.recommendation_id = rec ? rec->id : "none";
      a.recommendation_hash = rec ? rec->hash : "";
      a.approver = who;
      a.jti = "sim-" + who + "-" + std::to_string((now - st_.start).count());
      a.allow_data_loss = e.allow_data_loss.value_or(rec && rec->allow_data_loss_required);
      a.issued_at = now;
      a.expires_at = now + st_.token_ttl;
      (void)core_.approve(a, now);
      drain(now);
    }
  }

  void drain(time_point now) {
    // Executing a plan feeds more events back: loop until quiet.
    for (;;) {
      auto out = core_.take_output();
      if (out.empty()) return;
      for (const auto& e : out) {
        append_timeline(result_.entries, e, st_.start);
        if (std::holds_alternative<audit_record>(e)) result_.audit.push_back(to_json(e));
        if (const auto* x = std::get_if<execute_plan>(&e)) run_plan(*x, now);
      }
    }
  }

  void run_plan(const execute_plan& x, time_point now) {
    const duration t = now - st_.start;
    auto entry = [&](const std::string& step, const std::string& status) {
      result_.entries.push_back({t,
                                 "plan_step",
                                 {{"recommendation_id", x.recommendation_id},
                                  {"action", to_string(x.action)},
                                  {"step", step},
                                  {"status", status},
                                  {"dry_run", true}}});
    };
    core_.plan_started(x.recommendation_id, now);
    for (const auto& e : core_.take_output())
      append_timeline(result_.entries, e, st_.start);  // "executing" first
    const auto& configured = x.action == action_kind::failover ? st_.plan_steps : st_.failback_steps;
    const std::vector<std::string> steps = configured.empty() ? std::vector<std::string>{"dry-run"} : configured;
    for (const auto& s : steps) {
      core_.plan_step(x.recommendation_id, s, "ok (dry run)", now);
      entry(s, "ok");
    }
    core_.plan_finished(x.recommendation_id, true, "simulated", now);
  }

  const topology& topo_;
  const sim_settings& st_;
  const scenario& sc_;
  core core_;
  splitmix64 rng_;
  std::vector<bool> down_;
  std::vector<bool> isolated_;
  /// Per (vantage, check): the agent's suspicion rule and its pending re-probe.
  struct reprobe {
    suspicion rule;
    std::optional<duration> due;
  };
  std::vector<reprobe> doubt_;
  std::vector<fault> faults_;
  std::optional<duration> lag_;
  double noise_ = 0.0;
  struct armed_standing {
    std::string id;
    standing_conditions conditions;
    std::vector<std::string> signers;
    int uses_left = 1;
    int used = 0;
    standing_hold last = standing_hold::none;
  };
  std::optional<armed_standing> standing_;
  sim_result result_;
};

}  // namespace

bool sim_result::ok() const {
  return std::all_of(expects.begin(), expects.end(), [](const expect_result& e) { return e.ok; });
}

sim_result simulate(const topology& topo, const sim_settings& settings, const scenario& sc) {
  validate(topo, sc);
  if (sc.length.count() <= 0) throw std::invalid_argument(sc.file + ": duration must be > 0");
  if (sc.stagger.count() < 0 || sc.stagger.count() % 100 != 0) {
    throw std::invalid_argument(sc.file + ": stagger must be a non-negative multiple of 100ms (the simulation step)");
  }
  return sim(topo, settings, sc).run();
}

}  // namespace vigil::decision
