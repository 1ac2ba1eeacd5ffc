// libFuzzer target: an action-sequence fuzzer of decision::core.
// The input is decoded as a sequence of operations (ingest with any vantage,
// check and outcome, vantage_report, lag, tick with increasing time, approve
// with arbitrary fields, acknowledge, silence, leadership, propose, plan
// progress). After every step the harness checks:
//  - the core never throws;
//  - never two open (blocked|pending_approval) recommendations;
//  - a recommendation is pending_approval only while every blocking gate in
//    it passes, and after a tick never while this replica is not the leader
//    or a silence covers the regions;
//  - execute_plan is emitted only for an accepted approval, never while not
//    the leader or silenced;
//  - every event's to_json and the snapshot's to_json carry only vocabulary
//    values where a vocabulary applies; hashes are 64 lowercase hex chars.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "decision/core.hpp"

namespace {

using namespace vigil::decision;

[[noreturn]] void fail(const std::string& what, const nlohmann::json& j = nullptr) {
  std::fprintf(stderr, "core_actions_fuzz: invariant violated: %s\n%s\n", what.c_str(), j.dump(2).c_str());
  std::abort();
}

template <std::size_t N>
void in_vocab(const nlohmann::json& j, const char* key, const std::array<std::string_view, N>& names,
              const nlohmann::json& ctx) {
  if (!j.contains(key)) fail(std::string("missing key ") + key, ctx);
  const auto& v = j.at(key);
  if (!v.is_string()) fail(std::string("non-string ") + key, ctx);
  const auto s = v.get<std::string>();
  for (const auto n : names) {
    if (n == s) return;
  }
  fail(std::string("not in the vocabulary: ") + key + " = " + s, ctx);
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_evidence_checks(const nlohmann::json& ev, const nlohmann::json& ctx) {
  if (!ev.is_object()) return;
  if (ev.contains("raw")) in_vocab(ev, "raw", classification_names, ctx);
  if (ev.contains("services")) {
    for (const auto& [name, st] : ev.at("services").items()) {
      nlohmann::json x{{"state", st}};
      in_vocab(x, "state", verdict_names, ctx);
    }
  }
  if (!ev.contains("checks")) return;
  for (const auto& c : ev.at("checks")) {
    in_vocab(c, "state", verdict_names, ctx);
    in_vocab(c, "role", check_role_names, ctx);
    for (const auto& [v, st] : c.at("by_vantage").items()) {
      const auto s = st.get<std::string>();
      bool ok = false;
      for (const auto n : verdict_names)
        ok = ok || n == s;
      for (const auto n : vantage_state_names)
        ok = ok || n == s;
      if (!ok) fail("by_vantage value " + s, ctx);
    }
  }
}

void check_rec_json(const nlohmann::json& r, const nlohmann::json& ctx) {
  in_vocab(r, "state", recommendation_state_names, ctx);
  in_vocab(r, "action", action_names, ctx);
  if (!is_hex64(r.at("hash").get<std::string>())) fail("hash not 64 hex", ctx);
  if (!is_hex64(r.at("evidence_digest").get<std::string>())) fail("evidence_digest not 64 hex", ctx);
  for (const auto& g : r.at("gates"))
    in_vocab(g, "name", gate_names, ctx);
  if (r.contains("blocked_by")) in_vocab(r, "blocked_by", gate_names, ctx);
  if (r.at("evidence").contains("primary")) {
    in_vocab(r.at("evidence").at("primary"), "classification", classification_names, ctx);
    in_vocab(r.at("evidence").at("dr"), "classification", classification_names, ctx);
  }
}

constexpr std::array<std::string_view, 11> audit_kinds{"classification", "vantage", "gates", "recommendation",
                                                       "approval",       "page",    "plan",  "cooldown",
                                                       "silence",        "lag",     "leader"};

void check_event_json(const nlohmann::json& j) {
  const auto type = j.at("type").get<std::string>();
  if (type == "classification") {
    in_vocab(j, "from", classification_names, j);
    in_vocab(j, "to", classification_names, j);
    check_evidence_checks(j.at("evidence"), j);
  } else if (type == "page") {
    in_vocab(j, "kind", page_kind_names, j);
    in_vocab(j, "action", page_action_names, j);
    in_vocab(j, "severity", severity_names, j);
  } else if (type == "recommendation") {
    check_rec_json(j.at("recommendation"), j);
  } else if (type == "approval") {
    in_vocab(j, "reason", approval_reason_names, j);
  } else if (type == "execute_plan") {
    in_vocab(j, "action", action_names, j);
    if (!is_hex64(j.at("recommendation_hash").get<std::string>())) fail("execute_plan hash not 64 hex", j);
  } else if (type == "audit") {
    in_vocab(j, "kind", audit_kinds, j);
  } else {
    fail("unknown event type " + type, j);
  }
}

void check_snapshot_json(const nlohmann::json& j) {
  for (const auto& [name, r] : j.at("regions").items()) {
    in_vocab(r, "role", region_role_names, j);
    in_vocab(r, "classification", classification_names, j);
    in_vocab(r, "raw", classification_names, j);
  }
  for (const auto& [name, v] : j.at("vantages").items())
    in_vocab(v, "state", vantage_state_names, j);
  for (const auto& c : j.at("checks")) {
    in_vocab(c, "state", verdict_names, j);
    in_vocab(c, "role", check_role_names, j);
  }
  if (!j.at("incident").is_null()) in_vocab(j.at("incident"), "classification", classification_names, j);
  if (!j.at("recommendation").is_null()) check_rec_json(j.at("recommendation"), j);
}

topology make_topology(std::uint8_t knobs) {
  topology t;
  t.deployment = "fuzz";
  t.regions = {{"us-east-1", region_role::primary, {}, {}}, {"us-west-2", region_role::dr, {}, {}}};
  t.vantages = {"us-east-1", "us-west-2", "eu-west-1"};
  for (region_index r = 0; r < 2; ++r) {
    for (const char* s : {"api", "web"}) {
      std::string id = s;
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(check_info{id, r, s, 0, false, check_role::classify, duration{2000}});
    }
    std::string rid = "alb@";
    rid += t.regions[r].name;
    t.checks.push_back(check_info{rid, r, "alb", 0, true, check_role::classify, duration{2000}});
    std::string gid = "db@";
    gid += t.regions[r].name;
    t.checks.push_back(check_info{gid, r, "db", 0, false, check_role::gate, duration{2000}});
  }
  t.p.approvals_required = 1 + (knobs & 1U);
  t.p.quorum = static_cast<int>((knobs >> 1U) % 4U);  // 0 = majority
  t.p.lag_source_configured = (knobs & 8U) == 0;
  t.p.clear_for = duration{(knobs & 16U) != 0 ? 5000 : 30000};
  t.p.recommendation_ttl = duration{(knobs & 32U) != 0 ? 20000 : 1800000};
  t.p.cooldown = duration{(knobs & 64U) != 0 ? 10000 : 3600000};
  t.index();
  return t;
}

class reader {
 public:
  reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool more() const { return i_ < n_; }
  std::uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8U)); }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

