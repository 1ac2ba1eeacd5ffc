#include "paging/pager_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "common/waiter.hpp"

namespace vigil::paging {

namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 4> results{"delivered", "retry", "rejected", "dropped"};
constexpr std::array<page_action, 3> actions{page_action::trigger, page_action::update, page_action::resolve};

std::string counter_key(const std::string& sink, page_action a, std::string_view result) {
  return sink + "/" + std::string(to_string(a)) + "/" + std::string(result);
}

}  // namespace

pager_metrics::pager_metrics(prometheus::Registry& registry, const std::vector<std::string>& sinks) {
  auto& pages = prometheus::BuildCounter()
                    .Name("vigil_pages_total")
                    .Help("Page delivery attempts by sink, action and result (delivered|retry|rejected|dropped)")
                    .Register(registry);
  auto& seconds = prometheus::BuildHistogram()
                      .Name("vigil_page_delivery_seconds")
                      .Help("Time one delivery attempt to a paging sink took")
                      .Register(registry);
  pending_ = &prometheus::BuildGauge()
                  .Name("vigil_outbox_pending")
                  .Help("Page deliveries recorded in the outbox and not yet done")
                  .Register(registry)
                  .Add({});
  const prometheus::Histogram::BucketBoundaries buckets{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  for (const auto& s : sinks) {
    seconds_[s] = &seconds.Add({{"sink", s}}, buckets);
    for (const auto a : actions) {
      for (const auto r : results) {
        pages_[counter_key(s, a, r)] =
            &pages.Add({{"sink", s}, {"action", std::string(to_string(a))}, {"result", std::string(r)}});
      }
    }
  }
}

void pager_metrics::count(const std::string& sink, page_action action, std::string_view result) {
  const auto it = pages_.find(counter_key(sink, action, result));
  if (it != pages_.end()) it->second->Increment();
}

void pager_metrics::observe(const std::string& sink, double s) {
  const auto it = seconds_.find(sink);
  if (it != seconds_.end()) it->second->Observe(s);
}

void pager_metrics::set_pending(std::size_t n) {
  pending_->Set(static_cast<double>(n));
}

page_dispatcher::page_dispatcher(page_outbox& outbox, std::vector<std::unique_ptr<page_sink>> sinks,
                                 const common::clock& clock, common::waiter& wait, pager_metrics* metrics,
                                 retry_policy policy)
    : outbox_(outbox), sinks_(std::move(sinks)), clock_(clock), wait_(wait), metrics_(metrics), policy_(policy) {
  if (metrics_) metrics_->set_pending(outbox_.pending_count());
}

page_dispatcher::~page_dispatcher() {
  stop();
}

bool page_dispatcher::submit(const page& p) {
  const bool fresh = outbox_.enqueue(p);
  if (metrics_) metrics_->set_pending(outbox_.pending_count());
  if (fresh) wait_.notify();
  return fresh;
}

page_sink* page_dispatcher::find_sink(const std::string& name) {
  for (auto& s : sinks_) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

std::optional<milliseconds> page_dispatcher::run_once() {
  const auto entries = outbox_.pending();
  std::optional<milliseconds> next;
  const auto due_in = [&](milliseconds d) { next = next ? std::min(*next, d) : d; };
  // (sink, incident) pairs with an earlier page still pending: later pages wait.
  std::set<std::pair<std::string, std::string>> blocked;
  for (const auto& e : entries) {
    for (const auto& sink_name : e.pending) {
      if (stop_) return next;
      if (!blocked.insert({sink_name, e.p.incident_id}).second) continue;
      auto* sink = find_sink(sink_name);
      if (!sink) continue;
      auto& st = attempts_[{e.seq, sink_name}];
      const auto now = clock_.monotonic();
      if (st.attempts > 0 && now < st.next_due) {
        due_in(std::chrono::ceil<milliseconds>(st.next_due - now));
        continue;
      }
      if (clock_.wall() - e.p.timestamp > policy_.give_up_after) {
        spdlog::error("paging: dropping {} page for incident {} to sink {} after {} attempts: older than {} s",
                      to_string(e.p.action), e.p.incident_id, sink_name, st.attempts,
                      policy_.give_up_after.count() / 1000);
        if (guard_.done) guard_.done(e.p, sink_name, "dropped");
        outbox_.mark_done(e.seq, sink_name, "dropped");
        if (metrics_) metrics_->count(sink_name, e.p.action, "dropped");
        attempts_.erase({e.seq, sink_name});
        blocked.erase({sink_name, e.p.incident_id});
        continue;
      }
      if (guard_.may_deliver && !guard_.may_deliver(e.p)) {
        due_in(milliseconds{1000});  // not the leader (now): look again, the page stays pending
        continue;
      }
      if (guard_.delivered_elsewhere && guard_.delivered_elsewhere(e.p, sink_name)) {
        outbox_.mark_done(e.seq, sink_name, "delivered_elsewhere");
        attempts_.erase({e.seq, sink_name});
        blocked.erase({sink_name, e.p.incident_id});
        due_in(milliseconds{0});
        continue;
      }
      const auto started = clock_.monotonic();
      const auto r = sink->deliver(e.p);
      if (metrics_) {
        metrics_->observe(sink_name, std::chrono::duration<double>(clock_.monotonic() - started).count());
        metrics_->count(sink_name, e.p.action, to_string(r.status));
      }
      ++st.attempts;
      if (r.status == delivery_status::retry) {
        const double factor = std::pow(policy_.factor, std::min(st.attempts - 1, 30));
        const auto backoff = std::min<milliseconds>(
            policy_.max_backoff,
            milliseconds{static_cast<std::int64_t>(static_cast<double>(policy_.initial.count()) * factor)});
        st.next_due = clock_.monotonic() + backoff;
        due_in(backoff);
        spdlog::warn("paging: {} to sink {} failed (attempt {}), retrying in {} ms: {}", idempotency_key(e.p),
                     sink_name, st.attempts, backoff.count(), r.detail);
        continue;
      }
      if (r.status == delivery_status::rejected) {
        spdlog::error("paging: sink {} rejected {}: {} (not retried: fix the sink's configuration)", sink_name,
                      idempotency_key(e.p), r.detail);
      }
      // The shared record first (HA: what a next leader reads to know the page
      // went out), the local one (fdatasync) after: the window in which a
      // crash leaves a delivered page looking undelivered is one etcd write.
      if (guard_.done) guard_.done(e.p, sink_name, to_string(r.status));
      outbox_.mark_done(e.seq, sink_name, to_string(r.status));
      attempts_.erase({e.seq, sink_name});
      // The next page of this incident for this sink may go in this same pass.
      blocked.erase({sink_name, e.p.incident_id});
      due_in(milliseconds{0});
    }
  }
  if (outbox_.needs_compaction()) outbox_.compact(clock_.wall());
  if (metrics_) metrics_->set_pending(outbox_.pending_count());
  if (outbox_.pending_count() == 0) return std::nullopt;
  // Work left that no sink here can take: look again later rather than spin.
  return next ? next : std::optional<milliseconds>(policy_.max_backoff);
}

void page_dispatcher::loop() {
  while (!stop_) {
    std::optional<milliseconds> next;
    try {
      next = run_once();
    } catch (const std::exception& e) {
      // A journal write failed (disk full?): log, count, and try again later.
      spdlog::error("paging: delivery pass failed: {}", e.what());
      next = milliseconds{5000};
    }
    if (stop_) break;
    wait_.wait_for(next.value_or(milliseconds{3600 * 1000}));
  }
}

void page_dispatcher::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void page_dispatcher::stop() {
  stop_ = true;
  wait_.notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vigil::paging
