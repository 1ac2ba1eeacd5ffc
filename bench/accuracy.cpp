// vigil_bench_accuracy: the accuracy corpus (its figures are in
// bench/RESULTS.md). Generates runs from seeds (accuracy_model.hpp), drives the real
// decision::core on virtual time with virtual agents, and feeds the very same
// probe streams to three baseline detectors. Prints a markdown report (or
// JSON with --json). Deterministic for its seeds: runs are independent and
// merged in corpus order whatever the thread count.
//
// One seed is one draw of the corpus; --seeds runs the whole corpus once per
// seed and reports the pooled figures plus, per detector and class, the worst
// seed (a figure that holds for one seed need not hold for the next).
//
// --interval and --fast-interval change how the virtual agents probe (every
// interval; in suspicion mode re-probing a check in doubt every fast interval,
// decision/suspicion.hpp, the agent's own rule); the probes they send are
// counted and reported per check-hour.
//
//   vigil_bench_accuracy [--json] [--threads N] [--seed S | --seeds LIST]
//                        [--noise-hours H] [--fault-hours H] [--regional-runs N]
//                        [--interval MS] [--fast-interval MS]
//   LIST: comma-separated seeds and ranges, e.g. 1-20 or 1-6,777
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/accuracy_model.hpp"
#include "decision/core.hpp"
#include "decision/standing.hpp"
#include "decision/suspicion.hpp"
#include "decision/time_format.hpp"

namespace {

using namespace vigil::bench;
using vigil::decision::classification;

constexpr std::size_t detector_count = 1 + baseline_count;  // vigil first
constexpr duration warm_up{60000};
constexpr duration tick{1000};
constexpr duration step{100};
constexpr duration regional_fault_length{600000};
constexpr duration window_slack{60000};  // after heal + clear_for, a decision still belongs to the fault
const time_point epoch{std::chrono::milliseconds{1'795'000'000'000}};

std::string detector_name(std::size_t d) {
  return d == 0 ? std::string("vigil (decision::core)") : std::string(baseline_names[d - 1]);
}

struct mistakes {
  std::uint64_t count = 0;  ///< rising edges
  std::int64_t ms = 0;      ///< total duration
};

struct run_score {
  std::uint32_t false_failovers = 0;
  std::uint32_t duplicates = 0;             ///< a second recommendation inside one fault window
  std::optional<std::int64_t> detect_ms;    ///< fault start -> failover recommendation
  std::optional<std::int64_t> declared_ms;  ///< fault start -> primary declared regional_outage (T_D)
  mistakes failover_mistakes;               ///< primary declared regional_outage outside a regional fault
  std::int64_t failover_observed_ms = 0;
  mistakes class_mistakes;  ///< noise runs: any region declared non-healthy
  std::int64_t class_observed_ms = 0;
  /// --standing (vigil only): plans started by the standing approval outside a
  /// regional fault window, and fault start -> plan start inside one.
  std::uint32_t auto_false = 0;
  std::optional<std::int64_t> auto_start_ms;
};

struct run_result {
  run_spec spec;
  std::array<run_score, detector_count> d{};
  std::uint64_t probes = 0;  ///< probes the virtual agents sent (grid rounds and re-probes)
  std::uint64_t fast = 0;    ///< of which suspicion-mode re-probes
};

/// Scores one detector's view tick by tick against the run's ground truth.
class scorer {
 public:
  explicit scorer(const run_spec& s) : s_(s) {}
  void step(const detector_view& v, duration t, run_score& out) {
    const bool regional = is_regional(s_.cls);
    const bool in_window =
        regional && t >= s_.fault_start && t <= s_.fault_end + vigil::decision::params{}.clear_for + window_slack;
    if (v.new_failover) {
      if (!in_window) {
        ++out.false_failovers;
      } else if (out.detect_ms) {
        ++out.duplicates;
      } else {
        out.detect_ms = (t - s_.fault_start).count();
      }
    }
    if (in_window) {
      if (!out.declared_ms && v.primary == classification::regional_outage) {
        out.declared_ms = (t - s_.fault_start).count();
      }
      in_failover_mistake_ = false;
    } else if (t >= warm_up) {
      out.failover_observed_ms += tick.count();
      const bool m = v.primary == classification::regional_outage;
      if (m && !in_failover_mistake_) ++out.failover_mistakes.count;
      if (m) out.failover_mistakes.ms += tick.count();
      in_failover_mistake_ = m;
    }
    if (s_.cls == run_class::noise && t >= warm_up) {
      out.class_observed_ms += tick.count();
      const bool m = v.primary != classification::healthy || v.dr != classification::healthy;
      if (m && !in_class_mistake_) ++out.class_mistakes.count;
      if (m) out.class_mistakes.ms += tick.count();
      in_class_mistake_ = m;
    }
  }

