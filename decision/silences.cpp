// Silence scopes, silenced pages and weekly maintenance windows.
#include "decision/silences.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t day_min = std::int64_t{24} * 60;
constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-' || c == '@';
}

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), id_char);
}

bool names(std::string_view scope, std::string_view prefix, std::string_view value) {
  return scope.size() == prefix.size() + value.size() && scope.starts_with(prefix) && scope.ends_with(value);
}

bool covers_region(std::string_view scope, std::string_view region) {
  return scope.empty() || scope == "all" || scope == region || names(scope, "region:", region);
}

bool covers_check(std::string_view scope, const down_check& d) {
  return names(scope, "check:", d.id) || names(scope, "service:", d.service);
}

/// "HH:MM" -> minutes, or -1.
int clock_minutes(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  int h = 0;
  int m = 0;
  if (std::from_chars(s.data(), s.data() + 2, h).ptr != s.data() + 2) return -1;
  if (std::from_chars(s.data() + 3, s.data() + 5, m).ptr != s.data() + 5) return -1;
  if (h < 0 || h > 23 || m < 0 || m > 59) return -1;
  return h * 60 + m;
}

}  // namespace

bool valid_silence_scope(std::string_view scope) {
  if (scope.empty() || scope == "all") return true;
  for (const std::string_view prefix : {"region:", "service:", "check:"}) {
    if (scope.starts_with(prefix)) return valid_name(scope.substr(prefix.size()));
  }
  return scope.find(':') == std::string_view::npos && valid_name(scope);  // a bare region name
}

const silence_spec* covering_silence(std::span<const silence_spec> silences, time_point now, std::string_view region,
                                     std::span<const down_check> down) {
  const silence_spec* by_check = nullptr;
  bool all_covered = !down.empty();
  for (const auto& d : down) {
    const silence_spec* found = nullptr;
    for (const auto& s : silences) {
      if (s.until > now && covers_check(s.scope, d)) {
        found = &s;
        break;
      }
    }
    if (found == nullptr) {
      all_covered = false;
      break;
    }
    if (by_check == nullptr) by_check = found;
  }
  for (const auto& s : silences) {
    if (s.until > now && covers_region(s.scope, region)) return &s;
  }
  return all_covered ? by_check : nullptr;
}

std::optional<page> apply_silences(page p, std::span<const silence_spec> silences, time_point now,
                                   std::span<const down_check> down, silenced_pages mode) {
  if (p.region.empty()) return p;
  const silence_spec* s = covering_silence(silences, now, p.region, down);
  if (s == nullptr) return p;
  if (mode == silenced_pages::hold) return std::nullopt;
  p.sev = severity::info;
  p.summary = "[silenced by " + s->by + " until " + format_time(s->until) + "] " + p.summary;
  if (p.summary.size() > 1024) p.summary.resize(1024);
  if (p.details.is_object() || p.details.is_null()) {
    p.details["silenced"] = {{"id", s->id}, {"by", s->by}, {"until", format_time(s->until)}, {"reason", s->reason}};
  }
  return p;
}

std::optional<maintenance_window> parse_maintenance_window(std::string name, std::string scope,
                                                           std::string_view schedule, std::string_view timezone,
                                                           std::string& error) {
  maintenance_window w;
  w.name = std::move(name);
  w.scope = std::move(scope);
  if (!valid_silence_scope(w.scope)) {
    error = "scope must be region:NAME, service:NAME, check:ID or all";
    return std::nullopt;
  }
  const auto space = schedule.find(' ');
  if (space == std::string_view::npos) {
    error = "schedule must look like \"Sun 02:00-04:00\" or \"Mon,Thu 22:00-01:00\"";
    return std::nullopt;
  }
  std::string_view days = schedule.substr(0, space);
  while (!days.empty()) {
    const auto comma = days.find(',');
    const std::string_view d = days.substr(0, comma);
    const auto it = std::find(day_names.begin(), day_names.end(), d);
    if (it == day_names.end()) {
      error = "day '" + std::string(d) + "' is not one of Sun, Mon, Tue, Wed, Thu, Fri, Sat";
      return std::nullopt;
    }
    w.days |= 1U << static_cast<unsigned>(it - day_names.begin());
    days = comma == std::string_view::npos ? std::string_view{} : days.substr(comma + 1);
  }
  const std::string_view times = schedule.substr(space + 1);
  const int start = times.size() == 11 && times[5] == '-' ? clock_minutes(times.substr(0, 5)) : -1;
  const int end = start >= 0 ? clock_minutes(times.substr(6, 5)) : -1;
  if (w.days == 0 || start < 0 || end < 0 || start == end) {
    error = "schedule must look like \"Sun 02:00-04:00\" (days, then HH:MM-HH:MM in 24 h, start != end)";
    return std::nullopt;
  }
  w.start_min = start;
  w.length_min = end > start ? end - start : end + static_cast<int>(day_min) - start;
  if (timezone == "UTC") {
    w.offset_min = 0;
  } else if (timezone.size() == 9 && timezone.starts_with("UTC") && (timezone[3] == '+' || timezone[3] == '-')) {
    const int off = clock_minutes(timezone.substr(4));
    if (off < 0 || off > 14 * 60) {
      error = "timezone must be UTC or UTC+HH:MM / UTC-HH:MM (at most 14:00)";
      return std::nullopt;
    }
    w.offset_min = timezone[3] == '-' ? -off : off;
  } else {
    error = "timezone must be UTC or UTC+HH:MM / UTC-HH:MM (fixed offsets only)";
    return std::nullopt;
  }
  return w;
}

std::optional<time_point> window_active_until(const maintenance_window& w, time_point now) {
  const std::int64_t local_min =
      std::chrono::floor<std::chrono::minutes>(now.time_since_epoch()).count() + w.offset_min;
  const std::int64_t day = local_min >= 0 ? local_min / day_min : (local_min - day_min + 1) / day_min;
  // 1970-01-01 was a Thursday (weekday 4).
  for (std::int64_t d = day - 1; d <= day; ++d) {  // an occurrence may have started yesterday
    const auto weekday = static_cast<unsigned>(((d + 4) % 7 + 7) % 7);
    if ((w.days & (1U << weekday)) == 0) continue;
    const std::int64_t start = d * day_min + w.start_min;
    const std::int64_t end = start + w.length_min;
    if (local_min >= start && local_min < end) {
      return time_point{std::chrono::milliseconds{(end - w.offset_min) * minute_ms}};
    }
  }
  return std::nullopt;
}

std::vector<silence_spec> window_silences(std::span<const maintenance_window> windows, time_point now) {
  std::vector<silence_spec> out;
  for (const auto& w : windows) {
    if (const auto until = window_active_until(w, now)) {
      out.push_back({"window:" + w.name, w.scope, "maintenance_window", "maintenance window " + w.name, *until});
    }
  }
  return out;
}

}  // namespace vigil::decision
