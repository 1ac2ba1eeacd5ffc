#include "detector/scheduler.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <optional>
#include <queue>
#include <utility>

#include "detector/probe_metrics.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
using std::chrono::milliseconds;

common::mono_time schedule_plan::first_grid(common::mono_time start, std::size_t index, std::size_t count,
                                            milliseconds interval) {
  if (count == 0) return start;
  // T*i/n in microseconds: 2000 checks at 1 s are 500 us apart, finer than ms.
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(interval).count();
  const auto offset = t * static_cast<std::int64_t>(index) / static_cast<std::int64_t>(count);
  return start + std::chrono::microseconds(offset);
}

common::mono_time schedule_plan::due(common::mono_time grid, milliseconds interval, double jitter) {
  const double span_us = std::clamp(jitter, 0.0, 1.0) * static_cast<double>(interval.count()) * 1000.0;
  if (span_us < 1.0) return grid;
  std::uniform_real_distribution<double> u(0.0, span_us);
  return grid + std::chrono::microseconds(static_cast<std::int64_t>(u(rng_)));
}

struct scheduler::state : std::enable_shared_from_this<scheduler::state> {
  struct per_check {
    common::mono_time grid{};  ///< nominal time of the pending round
    common::mono_time due{};   ///< grid + jitter
    bool running = false;
    bool queued = false;
    decision::suspicion doubt;                  ///< suspicion mode: is the verdict in doubt?
    std::optional<common::mono_time> fast_due;  ///< the pending re-probe, if any
  };
  struct heap_entry {
    common::mono_time due;
    std::size_t index;
    bool fast = false;  ///< a re-probe: void unless it still matches per_check::fast_due
    bool operator>(const heap_entry& o) const { return due > o.due; }
  };

  state(asio::io_context& io, const common::clock& clock, prober& p, std::vector<compiled_check> c, scheduler_options o,
        result_fn r, probe_metrics* m)
      : timer_(io),
        clock_(clock),
        probe_(p),
        checks_(std::move(c)),
        options_(o),
        on_result_(std::move(r)),
        metrics_(m),
        plan_(o.seed),
        per_(checks_.size()) {
    options_.max_in_flight = std::max<std::size_t>(1, options_.max_in_flight);
  }

  void start() {
    stopped_ = false;
    const auto now = clock_.monotonic();
    heap_ = {};
    for (std::size_t i = 0; i < checks_.size(); ++i) {
      per_[i].grid = schedule_plan::first_grid(now, i, checks_.size(), checks_[i].interval);
      per_[i].due = plan_.due(per_[i].grid, checks_[i].interval, checks_[i].jitter);
      heap_.push({per_[i].due, i});
    }
    arm();
  }

  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

  void arm() {
    if (stopped_ || heap_.empty()) return;
    // Not before the next due time, and not sooner than min_wake_gap after the
    // last wake-up (see scheduler_options).
    const auto at = std::max(heap_.top().due, last_wake_ + options_.min_wake_gap);
    const auto wait = at - clock_.monotonic();
    timer_.expires_after(std::max(wait, common::mono_time::duration::zero()));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // operation_aborted: stopped_ or destroyed_
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    if (stopped_) return;
    const auto now = clock_.monotonic();
    last_wake_ = now;
    ++stats_.wakeups;
    while (!heap_.empty() && heap_.top().due <= now) {
      const heap_entry top = heap_.top();
      const std::size_t i = top.index;
      heap_.pop();
      per_check& p = per_[i];
      if (top.fast) {
        // A re-probe superseded by a grid round (or planned again) is void.
        if (!p.fast_due || *p.fast_due != top.due || p.running || p.queued) continue;
        p.fast_due.reset();
        start_or_queue(i, top.due, true);
        continue;
      }
      const common::mono_time due = p.due;
      // Plan the next round first: the grid moves on whatever this round does.
      p.grid += checks_[i].interval;
      p.due = plan_.due(p.grid, checks_[i].interval, checks_[i].jitter);
      heap_.push({p.due, i});
      if (p.running || p.queued) {
        ++stats_.skipped;
        continue;
      }
      p.fast_due.reset();  // this round is the re-probe
      start_or_queue(i, due, false);
    }
    arm();
  }

