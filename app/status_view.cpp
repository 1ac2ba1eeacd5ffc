#include "app/status_view.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>
#include <vector>

namespace vigil::app {

using nlohmann::json;

namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '@';
}

/// A parameter name safe to quote back: id characters only, at most 32.
std::string quoted_name(const std::string& name) {
  if (name.size() > 32 || !std::all_of(name.begin(), name.end(), id_char)) return "an unknown query parameter";
  return "unknown query parameter '" + name + "'";
}

/// `s` as a JSON string. Names reaching here are validated config names;
/// quotes, backslashes and control characters are escaped all the same.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf.data();
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  append_string(out, key);
  out += ':';
  append_string(out, value);
}

/// Per region, the selected checks' states: {"total", "up", "down", "unknown"}.
json check_counts(const decision::core& core, const decision::check_selection& sel) {
  const auto& topo = core.topo();
  const auto& states = core.check_states();
  struct counts {
    int total = 0, up = 0, down = 0, unknown = 0;
  };
  std::vector<counts> per_region(topo.regions.size());
  for (std::size_t c = 0; c < topo.checks.size() && c < states.size(); ++c) {
    const auto& ci = topo.checks[c];
    if (ci.region >= per_region.size() || !sel.includes(ci)) continue;
    auto& n = per_region[ci.region];
    ++n.total;
    if (states[c] == decision::verdict::up) ++n.up;
    if (states[c] == decision::verdict::down) ++n.down;
    if (states[c] == decision::verdict::unknown) ++n.unknown;
  }
  json out = json::object();
  for (std::size_t r = 0; r < topo.regions.size(); ++r) {
    if (sel.region && static_cast<std::size_t>(*sel.region) != r) continue;
    const auto& n = per_region[r];
    out[topo.regions[r].name] = {{"total", n.total}, {"up", n.up}, {"down", n.down}, {"unknown", n.unknown}};
  }
  return out;
}

}  // namespace

status_query_result parse_status_query(const std::map<std::string, std::string>& query,
                                       const decision::topology& topo) {
  status_query q;
  for (const auto& [name, value] : query) {
    if (name == "region") {
      if (value.empty()) continue;
      const auto r = value.size() <= 256 ? topo.find_region(value) : std::nullopt;
      if (!r) {
        std::string names;
        for (const auto& reg : topo.regions)
          names += (names.empty() ? "" : ", ") + reg.name;
        return {std::nullopt, "region: not a configured region (" + names + ")"};
      }
      q.checks.region = *r;
      q.region = value;
    } else if (name == "check") {
      if (value.size() > max_status_check_filter || !std::all_of(value.begin(), value.end(), id_char)) {
        return {std::nullopt, "check: expected at most " + std::to_string(max_status_check_filter) +
                                  " bytes of letters, digits, '-', '_', '.', '@' (a part of a check id)"};
      }
      q.checks.id_contains = value;
    } else if (name == "summary") {
      if (value == "1" || value == "true") {
        q.summary = true;
      } else if (!value.empty() && value != "0" && value != "false") {
        return {std::nullopt, "summary: expected 1, true, 0 or false"};
      }
    } else {
      return {std::nullopt, quoted_name(name) + " (GET /v1/status takes region, check and summary)"};
    }
  }
  return {std::move(q), {}};
}

std::string render_status(json head, const decision::core& core, const std::map<std::string, json>& last_failures,
                          const std::map<std::string, std::map<std::string, std::string>>& last_warnings,
                          const status_query& q) {
  head.erase("checks");
  head["checks_total"] = core.topo().checks.size();
  head["check_counts"] = check_counts(core, q.checks);
  head["query"] = {{"region", q.region.empty() ? json(nullptr) : json(q.region)},
                   {"check", q.checks.id_contains.empty() ? json(nullptr) : json(q.checks.id_contains)},
                   {"summary", q.summary}};
  // Text from agents or operators (failure details, silence reasons) was
  // cut to a byte limit: an invalid UTF-8 tail must not fail the answer.
  std::string out = head.dump(-1, ' ', false, json::error_handler_t::replace);
  if (q.summary || out.size() < 2 || out.back() != '}') return out;
  out.pop_back();
  out += R"(,"checks":[)";
  const auto snap = core.status(q.checks);
  out.reserve(out.size() + snap.checks.size() * (snap.vantages.size() * 24 + 256));
  bool first = true;
  for (const auto& c : snap.checks) {
    out += first ? "{" : ",{";
    first = false;
    // Keys in the order nlohmann's object uses (sorted), as before.
    append_string(out, "by_vantage");
    out += ":{";
    for (std::size_t v = 0; v < c.by_vantage.size() && v < snap.vantages.size(); ++v) {
      if (v > 0) out += ',';
      append_field(out, snap.vantages[v].name, c.by_vantage[v]);
    }
    out += "},";
    append_field(out, "id", c.id);
    out += R"(,"last_failure":)";
    const auto it = last_failures.find(c.id);
    out += it == last_failures.end() ? "{}" : it->second.dump(-1, ' ', false, json::error_handler_t::replace);
    out += ',';
    append_field(out, "region", c.region);
    out += ',';
    append_field(out, "role", decision::to_string(c.role));
    out += ',';
    append_field(out, "scope", c.region_scope ? "region" : "service");
    out += ',';
    append_field(out, "service", c.service);
    out += ',';
    append_field(out, "state", decision::to_string(c.state));
    out += R"(,"votes":{"down":)" + std::to_string(c.down) + R"(,"unknown":)" + std::to_string(c.unknown) +
           R"(,"up":)" + std::to_string(c.up) + "}";
    out += R"(,"warn":)";
    const auto w = last_warnings.find(c.id);
    out += w == last_warnings.end() ? "{}" : json(w->second).dump(-1, ' ', false, json::error_handler_t::replace);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace vigil::app