struct harness {
  explicit harness(std::uint8_t knobs) : topo(make_topology(knobs)), c(topo) {}

  topology topo;
  core c;
  time_point now{std::chrono::milliseconds{1'795'000'000'000}};
  bool leader = false;
  std::map<std::string, silence_spec> silences;
  std::map<std::string, recommendation_state> rec_states;
  bool last_approval_accepted = false;

  [[nodiscard]] bool silenced() const {
    for (const auto& [id, s] : silences) {
      if (s.until > now && (s.scope.empty() || s.scope == "us-east-1" || s.scope == "us-west-2")) return true;
    }
    return false;
  }

  void drain() {
    for (const auto& e : c.take_output()) {
      const nlohmann::json j = to_json(e);
      check_event_json(j);
      if (const auto* r = std::get_if<recommendation_changed>(&e)) {
        // A new revision names the one it replaces: that one is closed.
        if (!r->rec.supersedes.empty()) rec_states.erase(r->rec.supersedes);
        rec_states[r->rec.id] = r->rec.state;
        if (r->rec.state == recommendation_state::pending_approval && !r->rec.gates_pass()) {
          fail("pending_approval while a blocking gate fails", j);
        }
        recommendation again = r->rec;
        again.rehash();
        if (again.hash != r->rec.hash) fail("hash does not cover the content shown", j);
      }
      if (std::holds_alternative<execute_plan>(e)) {
        if (!last_approval_accepted) fail("execute_plan without an accepted approval", j);
        if (!leader) fail("execute_plan while not the leader", j);
        if (silenced()) fail("execute_plan while silenced", j);
      }
    }
    int open = 0;
    for (const auto& [id, st] : rec_states)
      open += is_open(st) ? 1 : 0;
    if (open > 1) fail("two open recommendations", nlohmann::json(rec_states));
  }

  void after_tick() {
    const auto s = c.status();
    if (s.rec && s.rec->state == recommendation_state::pending_approval) {
      if (!s.rec->gates_pass()) fail("snapshot: pending_approval while a blocking gate fails", to_json(s));
      if (!leader) fail("snapshot: pending_approval while not the leader", to_json(s));
      if (silenced()) fail("snapshot: pending_approval while silenced", to_json(s));
    }
  }

  std::string rec_id(std::uint8_t b) const {
    const auto r = c.current_recommendation();
    if (r && (b & 3U) != 0) return r->id;
    if (!rec_states.empty() && (b & 4U) != 0) return rec_states.begin()->first;
    return "failover-us-east-1-garbage-r" + std::to_string(b >> 3U);
  }