 private:
  run_spec s_;
  bool in_failover_mistake_ = false;
  bool in_class_mistake_ = false;
};

/// Reads the core's output into the same view the baselines produce.
class vigil_reader {
 public:
  detector_view read(const std::vector<vigil::decision::event>& out) {
    detector_view v;
    for (const auto& e : out) {
      if (const auto* c = std::get_if<vigil::decision::classification_changed>(&e)) {
        (c->region == "us-east-1" ? primary_ : dr_) = c->to;
      } else if (const auto* r = std::get_if<vigil::decision::recommendation_changed>(&e)) {
        if (r->rec.action == vigil::decision::action_kind::failover && r->rec.revision == 1 && r->rec.id != last_id_) {
          last_id_ = r->rec.id;
          v.new_failover = true;
        }
      }
    }
    v.primary = primary_;
    v.dr = dr_;
    return v;
  }

 private:
  classification primary_ = classification::unknown;
  classification dr_ = classification::unknown;
  std::string last_id_;
};

/// One virtual agent's suspicion state for one check.
struct reprobe {
  vigil::decision::suspicion rule;
  std::optional<duration> due;
};

/// --standing: the policy the engine would evaluate after each tick
/// (app/standing.cpp), armed for the whole run with one use.
struct standing_arm {
  vigil::decision::standing_conditions c;
  bool used = false;
};

/// After a tick: evaluates the armed policy and, when it fires, approves as
/// the engine does; returns the outputs that produced, execute_plan included.
std::vector<vigil::decision::event> standing_step(vigil::decision::core& core, standing_arm& arm, time_point now) {
  namespace d = vigil::decision;
  if (arm.used) return {};
  const auto rec = core.current_recommendation();
  if (!rec || rec->state != d::recommendation_state::pending_approval || rec->action != d::action_kind::failover) {
    return {};
  }
  const d::snapshot snap = core.status();
  d::standing_inputs in;
  in.s = &snap;
  in.now = now;
  in.rpo = core.topo().p.max_lag;
  in.lag_max_age = core.topo().p.lag_max_age;
  if (!d::evaluate_standing(arm.c, in).fire()) return {};
  arm.used = true;
  for (const auto& a : d::standing_approvals(*rec, "bench", {"alice"}, 1, now, now + duration{900000}))
    (void)core.approve(a, now);
  return core.take_output();
}

bool executes(const std::vector<vigil::decision::event>& out) {
  return std::any_of(out.begin(), out.end(),
                     [](const auto& e) { return std::holds_alternative<vigil::decision::execute_plan>(e); });
}

run_result run_one(const run_spec& spec, const vigil::decision::topology& topo, const cadence& k, bool standing) {
  run_result res;
  res.spec = spec;
  world w(spec, k.interval);
  vigil::decision::core core(topo);
  core.set_leader(true);
  std::array<baseline, baseline_count> baselines{baseline(vote_rule::single_vantage, topo.p, k.interval),
                                                 baseline(vote_rule::route53, topo.p, k.interval),
                                                 baseline(vote_rule::k_of_n, topo.p, k.interval)};
  std::array<scorer, detector_count> scorers{scorer(spec), scorer(spec), scorer(spec), scorer(spec)};
  vigil_reader reader;
  std::array<std::array<reprobe, check_count>, vantage_count> doubt{};
  standing_arm arm;
  arm.c.from = "us-east-1";
  arm.c.to = "us-west-2";
  arm.c.min_duration = duration{1000};
  arm.c.min_vantages = 2;
  arm.c.max_lag = duration{5000};
  if (standing)
    core.set_readiness(vigil::decision::action_kind::failover, vigil::decision::plan_readiness{true, "bench", epoch});
  for (duration t{0}; t <= spec.length; t += step) {
    const time_point now = epoch + t;
    for (std::size_t v = 0; v < vantage_count; ++v) {
      if (!w.reporting(v, t)) continue;
      const duration ph = w.phase(v);
      const bool grid = t >= ph && (t - ph) % k.interval == duration{0};
      const auto vi = static_cast<vigil::decision::vantage_index>(v);
      bool sent = false;
      for (std::size_t c = 0; c < check_count; ++c) {
        // The grid round, or a re-probe due first (the agent's scheduler:
        // a grid round supersedes a pending re-probe).
        reprobe& d = doubt[v][c];
        const bool fast = !grid && d.due && t >= *d.due;
        if (!grid && !fast) continue;
        float latency = 0.0F;
        const auto o = w.probe(v, c, t, latency);
        ++res.probes;
        if (fast) ++res.fast;
        vigil::decision::observation obs{vi, static_cast<vigil::decision::check_index>(c), now, o, latency};
        obs.fast = fast;
        core.ingest(obs);
        for (auto& b : baselines)
          b.observe(v, c, now, vigil::decision::is_success(o));
        d.due.reset();
        if (d.rule.observe(vigil::decision::is_success(o), topo.p.fall, topo.p.rise) && k.fast_interval > duration{0}) {
          d.due = t + k.fast_interval;
        }
        sent = true;
      }
      if (!sent) continue;
      core.vantage_report(vi, now);
      for (auto& b : baselines)
        b.report(v, now);
    }
    if (t % duration{5000} == duration{0}) core.ingest_lag({now, duration{250}, std::nullopt});
    if (t % tick != duration{0}) continue;
    core.tick(now);
    auto out = core.take_output();
    if (standing) {
      auto more = standing_step(core, arm, now);
      if (executes(more)) {
        const bool in_window = is_regional(spec.cls) && t >= spec.fault_start &&
                               t <= spec.fault_end + vigil::decision::params{}.clear_for + window_slack;
        if (in_window && !res.d[0].auto_start_ms) {
          res.d[0].auto_start_ms = (t - spec.fault_start).count();
        } else if (!in_window) {
          ++res.d[0].auto_false;
        }
        const auto id = core.current_recommendation()->id;
        core.plan_started(id, now, true);  // a dry run: no cooldown, the run goes on
        core.plan_finished(id, true, "bench", now, true);
        for (auto& e : core.take_output())
          more.push_back(std::move(e));
      }
      out.insert(out.end(), more.begin(), more.end());
    }
    scorers[0].step(reader.read(out), t, res.d[0]);
    for (std::size_t b = 0; b < baseline_count; ++b)
      scorers[b + 1].step(baselines[b].tick(now), t, res.d[b + 1]);
  }
  return res;
}

std::uint64_t mix_seed(std::uint64_t base, std::uint64_t cls, std::uint64_t index) {
  splitmix64 m(base ^ (cls << 40U) ^ (index * 0x9E3779B97F4A7C15ULL));
  return m.next();
}

struct options {
  bool json = false;
  cadence k;
  unsigned threads = 2;
  std::vector<std::uint64_t> seeds{20261118};
  double noise_hours = 10000.0;
  double fault_hours = 1000.0;       ///< per non-regional fault class
  std::size_t regional_runs = 2000;  ///< per regional class
  bool standing = false;             ///< arm a standing approval in every run (vigil only)
};

std::vector<run_spec> build_corpus(const options& o, std::uint64_t base_seed) {
  std::vector<run_spec> corpus;
  const duration noise_run{20LL * 3600000};
  const auto noise_runs = static_cast<std::size_t>(std::ceil(o.noise_hours / 20.0));
  for (std::size_t i = 0; i < noise_runs; ++i) {
    corpus.push_back({run_class::noise, mix_seed(base_seed, 0, i), noise_run, duration{0}, duration{0}});
  }
  const duration fault_run{10LL * 3600000};
  const auto fault_runs = static_cast<std::size_t>(std::ceil(o.fault_hours / 10.0));
  for (std::size_t k = 1; k < run_class_count; ++k) {
    const auto cls = static_cast<run_class>(k);
    if (is_regional(cls)) {
      for (std::size_t i = 0; i < o.regional_runs; ++i) {
        const std::uint64_t seed = mix_seed(base_seed, k, i);
        // Fault start anywhere in a minute, to the millisecond: not aligned
        // with probes or ticks.
        const duration start{300000 + static_cast<std::int64_t>(splitmix64(seed ^ 0xFA17ULL).below(60000))};
        corpus.push_back(
            {cls, seed, start + regional_fault_length + duration{300000}, start, start + regional_fault_length});
      }
    } else {
      for (std::size_t i = 0; i < fault_runs; ++i) {
        corpus.push_back({cls, mix_seed(base_seed, k, i), fault_run, duration{300000}, fault_run + duration{1}});
      }
    }
  }
  return corpus;
}

// --- aggregation -----------------------------------------------------------

struct summary {
  std::array<std::uint64_t, run_class_count> false_by_class{};
  std::array<double, run_class_count> hours_by_class{};
  std::array<std::size_t, run_class_count> runs_by_class{};
  std::array<std::size_t, run_class_count> missed_by_class{};
  std::uint64_t false_total = 0;
  std::uint64_t duplicates = 0;
  std::vector<double> detect_s;    ///< recommendation
  std::vector<double> declared_s;  ///< T_D
  mistakes failover_m;
  std::int64_t failover_observed_ms = 0;
  mistakes class_m;
  std::int64_t class_observed_ms = 0;
  std::uint64_t false_noise = 0;
  std::uint64_t probes = 0;  ///< all runs
  std::uint64_t fast = 0;
  std::uint64_t noise_probes = 0;  ///< noise runs only
  double noise_check_hours = 0;    ///< (vantage, check) hours of the noise runs
  double check_hours = 0;
};

/// Probes per (vantage, check) per hour.
double per_check_hour(std::uint64_t probes, double check_hours) {
  return check_hours > 0 ? static_cast<double>(probes) / check_hours : std::nan("");
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<std::size_t>(rank, 1)) - 1];
}

