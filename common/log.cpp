#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace vigil::common {

namespace {
std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

std::string setup_logging(const logging_config& cfg, std::optional<std::string> level_override) {
  const std::string level_name = level_override.value_or(cfg.level);
  const auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") {
    return "unknown log level '" + level_name + "' (expected trace, debug, info, warn, error or off)";
  }
  std::string pattern;
  if (cfg.format == "json") {
    pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%v"})";
  } else if (cfg.format == "text") {
    pattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";
  } else {
    return "unknown log format '" + cfg.format + "' (expected text or json)";
  }
  std::lock_guard lock(log_mutex());
  spdlog::set_level(level);
  spdlog::set_pattern(pattern, spdlog::pattern_time_type::utc);
  return {};
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  std::lock_guard lock(log_mutex());
  if (auto existing = spdlog::get(name)) return existing;
  auto l = spdlog::stderr_color_mt(name);
  l->set_level(spdlog::get_level());
  return l;
}

}  // namespace vigil::common
