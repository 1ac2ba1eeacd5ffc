#include "common/batch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/crypto.hpp"

namespace vigil::common {

using nlohmann::json;

std::string_view to_string(batch_rejection r) {
  switch (r) {
    case batch_rejection::missing_signature:
      return "missing_signature";
    case batch_rejection::bad_signature:
      return "bad_signature";
    case batch_rejection::bad_timestamp:
      return "bad_timestamp";
    case batch_rejection::stale_timestamp:
      return "stale_timestamp";
    case batch_rejection::future_timestamp:
      return "future_timestamp";
    case batch_rejection::non_increasing_seq:
      return "non_increasing_seq";
    case batch_rejection::bad_json:
      return "bad_json";
    case batch_rejection::bad_schema:
      return "bad_schema";
    case batch_rejection::too_large:
      return "too_large";
    case batch_rejection::unknown_vantage:
      return "unknown_vantage";
    case batch_rejection::unknown_region:
      return "unknown_region";
  }
  return "bad_schema";
}

std::string serialize_batch(const batch& b) {
  // Written item by item rather than as one json document: a batch of 1,000
  // observations as a DOM is about 1 MB of small allocations on the sender's
  // thread every flush, which stayed resident in that thread's malloc arena
  // (bench/RESULTS.md, agent RSS). The bytes are the same as json{...}.dump():
  // keys in the sorted order nlohmann's object uses, each item dumped alone.
  std::string out;
  out.reserve(64 + b.observations.size() * 128 + b.lag.size() * 64);
  out += R"({"lag":[)";
  for (std::size_t i = 0; i < b.lag.size(); ++i) {
    const auto& l = b.lag[i];
    if (i > 0) out += ',';
    json item{{"at", l.at_ms}, {"lag_ms", l.lag_ms ? json(*l.lag_ms) : json(nullptr)}, {"error", l.error}};
    if (!l.region.empty()) item["region"] = l.region;
    out += item.dump();
  }
  out += R"(],"observations":[)";
  for (std::size_t i = 0; i < b.observations.size(); ++i) {
    const auto& o = b.observations[i];
    if (i > 0) out += ',';
    json j{{"check", o.check},           {"at", o.at_ms},           {"outcome", decision::to_string(o.result)},
           {"latency_ms", o.latency_ms}, {"status", o.http_status}, {"value", o.value ? json(*o.value) : json(nullptr)},
           {"detail", o.detail}};
    if (o.warning != decision::outcome::ok) j["warning"] = decision::to_string(o.warning);
    if (o.fast) j["fast"] = true;
    out += j.dump();
  }
  out += R"(],"sent_at":)";
  out += json(b.sent_at_ms).dump();
  out += R"(,"seq":)";
  out += json(b.seq).dump();
  out += R"(,"v":1,"vantage":)";
  out += json(b.vantage).dump();
  out += '}';
  return out;
}

namespace {

/// A probe's latency above a day is not a measurement.
constexpr double max_latency_ms = 86'400'000.0;
/// Nor is a replication lag above 30 days.
constexpr std::int64_t max_lag_ms = std::int64_t{30} * 86'400'000;

struct schema_error {
  std::string message;
};

const json& field(const json& obj, const char* name, const std::string& path) {
  const auto it = obj.find(name);
  if (it == obj.end()) throw schema_error{path + "." + name + ": missing"};
  return *it;
}

std::int64_t get_int(const json& obj, const char* name, const std::string& path) {
  const json& v = field(obj, name, path);
  if (!v.is_number_integer()) throw schema_error{path + "." + name + ": expected an integer"};
  return v.get<std::int64_t>();
}

std::string get_string(const json& obj, const char* name, const std::string& path, std::size_t max) {
  const json& v = field(obj, name, path);
  if (!v.is_string()) throw schema_error{path + "." + name + ": expected a string"};
  auto s = v.get<std::string>();
  if (s.size() > max) throw schema_error{path + "." + name + ": longer than " + std::to_string(max) + " bytes"};
  return s;
}

double get_finite(const json& obj, const char* name, const std::string& path, double max) {
  const json& v = field(obj, name, path);
  if (!v.is_number()) throw schema_error{path + "." + name + ": expected a number"};
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < 0 || d > max) {
    throw schema_error{fmt::format("{}.{}: expected a finite number in [0, {}]", path, name, max)};
  }
  return d;
}

/// Finds the first key repeated inside one JSON object (nlohmann keeps the
/// last silently; a signed batch must mean one thing).
struct duplicate_keys {
  std::vector<std::string> keys;     ///< of the objects open, innermost last
  std::vector<std::size_t> starts;   ///< where each open object's keys begin
  std::optional<std::string> first;  ///< the first duplicate seen
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        starts.push_back(keys.size());
        break;
      case json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        const auto from = keys.begin() + static_cast<std::ptrdiff_t>(starts.empty() ? 0 : starts.back());
        if (!first && std::find(from, keys.end(), k) != keys.end()) first = k;
        keys.push_back(k);
        break;
      }
      case json::parse_event_t::object_end:
        if (!starts.empty()) {
          keys.resize(starts.back());
          starts.pop_back();
        }
        break;
      default:
        break;
    }
    return true;
  }
};

}  // namespace