std::array<summary, detector_count> aggregate(const std::vector<run_result>& results) {
  std::array<summary, detector_count> s{};
  for (const auto& r : results) {
    const auto k = static_cast<std::size_t>(r.spec.cls);
    for (std::size_t d = 0; d < detector_count; ++d) {
      auto& x = s[d];
      const auto& sc = r.d[d];
      x.runs_by_class[k] += 1;
      x.hours_by_class[k] += static_cast<double>(r.spec.length.count()) / 3600000.0;
      x.false_by_class[k] += sc.false_failovers;
      x.false_total += sc.false_failovers;
      // Every detector saw the same probes: the counts are the run's.
      const double ch =
          static_cast<double>(vantage_count * check_count) * static_cast<double>(r.spec.length.count()) / 3600000.0;
      x.probes += r.probes;
      x.fast += r.fast;
      x.check_hours += ch;
      if (r.spec.cls == run_class::noise) {
        x.noise_probes += r.probes;
        x.noise_check_hours += ch;
      }
      if (r.spec.cls == run_class::noise) x.false_noise += sc.false_failovers;
      x.duplicates += sc.duplicates;
      if (is_regional(r.spec.cls) && !sc.detect_ms) ++x.missed_by_class[k];
      if (sc.detect_ms) x.detect_s.push_back(static_cast<double>(*sc.detect_ms) / 1000.0);
      if (sc.declared_ms) x.declared_s.push_back(static_cast<double>(*sc.declared_ms) / 1000.0);
      x.failover_m.count += sc.failover_mistakes.count;
      x.failover_m.ms += sc.failover_mistakes.ms;
      x.failover_observed_ms += sc.failover_observed_ms;
      x.class_m.count += sc.class_mistakes.count;
      x.class_m.ms += sc.class_mistakes.ms;
      x.class_observed_ms += sc.class_observed_ms;
    }
  }
  return s;
}

