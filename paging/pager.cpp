// The page type: names, JSON form, idempotency key and HTTP classification.
#include "paging/pager.hpp"

#include <array>
#include <stdexcept>

#include "common/utf8.hpp"

namespace vigil::paging {

std::string_view to_string(delivery_status s) {
  switch (s) {
    case delivery_status::delivered:
      return "delivered";
    case delivery_status::retry:
      return "retry";
    case delivery_status::rejected:
      return "rejected";
  }
  return "retry";
}

page_severity default_severity(std::string_view kind) {
  if (kind == "regional_outage" || kind == "global_outage") return page_severity::critical;
  if (kind == "service_degraded") return page_severity::error;
  return page_severity::warning;
}

std::string approve_command(std::string_view engine_url) {
  return "vigil approve --key ~/.vigil/$USER.key --engine " + std::string(engine_url);
}

std::string idempotency_key(const page& p) {
  return p.incident_id + "/" + std::string(to_string(p.action)) + "/" + std::to_string(p.sequence);
}

nlohmann::json to_json(const page& p) {
  nlohmann::json links = nlohmann::json::array();
  for (const auto& l : p.links)
    links.push_back({{"href", l.href}, {"text", l.text}});
  return {{"incident_id", p.incident_id},
          {"action", to_string(p.action)},
          {"sequence", p.sequence},
          {"kind", p.kind},
          {"severity", to_string(p.severity)},
          {"summary", p.summary},
          {"region", p.region},
          {"deployment", p.deployment},
          {"details", p.details},
          {"links", links},
          {"timestamp", common::format_rfc3339(p.timestamp)},
          {"timestamp_ms", p.timestamp.time_since_epoch().count()},
          {"incident_start_ms", p.incident_start.time_since_epoch().count()},
          {"content_key", p.content_key}};
}

page page_from_json(const nlohmann::json& j) {
  page p;
  p.incident_id = j.at("incident_id").get<std::string>();
  const auto action = decision::from_string<page_action>(j.at("action").get<std::string>());
  const auto severity = decision::from_string<page_severity>(j.at("severity").get<std::string>());
  if (!action || !severity || p.incident_id.empty()) throw std::invalid_argument("malformed page");
  p.action = *action;
  p.severity = *severity;
  p.sequence = j.at("sequence").get<std::uint64_t>();
  p.kind = j.at("kind").get<std::string>();
  p.summary = j.at("summary").get<std::string>();
  p.region = j.value("region", "");
  p.deployment = j.value("deployment", "");
  p.details = j.value("details", nlohmann::json::object());
  for (const auto& l : j.value("links", nlohmann::json::array())) {
    p.links.push_back({l.at("href").get<std::string>(), l.value("text", "")});
  }
  p.timestamp = common::wall_time{std::chrono::milliseconds{j.at("timestamp_ms").get<std::int64_t>()}};
  p.incident_start = common::wall_time{std::chrono::milliseconds{j.value("incident_start_ms", std::int64_t{0})}};
  p.content_key = j.value("content_key", "");
  return p;
}

delivery_result classify_http(long status, std::string_view transport_error, std::string_view body) {
  const std::string answer = common::truncate_utf8(body, 512);
  if (!transport_error.empty()) return {delivery_status::retry, status, std::string(transport_error)};
  if (status >= 200 && status < 300) return {delivery_status::delivered, status, answer};
  if (status == 408 || status == 429 || status >= 500) {
    return {delivery_status::retry, status, "HTTP " + std::to_string(status) + ": " + answer};
  }
  return {delivery_status::rejected, status, "HTTP " + std::to_string(status) + ": " + answer};
}

}  // namespace vigil::paging