  void step(reader& in) {
    const std::uint8_t op = in.byte();
    last_approval_accepted = false;
    switch (op % 15U) {
      case 0:
      case 1: {  // one observation (indices up to 2 past the end: the drop path)
        const auto v = static_cast<vantage_index>(in.byte() % (topo.vantages.size() + 2));
        const auto k = static_cast<check_index>(in.byte() % (topo.checks.size() + 2));
        const auto o = static_cast<outcome>(in.byte() % outcome_count);
        const auto back = duration{in.byte() * 50};
        c.ingest(observation{v, k, now - back, o, static_cast<float>(in.byte()) * 10.0F});
        break;
      }
      case 2: {  // a probe round: every vantage, every check, failure pattern from the bits
        const std::uint8_t fail_mask = in.byte();  // bit v: vantage v fails the primary; bit 3+v: the dr
        const std::uint8_t absent = in.byte();
        for (std::size_t vi = 0; vi < topo.vantages.size(); ++vi) {
          const auto v = static_cast<vantage_index>(vi);
          if ((absent >> v) & 1U) continue;
          for (check_index k = 0; k < topo.checks.size(); ++k) {
            const unsigned bit = topo.checks[k].region == topo.primary() ? v : 3U + v;
            const bool failing = ((fail_mask >> bit) & 1U) != 0;
            c.ingest(observation{v, k, now, failing ? outcome::timeout : outcome::ok, 20.0F});
          }
          c.vantage_report(v, now);
        }
        break;
      }
      case 3:
        c.vantage_report(static_cast<vantage_index>(in.byte() % 5U), now - duration{in.byte() * 100});
        break;
      case 4: {
        const std::uint8_t b = in.byte();
        c.ingest_lag(lag_sample{now - duration{(b & 7U) * 1000},
                                (b & 8U) != 0 ? std::optional<duration>{} : duration{in.u16()}, std::nullopt});
        break;
      }
      case 5:
      case 6: {  // tick, time moves forward (sometimes a lot)
        const std::uint8_t b = in.byte();
        now += (b & 0x80U) != 0 ? duration{(b & 0x7FU) * 60000} : duration{b * 100};
        c.tick(now);
        drain();
        after_tick();
        break;
      }
      case 7: {  // approve with arbitrary fields
        const std::uint8_t b = in.byte();
        const auto r = c.current_recommendation();
        verified_approval a;
        a.recommendation_id = rec_id(b);
        a.recommendation_hash = (r && (b & 8U) == 0) ? r->hash : std::string(64, 'a');
        a.approver = std::string(1, static_cast<char>('a' + (in.byte() % 3U)));
        a.jti = "j" + std::to_string(in.byte() % 8U);
        a.allow_data_loss = (b & 16U) != 0;
        a.issued_at = now;
        a.expires_at = now + duration{static_cast<std::int64_t>(in.byte()) * 1000 - 10000};
        const auto res = c.approve(a, now);
        last_approval_accepted = res.accepted;
        if (res.execute && !res.accepted) fail("execute without acceptance");
        if (res.accepted) {
          const auto cur = c.current_recommendation();
          if (!cur || !cur->gates_pass()) fail("approval accepted while a blocking gate fails");
        }
        break;
      }
      case 8:
        c.acknowledge_cooldown("op" + std::to_string(in.byte() % 2U), now);
        break;
      case 9: {
        const std::uint8_t b = in.byte();
        silence_spec s{"s" + std::to_string(b % 3U), (b & 4U) != 0 ? "" : ((b & 8U) != 0 ? "us-east-1" : "elsewhere"),
                       "op", "fuzz", now + duration{static_cast<std::int64_t>(in.byte()) * 1000}};
        silences[s.id] = s;
        c.silence(s, now);
        break;
      }
      case 10: {
        const std::string id = "s" + std::to_string(in.byte() % 3U);
        silences.erase(id);
        (void)c.unsilence(id, now);
        break;
      }
      case 11:
        leader = (in.byte() & 1U) != 0;
        c.set_leader(leader);
        break;
      case 12:
        (void)c.propose((in.byte() & 1U) != 0 ? action_kind::failback : action_kind::failover, "op", now);
        break;
      case 13: {
        const std::uint8_t b = in.byte();
        const std::string id = rec_id(b);
        switch ((b >> 3U) % 3U) {
          case 0:
            c.plan_started(id, now);
            break;
          case 1:
            c.plan_step(id, "step" + std::to_string(b % 4U), "ok", now);
            break;
          default:
            c.plan_finished(id, (b & 0x80U) != 0, "fuzz", now);
            break;
        }
        break;
      }
      default: {  // status must always serialise within the vocabulary
        check_snapshot_json(to_json(c.status()));
        break;
      }
    }
    drain();
  }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming) // libFuzzer's entry point: the name is its ABI
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  reader in(data, size);
  try {
    harness h(in.byte());
    while (in.more())
      h.step(in);
    check_snapshot_json(to_json(h.c.status()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "core_actions_fuzz: the core threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
