#include "app/batch_gate.hpp"

#include <charconv>

namespace vigil::app {

using common::batch_rejection;

batch_gate::batch_gate(batch_gate_options options, std::set<std::string> vantages)
    : options_(std::move(options)), vantages_(std::move(vantages)) {}

namespace {
batch_verdict refuse(batch_rejection reason, int status, std::string message) {
  batch_verdict v;
  v.reason = reason;
  v.http_status = status;
  v.message = std::move(message);
  return v;
}
}  // namespace

batch_verdict batch_gate::check(std::string_view body, std::string_view signature_header,
                                std::string_view timestamp_header, common::wall_time now) {
  if (body.size() > options_.max_body_bytes) {
    return refuse(
        batch_rejection::too_large, 413,
        "body of " + std::to_string(body.size()) + " bytes exceeds " + std::to_string(options_.max_body_bytes));
  }
  // Authenticate before parsing anything: an unsigned body is never parsed.
  if (signature_header.empty()) {
    return refuse(batch_rejection::missing_signature, 401, "X-Vigil-Signature header missing");
  }
  if (!common::verify_batch_signature(options_.key, body, signature_header)) {
    return refuse(batch_rejection::bad_signature, 401, "X-Vigil-Signature does not match the body (wrong agent key?)");
  }
  std::int64_t ts = 0;
  const auto [ptr, ec] =
      std::from_chars(timestamp_header.data(), timestamp_header.data() + timestamp_header.size(), ts);
  if (timestamp_header.empty() || ec != std::errc{} || ptr != timestamp_header.data() + timestamp_header.size()) {
    return refuse(batch_rejection::bad_timestamp, 400, "X-Vigil-Timestamp must be Unix epoch milliseconds");
  }
  const std::int64_t now_ms = now.time_since_epoch().count();
  if (ts < now_ms - options_.max_age.count()) {
    return refuse(batch_rejection::stale_timestamp, 400,
                  "batch timestamp is " + std::to_string(now_ms - ts) + " ms old (window " +
                      std::to_string(options_.max_age.count()) + " ms); check the agent's clock");
  }
  if (ts > now_ms + options_.max_future.count()) {
    return refuse(batch_rejection::future_timestamp, 400,
                  "batch timestamp is " + std::to_string(ts - now_ms) + " ms in the future; check the agent's clock");
  }
  auto parsed = common::parse_batch(body, options_.limits);
  if (!parsed.value)
    return refuse(parsed.reason, parsed.reason == batch_rejection::too_large ? 413 : 400, parsed.message);
  common::batch& b = *parsed.value;
  if (b.sent_at_ms != ts) {
    return refuse(batch_rejection::bad_timestamp, 400, "X-Vigil-Timestamp differs from the body's sent_at");
  }
  if (auto bad = check_item_times(b, now_ms)) return std::move(*bad);
  if (vantages_.count(b.vantage) == 0) {
    return refuse(batch_rejection::unknown_vantage, 400, "vantage '" + b.vantage + "' is not in the configuration");
  }
  for (const auto& l : b.lag) {
    if (!l.region.empty() && options_.regions.count(l.region) == 0) {
      return refuse(batch_rejection::unknown_region, 400,
                    "lag sample region '" + l.region + "' is not a configured region (agent config differs?)");
    }
  }
  if (const auto it = last_seq_.find(b.vantage); it != last_seq_.end() && b.seq <= it->second) {
    return refuse(batch_rejection::non_increasing_seq, 409,
                  "seq " + std::to_string(b.seq) + " is not above the last accepted " + std::to_string(it->second) +
                      " for vantage " + b.vantage + " (replayed or duplicated batch)");
  }
  last_seq_[b.vantage] = b.seq;
  batch_verdict v;
  v.value = std::move(b);
  v.http_status = 202;
  return v;
}

std::optional<batch_verdict> batch_gate::check_item_times(const common::batch& b, std::int64_t now_ms) const {
  // An item dated ahead would keep its vantage present, or the lag fresh,
  // long after it stopped reporting: the whole batch is refused.
  const auto check = [&](std::int64_t at, std::chrono::milliseconds max_age,
                         const std::string& path) -> std::optional<batch_verdict> {
    if (at > now_ms + options_.max_future.count()) {
      return refuse(batch_rejection::future_timestamp, 400,
                    path + " is " + std::to_string(at - now_ms) + " ms in the future; check the agent's clock");
    }
    if (at < now_ms - max_age.count()) {
      return refuse(batch_rejection::stale_timestamp, 400,
                    path + " is " + std::to_string(now_ms - at) + " ms old (window " + std::to_string(max_age.count()) +
                        " ms); check the agent's clock");
    }
    return std::nullopt;
  };
  for (std::size_t i = 0; i < b.observations.size(); ++i) {
    if (auto bad = check(b.observations[i].at_ms, options_.max_age, "$.observations[" + std::to_string(i) + "].at")) {
      return bad;
    }
  }
  const auto lag_age = std::max(options_.max_age, options_.lag_sample_max_age);
  for (std::size_t i = 0; i < b.lag.size(); ++i) {
    if (auto bad = check(b.lag[i].at_ms, lag_age, "$.lag[" + std::to_string(i) + "].at")) return bad;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> batch_gate::last_seq(const std::string& vantage) const {
  const auto it = last_seq_.find(vantage);
  if (it == last_seq_.end()) return std::nullopt;
  return it->second;
}

}  // namespace vigil::app
