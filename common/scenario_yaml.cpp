#include "common/scenario_yaml.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.hpp"

namespace vigil::common {

namespace {

namespace d = vigil::decision;

struct parse_error {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& n, std::string message) {
  throw parse_error{n.Mark(), std::move(message)};
}

std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << n;
  return e.c_str();
}

std::string scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(n, what + ": expected a scalar, got " + flow(n));
  return n.Scalar();
}

d::duration dur(const YAML::Node& n, const std::string& what) {
  const auto s = scalar(n, what);
  const auto v = parse_duration(s);
  if (!v) fail(n, what + ": expected a duration like 250ms, 10s or 5m, got '" + s + "'");
  return *v;
}

template <typename E>
E vocab(const YAML::Node& n, const std::string& what) {
  const auto s = scalar(n, what);
  const auto v = d::from_string<E>(s);
  if (!v) fail(n, what + ": unknown value '" + s + "'");
  return *v;
}

void only_keys(const YAML::Node& n, const std::set<std::string>& allowed, const std::string& what) {
  if (!n.IsMap()) fail(n, what + ": expected a mapping, got " + flow(n));
  for (const auto& kv : n) {
    const auto k = kv.first.as<std::string>();
    if (!allowed.contains(k)) {
      std::string list;
      for (const auto& a : allowed)
        list.append(list.empty() ? "" : ", ").append(a);
      fail(kv.first, fmt::format("{}: unknown key '{}' (expected one of: {})", what, k, list));
    }
  }
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(n, what + ": expected a list of names");
  for (const auto& x : n)
    out.push_back(scalar(x, what));
  return out;
}

d::scenario_filter filter(const YAML::Node& n, const std::string& what, const std::set<std::string>& extra) {
  std::set<std::string> keys{"region", "service", "check", "vantages"};
  keys.insert(extra.begin(), extra.end());
  only_keys(n, keys, what);
  d::scenario_filter f;
  if (n["region"]) f.region = scalar(n["region"], what + ".region");
  if (n["service"]) f.service = scalar(n["service"], what + ".service");
  if (n["check"]) f.check = scalar(n["check"], what + ".check");
  if (n["vantages"]) f.vantages = strings(n["vantages"], what + ".vantages");
  return f;
}

bool boolean(const YAML::Node& n, const std::string& what) {
  const auto s = scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  fail(n, what + ": expected true or false, got '" + s + "'");
}

/// standing: {from, to, min_duration, min_vantages, max_lag, hours, uses, signers}
void standing_event(const YAML::Node& body, d::scenario_event& e) {
  e.what = d::scenario_action::standing;
  only_keys(body, {"from", "to", "min_duration", "min_vantages", "max_lag", "hours", "uses", "signers"}, "standing");
  d::standing_conditions c;
  if (body["from"]) c.from = scalar(body["from"], "standing.from");
  if (body["to"]) c.to = scalar(body["to"], "standing.to");
  if (body["min_duration"]) c.min_duration = dur(body["min_duration"], "standing.min_duration");
  if (body["max_lag"]) c.max_lag = dur(body["max_lag"], "standing.max_lag");
  if (body["min_vantages"]) {
    try {
      c.min_vantages = body["min_vantages"].as<int>();
    } catch (const YAML::Exception&) {
      fail(body["min_vantages"], "standing.min_vantages: expected an integer in 1..64");
    }
    if (c.min_vantages < 1 || c.min_vantages > 64) fail(body["min_vantages"], "standing.min_vantages: 1..64");
  }
  if (body["hours"]) {
    c.hours = d::parse_standing_hours(scalar(body["hours"], "standing.hours"));
    if (!c.hours) fail(body["hours"], "standing.hours: expected HH:MM-HH:MM (UTC), two different times");
  }
  if (body["uses"]) {
    try {
      e.uses = body["uses"].as<int>();
    } catch (const YAML::Exception&) {
      fail(body["uses"], "standing.uses: expected an integer in 1..100");
    }
    if (e.uses < 1 || e.uses > 100) fail(body["uses"], "standing.uses: 1..100");
  }
  e.approvers = body["signers"] ? strings(body["signers"], "standing.signers") : std::vector<std::string>{"alice"};
  e.standing = c;
}