  void start_or_queue(std::size_t i, common::mono_time due, bool fast) {
    if (in_flight_ < options_.max_in_flight) {
      launch(i, due, fast);
    } else {
      per_[i].queued = true;
      waiting_.push_back({due, i, fast});
      ++stats_.queued;
    }
  }

  void launch(std::size_t i, common::mono_time due, bool fast) {
    per_[i].running = true;
    ++in_flight_;
    ++stats_.started;
    if (fast) ++stats_.fast;
    probe_timing t;
    t.fast = fast;
    t.due = due;
    t.started = clock_.monotonic();
    t.lag =
        std::max(std::chrono::microseconds(0), std::chrono::duration_cast<std::chrono::microseconds>(t.started - due));
    stats_.max_lag = std::max(stats_.max_lag, t.lag);
    if (metrics_ != nullptr) metrics_->record_lag(t.lag);
    // A strong reference: the prober holds &checks_[i] until it calls back,
    // so the checks_ must outlive the probe_ even if the scheduler goes away.
    probe_.probe(checks_[i], [self = shared_from_this(), i, t](const probe_result& r) { self->finished(i, r, t); });
  }

  void finished(std::size_t i, const probe_result& r, const probe_timing& t) {
    if (destroyed_) return;
    per_[i].running = false;
    --in_flight_;
    ++stats_.completed;
    plan_reprobe(i, r, t);
    if (on_result_) on_result_(checks_[i], r, t);
    while (!stopped_ && !waiting_.empty() && in_flight_ < options_.max_in_flight) {
      const heap_entry next = waiting_.front();
      waiting_.pop_front();
      per_[next.index].queued = false;
      launch(next.index, next.due, next.fast);
    }
  }

  /// Suspicion mode: a result that leaves the verdict in doubt brings the
  /// next probe forward to fast_interval after this one started (or now, if
  /// the probe took longer), unless the grid round is due by then anyway.
  void plan_reprobe(std::size_t i, const probe_result& r, const probe_timing& t) {
    const auto fast = checks_[i].fast_interval;
    if (fast.count() <= 0) return;
    per_check& p = per_[i];
    const bool doubt = p.doubt.observe(decision::is_success(r.result), options_.fall, options_.rise);
    if (!doubt || stopped_) return;
    const auto at = std::max(t.started + fast, clock_.monotonic());
    if (at >= p.due) return;  // the grid round comes first: it is the re-probe
    p.fast_due = at;
    heap_.push({at, i, true});
    arm();
  }

  asio::steady_timer timer_;
  const common::clock& clock_;
  prober& probe_;
  std::vector<compiled_check> checks_;
  scheduler_options options_;
  result_fn on_result_;
  probe_metrics* metrics_;
  schedule_plan plan_;
  std::vector<per_check> per_;
  std::priority_queue<heap_entry, std::vector<heap_entry>, std::greater<>> heap_;
  std::deque<heap_entry> waiting_;
  std::size_t in_flight_ = 0;
  common::mono_time last_wake_{};  ///< when on_timer last ran
  bool stopped_ = true;
  bool destroyed_ = false;  ///< the scheduler object is gone: report nothing more
  scheduler_stats stats_;
};

scheduler::scheduler(asio::io_context& io, const common::clock& clock, prober& probe,
                     std::vector<compiled_check> checks, scheduler_options options, result_fn on_result,
                     probe_metrics* metrics)
    : state_(std::make_shared<state>(io, clock, probe, std::move(checks), options, std::move(on_result), metrics)) {}

scheduler::~scheduler() {
  state_->destroyed_ = true;
  state_->stop();
}

void scheduler::start() {
  state_->start();
}

void scheduler::stop() {
  state_->stop();
}

const std::vector<compiled_check>& scheduler::checks() const {
  return state_->checks_;
}

scheduler_stats scheduler::stats() const {
  scheduler_stats s = state_->stats_;
  s.in_flight = state_->in_flight_;
  return s;
}

}  // namespace vigil::detector
