#include "decision/time_format.hpp"

#include <charconv>
#include <cstdio>

namespace vigil::decision {

namespace {

void put(std::string& out, long long v, int width) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) out.push_back('-');
  for (auto n = static_cast<int>(digits.size()); n < width; ++n)
    out.push_back('0');
  out += digits;
}

struct civil {
  int year;
  unsigned month, day;
  long long hour, minute, second, ms;
};

civil split(time_point t) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{days};
  const long long rest = (t - days).count();
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          rest / 3'600'000,
          rest / 60'000 % 60,
          rest / 1000 % 60,
          rest % 1000};
}

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return r.ec == std::errc{};
}

}  // namespace

std::string format_time(time_point t) {
  const civil c = split(t);
  std::string out;
  out.reserve(24);
  put(out, c.year, 4);
  out.push_back('-');
  put(out, c.month, 2);
  out.push_back('-');
  put(out, c.day, 2);
  out.push_back('T');
  put(out, c.hour, 2);
  out.push_back(':');
  put(out, c.minute, 2);
  out.push_back(':');
  put(out, c.second, 2);
  out.push_back('.');
  put(out, c.ms, 3);
  out.push_back('Z');
  return out;
}

std::string format_compact(time_point t) {
  const civil c = split(t);
  std::string out;
  put(out, c.year, 4);
  put(out, c.month, 2);
  put(out, c.day, 2);
  out.push_back('T');
  put(out, c.hour, 2);
  put(out, c.minute, 2);
  put(out, c.second, 2);
  out.push_back('Z');
  return out;
}

std::optional<time_point> parse_time(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  if (!read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) || !read_int(s, 8, 2, d) || !read_int(s, 11, 2, h) ||
      !read_int(s, 14, 2, mi) || !read_int(s, 17, 2, se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  long long ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i)
      ms *= 10;
  }
  long long offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool neg = s[pos] == '-';
    int oh = 0, om = 0;
    if (pos + 6 > s.size() || s[pos + 3] != ':' || !read_int(s, pos + 1, 2, oh) || !read_int(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset_min = (neg ? -1 : 1) * (oh * 60LL + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto days = std::chrono::sys_days{ymd};
  return time_point{std::chrono::duration_cast<duration>(days.time_since_epoch())} +
         duration{((h * 60LL + mi) * 60LL + se) * 1000LL + ms} - duration{offset_min * 60'000LL};
}

std::string format_seconds(duration d) {
  const long long ms = d.count();
  std::string out = std::to_string(ms / 1000);
  long long frac = (ms < 0 ? -ms : ms) % 1000;
  if (ms < 0 && ms > -1000) out = "-" + out;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    while (f.size() < 3)
      f.insert(f.begin(), '0');
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

}  // namespace vigil::decision
