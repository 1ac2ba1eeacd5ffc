// spdlog set-up: one shared sink for every vigil logger, text or JSON lines.
#include "common/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"

namespace vigil::common {

namespace {

thread_local std::vector<std::pair<std::string, std::string>> tls_fields;

/// One JSON object per line: ts, level, logger, msg, then the fields in scope.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    // msg.time is the time spdlog stamped on the message; formatting it is no clock read.
    const auto ts = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    nlohmann::json line{{"ts", format_rfc3339(wall_time{ts.time_since_epoch()})},
                        {"level", std::string(log_level_names().at(static_cast<std::size_t>(msg.level)))},
                        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
                        {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    for (const auto& [k, v] : tls_fields) {
      if (!line.contains(k)) line[k] = v;
    }
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

/// "<ts> <level> [<logger>] <msg>" then " key=value" for the fields in scope.
class text_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    inner_.format(msg, dest);
    if (tls_fields.empty()) return;
    std::string tail;
    for (const auto& [k, v] : tls_fields) {
      tail += ' ';
      tail += k;
      tail += '=';
      tail += v;
    }
    // Before the end of line the pattern formatter wrote.
    std::size_t eol = dest.size();
    while (eol > 0 && (dest[eol - 1] == '\n' || dest[eol - 1] == '\r'))
      --eol;
    const std::string ending(dest.data() + eol, dest.size() - eol);
    dest.resize(eol);
    dest.append(tail.data(), tail.data() + tail.size());
    dest.append(ending.data(), ending.data() + ending.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<text_formatter>(); }

 private:
  spdlog::pattern_formatter inner_{"%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v", spdlog::pattern_time_type::utc};
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  if (json) return std::make_unique<json_formatter>();
  return std::make_unique<text_formatter>();
}

/// The logging state every vigil logger shares. Logging is process-wide by
/// nature (spdlog's registry is); this is the one place that holds it.
struct shared_state {
  shared_state() { sink->set_formatter(make_formatter(false)); }
  std::mutex mutex;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

shared_state& state() {
  static shared_state s;
  return s;
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
  const auto& names = log_level_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<spdlog::level::level_enum>(it - names.begin());
}

}  // namespace

const std::array<std::string_view, 7>& log_level_names() {
  // Index = spdlog::level::level_enum value.
  static constexpr std::array<std::string_view, 7> names{"trace", "debug", "info", "warn", "error", "critical", "off"};
  return names;
}

std::optional<std::string> setup_logging(const logging_config& cfg, std::optional<std::string> level_override,
                                         spdlog::sink_ptr sink) {
  const std::string& level_name = level_override ? *level_override : cfg.level;
  const auto level = parse_level(level_name);
  if (!level) {
    std::string all;
    for (const auto& n : log_level_names())
      all += (all.empty() ? "" : "|") + std::string(n);
    return std::string(level_override ? "--log-level" : "logging.level") + ": expected one of " + all + ", got \"" +
           level_name + "\"";
  }
  if (cfg.format != "text" && cfg.format != "json") {
    return "logging.format: expected text or json, got \"" + cfg.format + "\"";
  }
  auto& s = state();
  const std::lock_guard lock(s.mutex);
  if (sink) s.sink = std::move(sink);
  s.level = *level;
  s.json = cfg.format == "json";
  s.sink->set_formatter(make_formatter(s.json));
  s.sink->set_level(spdlog::level::trace);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().assign(1, s.sink);
    l->set_level(s.level);
  });
  return std::nullopt;
}

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  auto& s = state();
  const std::lock_guard lock(s.mutex);
  const std::string n(name);
  if (auto existing = spdlog::get(n)) return existing;
  auto l = std::make_shared<spdlog::logger>(n, s.sink);
  l->set_level(s.level);
  l->flush_on(spdlog::level::warn);
  spdlog::register_logger(l);
  return l;
}

log_fields::log_fields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  for (const auto& [k, v] : fields) {
    if (v.empty()) continue;
    tls_fields.emplace_back(std::string(k), std::string(v));
    ++added_;
  }
}

log_fields::~log_fields() {
  tls_fields.resize(tls_fields.size() - added_);
}

const std::vector<std::pair<std::string, std::string>>& current_log_fields() {
  return tls_fields;
}

bool logging_json() {
  auto& s = state();
  const std::lock_guard lock(s.mutex);
  return s.json;
}

}  // namespace vigil::common
