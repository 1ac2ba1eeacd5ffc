#include "common/metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/build_info.hpp"

namespace vigil::common {

namespace {

prometheus::MetricFamily one_value(std::string name, std::string help, prometheus::MetricType type, double value,
                                   std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return {std::move(name), std::move(help), type, {m}};
}

/// Field `n` (1-based, as in proc(5)) of /proc/self/stat; the command name
/// (field 2) may contain spaces, so count from its closing parenthesis.
std::optional<double> proc_stat_field(std::size_t n) {
  std::ifstream f("/proc/self/stat");
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  const auto close = line.rfind(')');
  if (close == std::string::npos || n < 3) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (std::size_t i = 3; i <= n; ++i) {
    if (!(rest >> field)) return std::nullopt;
  }
  try {
    return std::stod(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// Boot time (Unix seconds) from the btime line of /proc/stat.
std::optional<double> boot_time() {
  std::ifstream f("/proc/stat");
  std::string key;
  double value = 0;
  while (f >> key) {
    if (key == "btime" && (f >> value)) return value;
    f.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

/// The process_* families every Prometheus client library exports, read at
/// scrape time from getrusage, getrlimit and /proc (Linux); a value that
/// cannot be read is left out rather than reported as 0.
void append_process_metrics(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    const auto secs = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    out.push_back(one_value("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                            MetricType::Counter, secs(ru.ru_utime) + secs(ru.ru_stime)));
  }
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream statm("/proc/self/statm");
  double vm_pages = 0;
  double rss_pages = 0;
  if (statm >> vm_pages >> rss_pages) {
    out.push_back(one_value("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                            rss_pages * page));
    out.push_back(
        one_value("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge, vm_pages * page));
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++fds;
  if (!ec) {
    // The directory iterator's own descriptor is counted too, as in other clients.
    out.push_back(
        one_value("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, static_cast<double>(fds)));
  }
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    out.push_back(one_value("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                            static_cast<double>(nofile.rlim_cur)));
  }
  const auto start_ticks = proc_stat_field(22);
  const auto boot = boot_time();
  const auto hz = sysconf(_SC_CLK_TCK);
  if (start_ticks && boot && hz > 0) {
    out.push_back(one_value("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, *boot + *start_ticks / static_cast<double>(hz)));
  }
}

}  // namespace

std::string serialize_metrics(prometheus::Registry& registry) {
  auto families = registry.Collect();
  families.push_back(one_value("vigil_build_info", "Always 1; the labels say which vigil build is running",
                               prometheus::MetricType::Gauge, 1,
                               {{"build_type", build_info::build_type},
                                {"revision", build_info::git_revision},
                                {"version", build_info::version}}));
  append_process_metrics(families);
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(families);
}

}  // namespace vigil::common
