#include "app/status_view.hpp"

#include <algorithm>
#include <array>
#include <charconv>
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

bool needs_escape(char c) {
  return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

/// `s` as a JSON string. Names reaching here are validated config names;
/// quotes, backslashes and control characters are escaped all the same. The
/// runs between such characters (usually the whole string) are appended at once.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf.data();
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_int(std::string& out, int v) {
  std::array<char, 16> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
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
  // `"name":` of each vantage, once.
  std::vector<std::string> vantage_keys;
  for (const auto& v : snap.vantages) {
    vantage_keys.emplace_back();
    append_string(vantage_keys.back(), v.name);
    vantage_keys.back() += ':';
  }
  bool first = true;
  for (const auto& c : snap.checks) {
    // Keys in the order nlohmann's object uses (sorted), as before.
    out += first ? R"({"by_vantage":{)" : R"(,{"by_vantage":{)";
    first = false;
    for (std::size_t v = 0; v < c.by_vantage.size() && v < snap.vantages.size(); ++v) {
      if (v > 0) out += ',';
      out += vantage_keys[v];
      append_string(out, c.by_vantage[v]);
    }
    out += R"(},"id":)";
    append_string(out, c.id);
    out += R"(,"last_failure":)";
    const auto it = last_failures.empty() ? last_failures.end() : last_failures.find(c.id);
    out += it == last_failures.end() ? "{}" : it->second.dump(-1, ' ', false, json::error_handler_t::replace);
    out += R"(,"region":)";
    append_string(out, c.region);
    out += R"(,"role":)";
    append_string(out, decision::to_string(c.role));
    out += c.region_scope ? R"(,"scope":"region","service":)" : R"(,"scope":"service","service":)";
    append_string(out, c.service);
    out += R"(,"state":)";
    append_string(out, decision::to_string(c.state));
    out += R"(,"votes":{"down":)";
    append_int(out, c.down);
    out += R"(,"unknown":)";
    append_int(out, c.unknown);
    out += R"(,"up":)";
    append_int(out, c.up);
    out += R"(},"warn":)";
    const auto w = last_warnings.empty() ? last_warnings.end() : last_warnings.find(c.id);
    out += w == last_warnings.end() ? "{}" : json(w->second).dump(-1, ' ', false, json::error_handler_t::replace);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace vigil::app
