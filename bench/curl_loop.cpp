// vigil_bench_curl_loop: the bare libcurl baseline of the probe
// benchmark, and the load generator that drives blackbox_exporter
// (bench/probe_peer_bench.sh).
//
//   vigil_bench_curl_loop --url URL --rate N [--duration 30s]
//                         [--keep-alive on|off] [--max-in-flight 512]
//                         [--timeout 2s] [--must-contain TEXT]
//
// Issues N GET requests per second, evenly spaced (the same load as vigil's
// scheduler with N checks at a 1 s interval), on one curl multi handle driven
// by curl_multi_poll: no event-loop library, no expectations, no metrics, the
// body is counted and dropped, finished easy handles are reused. With
// --keep-alive off every request forces a new connection (FRESH_CONNECT +
// FORBID_REUSE, as vigil's default). When more than --max-in-flight requests
// are running, due requests wait (and count as late). With --must-contain the
// body is kept and a response without TEXT counts as failed (the blackbox
// load checks "probe_success 1" this way).
//
// Prints one JSON object: requests completed, failures (transport errors or a
// status other than 200), CPU time of this process over the run
// (getrusage RUSAGE_SELF, user + sys), CPU per request and peak RSS.

#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/probe_bench_util.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
  std::string url;
  std::uint64_t rate = 100;
  std::chrono::milliseconds duration = 30s;
  bool keep_alive = false;
  std::size_t max_in_flight = 512;
  std::chrono::milliseconds timeout = 2s;
  std::string must_contain;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "vigil_bench_curl_loop: " << why
            << "\nusage: vigil_bench_curl_loop --url URL --rate N [--duration 30s]"
               " [--keep-alive on|off] [--max-in-flight 512] [--timeout 2s]"
               " [--must-contain TEXT]\n";
  std::exit(2);
}

/// A duration option, or usage() when malformed.
std::chrono::milliseconds duration_arg(std::string_view v) {
  const auto d = vigil::bench::parse_duration(v);
  if (!d) usage("bad duration " + std::string(v));
  return *d;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + std::string(a));
    const std::string v = argv[++i];
    if (a == "--url") {
      o.url = v;
    } else if (a == "--rate") {
      o.rate = std::stoull(v);
    } else if (a == "--duration") {
      o.duration = duration_arg(v);
    } else if (a == "--keep-alive") {
      if (v != "on" && v != "off") usage("--keep-alive on|off");
      o.keep_alive = v == "on";
    } else if (a == "--timeout") {
      o.timeout = duration_arg(v);
    } else if (a == "--must-contain") {
      o.must_contain = v;
    } else if (a == "--max-in-flight") {
      o.max_in_flight = static_cast<std::size_t>(std::stoul(v));
    } else {
      usage("unknown option " + std::string(a));
    }
  }
  if (o.url.empty() || o.rate == 0 || o.max_in_flight == 0) usage("--url and --rate N > 0 are required");
  return o;
}

/// One per easy handle: the byte count, and the body when it is checked.
struct sink {
  std::uint64_t* total = nullptr;
  bool keep = false;
  std::string body;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* s = static_cast<sink*>(user);
  *s->total += size * count;
  if (s->keep) s->body.append(data, size * count);
  return size * count;
}

/// Options are set once per handle; a finished handle is re-added as it is.
CURL* make_easy(const options& o, sink* out) {
  CURL* e = curl_easy_init();
  if (e == nullptr) usage("curl_easy_init failed");
  curl_easy_setopt(e, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(out));
  curl_easy_setopt(e, CURLOPT_PRIVATE, static_cast<void*>(out));
  if (!o.keep_alive) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  }
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) usage("curl_multi_init failed");

  std::uint64_t body_bytes = 0;
  std::vector<CURL*> idle;
  std::vector<CURL*> all;
  std::vector<std::unique_ptr<sink>> sinks;
  std::size_t in_flight = 0;
  std::uint64_t started = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t late = 0;
  const std::uint64_t total = opt.rate * static_cast<std::uint64_t>(opt.duration.count()) / 1000U;
  const auto spacing = std::chrono::nanoseconds(1'000'000'000LL / static_cast<long long>(opt.rate));

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto start = steady::now();
  const auto hard_stop = start + opt.duration + opt.timeout + 5s;  // bounded even if the server stalls
  auto next_due = start;
  while ((started < total || in_flight > 0) && steady::now() < hard_stop) {
    auto now = steady::now();
    while (started < total && next_due <= now && in_flight < opt.max_in_flight) {
      CURL* e = nullptr;
      if (idle.empty()) {
        sinks.push_back(std::make_unique<sink>());
        sinks.back()->total = &body_bytes;
        sinks.back()->keep = !opt.must_contain.empty();
        e = make_easy(opt, sinks.back().get());
        all.push_back(e);
      } else {
        e = idle.back();
        idle.pop_back();
      }
      if (now - next_due > 50ms) ++late;
      curl_multi_add_handle(multi, e);
      ++in_flight;
      ++started;
      next_due += spacing;
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      void* priv = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      auto* s = static_cast<sink*>(priv);
      const bool body_ok = !s->keep || s->body.find(opt.must_contain) != std::string::npos;
      if (m->data.result != CURLE_OK || status != 200 || !body_ok) ++failed;
      s->body.clear();
      curl_multi_remove_handle(multi, e);
      idle.push_back(e);
      --in_flight;
      ++completed;
    }
    int wait_ms = 100;
    if (started < total && in_flight < opt.max_in_flight) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(next_due - steady::now());
      wait_ms = static_cast<int>(std::max<std::int64_t>(0, std::min<std::int64_t>(until.count(), 100)));
    }
    long curl_ms = -1;
    curl_multi_timeout(multi, &curl_ms);
    if (curl_ms >= 0 && curl_ms < wait_ms) wait_ms = static_cast<int>(curl_ms);
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  const auto wall = std::chrono::duration<double>(steady::now() - start);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);

  for (CURL* e : all) {
    curl_multi_remove_handle(multi, e);
    curl_easy_cleanup(e);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();

  const double cpu = vigil::bench::cpu_seconds(after) - vigil::bench::cpu_seconds(before);
  std::printf(
      "{\"tool\":\"curl_loop\",\"rate\":%llu,\"keep_alive\":%s,\"wall_s\":%.3f,"
      "\"requests\":%llu,\"failed\":%llu,\"late\":%llu,\"cpu_s\":%.4f,"
      "\"cpu_per_request_us\":%.2f,\"peak_rss_kb\":%ld,\"body_bytes\":%llu}\n",
      static_cast<unsigned long long>(opt.rate), opt.keep_alive ? "true" : "false", wall.count(),
      static_cast<unsigned long long>(completed), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(late), cpu, completed > 0 ? cpu * 1e6 / static_cast<double>(completed) : 0.0,
      after.ru_maxrss, static_cast<unsigned long long>(body_bytes));
  return failed > 0 ? 1 : 0;
}