d::scenario_event event(const YAML::Node& n) {
  if (!n.IsMap()) fail(n, "events[]: expected a mapping like {at: 60s, fail: {region: us-east-1}}");
  if (!n["at"]) fail(n, "events[]: missing 'at'");
  d::scenario_event e;
  e.line = n.Mark().line + 1;
  e.at = dur(n["at"], "at");
  std::string action;
  YAML::Node body;
  for (const auto& kv : n) {
    const auto k = kv.first.as<std::string>();
    if (k == "at") continue;
    if (!action.empty()) fail(kv.first, fmt::format("events[]: one action per event, got '{}' and '{}'", action, k));
    action = k;
    body = kv.second;
  }
  if (action.empty()) fail(n, "events[]: missing the action (fail, heal, slow, flap, vantage_down, ...)");
  if (action == "fail" || action == "heal" || action == "cert_expiring") {
    e.what = action == "fail"   ? d::scenario_action::fail
             : action == "heal" ? d::scenario_action::heal
                                : d::scenario_action::cert_expiring;
    e.filter = filter(body, action, {});
  } else if (action == "slow") {
    e.what = d::scenario_action::slow;
    e.filter = filter(body, action, {"latency"});
    if (!body["latency"]) fail(body, "slow: missing 'latency'");
    e.latency = dur(body["latency"], "slow.latency");
  } else if (action == "flap") {
    e.what = d::scenario_action::flap;
    e.filter = filter(body, action, {"period"});
    if (body["period"]) e.period = dur(body["period"], "flap.period");
    if (e.period.count() < 200) fail(body, "flap.period: must be at least 200ms");
  } else if (action == "vantage_down" || action == "vantage_up" || action == "isolate" || action == "unisolate") {
    e.what = action == "vantage_down" ? d::scenario_action::vantage_down
             : action == "vantage_up" ? d::scenario_action::vantage_up
             : action == "isolate"    ? d::scenario_action::isolate
                                      : d::scenario_action::unisolate;
    e.vantage = scalar(body, action);
  } else if (action == "lag") {
    e.what = d::scenario_action::lag;
    if (scalar(body, "lag") != "unknown") e.lag = dur(body, "lag");
  } else if (action == "noise") {
    e.what = d::scenario_action::noise;
    only_keys(body, {"probability"}, "noise");
    if (!body["probability"]) fail(body, "noise: missing 'probability'");
    try {
      e.probability = body["probability"].as<double>();
    } catch (const YAML::Exception&) {
      fail(body["probability"], "noise.probability: expected a number in [0, 1]");
    }
    if (!(e.probability >= 0.0 && e.probability <= 1.0))
      fail(body["probability"], "noise.probability: must be in [0, 1]");
  } else if (action == "approve") {
    e.what = d::scenario_action::approve;
    only_keys(body, {"approvers", "allow_data_loss"}, "approve");
    if (!body["approvers"]) fail(body, "approve: missing 'approvers'");
    e.approvers = strings(body["approvers"], "approve.approvers");
    if (body["allow_data_loss"]) e.allow_data_loss = boolean(body["allow_data_loss"], "approve.allow_data_loss");
  } else if (action == "acknowledge") {
    e.what = d::scenario_action::acknowledge;
    if (body.IsMap()) {
      only_keys(body, {"by"}, "acknowledge");
      if (body["by"]) e.by = scalar(body["by"], "acknowledge.by");
    } else {
      e.by = scalar(body, "acknowledge");
    }
  } else if (action == "silence") {
    e.what = d::scenario_action::silence;
    only_keys(body, {"scope", "for", "by"}, "silence");
    if (body["scope"]) e.scope = scalar(body["scope"], "silence.scope");
    if (body["for"]) e.length = dur(body["for"], "silence.for");
    if (body["by"]) e.by = scalar(body["by"], "silence.by");
  } else if (action == "unsilence") {
    e.what = d::scenario_action::unsilence;
  } else if (action == "leader") {
    e.what = d::scenario_action::leader;
    e.flag = boolean(body, "leader");
  } else if (action == "propose") {
    e.what = d::scenario_action::propose;
    e.action = vocab<d::action_kind>(body, "propose");
  } else if (action == "active") {
    e.what = d::scenario_action::active;
    if (body.IsMap()) {
      only_keys(body, {"region"}, "active");
      if (!body["region"]) fail(body, "active: missing 'region'");
      e.filter.region = scalar(body["region"], "active.region");
    } else {
      e.filter.region = scalar(body, "active");
    }
  } else if (action == "standing") {
    standing_event(body, e);
  } else if (action == "revoke_standing") {
    e.what = d::scenario_action::revoke_standing;
  } else if (action == "readiness") {
    // The engine's readiness loop reporting a run of one plan: {ready: false, reason: "...", action: failover}.
    e.what = d::scenario_action::readiness;
    only_keys(body, {"ready", "reason", "action"}, "readiness");
    if (!body["ready"]) fail(body, "readiness: missing 'ready'");
    e.flag = boolean(body["ready"], "readiness.ready");
    if (body["reason"]) e.reason = scalar(body["reason"], "readiness.reason");
    if (body["action"]) e.action = vocab<d::action_kind>(body["action"], "readiness.action");
  } else {
    fail(n, "events[]: unknown action '" + action +
                "' (expected fail, heal, slow, flap, cert_expiring, vantage_down, vantage_up, isolate, unisolate, lag, "
                "noise, "
                "approve, acknowledge, silence, unsilence, leader, propose, active, readiness, standing, "
                "revoke_standing)");
  }
  return e;
}

