#pragma once
// Delivers the outbox's pages to the sinks, with retries and capped
// exponential backoff.
//
// Per sink, pages of one incident go out in outbox order: an update or a
// resolve waits until the trigger before it is done for that sink. A retry
// waits initial · factor^(attempt-1), capped at `max_backoff` (1 s, 2 s, 4 s,
// ... 60 s); a page still undelivered `give_up_after` past its timestamp is
// dropped for that sink and counted (a stale page does not help on-call). A
// rejected page (4xx other than 408/429) is not retried.
//
// Threading: submit() may be called from any thread; start() runs the loop
// on one worker thread; run_once() is the loop's body, for tests and for a
// synchronous drain. Time comes from the injected clock; the worker waits
// through the injected `waiter` (tests pass one that advances a manual clock).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/waiter.hpp"
#include "paging/outbox.hpp"
#include "paging/pager.hpp"

namespace vigil::paging {

struct retry_policy {
  std::chrono::milliseconds initial{1000};
  double factor = 2.0;
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds give_up_after{24 * 3600 * 1000};
};

/// vigil_pages_total{sink,action,result}, vigil_page_delivery_seconds{sink},
/// vigil_outbox_pending. Families are registered once here; children for
/// every configured sink are made at construction.
class pager_metrics {
 public:
  pager_metrics(prometheus::Registry& registry, const std::vector<std::string>& sinks);
  void count(const std::string& sink, page_action action, std::string_view result);
  void observe(const std::string& sink, double seconds);
  void set_pending(std::size_t n);

 private:
  std::map<std::string, prometheus::Counter*> pages_;  ///< "sink/action/result"
  std::map<std::string, prometheus::Histogram*> seconds_;
  prometheus::Gauge* pending_;
};

/// High availability (docs/ha.md): only the leader delivers. may_deliver is
/// asked right before each delivery (false: the page stays pending and is
/// looked at again in a second); done is told when a sink is finished with a
/// page (result: delivered, rejected or dropped). Both run on the worker thread.
struct delivery_guard {
  std::function<bool(const page&)> may_deliver;
  std::function<void(const page&, const std::string& sink, std::string_view result)> done;
  /// Checked after may_deliver: true when `sink` has had the page already (HA:
  /// another replica delivered it, as the shared outbox records). The page is
  /// then marked done here, result "delivered_elsewhere", without a delivery:
  /// a replica leading again never sends what it left pending in an earlier
  /// term and a later leader sent (or followed with a resolve).
  std::function<bool(const page&, const std::string& sink)> delivered_elsewhere;
};

class page_dispatcher {
 public:
  /// All references must outlive the dispatcher. `sinks` must have the names
  /// the outbox was opened with.
  page_dispatcher(page_outbox& outbox, std::vector<std::unique_ptr<page_sink>> sinks, const common::clock& clock,
                  common::waiter& wait, pager_metrics* metrics = nullptr, retry_policy policy = {});
  ~page_dispatcher();
  page_dispatcher(const page_dispatcher&) = delete;
  page_dispatcher& operator=(const page_dispatcher&) = delete;

  /// Call before start().
  void set_guard(delivery_guard g) { guard_ = std::move(g); }
  /// Wakes the worker (e.g. this replica just became the leader).
  void wake() { wait_.notify(); }
  /// Records the page durably and wakes the worker; false for a duplicate.
  bool submit(const page& p);
  /// Tries every due delivery once. Returns how long until the next retry
  /// is due, or nullopt when nothing is pending.
  std::optional<std::chrono::milliseconds> run_once();
  void start();
  /// Stops the worker after the delivery in progress (pending pages stay in the outbox).
  void stop();

 private:
  struct attempt_state {
    int attempts = 0;
    common::mono_time next_due{};
  };
  void loop();
  page_sink* find_sink(const std::string& name);

  page_outbox& outbox_;
  std::vector<std::unique_ptr<page_sink>> sinks_;
  const common::clock& clock_;
  common::waiter& wait_;
  pager_metrics* metrics_;
  retry_policy policy_;
  delivery_guard guard_;
  std::map<std::pair<std::uint64_t, std::string>, attempt_state> attempts_;  ///< worker thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vigil::paging
