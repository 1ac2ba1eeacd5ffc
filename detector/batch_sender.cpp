#include "detector/batch_sender.hpp"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "common/descriptors.hpp"
#include "common/log.hpp"

namespace vigil::detector {

/// One cut batch, serialized once and shared by every endpoint's queue.
struct batch_sender::queued_batch {
  std::string body;       ///< what is signed and sent
  std::string timestamp;  ///< X-Vigil-Timestamp: the body's sent_at
};

struct batch_sender::endpoint_queue {
  std::string url;
  std::deque<std::shared_ptr<const queued_batch>> batches;  ///< oldest first
  int failures = 0;
  common::mono_time next_attempt{};
};

struct batch_sender::metrics {
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* rejected = nullptr;
  prometheus::Counter* dropped = nullptr;
  prometheus::Counter* dropped_obs = nullptr;
  prometheus::Gauge* pending = nullptr;

  explicit metrics(prometheus::Registry& r) {
    auto& batches = prometheus::BuildCounter()
                        .Name("vigil_agent_batches_total")
                        .Help(
                            "Batches the agent handled, by result (sent, failed attempt, rejected by the engine, "
                            "dropped because the queue was full)")
                        .Register(r);
    sent = &batches.Add({{"result", "sent"}});
    failed = &batches.Add({{"result", "failed"}});
    rejected = &batches.Add({{"result", "rejected"}});
    dropped = &batches.Add({{"result", "dropped"}});
    dropped_obs = &prometheus::BuildCounter()
                       .Name("vigil_agent_observations_dropped_total")
                       .Help("Observations dropped because the agent's buffer was full")
                       .Register(r)
                       .Add({});
    pending = &prometheus::BuildGauge()
                   .Name("vigil_agent_batches_pending")
                   .Help("Batches waiting to be delivered, summed over engine endpoints")
                   .Register(r)
                   .Add({});
  }
};

batch_sender::batch_sender(batch_sender_options options, const common::clock& clock, http_post_fn post,
                           prometheus::Registry* registry)
    : options_(std::move(options)),
      clock_(clock),
      post_(std::move(post)),
      metrics_(registry ? std::make_unique<metrics>(*registry) : nullptr),
      // Starting at the wall time in ms keeps seq increasing across agent restarts.
      next_seq_(static_cast<std::uint64_t>(clock.wall().time_since_epoch().count())) {
  for (const auto& ep : options_.endpoints) {
    auto q = std::make_unique<endpoint_queue>();
    q->url = ep;
    while (!q->url.empty() && q->url.back() == '/')
      q->url.pop_back();
    q->url += "/v1/observations";
    queues_.push_back(std::move(q));
  }
}

batch_sender::~batch_sender() {
  stop();
}

void batch_sender::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void batch_sender::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void batch_sender::add(common::wire_observation obs) {
  std::lock_guard lock(mutex_);
  if (buffer_.size() >= options_.max_buffered_observations) {
    buffer_.erase(buffer_.begin());  // drop oldest first
    ++stats_.dropped_observations;
    if (metrics_) metrics_->dropped_obs->Increment();
  }
  buffer_.push_back(std::move(obs));
}

void batch_sender::add_lag(common::wire_lag lag) {
  std::lock_guard lock(mutex_);
  if (lag_buffer_.size() >= 1000) lag_buffer_.erase(lag_buffer_.begin());
  lag_buffer_.push_back(std::move(lag));
}

void batch_sender::cut_batch_locked() {
  common::batch b;
  b.vantage = options_.vantage;
  b.seq = next_seq_++;
  b.sent_at_ms = clock_.wall().time_since_epoch().count();
  b.observations.swap(buffer_);
  b.lag.swap(lag_buffer_);
  auto cut = std::make_shared<queued_batch>();
  cut->body = common::serialize_batch(b);
  cut->timestamp = std::to_string(b.sent_at_ms);
  buffer_.reserve(b.observations.size());  // the next second brings about as many
  for (auto& q : queues_) {
    if (q->batches.size() >= options_.max_pending_batches) {
      q->batches.pop_front();
      ++stats_.dropped_batches;
      if (metrics_) metrics_->dropped->Increment();
    }
    q->batches.push_back(cut);
  }
}

void batch_sender::deliver(endpoint_queue& q) {
  // Called without the lock held; takes it only to touch shared state.
  while (true) {
    std::shared_ptr<const queued_batch> b;
    {
      std::lock_guard lock(mutex_);
      if (q.batches.empty() || clock_.monotonic() < q.next_attempt) return;
      b = q.batches.front();
    }
    // Re-stamp nothing: the body (with its sent_at) is what was signed, and the
    // timestamp header equals the body's sent_at, kept from when it was cut.
    const std::vector<std::string> headers{"Content-Type: application/json", "X-Vigil-Timestamp: " + b->timestamp,
                                           "X-Vigil-Signature: " + common::sign_batch(options_.key, b->body)};
    std::string answer;
    const int status = post_(q.url, b->body, headers, options_.request_timeout, answer);
    std::lock_guard lock(mutex_);
    if (status >= 200 && status < 300) {
      q.batches.pop_front();
      q.failures = 0;
      ++stats_.sent;
      if (metrics_) metrics_->sent->Increment();
      continue;
    }
    if (status >= 400 && status < 500 && status != 429) {
      // The engine refused this batch for a reason retrying cannot fix.
      q.batches.pop_front();
      ++stats_.rejected;
      if (metrics_) metrics_->rejected->Increment();
      common::logger("agent")->warn("engine {} rejected batch: HTTP {} {}", q.url, status, answer);
      continue;
    }
    ++stats_.failed;
    if (metrics_) metrics_->failed->Increment();
    q.failures = std::min(q.failures + 1, 16);
    const auto backoff = std::min<std::chrono::milliseconds>(
        options_.max_backoff, std::chrono::milliseconds(250) * (1 << std::min(q.failures, 10)));
    q.next_attempt = clock_.monotonic() + backoff;
    common::logger("agent")->debug("engine {} unreachable ({}): {}; retry in {} ms", q.url, status, answer,
                                   backoff.count());
    return;
  }
}

void batch_sender::flush_now() {
  {
    std::lock_guard lock(mutex_);
    cut_batch_locked();
    for (auto& q : queues_)
      q->next_attempt = {};
  }
  for (auto& q : queues_)
    deliver(*q);
}

void batch_sender::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flush_interval, [this] { return stopping_; });
    if (stopping_) break;
    cut_batch_locked();
    std::size_t pending = 0;
    for (auto& q : queues_)
      pending += q->batches.size();
    if (metrics_) metrics_->pending->Set(static_cast<double>(pending));
    lock.unlock();
    for (auto& q : queues_)
      deliver(*q);
    lock.lock();
  }
  lock.unlock();
  flush_now();
}

batch_sender_stats batch_sender::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

namespace {

std::size_t discard_body(char* ptr, std::size_t size, std::size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  const std::size_t n = size * nmemb;
  if (out->size() < 4096) out->append(ptr, std::min(n, 4096 - out->size()));
  return n;
}

}  // namespace

http_post_fn curl_http_post() {
  return [](const std::string& url, const std::string& body, const std::vector<std::string>& headers,
            std::chrono::milliseconds timeout, std::string& answer) -> int {
    CURL* h = curl_easy_init();
    if (h == nullptr) {
      answer = "curl_easy_init failed";
      return 0;
    }
    curl_slist* list = nullptr;
    for (const auto& hd : headers)
      list = curl_slist_append(list, hd.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    common::curl_sockets_cloexec(h);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    } else {
      answer = curl_easy_strerror(rc);
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return static_cast<int>(status);
  };
}

}  // namespace vigil::detector
