#include "coordination/shared_sweep.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "decision/time_format.hpp"

namespace vigil::coordination {

namespace {

/// The plan journal's shared keys: journal/<hash>/<record, 6 digits>.
constexpr std::string_view journal_prefix = "journal/";

}  // namespace

sweep_result sweep_shared(coordination::coordinator& coord, common::wall_time now,
                          std::chrono::milliseconds retention) {
  using nlohmann::json;
  const std::int64_t cutoff_ms = (now - retention).time_since_epoch().count();
  sweep_result out;
  const auto erase = [&](const std::string& key, std::size_t& counter) {
    if (coord.erase_guarded(key) != coordination::write_result::ok) return false;
    ++counter;
    return true;
  };

  for (const auto& [key, raw] : coord.list(coordination_keys::outbox_prefix)) {
    const json j = json::parse(raw, nullptr, false);
    if (!j.is_object() || j.value("state", std::string{}) != "done" || !j.contains("page")) continue;
    const json& ts = j["page"].contains("timestamp_ms") ? j["page"]["timestamp_ms"] : json();
    if (!ts.is_number_integer() || ts.get<std::int64_t>() >= cutoff_ms) continue;
    if (!erase(key, out.outbox)) return out;
  }

  std::map<std::string, std::vector<std::string>> records;  // plan hash -> its keys
  std::map<std::string, std::string> recommendation_of;     // plan hash -> recommendation id
  std::set<std::string> ended_before;                       // plans whose plan_end is older than the cutoff
  for (const auto& [key, raw] : coord.list(journal_prefix)) {
    const auto slash = key.find('/', journal_prefix.size());
    if (slash == std::string::npos) continue;
    const std::string hash = key.substr(journal_prefix.size(), slash - journal_prefix.size());
    records[hash].push_back(key);
    const json j = json::parse(raw, nullptr, false);
    if (!j.is_object()) continue;
    const std::string type = j.value("type", std::string{});
    if (type == "plan_begin") recommendation_of[hash] = j.value("recommendation_id", std::string{});
    if (type == "plan_end") {
      const auto at = decision::parse_time(j.value("at", std::string{}));
      if (at && at->time_since_epoch().count() < cutoff_ms) ended_before.insert(hash);
    }
  }
  for (const auto& hash : ended_before) {
    if (const auto it = recommendation_of.find(hash); it != recommendation_of.end() && !it->second.empty()) {
      const std::string steps = std::string(coordination_keys::plan_prefix) + it->second + "/";
      for (const auto& [key, raw] : coord.list(steps)) {
        if (!erase(key, out.steps)) return out;
      }
    }
    for (const auto& key : records[hash]) {
      if (!erase(key, out.journal)) return out;
    }
  }
  return out;
}

}  // namespace vigil::coordination
