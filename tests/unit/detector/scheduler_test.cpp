#include "detector/scheduler.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <set>

#include "detector/probe_metrics.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;

compiled_check check_named(const std::string& id, std::chrono::milliseconds interval, double jitter = 0.1) {
  compiled_check c;
  c.id = id;
  c.region = "test-1";
  c.url = "http://127.0.0.1/";
  c.interval = interval;
  c.jitter = jitter;
  return c;
}

/// A prober that answers at once (from the event loop) or holds every probe
/// until release() is called.
class fake_prober final : public prober {
 public:
  fake_prober(boost::asio::io_context& io, bool hold) : io_(io), hold_(hold) {}

  void probe(const compiled_check& check, done_fn done) override {
    ++calls[check.id];
    if (hold_) {
      held_.push_back(std::move(done));
      return;
    }
    boost::asio::post(io_, [done = std::move(done)] {
      probe_result r;
      r.result = outcome::ok;
      done(r);
    });
  }

  /// Completes the oldest held probes.
  void release(std::size_t n) {
    for (std::size_t i = 0; i < n && !held_.empty(); ++i) {
      auto done = std::move(held_.front());
      held_.erase(held_.begin());
      probe_result r;
      r.result = outcome::ok;
      done(r);
    }
  }
  [[nodiscard]] std::size_t held() const { return held_.size(); }

  std::map<std::string, int> calls;

 private:
  boost::asio::io_context& io_;
  bool hold_;
  std::vector<done_fn> held_;
};

/// Runs the loop in short slices until `done` (or a generous cap, so a busy
/// machine slows the test down instead of failing it); returns the elapsed
/// real time.
template <class Pred>
std::chrono::milliseconds run_until(boost::asio::io_context& io, Pred done,
                                    std::chrono::milliseconds cap = std::chrono::seconds(20)) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  };
  while (!done() && elapsed() < cap)
    io.run_for(5ms);
  return elapsed();
}

TEST(schedule_plan, first_round_is_spread_evenly_over_the_interval) {
  const common::mono_time start{std::chrono::hours(1)};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(schedule_plan::first_grid(start, i, 10, 1000ms), start + std::chrono::milliseconds(100 * i));
  }
  // 2000 checks at 1 s: 500 us apart, not collapsed onto whole milliseconds.
  EXPECT_EQ(schedule_plan::first_grid(start, 1, 2000, 1000ms) - start, std::chrono::microseconds(500));
}

TEST(schedule_plan, jitter_stays_inside_its_window_and_follows_the_seed) {
  const common::mono_time grid{std::chrono::hours(1)};
  schedule_plan a(42);
  schedule_plan b(42);
  schedule_plan c(43);
  std::set<std::int64_t> distinct;
  bool differs = false;
  for (int k = 0; k < 1000; ++k) {
    const auto da = a.due(grid, 1000ms, 0.1);
    EXPECT_GE(da, grid);
    EXPECT_LT(da, grid + 100ms);
    EXPECT_EQ(da, b.due(grid, 1000ms, 0.1));  // same seed, same draws
    differs = differs || da != c.due(grid, 1000ms, 0.1);
    distinct.insert((da - grid).count());
  }
  EXPECT_TRUE(differs);
  EXPECT_GT(distinct.size(), 900U);
  EXPECT_EQ(a.due(grid, 1000ms, 0.0), grid);  // no jitter: exactly on the grid
}

TEST(scheduler, probes_every_check_at_most_once_per_interval_on_its_grid) {
  boost::asio::io_context io;
  common::real_clock clock;
  fake_prober fake(io, /*hold=*/false);
  prometheus::Registry registry;
  probe_metrics metrics(registry, "vantage-a");
  std::vector<compiled_check> checks;
  checks.reserve(4);
  for (int i = 0; i < 4; ++i)
    checks.push_back(check_named("c" + std::to_string(i) + "@test-1", 100ms));
  std::map<std::string, std::vector<common::mono_time>> dues;
  scheduler s(
      io, clock, fake, checks, {},
      [&](const compiled_check& c, const probe_result& r, const probe_timing& t) {
        EXPECT_EQ(r.result, outcome::ok);
        EXPECT_GE(t.started, t.due);
        dues[c.id].push_back(t.due);
      },
      &metrics);
  s.start();
  // Real time, so only what holds however busy the machine is gets asserted:
  // how late starts are is a benchmark figure (bench/RESULTS.md), not a test.
  io.run_for(1000ms);
  s.stop();
  io.restart();
  io.poll();  // the answers already posted when the second ended
  for (const auto& c : checks) {
    const auto& d = dues[c.id];
    ASSERT_FALSE(d.empty()) << c.id << " was never probed";
    // 1000 ms / 100 ms: at most 10 rounds plus the one in flight at the end.
    EXPECT_LE(d.size(), 11U) << c.id;
    // Never twice in one interval: consecutive rounds are at least one
    // interval minus the jitter window (10 % of 100 ms) apart, and a round
    // lost to a stall shows as a gap of whole intervals, never a catch-up burst.
    for (std::size_t k = 1; k < d.size(); ++k)
      EXPECT_GE(d[k] - d[k - 1], 90ms) << c.id << " round " << k;
  }
  const auto st = s.stats();
  EXPECT_EQ(st.started, st.completed);
  // Every start was recorded in vigil_scheduler_lag_seconds.
  std::uint64_t lag_count = 0;
  for (const auto& f : registry.Collect()) {
    if (f.name == "vigil_scheduler_lag_seconds") lag_count = f.metric.at(0).histogram.sample_count;
  }
  EXPECT_EQ(lag_count, st.started);
}

