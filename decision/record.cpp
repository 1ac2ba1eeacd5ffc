#include "decision/record.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

// The float's shortest decimal form as a double: 41.53F is written "41.53",
// not "41.529998779296875", and reads back as the same float.
double shortest(float f) {
  std::array<char, 32> buf{};
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), f).ptr;
  double d = static_cast<double>(f);
  std::from_chars(buf.data(), end, d);
  return d;
}

std::optional<time_point> time_of(const nlohmann::json& j, std::string& error) {
  if (!j.contains("t")) {
    error = "missing \"t\"";
    return std::nullopt;
  }
  const auto& t = j["t"];
  // Integer times are bounded to what the writer's RFC 3339 form can express
  // (1970 to 9999): a line must read back as it was written, and the core's
  // time arithmetic must not overflow on a record from year -21621.
  constexpr std::int64_t max_ms = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  if (t.is_number_integer()) {
    if (t.is_number_unsigned() ? t.get<std::uint64_t>() <= static_cast<std::uint64_t>(max_ms)
                               : t.get<std::int64_t>() >= 0) {
      return time_point{duration{t.get<std::int64_t>()}};
    }
    error = "\"t\": integer epoch milliseconds must be within 0..253402300799999 (1970 to 9999), got " + t.dump();
    return std::nullopt;
  }
  if (t.is_string()) {
    if (auto v = parse_time(t.get<std::string>())) return v;
  }
  error = "\"t\": expected RFC 3339 (2026-11-22T03:00:00.250Z) or integer epoch milliseconds, got " + t.dump();
  return std::nullopt;
}

std::optional<vantage_index> vantage_of(const nlohmann::json& j, const topology& topo, std::string& error) {
  if (!j.contains("vantage") || !j["vantage"].is_string()) {
    error = "missing \"vantage\" (a string)";
    return std::nullopt;
  }
  const auto name = j["vantage"].get<std::string>();
  auto v = topo.find_vantage(name);
  if (!v) error = "unknown vantage \"" + name + "\"";
  return v;
}

}  // namespace

record_parse_result parse_record_line(std::string_view line, const topology& topo) {
  record_parse_result r;
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos || line[first] == '#') return r;
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.error = "not a JSON object";
    return r;
  }
  const std::string type = j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "observation";
  const auto at = time_of(j, r.error);
  if (!at) return r;
  if (type == "lag") {
    // Bounded (0 to 100 days) so that the gates' "last lag + its age" cannot overflow.
    const auto& lag = j.contains("lag_ms") ? j["lag_ms"] : nlohmann::json();
    if (!j.contains("lag_ms") ||
        !(lag.is_null() || (lag.is_number() && lag.get<double>() >= 0.0 && lag.get<double>() <= 8.64e9))) {
      r.error = "lag: \"lag_ms\" must be a number of milliseconds (0 to 8640000000) or null (unreachable)";
      return r;
    }
    lag_sample s{*at, std::nullopt, std::nullopt};
    if (!j["lag_ms"].is_null()) s.lag = duration{static_cast<std::int64_t>(std::llround(j["lag_ms"].get<double>()))};
    if (const auto rg = j.find("region"); rg != j.end()) {
      const auto idx = rg->is_string() ? topo.find_region(rg->get<std::string>()) : std::nullopt;
      if (!idx) {
        r.error = "lag: \"region\" must name a configured region (the region whose cluster was measured)";
        return r;
      }
      s.region = idx;
    }
    r.value = s;
    return r;
  }
  const auto v = vantage_of(j, topo, r.error);
  if (!v) return r;
  if (type == "report") {
    r.value = report_record{*v, *at};
    return r;
  }
  if (type != "observation") {
    r.error = "unknown \"type\" \"" + type + "\" (expected observation, report or lag)";
    return r;
  }
  if (!j.contains("check") || !j["check"].is_string()) {
    r.error = "missing \"check\" (a check id like api-web@us-east-1)";
    return r;
  }
  const auto check = topo.find_check(j["check"].get<std::string>());
  if (!check) {
    r.error = "unknown check \"" + j["check"].get<std::string>() + "\"";
    return r;
  }
  if (!j.contains("outcome") || !j["outcome"].is_string()) {
    r.error = "missing \"outcome\"";
    return r;
  }
  const auto o = outcome_from_string(j["outcome"].get<std::string>());
  if (!o) {
    r.error = "unknown outcome \"" + j["outcome"].get<std::string>() + "\"";
    return r;
  }
  observation obs{*v, *check, *at, *o, 0.0F};
  if (j.contains("latency_ms") && j["latency_ms"].is_number()) obs.latency_ms = j["latency_ms"].get<float>();
  if (j.contains("value") && j["value"].is_number()) obs.value = j["value"].get<double>();
  if (j.contains("warning") && j["warning"].is_string()) {
    const auto w = outcome_from_string(j["warning"].get<std::string>());
    if (!w) {
      r.error = "unknown warning outcome \"" + j["warning"].get<std::string>() + "\"";
      return r;
    }
    obs.warning = *w;
  }
  if (const auto f = j.find("fast"); f != j.end() && !f->is_null()) {
    if (!f->is_boolean()) {
      r.error = "\"fast\" must be true or false (a suspicion-mode re-probe)";
      return r;
    }
    obs.fast = f->get<bool>();
  }
  r.value = obs;
  return r;
}

time_point record_time(const record& r) {
  return std::visit([](const auto& x) -> time_point { return x.at; }, r);
}

std::string to_record_line(const observation& o, const topology& topo) {
  nlohmann::json j{
      {"t", format_time(o.at)},         {"vantage", topo.vantages.at(o.vantage)}, {"check", topo.checks.at(o.check).id},
      {"outcome", to_string(o.result)}, {"latency_ms", shortest(o.latency_ms)},   {"value", nullptr}};
  if (!std::isnan(o.value)) j["value"] = o.value;
  if (o.warning != outcome::ok) j["warning"] = to_string(o.warning);
  if (o.fast) j["fast"] = true;
  return j.dump();
}

std::string to_record_line(const report_record& r, const topology& topo) {
  return nlohmann::json{{"type", "report"}, {"t", format_time(r.at)}, {"vantage", topo.vantages.at(r.vantage)}}.dump();
}

namespace {
nlohmann::json lag_json(const lag_sample& l) {
  nlohmann::json j{{"type", "lag"}, {"t", format_time(l.at)}, {"lag_ms", nullptr}};
  if (l.lag) j["lag_ms"] = l.lag->count();
  return j;
}
}  // namespace

std::string to_record_line(const lag_sample& l) {
  return lag_json(l).dump();
}

std::string to_record_line(const lag_sample& l, const topology& topo) {
  nlohmann::json j = lag_json(l);
  if (l.region) j["region"] = topo.regions.at(*l.region).name;
  return j.dump();
}

}  // namespace vigil::decision