nlohmann::json to_json_scalar(const YAML::Node& n) {
  if (n.IsNull()) return nullptr;
  const auto s = scalar(n, "recommendation_field");
  if (s == "true") return true;
  if (s == "false") return false;
  if (s == "null" || s == "~") return nullptr;
  try {
    std::size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  return s;
}

int count_of(const YAML::Node& n) {
  const auto c = scalar(n, "count");
  if (c.empty() || c.size() > 4 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    fail(n, "count: expected an integer from 0 to 9999, got '" + c + "'");
  }
  return std::stoi(c);
}

void window(const YAML::Node& n, d::scenario_expect& x) {
  if (n["after"]) x.after = dur(n["after"], "after");
  if (n["within"]) x.within = dur(n["within"], "within");
}

d::scenario_expect expect_body(const YAML::Node& n, bool never) {
  d::scenario_expect x;
  x.line = n.Mark().line + 1;
  x.text = flow(n);
  const std::set<std::string> win = never ? std::set<std::string>{} : std::set<std::string>{"after", "within"};
  auto keys = [&](std::set<std::string> k) {
    k.insert(win.begin(), win.end());
    return k;
  };
  if (n["classification"]) {
    only_keys(n, keys({"classification", "region"}), "classification");
    x.kind = never ? d::expect_kind::never_classification : d::expect_kind::classification;
    x.cls = vocab<d::classification>(n["classification"], "classification");
    if (!n["region"]) fail(n, "classification: missing 'region'");
    x.region = scalar(n["region"], "region");
  } else if (n["recommendation"]) {
    only_keys(n, keys({"recommendation", "state"}), "recommendation");
    x.kind = never ? d::expect_kind::never_recommendation : d::expect_kind::recommendation;
    x.action = vocab<d::action_kind>(n["recommendation"], "recommendation");
    if (n["state"]) x.state = vocab<d::recommendation_state>(n["state"], "state");
  } else if (n["page"]) {
    only_keys(n,
              never ? keys({"page", "region", "vantage", "action", "summary"})
                    : keys({"page", "region", "vantage", "action", "summary", "count"}),
              "page");
    x.kind = never ? d::expect_kind::never_page : d::expect_kind::page;
    x.page = vocab<d::page_kind>(n["page"], "page");
    if (n["region"]) x.region = scalar(n["region"], "region");
    if (n["vantage"]) x.vantage = scalar(n["vantage"], "vantage");
    if (n["action"]) x.action_of_page = vocab<d::page_action>(n["action"], "action");
    if (n["summary"]) x.summary = scalar(n["summary"], "summary");
    if (n["count"]) x.count = count_of(n["count"]);
  } else if (n["approval"]) {
    only_keys(n, keys({"approval", "reason"}), "approval");
    x.kind = never ? d::expect_kind::never_approval : d::expect_kind::approval;
    const auto s = scalar(n["approval"], "approval");
    if (s != "accepted" && s != "rejected") fail(n["approval"], "approval: expected accepted or rejected");
    x.accepted = s == "accepted";
    if (n["reason"]) x.reason = vocab<d::approval_reason>(n["reason"], "reason");
  } else if (n["standing"]) {
    only_keys(n, never ? keys({"standing", "reason"}) : keys({"standing", "reason", "count"}), "standing");
    x.kind = never ? d::expect_kind::never_standing : d::expect_kind::standing;
    x.standing_result = scalar(n["standing"], "standing");
    if (x.standing_result != "armed" && x.standing_result != "held" && x.standing_result != "used" &&
        x.standing_result != "revoked") {
      fail(n["standing"], "standing: expected armed, held, used or revoked");
    }
    if (n["reason"]) {
      x.hold = d::standing_hold_from_string(scalar(n["reason"], "reason"));
      if (!x.hold) fail(n["reason"], "reason: not a standing hold reason (docs/approvals.md)");
    }
    if (n["count"]) x.count = count_of(n["count"]);
  } else if (!never && n["recommendation_field"]) {
    only_keys(n, keys({"recommendation_field"}), "recommendation_field");
    x.kind = d::expect_kind::recommendation_field;
    only_keys(n["recommendation_field"],
              {"allow_data_loss_required", "expected_data_loss_ms", "state", "action", "from", "to", "blocked_by",
               "approvals"},
              "recommendation_field");
    for (const auto& kv : n["recommendation_field"])
      x.fields[kv.first.as<std::string>()] = to_json_scalar(kv.second);
  } else {
    fail(n, std::string(never ? "never" : "expect[]") +
                ": expected one of classification, recommendation, page, approval, standing" +
                (never ? "" : ", recommendation_field, never"));
  }
  if (!never) window(n, x);
  return x;
}

d::scenario_expect expectation(const YAML::Node& n) {
  if (!n.IsMap()) fail(n, "expect[]: expected a mapping");
  if (!n["never"]) return expect_body(n, false);
  only_keys(n, {"never"}, "never");
  const YAML::Node body = n["never"];
  if (body.IsScalar()) {
    if (body.Scalar() != "recommendation") fail(body, "never: a bare value must be 'recommendation'");
    d::scenario_expect x;
    x.kind = d::expect_kind::never_recommendation;
    x.line = n.Mark().line + 1;
    x.text = flow(n);
    return x;
  }
  d::scenario_expect x = expect_body(body, true);
  x.text = flow(n);
  return x;
}

d::scenario parse(const YAML::Node& root, const std::string& file) {
  only_keys(root, {"duration", "seed", "stagger", "events", "expect", "description"}, "scenario");
  d::scenario sc;
  sc.file = file;
  if (!root["duration"]) fail(root, "scenario: missing 'duration'");
  sc.length = dur(root["duration"], "duration");
  if (sc.length.count() <= 0) fail(root["duration"], "duration: must be > 0");
  if (root["seed"]) {
    try {
      sc.seed = root["seed"].as<std::uint64_t>();
    } catch (const YAML::Exception&) {
      fail(root["seed"], "seed: expected a non-negative integer");
    }
  }
  if (root["stagger"]) {
    sc.stagger = dur(root["stagger"], "stagger");
    if (sc.stagger.count() % 100 != 0 || sc.stagger > d::duration{60000}) {
      fail(root["stagger"], "stagger: expected a multiple of 100ms up to 1m (the simulation step is 100ms)");
    }
  }
  if (root["events"]) {
    if (!root["events"].IsSequence()) fail(root["events"], "events: expected a list");
    for (const auto& e : root["events"])
      sc.events.push_back(event(e));
  }
  if (!root["expect"] || !root["expect"].IsSequence() || root["expect"].size() == 0) {
    fail(root, "expect: expected a non-empty list of expectations");
  }
  for (const auto& x : root["expect"])
    sc.expects.push_back(expectation(x));
  return sc;
}

std::string where(const std::string& file, const YAML::Mark& m) {
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

/// Offset of the first byte that is not well-formed UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF included), or npos. YAML streams
/// are Unicode; a stray byte would otherwise reach the JSON timeline and
/// throw when printed.
std::size_t first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80U) || b > (k == 1 ? hi : 0xBFU)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

}  // namespace

scenario_parse_result parse_scenario_text(std::string_view yaml, const std::string& file_name) {
  scenario_parse_result r;
  if (const auto bad = first_invalid_utf8(yaml); bad != std::string_view::npos) {
    const auto before = yaml.substr(0, bad);
    const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const auto nl = before.rfind('\n');
    const auto col = bad - (nl == std::string_view::npos ? 0 : nl + 1) + 1;
    r.error = file_name + ":" + std::to_string(line) + ":" + std::to_string(col) + ": not valid UTF-8";
    return r;
  }
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      r.error = file_name + ":1:1: expected a mapping with duration, events and expect";
      return r;
    }
    r.value = parse(root, file_name);
  } catch (const parse_error& e) {
    r.error = where(file_name, e.mark) + ": " + e.message;
  } catch (const YAML::Exception& e) {
    r.error = where(file_name, e.mark) + ": " + e.msg;
  }
  return r;
}

scenario_parse_result parse_scenario_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {std::nullopt, path + ": cannot read the file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario_text(ss.str(), path);
}

}  // namespace vigil::common
