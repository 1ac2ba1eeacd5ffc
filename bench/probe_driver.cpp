// vigil_bench_probe: vigil's HTTP prober driven by its scheduler on one
// io_context, as the agent runs it (bench/probe_peer_bench.sh).
//
//   vigil_bench_probe --url http://127.0.0.1:PORT/health --checks N
//                     [--interval 1s] [--duration 30s] [--keep-alive on|off]
//                     [--expect on|off]
//
// N checks, all on the same URL with distinct ids, each once per interval,
// spread over the interval with the default 10 % jitter. Runs for the
// duration, stops the scheduler, waits for the probes in flight, and prints
// one JSON object: probes completed (and how many were not ok), CPU time of
// this process over that window (getrusage RUSAGE_SELF, user + sys), CPU
// per probe, peak RSS (ru_maxrss) and the scheduling lag (start - due) p50,
// p99 and max. Lags go to a fixed 100 us histogram so that recording them
// does not grow memory with the run.
//
// With --expect on (the default) every check carries the expectations a real
// health check has: status == 200 and body.json("/status") == "UP".

#include <sys/resource.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bench/probe_bench_util.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "detector/http_prober.hpp"
#include "detector/scheduler.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

struct options {
  std::string url;
  std::size_t checks = 100;
  std::chrono::milliseconds interval = 1s;
  std::chrono::milliseconds duration = 30s;
  bool keep_alive = false;
  bool expect = true;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "vigil_bench_probe: " << why
            << "\nusage: vigil_bench_probe --url URL --checks N [--interval 1s] [--duration 30s]"
               " [--keep-alive on|off] [--expect on|off]\n";
  std::exit(2);
}

/// A duration option, or usage() when malformed.
std::chrono::milliseconds duration_arg(std::string_view v) {
  const auto d = vigil::bench::parse_duration(v);
  if (!d) usage("bad duration " + std::string(v));
  return *d;
}

bool parse_on_off(std::string_view s) {
  if (s == "on") return true;
  if (s == "off") return false;
  usage("expected on|off, got " + std::string(s));
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + std::string(a));
    const std::string_view v = argv[++i];
    if (a == "--url") {
      o.url = v;
    } else if (a == "--checks") {
      o.checks = static_cast<std::size_t>(std::stoul(std::string(v)));
    } else if (a == "--interval") {
      o.interval = duration_arg(v);
    } else if (a == "--duration") {
      o.duration = duration_arg(v);
    } else if (a == "--keep-alive") {
      o.keep_alive = parse_on_off(v);
    } else if (a == "--expect") {
      o.expect = parse_on_off(v);
    } else {
      usage("unknown option " + std::string(a));
    }
  }
  if (o.url.empty() || o.checks == 0) usage("--url and --checks N > 0 are required");
  return o;
}

/// Lags in 100 us buckets up to 2 s; the last bucket collects the rest.
class lag_histogram {
 public:
  void add(std::chrono::microseconds lag) {
    const auto b = static_cast<std::size_t>(std::max<std::int64_t>(0, lag.count()) / 100);
    ++buckets_[std::min(b, buckets_.size() - 1)];
    ++count_;
    max_ = std::max(max_, lag);
  }
  /// Upper edge of the bucket holding quantile q, in milliseconds.
  [[nodiscard]] double quantile_ms(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return static_cast<double>(i + 1) * 0.1;
    }
    return static_cast<double>(buckets_.size()) * 0.1;
  }
  [[nodiscard]] double max_ms() const { return static_cast<double>(max_.count()) / 1000.0; }

 private:
  std::array<std::uint64_t, 20000> buckets_{};
  std::uint64_t count_ = 0;
  std::chrono::microseconds max_{0};
};

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);

  std::vector<vigil::detector::compiled_check> checks;
  checks.reserve(opt.checks);
  vigil::common::probe_defaults_config defaults;
  for (std::size_t i = 0; i < opt.checks; ++i) {
    vigil::common::check_config cfg;
    cfg.id = "bench-" + std::to_string(i) + "@bench-1";
    cfg.region = "bench-1";
    cfg.interval = opt.interval;
    cfg.timeout = 800ms;  // as the agent's config in probe_peer_bench.sh
    vigil::common::http_check_config h;
    h.url = opt.url;
    h.keep_alive = opt.keep_alive;
    if (opt.expect) h.expect = {"status == 200", R"(body.json("/status") == "UP")"};
    cfg.http = h;
    auto compiled = vigil::detector::compile_check(cfg, defaults);
    if (auto* errors = std::get_if<std::vector<std::string>>(&compiled)) usage(errors->front());
    checks.push_back(std::get<vigil::detector::compiled_check>(std::move(compiled)));
  }

  asio::io_context io;
  vigil::common::real_clock clock;
  vigil::detector::http_prober prober(io, clock);
  lag_histogram lags;
  std::uint64_t not_ok = 0;
  std::uint64_t reused = 0;
  std::string first_failure;
  vigil::detector::scheduler sched(io, clock, prober, std::move(checks), vigil::detector::scheduler_options{},
                                   [&](const vigil::detector::compiled_check&, const vigil::detector::probe_result& r,
                                       const vigil::detector::probe_timing& t) {
                                     lags.add(t.lag);
                                     if (r.reused_connection) ++reused;
                                     if (r.result != vigil::decision::outcome::ok) {
                                       if (not_ok++ == 0) first_failure = r.detail;
                                     }
                                   });

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto wall_start = std::chrono::steady_clock::now();
  sched.start();
  asio::steady_timer stop_timer(io);
  stop_timer.expires_after(opt.duration);
  // Stop scheduling, then poll until the last probe reported: idle keep-alive
  // connections may keep the io_context busy, so it is stopped explicitly.
  std::function<void(const boost::system::error_code&)> drain = [&](const boost::system::error_code&) {
    if (prober.in_flight() == 0) return io.stop();
    stop_timer.expires_after(5ms);
    stop_timer.async_wait(drain);
  };
  stop_timer.async_wait([&](const boost::system::error_code& ec) {
    sched.stop();
    drain(ec);
  });
  io.run();
  const auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);

  const auto stats = sched.stats();
  const double cpu = vigil::bench::cpu_seconds(after) - vigil::bench::cpu_seconds(before);
  const double per_probe_us = stats.completed > 0 ? cpu * 1e6 / static_cast<double>(stats.completed) : 0.0;
  std::printf(
      "{\"tool\":\"vigil\",\"checks\":%zu,\"keep_alive\":%s,\"expect\":%s,"
      "\"interval_ms\":%lld,\"wall_s\":%.3f,\"probes\":%llu,\"not_ok\":%llu,\"reused\":%llu,"
      "\"skipped\":%llu,\"cpu_s\":%.4f,\"cpu_per_probe_us\":%.2f,\"peak_rss_kb\":%ld,"
      "\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.2f}\n",
      opt.checks, opt.keep_alive ? "true" : "false", opt.expect ? "true" : "false",
      static_cast<long long>(opt.interval.count()), wall.count(), static_cast<unsigned long long>(stats.completed),
      static_cast<unsigned long long>(not_ok), static_cast<unsigned long long>(reused),
      static_cast<unsigned long long>(stats.skipped), cpu, per_probe_us, after.ru_maxrss, lags.quantile_ms(0.5),
      lags.quantile_ms(0.99), lags.max_ms());
  if (not_ok > 0) std::fprintf(stderr, "vigil_bench_probe: first failure: %s\n", first_failure.c_str());
  return 0;
}
