// Decision state continuity: JSON round trip (continuity.hpp).
#include "decision/continuity.hpp"

#include <stdexcept>

namespace vigil::decision {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument("decision state: " + field + ": " + what);
}

const json& need(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) bad(where + key, "missing");
  return j.at(key);
}

std::string str(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_string()) bad(where + key, "expected a string");
  return v.get<std::string>();
}

bool boolean(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_boolean()) bad(where + key, "expected true or false");
  return v.get<bool>();
}

std::int64_t integer(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_number_integer()) bad(where + key, "expected an integer");
  return v.get<std::int64_t>();
}

time_point at_ms(const json& j, const char* key, const std::string& where) {
  return time_point{duration{integer(j, key, where)}};
}

std::int64_t ms(time_point t) {
  return t.time_since_epoch().count();
}

template <typename E>
E named(const json& j, const char* key, const std::string& where) {
  const std::string s = str(j, key, where);
  const auto v = from_string<E>(s);
  if (!v) bad(where + key, "unknown name '" + s + "'");
  return *v;
}

std::vector<std::string> strings(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_array()) bad(where + key, "expected an array");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) bad(where + key, "expected strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace

json continuity_json(const recommendation& r) {
  json gates = json::array();
  for (const auto& g : r.gates)
    gates.push_back({{"name", to_string(g.name)}, {"ok", g.ok}, {"blocking", g.blocking}});
  return {{"id", r.id},
          {"revision", r.revision},
          {"hash", r.hash},
          {"incident_id", r.incident_id},
          {"action", to_string(r.action)},
          {"from", r.from},
          {"to", r.to},
          {"state", to_string(r.state)},
          {"gates", std::move(gates)},
          {"allow_data_loss_required", r.allow_data_loss_required},
          {"planned", r.planned},
          {"evidence_digest", r.evidence_digest},
          {"evidence", r.evidence},
          {"created_at_ms", ms(r.created_at)},
          {"expires_at_ms", ms(r.expires_at)},
          {"approvers", r.approvers},
          {"used_jti", r.used_jti},
          {"supersedes", r.supersedes},
          {"reason", r.reason},
          {"dry_run", r.dry_run}};
}

recommendation recommendation_from_continuity(const json& j) {
  const std::string w = "recommendation.";
  recommendation r;
  r.id = str(j, "id", w);
  r.revision = static_cast<int>(integer(j, "revision", w));
  r.hash = str(j, "hash", w);
  r.incident_id = str(j, "incident_id", w);
  r.action = named<action_kind>(j, "action", w);
  r.from = str(j, "from", w);
  r.to = str(j, "to", w);
  r.state = named<recommendation_state>(j, "state", w);
  const json& gates = need(j, "gates", w);
  if (!gates.is_array()) bad(w + "gates", "expected an array");
  for (const auto& g : gates) {
    r.gates.push_back({named<gate_name>(g, "name", w + "gates[]."),
                       boolean(g, "ok", w + "gates[]."),
                       boolean(g, "blocking", w + "gates[]."),
                       {}});
  }
  r.allow_data_loss_required = boolean(j, "allow_data_loss_required", w);
  // Absent in records written before plans had a mode: those were unplanned.
  r.planned = j.contains("planned") && boolean(j, "planned", w);
  r.evidence_digest = str(j, "evidence_digest", w);
  r.evidence = need(j, "evidence", w);
  r.created_at = at_ms(j, "created_at_ms", w);
  r.expires_at = at_ms(j, "expires_at_ms", w);
  r.approvers = strings(j, "approvers", w);
  r.used_jti = strings(j, "used_jti", w);
  r.supersedes = str(j, "supersedes", w);
  r.reason = str(j, "reason", w);
  r.dry_run = j.contains("dry_run") && boolean(j, "dry_run", w);  // absent in files written before it existed
  const std::string recorded = r.hash;
  r.rehash();
  if (r.hash != recorded) bad(w + "hash", "the content hashes to " + r.hash + ", not " + recorded);
  return r;
}

json to_json(const active_region& a) {
  return {{"region", a.region},
          {"since_ms", ms(a.since)},
          {"state", to_string(a.state)},
          {"detail", a.detail},
          {"recommendation_id", a.recommendation_id},
          {"approved_by", a.approved_by},
          {"changed_ms", ms(a.changed)}};
}

active_region active_region_from_json(const json& j) {
  const std::string w = "active.";
  active_region a;
  a.region = str(j, "region", w);
  if (a.region.empty()) bad(w + "region", "empty");
  a.since = at_ms(j, "since_ms", w);
  a.state = named<active_mode>(j, "state", w);
  a.detail = str(j, "detail", w);
  a.recommendation_id = str(j, "recommendation_id", w);
  a.approved_by = strings(j, "approved_by", w);
  a.changed = at_ms(j, "changed_ms", w);
  return a;
}

json to_json(const continuity& c) {
  json incidents = json::array();
  for (const auto& i : c.incidents) {
    incidents.push_back({{"incident_id", i.incident_id},
                         {"kind", to_string(i.kind)},
                         {"region", i.region},
                         {"vantage", i.vantage},
                         {"started_ms", ms(i.started)},
                         {"content_key", i.content_key}});
  }
  json cooldown{{"acknowledged", c.cooldown_acknowledged}, {"acknowledged_by", c.cooldown_acknowledged_by}};
  cooldown["last_failover_ms"] = c.last_failover ? json(ms(*c.last_failover)) : json(nullptr);
  json out{{"incidents", std::move(incidents)},
           {"resolved", c.resolved},
           {"recommendation", c.rec ? continuity_json(*c.rec) : json(nullptr)},
           {"cooldown", std::move(cooldown)}};
  if (c.active) out["active"] = to_json(*c.active);
  return out;
}

continuity continuity_from_json(const json& j) {
  if (!j.is_object()) bad("(document)", "expected an object");
  continuity c;
  const json& incidents = need(j, "incidents", "");
  if (!incidents.is_array()) bad("incidents", "expected an array");
  for (const auto& i : incidents) {
    const std::string w = "incidents[].";
    open_incident inc;
    inc.incident_id = str(i, "incident_id", w);
    inc.kind = named<page_kind>(i, "kind", w);
    inc.region = str(i, "region", w);
    inc.vantage = str(i, "vantage", w);
    inc.started = at_ms(i, "started_ms", w);
    inc.content_key = str(i, "content_key", w);
    c.incidents.push_back(std::move(inc));
  }
  c.resolved = strings(j, "resolved", "");
  if (const json& r = need(j, "recommendation", ""); !r.is_null()) c.rec = recommendation_from_continuity(r);
  const json& cd = need(j, "cooldown", "");
  c.cooldown_acknowledged = boolean(cd, "acknowledged", "cooldown.");
  c.cooldown_acknowledged_by = str(cd, "acknowledged_by", "cooldown.");
  if (!need(cd, "last_failover_ms", "cooldown.").is_null()) {
    c.last_failover = at_ms(cd, "last_failover_ms", "cooldown.");
  }
  if (j.contains("active") && !j["active"].is_null()) c.active = active_region_from_json(j["active"]);
  return c;
}

}  // namespace vigil::decision
