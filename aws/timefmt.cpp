#include "aws/timefmt.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>

namespace vigil::aws {
namespace {

using namespace std::chrono;

struct civil {
  int y, mo, d, h, mi, s;
};

civil to_civil(common::wall_time t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const auto tod = floor<seconds>(t - day);
  const hh_mm_ss<seconds> hms{tod};
  return {static_cast<int>(ymd.year()),
          static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())),
          static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count()),
          static_cast<int>(hms.seconds().count())};
}

std::optional<common::wall_time> from_civil(int y, int mo, int d, int h, int mi, int s, int ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return common::wall_time{sys_days{ymd}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms}};
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

std::string format_amz_date(common::wall_time t) {
  const auto c = to_civil(t);
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}Z", c.y, c.mo, c.d, c.h, c.mi, c.s);
}

std::string format_iso8601(common::wall_time t) {
  // common::format_rfc3339 without the milliseconds: 2015-08-30T12:36:00.000Z -> ...:00Z.
  auto out = common::format_rfc3339(floor<seconds>(t));
  out.erase(out.size() - 5, 4);
  return out;
}

std::optional<common::wall_time> parse_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...][Z|+HH:MM|-HH:MM]
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_int(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !read_int(s, 5, 2, mo) || s[7] != '-' ||
      !read_int(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_int(s, 11, 2, h) ||
      s[13] != ':' || !read_int(s, 14, 2, mi) || s[16] != ':' || !read_int(s, 17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  int ms = 0;
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
  auto t = from_civil(y, mo, d, h, mi, sec, ms);
  if (!t) return std::nullopt;
  if (pos == s.size()) return t;  // no zone: AWS means UTC
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return t;
  if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!read_int(s, pos + 1, 2, oh) || !read_int(s, pos + 4, 2, om)) return std::nullopt;
    const auto off = hours{oh} + minutes{om};
    return s[pos] == '+' ? *t - off : *t + off;
  }
  return std::nullopt;
}

std::string format_http_date(common::wall_time t) {
  static constexpr std::array<std::string_view, 7> days_of_week{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto c = to_civil(t);
  const weekday wd{floor<days>(t)};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", days_of_week[wd.c_encoding()], c.d,
                     months[static_cast<std::size_t>(c.mo - 1)], c.y, c.h, c.mi, c.s);
}

std::optional<common::wall_time> parse_http_date(std::string_view s) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  if (s.size() != 29 || s[3] != ',' || s.substr(26) != "GMT") return std::nullopt;
  int d = 0, y = 0, h = 0, mi = 0, sec = 0;
  if (!read_int(s, 5, 2, d) || !read_int(s, 12, 4, y) || !read_int(s, 17, 2, h) || !read_int(s, 20, 2, mi) ||
      !read_int(s, 23, 2, sec)) {
    return std::nullopt;
  }
  int mo = 0;
  for (std::size_t i = 0; i < months.size(); ++i) {
    if (s.substr(8, 3) == months[i]) mo = static_cast<int>(i) + 1;
  }
  if (mo == 0) return std::nullopt;
  return from_civil(y, mo, d, h, mi, sec, 0);
}

}  // namespace vigil::aws