/// The pooled figures of every seed, plus each seed's own.
struct seeded {
  std::array<summary, detector_count> pooled{};
  std::vector<std::uint64_t> seeds;
  std::vector<std::array<summary, detector_count>> per_seed;  ///< parallel to seeds
};

/// The seed with the largest `figure` (the first one on a tie) and that figure.
template <typename F>
std::pair<std::uint64_t, std::uint64_t> worst_seed(const seeded& x, F figure) {
  std::pair<std::uint64_t, std::uint64_t> w{x.seeds.front(), 0};
  for (std::size_t i = 0; i < x.seeds.size(); ++i) {
    const auto f = static_cast<std::uint64_t>(figure(x.per_seed[i]));
    if (f > w.second) w = {x.seeds[i], f};
  }
  return w;
}

std::size_t missed_total(const summary& x) {
  std::size_t m = 0;
  for (auto n : x.missed_by_class)
    m += n;
  return m;
}

/// The largest per-seed p99 of the recommendation time (NaN: no detection).
double worst_p99(const seeded& x, std::size_t d) {
  double w = std::nan("");
  for (const auto& s : x.per_seed) {
    const double p = percentile(s[d].detect_s, 99);
    if (!std::isnan(p) && (std::isnan(w) || p > w)) w = p;
  }
  return w;
}

/// v with `decimals` (0 or 1) digits and a unit suffix.
std::string fmt(double v, int decimals, const char* unit) {
  char buf[64];
  if (decimals == 0) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, unit);
  }
  return buf;
}

std::string hours_text(std::int64_t ms) {
  return fmt(static_cast<double>(ms) / 3600000.0, 0, " h");
}

/// Mean mistake recurrence: observed time per mistake; none seen: a lower bound.
std::string t_mr(const mistakes& m, std::int64_t observed_ms) {
  if (m.count == 0) return "> " + hours_text(observed_ms) + " (none)";
  return fmt(static_cast<double>(observed_ms) / 3600000.0 / static_cast<double>(m.count), 1, " h");
}
std::string t_m(const mistakes& m) {
  if (m.count == 0) return "-";
  return fmt(static_cast<double>(m.ms) / 1000.0 / static_cast<double>(m.count), 1, " s");
}

std::string ratio(std::uint64_t baseline, std::uint64_t vigil) {
  if (vigil == 0) return baseline == 0 ? std::string("1 (both 0)") : "inf (" + std::to_string(baseline) + " vs 0)";
  return fmt(static_cast<double>(baseline) / static_cast<double>(vigil), 1, "x");
}

