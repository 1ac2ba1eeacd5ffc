#pragma once
// Sends the agent's observations to every engine endpoint as HMAC-signed
// batches (common/batch.hpp), on its own thread.
//
// - add() is cheap and thread-safe: it appends to a bounded buffer.
// - Every `flush_interval` the sender cuts one batch of everything buffered
//   (possibly empty: a heartbeat, so the engine knows the vantage is present)
//   and queues it for each endpoint separately: a down engine does not hold
//   back the others.
// - Each endpoint's queue is bounded (`max_pending_batches`); when full the
//   oldest batch is dropped and counted, because a fresh observation is worth
//   more to a failure detector than an old one.
// - A failed POST is retried with capped exponential backoff; 4xx answers
//   (bad signature, stale timestamp) are not retried: they are counted as
//   rejected and logged with the engine's reason.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/batch.hpp"
#include "common/clock.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::detector {

struct batch_sender_options {
  std::string vantage;
  std::string key;                     ///< HMAC key shared with the engines
  std::vector<std::string> endpoints;  ///< engine base URLs
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds request_timeout{3000};
  std::chrono::milliseconds max_backoff{10000};
  std::size_t max_buffered_observations = 50000;
  std::size_t max_pending_batches = 64;
};

/// Counts, for tests and metrics.
struct batch_sender_stats {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  std::uint64_t rejected = 0;
  std::uint64_t dropped_batches = 0;
  std::uint64_t dropped_observations = 0;
};

/// POST body to url with headers; returns the HTTP status (0 = transport failure)
/// and fills `answer` with the body or the transport error.
using http_post_fn =
    std::function<int(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                      std::chrono::milliseconds timeout, std::string& answer)>;

/// The libcurl implementation (honours http_proxy/no_proxy from the environment).
[[nodiscard]] http_post_fn curl_http_post();

class batch_sender {
 public:
  batch_sender(batch_sender_options options, const common::clock& clock, http_post_fn post,
               prometheus::Registry* registry = nullptr);
  ~batch_sender();
  batch_sender(const batch_sender&) = delete;
  batch_sender& operator=(const batch_sender&) = delete;

  void start();
  void stop();  ///< flushes once more, then joins

  void add(common::wire_observation obs);
  void add_lag(common::wire_lag lag);

  /// Cuts a batch now and tries every endpoint once (used by tests and by stop()).
  void flush_now();

  [[nodiscard]] batch_sender_stats stats() const;

 private:
  struct queued_batch;
  struct endpoint_queue;
  struct metrics;

  void run();
  void cut_batch_locked();
  void deliver(endpoint_queue& q);

  batch_sender_options options_;
  const common::clock& clock_;
  http_post_fn post_;
  std::unique_ptr<metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t next_seq_;
  std::vector<common::wire_observation> buffer_;
  std::vector<common::wire_lag> lag_buffer_;
  std::vector<std::unique_ptr<endpoint_queue>> queues_;
  batch_sender_stats stats_;
  std::thread thread_;
};

}  // namespace vigil::detector
