#include "app/engine_notices.hpp"

#include <algorithm>

#include "decision/time_format.hpp"

namespace vigil::app {

namespace {

constexpr std::size_t max_summary = 1024;

decision::page make_page(const std::string& incident, decision::page_action action, decision::severity sev,
                         std::string summary, nlohmann::json details, decision::time_point at,
                         decision::time_point start) {
  decision::page p;
  p.at = at;
  p.kind = decision::page_kind::notice;
  p.action = action;
  p.incident_id = incident;
  p.sev = sev;
  if (summary.size() > max_summary) summary.resize(max_summary);
  p.content_key = std::string(decision::to_string(sev)) + ":" + summary;
  p.summary = std::move(summary);
  p.details = std::move(details);
  p.incident_start = start;
  return p;
}

}  // namespace

bool notice_board::valid_key(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

std::string notice_board::incident_id(const std::string& key) const {
  return deployment_ + "/notice/" + key;
}

std::optional<decision::page> notice_board::set(const std::string& key, decision::severity sev,
                                                const std::string& summary, const nlohmann::json& details,
                                                decision::time_point now) {
  if (!valid_key(key)) {
    ++refused_;
    return std::nullopt;
  }
  auto it = open_.find(key);
  if (it == open_.end()) {
    if (open_.size() >= max_notices) {
      ++refused_;
      return std::nullopt;
    }
    open_.emplace(key, open_notice{sev, summary, now});
    return make_page(incident_id(key), decision::page_action::trigger, sev, summary, details, now, now);
  }
  if (it->second.sev == sev && it->second.summary == summary) return std::nullopt;
  it->second.sev = sev;
  it->second.summary = summary;
  return make_page(incident_id(key), decision::page_action::update, sev, summary, details, now, it->second.since);
}

std::optional<decision::page> notice_board::clear(const std::string& key, decision::time_point now) {
  const auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  auto p = make_page(incident_id(key), decision::page_action::resolve, it->second.sev, "resolved: " + it->second.summary,
                     nlohmann::json::object(), now, it->second.since);
  open_.erase(it);
  return p;
}

bool notice_board::restore(const std::string& incident_id, decision::time_point started) {
  const std::string prefix = deployment_ + "/notice/";
  if (!incident_id.starts_with(prefix)) return false;
  const std::string key = incident_id.substr(prefix.size());
  if (!valid_key(key) || open_.size() >= max_notices) return false;
  open_.try_emplace(key, open_notice{decision::severity::warning, {}, started});
  return true;
}

nlohmann::json notice_board::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, n] : open_) {
    out.push_back({{"key", key},
                   {"incident_id", incident_id(key)},
                   {"severity", decision::to_string(n.sev)},
                   {"summary", n.summary},
                   {"since", decision::format_time(n.since)}});
  }
  return out;
}

}  // namespace vigil::app
