#include "app/event_log.hpp"

#include "common/log.hpp"

namespace vigil::app {

namespace {

/// The string at `key` of `j`, or of j.details, or "".
std::string field(const nlohmann::json& j, const char* key) {
  for (const auto* o : {&j, j.contains("details") ? &j["details"] : nullptr}) {
    if (o == nullptr || !o->is_object()) continue;
    if (const auto it = o->find(key); it != o->end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

}  // namespace

void log_decision_event(const nlohmann::json& ev) {
  const std::string type = ev.value("type", std::string{"event"});
  std::string rec = field(ev, "recommendation_id");
  std::string region = field(ev, "region");
  if (const auto it = ev.find("recommendation"); it != ev.end() && it->is_object()) {
    if (rec.empty()) rec = it->value("id", std::string{});
  }
  const common::log_fields f{{"event", type},
                             {"incident_id", field(ev, "incident_id")},
                             {"region", region},
                             {"vantage", field(ev, "vantage")},
                             {"check", field(ev, "check")},
                             {"recommendation_id", rec},
                             {"step", field(ev, "step")}};
  std::string msg = field(ev, "summary");
  if (msg.empty()) msg = field(ev, "message");
  if (msg.empty() && ev.contains("from") && ev.contains("to") && ev["from"].is_string()) {
    msg = region + " " + ev["from"].get<std::string>() + " -> " + ev["to"].get<std::string>();
  }
  if (msg.empty()) msg = field(ev, "reason");
  common::logger("engine")->info("{}: {}", type, msg);
}

event_log::event_log(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::uint64_t event_log::append(nlohmann::json event) {
  std::lock_guard lock(mutex_);
  const std::uint64_t seq = next_++;
  event["seq"] = seq;
  events_.push_back(std::move(event));
  if (events_.size() > capacity_) events_.pop_front();
  return seq;
}

nlohmann::json event_log::since(std::uint64_t since, std::size_t max) const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  // seq numbers are contiguous, so the first wanted index is computable.
  const std::uint64_t first_seq = events_.empty() ? next_ : events_.front()["seq"].get<std::uint64_t>();
  std::size_t i = since >= first_seq ? static_cast<std::size_t>(since - first_seq + 1) : 0;
  for (; i < events_.size() && out.size() < max; ++i)
    out.push_back(events_[i]);
  return out;
}

nlohmann::json event_log::tail(std::size_t n) const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  const std::size_t start = events_.size() > n ? events_.size() - n : 0;
  for (std::size_t i = start; i < events_.size(); ++i)
    out.push_back(events_[i]);
  return out;
}

std::uint64_t event_log::last_seq() const {
  std::lock_guard lock(mutex_);
  return next_ - 1;
}

}  // namespace vigil::app
