#include "app/status_history.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace vigil::app {

namespace {

void bump(std::uint16_t& n) {
  if (n < std::numeric_limits<std::uint16_t>::max()) ++n;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

bucket_state bucket_counts::state() const {
  if (down > 0) return bucket_state::down;
  if (degraded > 0) return bucket_state::degraded;
  if (up > 0) return bucket_state::up;
  return bucket_state::no_data;
}

std::optional<int> bucket_counts::uptime_permille() const {
  const int total = up + degraded + down;
  if (total == 0) return std::nullopt;
  return static_cast<int>((static_cast<std::int64_t>(up + degraded) * 1000) / total);
}

char status_history::letter(bucket_state s) {
  switch (s) {
    case bucket_state::up:
      return 'u';
    case bucket_state::degraded:
      return 'w';
    case bucket_state::down:
      return 'd';
    case bucket_state::no_data:
      break;
  }
  return '-';
}

status_history::status_history(std::vector<history_check> checks, history_options options)
    : checks_(std::move(checks)), options_(options) {
  options_.buckets = std::max<std::size_t>(1, options_.buckets);
  options_.bucket = std::max(options_.bucket, std::chrono::milliseconds{1});
  slot_bucket_.assign(options_.buckets, -1);
  ticks_.assign(options_.buckets, 0);
  counts_.assign(options_.buckets * checks_.size(), bucket_counts{});
}

std::int64_t status_history::bucket_of(common::wall_time t) const {
  const std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::int64_t w = options_.bucket.count();
  return ms >= 0 ? ms / w : -((-ms + w - 1) / w);  // floor
}

std::size_t status_history::slot_of(std::int64_t bucket) const {
  const auto n = static_cast<std::int64_t>(options_.buckets);
  return static_cast<std::size_t>(((bucket % n) + n) % n);
}

bool status_history::record(common::wall_time at, std::span<const history_sample> samples) {
  if (samples.size() != checks_.size()) return false;
  const std::int64_t b = bucket_of(at);
  const auto n = static_cast<std::int64_t>(options_.buckets);
  if (newest_ && b <= *newest_ - n) {  // evicted already: the window has moved past it
    ++dropped_;
    return true;
  }
  const std::size_t slot = slot_of(b);
  if (slot_bucket_[slot] != b) {  // a bucket `buckets` or more older held this slot: evict it
    slot_bucket_[slot] = b;
    ticks_[slot] = 0;
    std::fill_n(counts_.begin() + static_cast<std::ptrdiff_t>(slot * checks_.size()), checks_.size(), bucket_counts{});
  }
  bump(ticks_[slot]);
  bucket_counts* row = counts_.data() + slot * checks_.size();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    switch (samples[i]) {
      case history_sample::up:
        bump(row[i].up);
        break;
      case history_sample::degraded:
        bump(row[i].degraded);
        break;
      case history_sample::down:
        bump(row[i].down);
        break;
      case history_sample::unknown:
        bump(row[i].unknown);
        break;
    }
  }
  if (!newest_ || b > *newest_) newest_ = b;
  return true;
}

bucket_counts status_history::counts(std::size_t check, common::wall_time at) const {
  const std::int64_t b = bucket_of(at);
  const std::size_t slot = slot_of(b);
  if (check >= checks_.size() || slot_bucket_[slot] != b) return {};
  return counts_[slot * checks_.size() + check];
}

nlohmann::json status_history::to_json(common::wall_time now, const history_query& q) const {
  using nlohmann::json;
  const std::int64_t last = bucket_of(now);
  const auto n = static_cast<std::int64_t>(options_.buckets);
  const std::int64_t first = last - n + 1;
  const auto start_of = [&](std::int64_t b) {
    return common::wall_time{std::chrono::milliseconds{b * options_.bucket.count()}};
  };
  // Per bucket of the window: its slot when the slot still holds it.
  std::vector<std::optional<std::size_t>> slots;
  json ticks = json::array();
  for (std::int64_t b = first; b <= last; ++b) {
    const std::size_t s = slot_of(b);
    const bool held = slot_bucket_[s] == b;
    slots.push_back(held ? std::optional<std::size_t>{s} : std::nullopt);
    ticks.push_back(held ? ticks_[s] : 0);
  }
  const std::string needle = lower(q.check);
  json out = json::array();
  std::size_t matched = 0;
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    const auto& c = checks_[i];
    if (!q.region.empty() && c.region != q.region) continue;
    if (!needle.empty() && lower(c.id).find(needle) == std::string::npos) continue;
    if (++matched > q.limit) continue;
    std::string states;
    json uptime = json::array();
    for (const auto& s : slots) {
      const bucket_counts k = s ? counts_[*s * checks_.size() + i] : bucket_counts{};
      states.push_back(letter(k.state()));
      const auto p = k.uptime_permille();
      uptime.push_back(p ? json(*p) : json(nullptr));
    }
    out.push_back(json{{"id", c.id},
                       {"region", c.region},
                       {"service", c.service},
                       {"states", std::move(states)},
                       {"uptime_permille", std::move(uptime)}});
  }
  return json{{"bucket_s", static_cast<double>(options_.bucket.count()) / 1000.0},
              {"buckets", options_.buckets},
              {"from", common::format_rfc3339(start_of(first))},
              {"to", common::format_rfc3339(start_of(last + 1))},
              {"ticks", std::move(ticks)},
              {"checks_total", checks_.size()},
              {"matched", matched},
              {"truncated", matched > q.limit},
              {"limit", q.limit},
              {"memory_bytes", memory_bytes()},
              {"checks", std::move(out)}};
}

}  // namespace vigil::app