// 1,000 checks at 100 ms are due every 100 us: the timer must not wake the loop
// for each of them (min_wake_gap, 1 ms by default), and still never start a
// probe before its due time.
TEST(scheduler, coalesces_wakeups_and_never_starts_early) {
  boost::asio::io_context io;
  common::real_clock clock;
  fake_prober fake(io, /*hold=*/false);
  std::vector<compiled_check> checks;
  checks.reserve(1000);
  for (int i = 0; i < 1000; ++i)
    checks.push_back(check_named("c" + std::to_string(i) + "@test-1", 100ms, 0.0));
  std::uint64_t early = 0;
  scheduler s(io, clock, fake, checks, {}, [&](const compiled_check&, const probe_result&, const probe_timing& t) {
    if (t.started < t.due) ++early;
  });
  s.start();
  const auto took = run_until(io, [&] { return s.stats().started >= 3000; });
  s.stop();
  const auto st = s.stats();
  EXPECT_GE(st.started, 3000U);
  EXPECT_EQ(early, 0U);
  // At most one wake-up per millisecond of the run (a busy machine only
  // makes fewer, later ones), where 3,000 due times would be 3,000 wake-ups.
  EXPECT_LE(st.wakeups, static_cast<std::uint64_t>(took.count()) + 10U) << st.started << " probes started";
  EXPECT_LT(st.wakeups * 3, st.started) << "not coalesced";
}

TEST(scheduler, bounded_concurrency_queues_then_skips_overrunning_checks) {
  boost::asio::io_context io;
  common::real_clock clock;
  fake_prober fake(io, /*hold=*/true);
  std::vector<compiled_check> checks;
  checks.reserve(10);
  for (int i = 0; i < 10; ++i)
    checks.push_back(check_named("c" + std::to_string(i) + "@test-1", 200ms, 0.0));
  std::vector<probe_timing> timings;
  scheduler_options opts;
  opts.max_in_flight = 3;
  scheduler s(io, clock, fake, checks, opts,
              [&](const compiled_check&, const probe_result&, const probe_timing& t) { timings.push_back(t); });
  s.start();
  // The first round is due over phases 0..180 ms: wait until most of it is.
  run_until(io, [&] { return s.stats().queued >= 4; });
  EXPECT_EQ(fake.held(), 3U) << "more than max_in_flight probes started";
  EXPECT_EQ(s.stats().in_flight, 3U);
  EXPECT_GE(s.stats().queued, 4U);

  fake.release(3);  // three slots free: three queued checks start at once
  EXPECT_EQ(timings.size(), 3U);
  EXPECT_EQ(fake.held(), 3U);
  EXPECT_EQ(s.stats().started, 6U);
  // A queued probe's lag includes its wait for a slot.
  EXPECT_GT(s.stats().max_lag, std::chrono::microseconds(50000));

  // The next round comes while probes are still held: skipped, never doubled.
  run_until(io, [&] { return s.stats().skipped > 0; });
  EXPECT_GT(s.stats().skipped, 0U);
  for (const auto& [id, n] : fake.calls)
    EXPECT_LE(n, 1) << id << " probed while its last probe ran";
  EXPECT_EQ(fake.held(), 3U);
  s.stop();
}

TEST(scheduler, nothing_is_reported_after_destruction) {
  boost::asio::io_context io;
  common::real_clock clock;
  fake_prober fake(io, /*hold=*/true);
  int reported = 0;
  {
    scheduler s(io, clock, fake, {check_named("a@test-1", 20ms)}, {},
                [&](const compiled_check&, const probe_result&, const probe_timing&) { ++reported; });
    s.start();
    run_until(io, [&] { return fake.held() == 1; });
    EXPECT_EQ(fake.held(), 1U);
  }
  fake.release(1);  // the probe finishes after the scheduler is gone
  io.restart();
  io.run_for(50ms);
  EXPECT_EQ(reported, 0);
}

/// Answers every probe at once (from the event loop) with the next outcome of
/// its script (the last one repeats), recording each start with the injected clock.
class scripted_prober final : public prober {
 public:
  scripted_prober(boost::asio::io_context& io, const common::clock& clock, std::vector<outcome> script)
      : io_(io), clock_(clock), script_(std::move(script)) {}

  void probe(const compiled_check&, done_fn done) override {
    const outcome o = script_[std::min(starts.size(), script_.size() - 1)];
    starts.push_back(clock_.monotonic());
    boost::asio::post(io_, [o, done = std::move(done)] {
      probe_result r;
      r.result = o;
      done(r);
    });
  }