/// null for NaN (no detection).
nlohmann::json json_number(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

nlohmann::json to_json(const seeded& all, std::size_t d) {
  const summary& x = all.pooled[d];
  const std::string name = detector_name(d);
  nlohmann::json by_class = nlohmann::json::object();
  for (std::size_t k = 0; k < run_class_count; ++k) {
    const auto wf = worst_seed(all, [&](const auto& s) { return s[d].false_by_class[k]; });
    const auto wm = worst_seed(all, [&](const auto& s) { return s[d].missed_by_class[k]; });
    by_class[std::string(run_class_names[k])] = {
        {"runs", x.runs_by_class[k]},
        {"hours", x.hours_by_class[k]},
        {"false_failovers", x.false_by_class[k]},
        {"missed", x.missed_by_class[k]},
        {"worst_seed", {{"false_failovers", wf.second}, {"seed", wf.first}, {"missed", wm.second}}}};
  }
  nlohmann::json per_seed = nlohmann::json::array();
  for (std::size_t i = 0; i < all.seeds.size(); ++i) {
    const summary& y = all.per_seed[i][d];
    nlohmann::json fc = nlohmann::json::object();
    for (std::size_t k = 0; k < run_class_count; ++k) {
      if (y.false_by_class[k] != 0) fc[std::string(run_class_names[k])] = y.false_by_class[k];
    }
    per_seed.push_back({{"seed", all.seeds[i]},
                        {"false_failovers", y.false_total},
                        {"false_by_class", std::move(fc)},
                        {"missed", missed_total(y)},
                        {"detections", y.detect_s.size()},
                        {"recommendation_p50_s", json_number(percentile(y.detect_s, 50))},
                        {"recommendation_p99_s", json_number(percentile(y.detect_s, 99))},
                        {"recommendation_max_s", json_number(percentile(y.detect_s, 100))}});
  }
  return {{"detector", name},
          {"probes_per_check_hour",
           {{"noise", json_number(per_check_hour(x.noise_probes, x.noise_check_hours))},
            {"all", json_number(per_check_hour(x.probes, x.check_hours))},
            {"fast_share", x.probes > 0 ? static_cast<double>(x.fast) / static_cast<double>(x.probes) : 0.0}}},
          {"false_failovers", x.false_total},
          {"false_failovers_noise", x.false_noise},
          {"duplicates", x.duplicates},
          {"detections", x.detect_s.size()},
          {"recommendation_s",
           {{"p50", json_number(percentile(x.detect_s, 50))},
            {"p99", json_number(percentile(x.detect_s, 99))},
            {"max", json_number(percentile(x.detect_s, 100))}}},
          {"t_d_s",
           {{"p50", json_number(percentile(x.declared_s, 50))},
            {"p99", json_number(percentile(x.declared_s, 99))},
            {"max", json_number(percentile(x.declared_s, 100))}}},
          {"failover_mistakes",
           {{"count", x.failover_m.count},
            {"total_s", static_cast<double>(x.failover_m.ms) / 1000.0},
            {"observed_h", static_cast<double>(x.failover_observed_ms) / 3600000.0}}},
          {"noise_classification_mistakes",
           {{"count", x.class_m.count},
            {"total_s", static_cast<double>(x.class_m.ms) / 1000.0},
            {"observed_h", static_cast<double>(x.class_observed_ms) / 3600000.0}}},
          {"by_class", by_class},
          {"worst_seed_recommendation_p99_s", json_number(worst_p99(all, d))},
          {"per_seed", std::move(per_seed)}};
}

std::string seeds_text(const std::vector<std::uint64_t>& seeds) {
  std::string t;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    // Runs of consecutive seeds as ranges: 1-20,777.
    std::size_t j = i;
    while (j + 1 < seeds.size() && seeds[j + 1] == seeds[j] + 1)
      ++j;
    if (!t.empty()) t += ',';
    t += std::to_string(seeds[i]);
    if (j > i) t += '-' + std::to_string(seeds[j]);
    i = j;
  }
  return t;
}

/// The per-seed table: false failovers of every detector, and vigil's misses
/// and p99, one row per seed.
void print_per_seed(const seeded& all, double bound_s) {
  std::printf("\n## Per seed\n\n| seed |");
  for (std::size_t d = 0; d < detector_count; ++d)
    std::printf(" %s false failovers |", detector_name(d).c_str());
  std::printf(" vigil: classes with a false failover | vigil missed regional | vigil recommendation p99 |\n|---:|");
  for (std::size_t d = 0; d < detector_count; ++d)
    std::printf("---:|");
  std::printf("---|---:|---:|\n");
  for (std::size_t i = 0; i < all.seeds.size(); ++i) {
    const auto& s = all.per_seed[i];
    std::printf("| %llu |", static_cast<unsigned long long>(all.seeds[i]));
    for (std::size_t d = 0; d < detector_count; ++d)
      std::printf(" %llu |", static_cast<unsigned long long>(s[d].false_total));
    std::string classes;
    for (std::size_t k = 0; k < run_class_count; ++k) {
      if (s[0].false_by_class[k] == 0) continue;
      if (!classes.empty()) classes += ", ";
      classes += std::string(run_class_names[k]) + " " + std::to_string(s[0].false_by_class[k]);
    }
    std::printf(" %s | %zu | %.1f s |\n", classes.empty() ? "-" : classes.c_str(), missed_total(s[0]),
                percentile(s[0].detect_s, 99));
  }
  const double w = worst_p99(all, 0);
  std::printf("\nvigil worst per-seed p99 recommendation time %.1f s vs bound %.0f s: %s\n", w, bound_s,
              w <= bound_s ? "within" : "EXCEEDED");
}

