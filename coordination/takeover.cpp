#include "coordination/takeover.hpp"

#include "common/http_client.hpp"
#include "common/log.hpp"
#include "coordination/shared_sweep.hpp"
#include "decision/vocabulary.hpp"

namespace vigil::coordination {

namespace {

constexpr std::string_view lost_kind = "coordination_lost";

}  // namespace

takeover::takeover(coordinator& coord, const common::clock& clock, takeover_options options, takeover_seams seams)
    : coord_(coord), clock_(clock), options_(std::move(options)), seams_(std::move(seams)) {
  if (options_.shared) {
    claims_ = std::make_unique<page_claimer>(coord_, options_.replica_id, [this](const paging::page& p) {
      if (seams_.submit) seams_.submit(p);
    });
  }
}

void takeover::attach_engine(std::function<bool(const nlohmann::json&)> adopt_continuity,
                             std::function<std::set<std::string>()> open_incident_ids,
                             std::function<bool(const std::string&)> mark_unpaged) {
  seams_.adopt_continuity = std::move(adopt_continuity);
  seams_.open_incident_ids = std::move(open_incident_ids);
  seams_.mark_unpaged = std::move(mark_unpaged);
}

void takeover::adopt(const std::map<std::string, std::string>& claimed) {
  nlohmann::json state;
  try {
    auto got = coord_.get_json(coordination_keys::decision_state);
    if (!got) return;
    state = std::move(*got);
  } catch (const std::exception& e) {
    common::logger("engine")->warn("take-over: decision state not read ({}); continuing with this core's", e.what());
    return;
  }
  if (!state.is_object() || !state.contains("incidents") || !state["incidents"].is_array()) {
    (void)seams_.adopt_continuity(state);  // logged as not adopted
    return;
  }
  std::map<std::string, paging::page> last;  // incident -> its newest claimed page
  for (const auto& [key, raw] : claimed) {
    const auto j = nlohmann::json::parse(raw, nullptr, false);
    if (!j.is_object() || !j.contains("page")) continue;
    try {
      auto p = paging::page_from_json(j["page"]);
      if (p.kind == lost_kind) continue;
      auto& slot = last[p.incident_id];
      if (slot.incident_id.empty() || p.sequence > slot.sequence) slot = std::move(p);
    } catch (const std::exception&) {
      continue;  // reported by take_over
    }
  }
  const auto resolved_last = [&](const std::string& id) {
    const auto it = last.find(id);
    return it != last.end() && it->second.action == paging::page_action::resolve;
  };
  std::set<std::string> known;
  std::set<std::string> taken;  // regions / vantages with an open incident in the state
  nlohmann::json still_open = nlohmann::json::array();
  if (!state.contains("resolved") || !state["resolved"].is_array()) state["resolved"] = nlohmann::json::array();
  for (auto& i : state["incidents"]) {
    const std::string id = i.value("incident_id", std::string{});
    known.insert(id);
    if (resolved_last(id)) {  // its resolve was claimed after the state was stored
      state["resolved"].push_back(id);
      continue;
    }
    // A check warning is keyed by its id: it shares its region with the region's own incident.
    const bool check_warning = i.value("kind", std::string{}) == "check_warning";
    taken.insert(check_warning ? id : i.value("region", std::string{}) + "|" + i.value("vantage", std::string{}));
    still_open.push_back(std::move(i));
  }
  state["incidents"] = std::move(still_open);
  for (const auto& id : state["resolved"])
    if (id.is_string()) known.insert(id.get<std::string>());
  std::map<std::string, nlohmann::json> newest;  // region|vantage -> incident
  for (const auto& [id, p] : last) {
    if (known.contains(id) || p.action == paging::page_action::resolve) continue;
    const auto kind = decision::from_string<decision::page_kind>(p.kind);
    if (!kind) continue;
    const bool vantage = *kind == decision::page_kind::vantage_absent || *kind == decision::page_kind::vantage_impaired;
    const std::string where = vantage                                       ? "|" + p.region
                              : *kind == decision::page_kind::check_warning ? id
                                                                            : p.region + "|";
    if (taken.contains(where)) continue;
    const auto start = p.incident_start.time_since_epoch().count() > 0 ? p.incident_start : p.timestamp;
    nlohmann::json inc{{"incident_id", id},
                       {"kind", p.kind},
                       {"region", vantage ? "" : p.region},
                       {"vantage", vantage ? p.region : ""},
                       {"started_ms", start.time_since_epoch().count()},
                       {"content_key", p.content_key}};
    auto& slot = newest[where];
    if (slot.is_null() || slot["started_ms"].get<std::int64_t>() < inc["started_ms"].get<std::int64_t>()) slot = inc;
  }
  for (auto& [where, inc] : newest) {
    common::logger("page")->info("take-over: incident {} claimed after the last stored decision state: continued",
                                 inc["incident_id"].get<std::string>());
    state["incidents"].push_back(std::move(inc));
  }
  if (seams_.adopt_continuity(state)) common::logger("engine")->info("take-over: decision state adopted");
}

takeover::take_over_counts takeover::take_over() {
  take_over_counts n;
  if (!coord_.is_leader()) return n;
  if (seams_.leadership_gained) seams_.leadership_gained();
  if (!options_.shared) return n;
  std::map<std::string, std::string> claimed;
  try {
    claimed = coord_.list(coordination_keys::outbox_prefix);
  } catch (const std::exception& e) {
    common::logger("page")->warn("take-over: cannot read the shared outbox ({}); held pages wait", e.what());
    return n;
  }
  const bool engine = static_cast<bool>(seams_.adopt_continuity);
  if (engine) adopt(claimed);
  // A held page goes out only if it fits the incidents as adopted: an update
  // of one still open, a resolve of one no longer open. The rest were this
  // replica's own view (another id for the same outage, or an incident the
  // leader resolved) and would open a second incident.
  const auto open = engine ? seams_.open_incident_ids() : std::set<std::string>{};
  const auto mine = claims_->take_held();
  std::vector<paging::page> just_claimed;
  for (const auto& p : mine) {
    if (claimed.contains(coordination_keys::outbox(paging::idempotency_key(p)))) continue;
    const bool resolve = p.action == paging::page_action::resolve;
    if (p.kind != lost_kind && resolve == open.contains(p.incident_id)) {
      ++n.dropped;
      continue;
    }
    if (claims_->send(p) != page_claimer::outcome::already_claimed) just_claimed.push_back(p);
    ++n.sent;
  }
  // An open incident nobody ever paged (the old leader's claim failed, then
  // it died): this core pages it again at its next tick.
  if (engine) {
    for (const auto& id : unpaged_incidents(open, claimed, just_claimed)) {
      if (seams_.mark_unpaged(id)) ++n.repaged;
      common::logger("page")->warn("take-over: incident {} has no page in the shared outbox: paging it", id);
    }
  }
  for (const auto& [key, raw] : claimed) {
    const auto j = nlohmann::json::parse(raw, nullptr, false);
    if (!j.is_object() || j.value("state", std::string{}) != "claimed" || !j.contains("page")) continue;
    try {
      seams_.submit(paging::page_from_json(j["page"]));  // the local outbox drops a page it already has
      ++n.requeued;
    } catch (const std::exception& e) {
      common::logger("page")->warn("take-over: shared outbox entry {} unreadable: {}", key, e.what());
    }
  }
  if (seams_.wake) seams_.wake();
  common::logger("page")->info(
      "{} took over: {} held page(s) sent, {} dropped (not the adopted incidents), {} unfinished claimed page(s) "
      "re-queued, {} unpaged incident(s) paged again",
      options_.replica_id, n.sent, n.dropped, n.requeued, n.repaged);
  return n;
}

void takeover::page(paging::page p) {
  if (!options_.shared) return seams_.submit(p);
  // The leader's page is claimed in the shared outbox (only if absent, under
  // the fencing token) before it is queued, so that one page is sent by one
  // replica only (page_claims.hpp).
  if (!coord_.is_leader()) return claims_->hold(std::move(p));
  (void)claims_->send(p);
}

void takeover::hold(paging::page p) {
  if (claims_) claims_->hold(std::move(p));
}

void takeover::lost_page(paging::page_action action) {
  const auto st = coord_.status();
  paging::page p;
  p.incident_id = options_.deployment + "/coordination-lost";  // one dedup key for every replica
  p.action = action;
  p.timestamp = clock_.wall();
  p.sequence = static_cast<std::uint64_t>(p.timestamp.time_since_epoch().count());
  p.kind = std::string(lost_kind);
  p.severity = paging::page_severity::warning;
  p.summary = action == paging::page_action::resolve ? "coordination restored; a leader can act again"
                                                     : "coordination lost; no replica can act (" + st.detail + ")";
  p.deployment = options_.deployment;
  p.details = {{"replica", options_.replica_id}, {"health", std::string(to_string(st.health))}, {"detail", st.detail}};
  if (seams_.links) {
    for (const auto& l : seams_.links())
      p.links.push_back({l["href"], l["text"]});
  }
  common::logger("coordination")->warn("{}: {}", options_.replica_id, p.summary);
  seams_.submit(p);
}

void takeover::check_health() {
  const auto now = clock_.monotonic();
  if (coord_.health() == coordination_health::lost) {
    if (!lost_since_) lost_since_ = now;
    if (!lost_paged_ && now - *lost_since_ >= options_.lost_grace) {
      lost_page(paging::page_action::trigger);
      lost_paged_ = true;
    }
  } else {
    lost_since_.reset();
    if (lost_paged_) {
      lost_page(paging::page_action::resolve);
      lost_paged_ = false;
    }
    if (!advertised_) advertised_ = coord_.advertise(advertise_url_);
  }
  if (claims_) claims_->retry_pending();
}

void takeover::sweep() {
  const auto now = clock_.monotonic();
  if (!next_sweep_) next_sweep_ = now + options_.sweep_every;  // not at once: a new leader has more urgent work
  if (now < *next_sweep_) return;
  next_sweep_ = now + options_.sweep_every;
  try {
    const auto r = sweep_shared(coord_, clock_.wall());
    if (r.outbox + r.journal + r.steps > 0) {
      common::logger("coordination")
          ->info("retention sweep: {} page claim(s), {} journal record(s), {} step claim(s) erased", r.outbox,
                 r.journal, r.steps);
    }
  } catch (const std::exception& e) {
    common::logger("coordination")->warn("retention sweep failed: {}", e.what());
  }
}

std::optional<nlohmann::json> takeover::follow_step() {
  if (coord_.is_leader()) {
    seen_.clear();
    sweep();
    return std::nullopt;
  }
  next_sweep_.reset();
  try {
    auto raw = coord_.get(coordination_keys::decision_state);
    if (raw && *raw != seen_) {
      seen_ = *raw;
      return nlohmann::json::parse(*raw, nullptr, false);
    }
  } catch (const std::exception& e) {
    common::logger("engine")->debug("decision state not read: {}", e.what());
  }
  return std::nullopt;
}

bool takeover::may_act(const std::string& recommendation_id, const std::string& recommendation_hash, std::size_t index,
                       const std::string& step, int attempt) {
  if (!coord_.is_leader()) return false;
  if (!options_.shared) return true;
  const auto r = coord_.put_json_guarded(coordination_keys::plan_step(recommendation_id, index),
                                         {{"step", step},
                                          {"attempt", attempt},
                                          {"hash", recommendation_hash},
                                          {"replica", options_.replica_id},
                                          {"at", common::format_rfc3339(clock_.wall())}});
  if (r != write_result::ok) {
    common::logger("plan")->warn("step {} of {} not run: its claim was {}", step, recommendation_id, to_string(r));
  }
  return r == write_result::ok;
}

void takeover::mirror_journal(const std::string& hash, std::size_t n, const nlohmann::json& record) {
  std::string idx = std::to_string(n);
  if (idx.size() < 6) idx.insert(0, 6 - idx.size(), '0');
  const auto r = coord_.put_json_guarded(std::string(journal_prefix) + hash + "/" + idx, record, true);
  if (r != write_result::ok) {
    throw std::runtime_error("shared plan journal: record " + idx + " of " + hash + " " + std::string(to_string(r)));
  }
}

std::vector<nlohmann::json> takeover::load_journal() {
  std::vector<nlohmann::json> out;
  for (const auto& [key, raw] : coord_.list(journal_prefix))  // keys sort by plan, then record
    out.push_back(nlohmann::json::parse(raw, nullptr, false));
  return out;
}

paging::delivery_guard takeover::delivery_guard() {
  paging::delivery_guard g;
  g.may_deliver = [this](const paging::page& p) { return p.kind == lost_kind || coord_.is_leader(); };
  g.done = [this](const paging::page& p, const std::string& sink, std::string_view result) {
    if (p.kind == lost_kind) return;
    const nlohmann::json record{{"state", "done"},
                                {"by", options_.replica_id},
                                {"sink", sink},
                                {"result", result},
                                {"page", paging::to_json(p)}};
    const auto key = coordination_keys::outbox(paging::idempotency_key(p));
    // A claim left "claimed" is sent again by the next leader: try a lost
    // answer twice more (the write is idempotent) before giving up.
    auto r = coord_.put_json_guarded(key, record);
    for (int i = 0; i < 2 && r == write_result::unavailable; ++i)
      r = coord_.put_json_guarded(key, record);
    if (r != write_result::ok) {
      common::logger("page")->warn("page {}: could not record '{}' in the shared outbox: {}",
                                   paging::idempotency_key(p), result, to_string(r));
    }
  };
  g.delivered_elsewhere = [this](const paging::page& p, const std::string& sink) {
    if (p.kind == lost_kind) return false;
    try {
      const auto j = coord_.get_json(coordination_keys::outbox(paging::idempotency_key(p)));
      return j && j->is_object() && j->value("state", std::string{}) == "done" &&
             j->value("sink", std::string{}) == sink;
    } catch (const std::exception&) {
      return false;  // unreadable: the claim made before queueing stands
    }
  };
  return g;
}

std::optional<common::http_response> takeover::forward_to_leader(const common::http_request& r) {
  if (!options_.shared || coord_.is_leader()) return std::nullopt;
  const auto st = coord_.status();
  if (!r.header("x-vigil-forwarded-by").empty()) {
    return common::http_response::error(503, "not_leader",
                                        "forwarded here by " + r.header("x-vigil-forwarded-by") +
                                            ", but this replica no longer leads; submit again in a few seconds");
  }
  if (st.health == coordination_health::lost) {
    return common::http_response::error(503, "coordination_lost",
                                        "coordination lost; no replica can act (" + st.detail + ")");
  }
  if (st.leader_id.empty()) {
    return common::http_response::error(503, "no_leader",
                                        "no replica leads right now (an election is under way); submit again "
                                        "in a few seconds");
  }
  const auto leader_url = coord_.replica_url(st.leader_id);
  if (!leader_url) {
    return common::http_response::error(503, "leader_unknown",
                                        "the leader " + st.leader_id + " has not advertised its URL yet");
  }
  common::http_call c;
  c.method = "POST";
  c.url = *leader_url + r.path;
  const std::string ct = r.header("content-type");
  c.headers = {{"Content-Type", ct.empty() ? "text/plain" : ct}, {"X-Vigil-Forwarded-By", options_.replica_id}};
  c.body = r.body;
  c.timeout = std::chrono::milliseconds(5000);
  c.connect_timeout = std::chrono::milliseconds(2000);
  const auto reply = common::http_perform(c);
  if (!reply.transport_ok()) {
    return common::http_response::error(
        502, "leader_unreachable",
        "could not forward to the leader " + st.leader_id + " at " + *leader_url + ": " + reply.error);
  }
  common::http_response out;
  out.status = static_cast<int>(reply.status);
  out.body = reply.body;
  out.headers["X-Vigil-Forwarded-To"] = st.leader_id;
  return out;
}

}  // namespace vigil::coordination