  std::vector<common::mono_time> starts;

 private:
  boost::asio::io_context& io_;
  const common::clock& clock_;
  std::vector<outcome> script_;
};

/// Runs one check (grid interval 1 min: the first round at start, the next
/// far away) until `n` probes reported or 20 s passed, then 300 ms more to
/// catch any probe too many. Returns each result's probe_timing::fast.
std::vector<bool> run_suspicion(std::vector<outcome> script, std::chrono::milliseconds fast, std::size_t n,
                                scheduler_stats& stats, std::vector<common::mono_time>& starts,
                                std::chrono::milliseconds interval = 60s) {
  boost::asio::io_context io;
  common::real_clock clock;
  scripted_prober p(io, clock, std::move(script));
  auto c = check_named("a@test-1", interval, 0.0);
  c.fast_interval = fast;
  starts.clear();
  scheduler_options o;
  o.fall = 3;
  o.rise = 2;
  std::vector<bool> fast_flags;
  scheduler s(io, clock, p, {c}, o, [&](const compiled_check&, const probe_result&, const probe_timing& t) {
    fast_flags.push_back(t.fast);
    starts.push_back(t.started);  // the scheduler's own reading of the injected clock
  });
  s.start();
  for (int i = 0; i < 400 && fast_flags.size() < n; ++i)
    io.run_for(50ms);
  io.run_for(300ms);
  s.stop();
  io.restart();
  io.poll();  // results of probes still in flight
  stats = s.stats();
  EXPECT_EQ(p.starts.size(), starts.size()) << "every probe started reported";
  return fast_flags;
}

TEST(scheduler_suspicion, a_failure_is_reprobed_at_fast_interval_until_fall) {
  scheduler_stats st;
  std::vector<common::mono_time> starts;
  const auto flags = run_suspicion({outcome::timeout}, 100ms, 3, st, starts);
  // The grid round fails, two re-probes reach fall = 3 (down), then nothing
  // until the next grid round a minute later.
  EXPECT_EQ(flags, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(st.started, 3U);
  EXPECT_EQ(st.fast, 2U);
  ASSERT_EQ(starts.size(), 3U);
  for (std::size_t i = 1; i < starts.size(); ++i)
    EXPECT_GE(starts[i] - starts[i - 1], 100ms) << "a re-probe started early";
}

TEST(scheduler_suspicion, a_blip_that_recovers_on_its_reprobe_costs_one_probe) {
  scheduler_stats st;
  std::vector<common::mono_time> starts;
  const auto flags = run_suspicion({outcome::connect_error, outcome::ok}, 100ms, 2, st, starts);
  EXPECT_EQ(flags, (std::vector<bool>{false, true}));
  EXPECT_EQ(st.fast, 1U);
}

TEST(scheduler_suspicion, a_steady_check_is_not_hurried) {
  scheduler_stats st;
  std::vector<common::mono_time> starts;
  // Down after 3 failures (grid, fast, fast); still failing: settled.
  const auto flags = run_suspicion({outcome::timeout}, 100ms, 3, st, starts);
  EXPECT_EQ(flags.size(), 3U);  // none in the 300 ms after
  EXPECT_EQ(st.fast, 2U);
  // From unknown, successes open no doubt: one grid round and nothing else.
  const auto healthy = run_suspicion({outcome::ok}, 100ms, 1, st, starts);
  EXPECT_EQ(healthy, (std::vector<bool>{false}));
  EXPECT_EQ(st.fast, 0U);
}

TEST(scheduler_suspicion, a_recovery_from_down_is_reprobed_until_rise) {
  scheduler_stats st;
  std::vector<common::mono_time> starts;
  // Grid every 1s: fail x3 (grid, fast, fast: down), then the next grid round
  // answers and one re-probe reaches rise = 2 (up).
  const auto flags =
      run_suspicion({outcome::timeout, outcome::timeout, outcome::timeout, outcome::ok}, 100ms, 5, st, starts, 1000ms);
  ASSERT_GE(flags.size(), 5U);
  EXPECT_EQ(std::vector<bool>(flags.begin(), flags.begin() + 5), (std::vector<bool>{false, true, true, false, true}));
  EXPECT_EQ(st.fast, 3U);  // whatever grid rounds a slow machine adds after
  // The fourth probe is the next grid round (1 s after the first one was
  // due), not a re-probe (those follow 100 ms apart): the first start may lag
  // its due time, so allow that lag, never a re-probe's spacing.
  EXPECT_GE(starts[3] - starts[0], 900ms) << "the fourth probe is the next grid round";
}

TEST(scheduler_suspicion, off_without_fast_interval) {
  scheduler_stats st;
  std::vector<common::mono_time> starts;
  const auto flags = run_suspicion({outcome::timeout}, 0ms, 1, st, starts);
  EXPECT_EQ(flags, (std::vector<bool>{false}));
  EXPECT_EQ(st.started, 1U);
  EXPECT_EQ(st.fast, 0U);
}

}  // namespace
}  // namespace vigil::detector