void print_markdown(const seeded& all, const options& o, double wall_s, std::size_t runs, double bound_s) {
  const auto& s = all.pooled;
  const auto& v = s[0];
  const bool many = all.seeds.size() > 1;
  std::printf("# vigil decision core: accuracy corpus\n\n");
  std::printf(
      "%s %s, %zu runs, %.0f simulated hours, %u threads, %.1f s wall\n\n", many ? "seeds" : "seed",
      seeds_text(all.seeds).c_str(), runs,
      [&] {
        double h = 0;
        for (double x : v.hours_by_class)
          h += x;
        return h;
      }(),
      o.threads, wall_s);
  std::printf(
      "Topology: 2 regions x %zu services, 3 vantages (one in each region + eu-west-1), probe interval "
      "%s, fast_interval %s, defaults (tick 1s, fall = rise = 3, quorum 2, confirm_for 2s, clear_for 30s). Every "
      "probe of every run fails independently with p = %.2f.\n\n",
      services_per_region, vigil::decision::format_seconds(o.k.interval).c_str(),
      o.k.fast_interval.count() > 0 ? vigil::decision::format_seconds(o.k.fast_interval).c_str() : "off",
      noise_probability);
  std::printf(
      "Probes sent per (vantage, check) per hour, counted: %.1f in the noise runs, %.1f over all runs "
      "(%.2f%% of them re-probes); one every interval is %.1f.\n\n",
      per_check_hour(v.noise_probes, v.noise_check_hours), per_check_hour(v.probes, v.check_hours),
      v.probes > 0 ? 100.0 * static_cast<double>(v.fast) / static_cast<double>(v.probes) : 0.0,
      3600000.0 / static_cast<double>(o.k.interval.count()));
  std::printf(
      "Definitions:\n"
      "- false failover: a failover recommendation (a detector declaring the primary `regional_outage` "
      "in a new incident) outside a regional fault window [fault start, heal + clear_for + 60s].\n"
      "- mistake (Chen-Toueg-Aguilera): an interval during which the primary is declared "
      "`regional_outage` while no regional fault is injected (after a 60 s warm-up). T_MR = observed "
      "fault-free time / mistakes (none seen: a lower bound), T_M = mean mistake duration.\n"
      "- noise-run mistake: in the noise-only runs (nothing injected), an interval during which either "
      "region is declared anything but `healthy`.\n"
      "- T_D: regional fault start -> the primary declared `regional_outage`; recommendation time: fault "
      "start -> the failover recommendation.\n\n");
  if (o.k.fast_interval.count() > 0) {
    std::printf(
        "Bound (target): the first interval's phase + fall x fast_interval + confirm_for + 2 ticks = %.0f s\n\n",
        bound_s);
  } else {
    std::printf("Bound (target): fall x interval + confirm_for + 2 ticks = %.0f s\n\n", bound_s);
  }

  std::printf("## Summary\n\n");
  std::printf(
      "| detector | false failovers (all) | in %.0f h of noise | mistakes T_MR | T_M | T_D p50 / p99 / max "
      "| recommendation p50 / p99 / max | missed regional | noise-run mistakes (T_MR, T_M) |\n",
      v.hours_by_class[0]);
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (std::size_t d = 0; d < detector_count; ++d) {
    const auto& x = s[d];
    const std::size_t missed = missed_total(x);
    std::printf(
        "| %s | %llu | %llu | %s | %s | %.1f / %.1f / %.1f s | %.1f / %.1f / %.1f s | %zu / %zu | %llu (%s, %s) |\n",
        detector_name(d).c_str(), static_cast<unsigned long long>(x.false_total),
        static_cast<unsigned long long>(x.false_noise), t_mr(x.failover_m, x.failover_observed_ms).c_str(),
        t_m(x.failover_m).c_str(), percentile(x.declared_s, 50), percentile(x.declared_s, 99),
        percentile(x.declared_s, 100), percentile(x.detect_s, 50), percentile(x.detect_s, 99),
        percentile(x.detect_s, 100), missed, 3 * o.regional_runs * all.seeds.size(),
        static_cast<unsigned long long>(x.class_m.count), t_mr(x.class_m, x.class_observed_ms).c_str(),
        t_m(x.class_m).c_str());
  }
  std::printf("\nvigil p99 recommendation time %.1f s vs bound %.0f s: %s\n\n", percentile(v.detect_s, 99), bound_s,
              percentile(v.detect_s, 99) <= bound_s ? "within" : "EXCEEDED");

  std::printf("## vigil against each baseline (same corpus, same probe streams)\n\n");
  std::printf(
      "| baseline | false failovers: baseline / vigil | ratio | recommendation p50: baseline vs vigil | p99: "
      "baseline vs vigil | missed regional: baseline vs vigil |\n|---|---:|---:|---:|---:|---:|\n");
  for (std::size_t d = 1; d < detector_count; ++d) {
    const auto& x = s[d];
    const std::size_t missed_b = missed_total(x);
    const std::size_t missed_v = missed_total(v);
    std::printf("| %s | %llu / %llu | %s | %.1f s vs %.1f s | %.1f s vs %.1f s | %zu vs %zu |\n",
                detector_name(d).c_str(), static_cast<unsigned long long>(x.false_total),
                static_cast<unsigned long long>(v.false_total), ratio(x.false_total, v.false_total).c_str(),
                percentile(x.detect_s, 50), percentile(v.detect_s, 50), percentile(x.detect_s, 99),
                percentile(v.detect_s, 99), missed_b, missed_v);
  }

  std::printf("\n## False failovers by class%s\n\n| class | runs | hours |",
              many ? " (total over the seeds; worst seed: its count @ the seed)" : "");
  for (std::size_t d = 0; d < detector_count; ++d)
    std::printf(" %s |", detector_name(d).c_str());
  std::printf("\n|---|---:|---:|");
  for (std::size_t d = 0; d < detector_count; ++d)
    std::printf("---:|");
  std::printf("\n");
  for (std::size_t k = 0; k < run_class_count; ++k) {
    std::printf("| %s | %zu | %.0f |", std::string(run_class_names[k]).c_str(), v.runs_by_class[k],
                v.hours_by_class[k]);
    for (std::size_t d = 0; d < detector_count; ++d) {
      const auto& x = s[d];
      std::string cell = std::to_string(x.false_by_class[k]);
      if (many) {
        const auto w = worst_seed(all, [&](const auto& y) { return y[d].false_by_class[k]; });
        if (w.second != 0) cell += " (worst " + std::to_string(w.second) + " @ " + std::to_string(w.first) + ")";
      }
      if (is_regional(static_cast<run_class>(k))) {
        cell += " (missed " + std::to_string(x.missed_by_class[k]);
        const auto w = worst_seed(all, [&](const auto& y) { return y[d].missed_by_class[k]; });
        if (many && w.second != 0) cell += "; worst " + std::to_string(w.second) + " @ " + std::to_string(w.first);
        cell += ")";
      }
      std::printf(" %s |", cell.c_str());
    }
    std::printf("\n");
  }
  if (many) print_per_seed(all, bound_s);
  if (v.false_noise == 0) {
    std::printf(
        "\nvigil: 0 false failovers in %.0f h of 5%% noise (95%% upper bound on the rate by the rule of "
        "three: %.2g per hour).\n",
        v.hours_by_class[0], 3.0 / v.hours_by_class[0]);
  }
}