batch_parse_result parse_batch(std::string_view body, const batch_limits& limits) {
  batch_parse_result r;
  duplicate_keys dups;
  json doc = json::parse(
      body.begin(), body.end(), [&dups](int d, json::parse_event_t e, json& j) { return dups(d, e, j); }, false);
  if (doc.is_discarded()) {
    r.reason = batch_rejection::bad_json;
    r.message = "body is not valid JSON";
    return r;
  }
  if (dups.first) {
    r.reason = batch_rejection::bad_json;
    r.message = "duplicate key \"" + dups.first->substr(0, 64) + "\" in an object";
    return r;
  }
  try {
    if (!doc.is_object()) throw schema_error{"$: expected an object"};
    if (get_int(doc, "v", "$") != 1) throw schema_error{"$.v: unsupported batch version (expected 1)"};
    batch b;
    b.vantage = get_string(doc, "vantage", "$", limits.max_name_bytes);
    const std::int64_t seq = get_int(doc, "seq", "$");
    if (seq < 0) throw schema_error{"$.seq: expected >= 0"};
    b.seq = static_cast<std::uint64_t>(seq);
    b.sent_at_ms = get_int(doc, "sent_at", "$");
    const json& obs = field(doc, "observations", "$");
    if (!obs.is_array()) throw schema_error{"$.observations: expected an array"};
    if (obs.size() > limits.max_observations) {
      r.reason = batch_rejection::too_large;
      r.message = "$.observations: more than " + std::to_string(limits.max_observations) + " entries";
      return r;
    }
    b.observations.reserve(obs.size());
    for (std::size_t i = 0; i < obs.size(); ++i) {
      const std::string path = "$.observations[" + std::to_string(i) + "]";
      const json& o = obs[i];
      if (!o.is_object()) throw schema_error{path + ": expected an object"};
      wire_observation w;
      w.check = get_string(o, "check", path, limits.max_name_bytes);
      w.at_ms = get_int(o, "at", path);
      const auto name = get_string(o, "outcome", path, 64);
      const auto oc = decision::outcome_from_string(name);
      if (!oc) throw schema_error{fmt::format("{}.outcome: unknown outcome '{}'", path, name)};
      w.result = *oc;
      w.latency_ms = get_finite(o, "latency_ms", path, max_latency_ms);
      if (const auto st = o.find("status"); st != o.end() && !st->is_null()) {
        // 0: no status read; else the three digits of an HTTP status line.
        if (!st->is_number_integer() || st->get<std::int64_t>() < 0 || st->get<std::int64_t>() > 999 ||
            (st->get<std::int64_t>() > 0 && st->get<std::int64_t>() < 100)) {
          throw schema_error{path + ".status: expected 0 or an integer in [100, 999]"};
        }
        w.http_status = st->get<int>();
      }
      if (const auto v = o.find("value"); v != o.end() && !v->is_null()) {
        if (!v->is_number() || !std::isfinite(v->get<double>())) throw schema_error{path + ".value: expected a number"};
        w.value = v->get<double>();
      }
      if (const auto d = o.find("detail"); d != o.end() && !d->is_null()) {
        if (!d->is_string()) throw schema_error{path + ".detail: expected a string"};
        w.detail = d->get<std::string>().substr(0, limits.max_detail_bytes);
      }
      if (const auto x = o.find("warning"); x != o.end() && !x->is_null()) {
        const auto warned = x->is_string() ? decision::outcome_from_string(x->get<std::string>()) : std::nullopt;
        if (!warned) throw schema_error{path + ".warning: expected an outcome name"};
        w.warning = *warned;
      }
      if (const auto f = o.find("fast"); f != o.end() && !f->is_null()) {
        if (!f->is_boolean()) throw schema_error{path + ".fast: expected true or false"};
        w.fast = f->get<bool>();
      }
      b.observations.push_back(std::move(w));
    }
    if (const auto lag = doc.find("lag"); lag != doc.end() && !lag->is_null()) {
      if (!lag->is_array() || lag->size() > 1000) throw schema_error{"$.lag: expected an array of at most 1000"};
      for (std::size_t i = 0; i < lag->size(); ++i) {
        const std::string path = "$.lag[" + std::to_string(i) + "]";
        const json& l = (*lag)[i];
        if (!l.is_object()) throw schema_error{path + ": expected an object"};
        wire_lag w;
        w.at_ms = get_int(l, "at", path);
        if (const auto v = l.find("lag_ms"); v != l.end() && !v->is_null()) {
          if (!v->is_number_integer() || v->get<std::int64_t>() < 0 || v->get<std::int64_t>() > max_lag_ms) {
            throw schema_error{path + ".lag_ms: expected an integer in [0, " + std::to_string(max_lag_ms) +
                               "] or null"};
          }
          w.lag_ms = v->get<std::int64_t>();
        }
        if (const auto e = l.find("error"); e != l.end() && e->is_string()) {
          w.error = e->get<std::string>().substr(0, limits.max_detail_bytes);
        }
        if (const auto g = l.find("region"); g != l.end() && !g->is_null()) {
          if (!g->is_string() || g->get_ref<const std::string&>().empty() ||
              g->get_ref<const std::string&>().size() > limits.max_name_bytes) {
            throw schema_error{path + ".region: expected a region name of 1 to " +
                               std::to_string(limits.max_name_bytes) + " bytes"};
          }
          w.region = g->get<std::string>();
        }
        b.lag.push_back(std::move(w));
      }
    }
    r.value = std::move(b);
  } catch (const schema_error& e) {
    r.reason = batch_rejection::bad_schema;
    r.message = e.message;
  } catch (const json::exception& e) {
    r.reason = batch_rejection::bad_schema;
    r.message = std::string("$: ") + e.what();
  }
  return r;
}

std::string sign_batch(std::string_view key, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(key, body);
}

bool verify_batch_signature(std::string_view key, std::string_view body, std::string_view header) {
  return constant_time_equal(sign_batch(key, body), header);
}

}  // namespace vigil::common