/// --standing: automatic failovers per class (outside a regional window they
/// are false) and fault start -> plan start over the regional runs.
nlohmann::json standing_report(const std::vector<run_result>& results, double bound_s, bool markdown) {
  std::array<std::uint64_t, run_class_count> false_by{};
  std::array<std::size_t, run_class_count> runs_by{};
  std::array<std::size_t, run_class_count> started_by{};
  std::vector<double> start_s;
  for (const auto& r : results) {
    const auto k = static_cast<std::size_t>(r.spec.cls);
    ++runs_by[k];
    false_by[k] += r.d[0].auto_false;
    if (r.d[0].auto_start_ms) {
      ++started_by[k];
      start_s.push_back(static_cast<double>(*r.d[0].auto_start_ms) / 1000.0);
    }
  }
  nlohmann::json j{{"bound_s", bound_s + static_cast<double>(tick.count()) / 1000.0},
                   {"plan_start_p50_s", percentile(start_s, 50)},
                   {"plan_start_p99_s", percentile(start_s, 99)},
                   {"plan_start_max_s", percentile(start_s, 100)}};
  if (markdown) {
    std::printf(
        "\n### With a standing approval armed (vigil only)\n\n| class | runs | automatic failovers outside "
        "a regional window | regional runs whose plan started |\n|---|---:|---:|---:|\n");
  }
  for (std::size_t k = 0; k < run_class_count; ++k) {
    if (runs_by[k] == 0) continue;
    const bool regional = is_regional(static_cast<run_class>(k));
    j["classes"].push_back({{"class", std::string(run_class_names[k])},
                            {"runs", runs_by[k]},
                            {"automatic_false", false_by[k]},
                            {"started", started_by[k]}});
    if (markdown) {
      std::printf("| %s | %zu | %llu | %s |\n", std::string(run_class_names[k]).c_str(), runs_by[k],
                  static_cast<unsigned long long>(false_by[k]), regional ? std::to_string(started_by[k]).c_str() : "—");
    }
  }
  if (markdown) {
    std::printf(
        "\nregional fault -> plan start: p50 %.1f s, p99 %.1f s, max %.1f s (bound: detection %.1f s + 1 tick)\n",
        j["plan_start_p50_s"].get<double>(), j["plan_start_p99_s"].get<double>(), j["plan_start_max_s"].get<double>(),
        bound_s);
  }
  return j;
}

/// "1-20,777" -> 1, 2, ..., 20, 777. At most 1,000 seeds, ranges ascending.
bool parse_seeds(std::string_view text, std::vector<std::uint64_t>& out) {
  out.clear();
  while (!text.empty()) {
    const std::size_t comma = std::min(text.find(','), text.size());
    const std::string item(text.substr(0, comma));
    text.remove_prefix(std::min(comma + 1, text.size()));
    char* end = nullptr;
    const std::uint64_t first = std::strtoull(item.c_str(), &end, 10);
    std::uint64_t last = first;
    if (end == item.c_str()) return false;
    if (*end == '-') {
      const char* second = end + 1;
      last = std::strtoull(second, &end, 10);
      if (end == second || last < first) return false;
    }
    if (*end != '\0' || last - first >= 1000 || out.size() + (last - first + 1) > 1000) return false;
    for (std::uint64_t x = first; x <= last; ++x)
      out.push_back(x);
  }
  return !out.empty();
}

bool parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--standing") {
      o.standing = true;
    } else if (a == "--threads" || a == "--seed" || a == "--seeds" || a == "--noise-hours" || a == "--fault-hours" ||
               a == "--regional-runs" || a == "--interval" || a == "--fast-interval") {
      const char* x = value();
      if (x == nullptr) return false;
      if (a == "--threads") o.threads = static_cast<unsigned>(std::max(1L, std::strtol(x, nullptr, 10)));
      if (a == "--seed") o.seeds = {std::strtoull(x, nullptr, 10)};
      if (a == "--seeds" && !parse_seeds(x, o.seeds)) return false;
      if (a == "--noise-hours") o.noise_hours = std::strtod(x, nullptr);
      if (a == "--fault-hours") o.fault_hours = std::strtod(x, nullptr);
      if (a == "--regional-runs") o.regional_runs = std::strtoull(x, nullptr, 10);
      // Multiples of the 100ms simulation step; fast_interval < interval, as the config requires.
      if (a == "--interval") o.k.interval = duration{std::strtoll(x, nullptr, 10)};
      if (a == "--fast-interval") o.k.fast_interval = duration{std::strtoll(x, nullptr, 10)};
    } else {
      return false;
    }
  }
  const auto steps = [](duration d) { return d.count() >= 0 && d.count() % step.count() == 0; };
  return o.k.interval >= step && steps(o.k.interval) && steps(o.k.fast_interval) && o.k.fast_interval < o.k.interval;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse_args(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: %s [--json] [--threads N] [--seed S | --seeds LIST] [--noise-hours H] [--fault-hours H] "
                 "[--regional-runs N] [--interval MS] [--fast-interval MS]\n  LIST: seeds and ranges, e.g. 1-20 or "
                 "1-6,777 (at most 1000)\n",
                 argv[0]);
    return 2;
  }
  auto topo = corpus_topology(o.k);
  // --standing: readiness configured (advisory) and reported ready in every run.
  if (o.standing) topo.p.readiness = vigil::decision::readiness_gate::advisory;
  // One pool over every (seed, run): seed i's runs are [first[i], first[i + 1]).
  std::vector<run_spec> corpus;
  std::vector<std::size_t> first;
  for (const std::uint64_t seed : o.seeds) {
    first.push_back(corpus.size());
    const auto c = build_corpus(o, seed);
    corpus.insert(corpus.end(), c.begin(), c.end());
  }
  first.push_back(corpus.size());
  std::vector<run_result> results(corpus.size());
  const auto wall_start = std::chrono::steady_clock::now();  // bench code: wall time of the run
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < corpus.size(); i = next++)
      results[i] = run_one(corpus[i], topo, o.k, o.standing);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < o.threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto& t : pool)
    t.join();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  seeded all;
  all.seeds = o.seeds;
  all.pooled = aggregate(results);
  for (std::size_t i = 0; i < o.seeds.size(); ++i) {
    const std::vector<run_result> mine(results.begin() + static_cast<std::ptrdiff_t>(first[i]),
                                       results.begin() + static_cast<std::ptrdiff_t>(first[i + 1]));
    all.per_seed.push_back(aggregate(mine));
  }
  const auto& p = topo.p;
  // Suspicion mode: the first failure comes within one interval (the phase of
  // the grid), then fall - 1 re-probes... bounded by fall x fast_interval.
  const duration to_down =
      o.k.fast_interval.count() > 0 ? o.k.interval + p.fall * o.k.fast_interval : p.fall * o.k.interval;
  const double bound_s = static_cast<double>((to_down + p.confirm_for + 2 * p.tick).count()) / 1000.0;
  if (o.json) {
    nlohmann::json j{{"seeds", o.seeds},
                     {"runs", corpus.size()},
                     {"wall_s", wall_s},
                     {"bound_s", bound_s},
                     {"interval_ms", o.k.interval.count()},
                     {"fast_interval_ms", o.k.fast_interval.count()},
                     {"noise_probability", noise_probability}};
    for (std::size_t d = 0; d < detector_count; ++d)
      j["detectors"].push_back(to_json(all, d));
    if (o.standing) j["standing"] = standing_report(results, bound_s, false);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_markdown(all, o, wall_s, corpus.size(), bound_s);
    if (o.standing) (void)standing_report(results, bound_s, true);
  }
  // Exit 1 when vigil misses its own targets on any seed (a false failover in
  // any class, a missed regional outage, a p99 over the bound), so CI can run
  // a small corpus.
  const auto& v = all.pooled[0];
  const bool ok = v.false_total == 0 && missed_total(v) == 0 && worst_p99(all, 0) <= bound_s;
  return ok ? 0 : 1;
}
