#include "app/services.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <thread>

#include "approvals/approval.hpp"
#include "approvals/approval_hook.hpp"
#include "approvals/jti_ledger.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"
#include "common/waiter.hpp"
#include "coordination/coordination_runner.hpp"
#include "coordination/page_claims.hpp"
#include "coordination/shared_sweep.hpp"
#include "decision/time_format.hpp"
#include "paging/outbox.hpp"
#include "paging/pager.hpp"
#include "paging/pager_worker.hpp"

namespace vigil::app {

namespace {

std::vector<std::string> sink_names(const std::vector<std::unique_ptr<paging::page_sink>>& sinks) {
  std::vector<std::string> out;
  out.reserve(sinks.size());
  for (const auto& s : sinks)
    out.push_back(s->name());
  return out;
}

}  // namespace

nlohmann::json page_links(const common::config& cfg, const std::string& engine_url, bool with_recommendation) {
  const std::string base = cfg.engine.public_url.empty() ? engine_url : cfg.engine.public_url;
  auto links = nlohmann::json::array({{{"href", base + "/"}, {"text", "vigil status page"}}});
  if (with_recommendation) {
    links.push_back({{"href", base + "/v1/recommendation"}, {"text", "current recommendation (JSON)"}});
    links.push_back(
        {{"href", base + "/v1/recommendation"}, {"text", "approve: vigil approve --key YOU.key --engine " + base}});
  }
  if (!cfg.engine.runbook_url.empty()) links.push_back({{"href", cfg.engine.runbook_url}, {"text", "runbook"}});
  if (!cfg.engine.dashboard_url.empty()) links.push_back({{"href", cfg.engine.dashboard_url}, {"text", "dashboard"}});
  return links;
}

struct engine_services::impl {
  boost::asio::io_context& io;
  const common::config& cfg;
  const common::clock& clock;
  std::string replica_id;
  /// The coordinator (coordination.backend): who leads, the fencing-guarded
  /// shared state and the shared jti ledger (docs/ha.md).
  std::unique_ptr<coordination::coordinator> coord;
  bool shared = false;                                 ///< etcd: several replicas share state; file: single node
  std::unique_ptr<approvals::file_jti_ledger> ledger;  ///< file backend: the single node's ledger
  std::unique_ptr<approvals::approval_metrics> approval_metrics;
  std::unique_ptr<approvals::approval_verifier> verifier;
  std::vector<std::string> sinks;
  std::unique_ptr<paging::page_outbox> outbox;
  std::unique_ptr<paging::pager_metrics> pager_metrics;
  common::cv_waiter waiter;
  std::unique_ptr<paging::page_dispatcher> dispatcher;
  actuators::plan_runner runner;
  std::unique_ptr<coordination::coordination_runner> coord_runner;
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  // io thread
  engine* eng = nullptr;
  std::string url;            ///< this replica's API, for page links
  std::string advertise_url;  ///< where the other replicas reach this one
  bool advertised = false;
  /// The leader's claims in the shared outbox; pages held while following.
  std::unique_ptr<coordination::page_claimer> claims;
  boost::asio::steady_timer health_timer;
  std::optional<common::mono_time> lost_since;
  bool lost_paged = false;
  std::optional<coordination::write_result> last_store;  ///< the last decision state write's outcome, for logs
  // follower: the thread that reads the leader's decision state
  std::thread state_thread;
  std::mutex state_mu;
  std::condition_variable state_cv;
  bool state_stop = false;

  /// The shared plan journal: journal/<hash>/<record, 6 digits>.
  static constexpr std::string_view journal_prefix = "journal/";

  impl(boost::asio::io_context& ctx, const common::config& c, const common::clock& clk, prometheus::Registry& reg,
       actuators::plan_runner::line_fn print, std::string replica)
      : io(ctx),
        cfg(c),
        clock(clk),
        replica_id(std::move(replica)),
        coord(make_coord(c, replica_id, clk, reg)),
        shared(c.coordination.backend == common::coordination_backend::etcd),
        runner(ctx, c, std::chrono::milliseconds(200), std::move(print), runner_options(reg, clk)),
        health_timer(ctx) {
    const std::filesystem::path dir = cfg.engine.state_dir;
    if (shared) {
      runner.set_shared_journal(
          [this](const std::string& hash, std::size_t n, const nlohmann::json& record) {
            std::string idx = std::to_string(n);
            if (idx.size() < 6) idx.insert(0, 6 - idx.size(), '0');
            const auto r = coord->put_json_guarded(std::string(journal_prefix) + hash + "/" + idx, record, true);
            if (r != coordination::write_result::ok) {
              throw std::runtime_error("shared plan journal: record " + idx + " of " + hash + " " +
                                       std::string(coordination::to_string(r)));
            }
          },
          [this] {
            std::vector<nlohmann::json> out;
            for (const auto& [key, raw] : coord->list(journal_prefix))  // keys sort by plan, then record
              out.push_back(nlohmann::json::parse(raw, nullptr, false));
            return out;
          });
    }
    runner.set_may_act([this](const actuators::plan_context& pc, std::size_t index, const std::string& step,
                              int attempt) { return may_act(pc, index, step, attempt); });
    if (!shared) {
      // Compacted at every start: expired entries go, an unexpired jti never does.
      ledger = std::make_unique<approvals::file_jti_ledger>(
          dir / "approvals.jti", approvals::forget_before_for(clock.wall(), cfg.approvals.max_skew));
    }
    approval_metrics = std::make_unique<approvals::approval_metrics>(approvals::approval_metrics::build_family(reg));
    if (!cfg.approvals.approvers.empty()) {
      // With etcd, the coordinator's ledger: a jti is single-use across every replica.
      approvals::jti_ledger& l = shared ? coord->ledger() : *ledger;
      verifier =
          std::make_unique<approvals::approval_verifier>(cfg.deployment, cfg.approvals, l, approval_metrics.get());
    }
    auto page_sinks = paging::make_sinks(cfg.paging, common::logger("page"));
    sinks = sink_names(page_sinks);
    outbox = std::make_unique<paging::page_outbox>(dir / "outbox.jsonl", sinks);
    pager_metrics = std::make_unique<paging::pager_metrics>(reg, sinks);
    dispatcher =
        std::make_unique<paging::page_dispatcher>(*outbox, std::move(page_sinks), clock, waiter, pager_metrics.get());
    if (shared) {
      claims = std::make_unique<coordination::page_claimer>(*coord, replica_id,
                                                            [this](const paging::page& p) { submit(p); });
      paging::delivery_guard g;
      // Checked right before each delivery: a deposed or paused leader sends nothing.
      g.may_deliver = [this](const paging::page& p) { return p.kind == "coordination_lost" || coord->is_leader(); };
      g.done = [this](const paging::page& p, const std::string& sink, std::string_view result) {
        if (p.kind == "coordination_lost") return;
        const nlohmann::json record{
            {"state", "done"}, {"by", replica_id}, {"sink", sink}, {"result", result}, {"page", paging::to_json(p)}};
        const auto key = coordination::coordination_keys::outbox(paging::idempotency_key(p));
        // A claim left "claimed" is sent again by the next leader: try a lost
        // answer twice more (the write is idempotent) before giving up.
        auto r = coord->put_json_guarded(key, record);
        for (int i = 0; i < 2 && r == coordination::write_result::unavailable; ++i)
          r = coord->put_json_guarded(key, record);
        if (r != coordination::write_result::ok) {
          common::logger("page")->warn("page {}: could not record '{}' in the shared outbox: {}",
                                       paging::idempotency_key(p), result, coordination::to_string(r));
        }
      };
      g.delivered_elsewhere = [this](const paging::page& p, const std::string& sink) {
        if (p.kind == "coordination_lost") return false;
        try {
          const auto j = coord->get_json(coordination::coordination_keys::outbox(paging::idempotency_key(p)));
          return j && j->is_object() && j->value("state", std::string{}) == "done" &&
                 j->value("sink", std::string{}) == sink;
        } catch (const std::exception&) {
          return false;  // unreadable: the claim made before queueing stands
        }
      };
      dispatcher->set_guard(std::move(g));
    }
  }

  static std::unique_ptr<coordination::coordinator> make_coord(const common::config& c, const std::string& replica,
                                                               const common::clock& clk, prometheus::Registry& reg) {
    std::filesystem::create_directories(c.engine.state_dir);
    return coordination::make_coordinator(c, replica, clk, reg);
  }

  actuators::plan_runner_options runner_options(prometheus::Registry& reg, const common::clock& clk) {
    actuators::plan_runner_options o;
    o.registry = &reg;
    o.clock = &clk;
    o.resume = true;
    return o;
  }

  /// Right before a plan step's mutating calls (executor thread): only the
  /// leader, and only once its claim of the step went through under its
  /// fencing token — a paused ex-leader's claim comes back fenced.
  bool may_act(const actuators::plan_context& ctx, std::size_t index, const std::string& step, int attempt) {
    if (!coord->is_leader()) return false;
    if (!shared) return true;
    const auto r = coord->put_json_guarded(coordination::coordination_keys::plan_step(ctx.recommendation_id, index),
                                           {{"step", step},
                                            {"attempt", attempt},
                                            {"hash", ctx.recommendation_hash},
                                            {"replica", replica_id},
                                            {"at", common::format_rfc3339(clock.wall())}});
    if (r != coordination::write_result::ok) {
      common::logger("plan")->warn("step {} of {} not run: its claim was {}", step, ctx.recommendation_id,
                                   coordination::to_string(r));
    }
    return r == coordination::write_result::ok;
  }

  /// The outbox's open incidents, as the decision core's restore input.
  std::vector<decision::open_incident> open_incidents() const {
    std::vector<decision::open_incident> out;
    // Replicas: the leader's shared decision state is the record, not this
    // replica's outbox (it misses the resolves sent while it followed).
    if (shared) return out;
    for (const auto& p : outbox->open_incidents()) {
      const auto kind = decision::from_string<decision::page_kind>(p.kind);
      if (!kind) {
        common::logger("page")->warn("open incident {} in the outbox has an unknown kind '{}': not continued",
                                     p.incident_id, p.kind);
        continue;
      }
      decision::open_incident inc;
      inc.incident_id = p.incident_id;
      inc.kind = *kind;
      const bool vantage =
          *kind == decision::page_kind::vantage_absent || *kind == decision::page_kind::vantage_impaired;
      (vantage ? inc.vantage : inc.region) = p.region;
      const auto start = p.incident_start.time_since_epoch().count() > 0 ? p.incident_start : p.timestamp;
      inc.started = decision::time_point{start.time_since_epoch()};
      inc.content_key = p.content_key;
      out.push_back(std::move(inc));
    }
    return out;
  }

  paging::page convert(const decision::page& p) const {
    paging::page out;
    out.incident_id = p.incident_id;
    out.action = p.action;
    // Page times increase within an incident, so they order its updates and,
    // being fixed per event, keep the outbox's idempotency key stable.
    out.sequence = static_cast<std::uint64_t>(p.at.time_since_epoch().count());
    out.kind = std::string(decision::to_string(p.kind));
    out.severity = p.sev;
    out.summary = p.summary;
    out.region = p.region.empty() ? p.vantage : p.region;
    out.deployment = cfg.deployment;
    out.details = p.details;
    const bool about_recommendation = p.details.is_object() && p.details.contains("recommendation");
    for (const auto& l : page_links(cfg, url, about_recommendation))
      out.links.push_back({l["href"], l["text"]});
    out.timestamp = common::wall_time{p.at.time_since_epoch()};
    out.incident_start = common::wall_time{p.incident_start.time_since_epoch()};
    out.content_key = p.content_key;
    return out;
  }

  void submit(const paging::page& p) {
    try {
      dispatcher->submit(p);
    } catch (const std::exception& e) {
      common::logger("page")->error("could not record page {} in the outbox: {}", p.incident_id, e.what());
    }
  }

  /// The leader's page: claimed in the shared outbox (only if absent, under
  /// the fencing token) before it is queued, so that one page is sent by one
  /// replica only (coordination/page_claims.hpp: a claim etcd left unknown is settled
  /// while the term lasts, a fenced one is held for the next term).
  void send(const paging::page& p) {
    if (!shared) return submit(p);
    (void)claims->send(p);
  }

  void page(const decision::page& p) {
    auto out = convert(p);
    if (shared && !coord->is_leader()) return claims->hold(std::move(out));
    send(out);
  }

  /// The decision state at start (the single node's previous run, or the
  /// leader's): nullopt when there is none or it cannot be read yet (a
  /// replica then adopts it from its follower loop).
  std::optional<nlohmann::json> load_state() {
    try {
      return coord->get_json(coordination::coordination_keys::decision_state);
    } catch (const std::exception& e) {
      common::logger("engine")->warn("decision state not read at start: {}", e.what());
      return std::nullopt;
    }
  }

  /// The leader's decision state, stored under its fencing token.
  bool store_state(const nlohmann::json& state) {
    const auto r = coord->put_json_guarded(coordination::coordination_keys::decision_state, state);
    if (r != coordination::write_result::ok && last_store != r) {
      common::logger("engine")->warn("decision state not stored: {}", coordination::to_string(r));
    }
    last_store = r;
    return r == coordination::write_result::ok;
  }

  /// Leader: the retention sweep of the shared outbox and journal (state
  /// thread), every 10 minutes of leadership.
  void sweep(std::optional<common::mono_time>& next) {
    const auto now = clock.monotonic();
    if (!next) next = now + std::chrono::minutes(10);  // not at once: a new leader has more urgent work
    if (now < *next) return;
    next = now + std::chrono::minutes(10);
    try {
      const auto r = coordination::sweep_shared(*coord, clock.wall());
      if (r.outbox + r.journal + r.steps > 0) {
        common::logger("coordination")
            ->info("retention sweep: {} page claim(s), {} journal record(s), {} step claim(s) erased", r.outbox,
                   r.journal, r.steps);
      }
    } catch (const std::exception& e) {
      common::logger("coordination")->warn("retention sweep failed: {}", e.what());
    }
  }

  /// Follower loop (its own thread: reads block): every decision tick, the
  /// leader's decision state; a changed one is adopted on the io thread. The
  /// leader runs its retention sweep here.
  void follow_state() {
    const auto every = std::max<std::chrono::milliseconds>(cfg.decision.tick, std::chrono::milliseconds(100));
    std::string seen;
    std::optional<common::mono_time> next_sweep;
    std::unique_lock lock(state_mu);
    while (!state_stop) {
      lock.unlock();
      if (coord->is_leader()) {
        seen.clear();
        sweep(next_sweep);
      } else {
        next_sweep.reset();
        try {
          auto raw = coord->get(coordination::coordination_keys::decision_state);
          if (raw && *raw != seen) {
            seen = *raw;
            boost::asio::post(io, [this, j = nlohmann::json::parse(*raw, nullptr, false), a = alive] {
              if (!*a || eng == nullptr || coord->is_leader()) return;  // a leader adopted it in take_over
              (void)eng->adopt_continuity(j);
            });
          }
        } catch (const std::exception& e) {
          common::logger("engine")->debug("decision state not read: {}", e.what());
        }
      }
      lock.lock();
      state_cv.wait_for(lock, every, [this] { return state_stop; });
    }
  }

  /// New leader: adopt the last leader's decision state, then continue what
  /// its claims show it paged after it last stored that state (it crashed in
  /// between): per region or vantage the state has no open incident for, the
  /// newest claimed incident whose last page is not a resolve.
  void adopt_on_take_over(const std::map<std::string, std::string>& claimed) {
    nlohmann::json state;
    try {
      auto got = coord->get_json(coordination::coordination_keys::decision_state);
      if (!got) return;
      state = std::move(*got);
    } catch (const std::exception& e) {
      common::logger("engine")->warn("take-over: decision state not read ({}); continuing with this core's", e.what());
      return;
    }
    if (!state.is_object() || !state.contains("incidents") || !state["incidents"].is_array()) {
      (void)eng->adopt_continuity(state);  // logged as not adopted
      return;
    }
    std::map<std::string, paging::page> last;  // incident -> its newest claimed page
    for (const auto& [key, raw] : claimed) {
      const auto j = nlohmann::json::parse(raw, nullptr, false);
      if (!j.is_object() || !j.contains("page")) continue;
      try {
        auto p = paging::page_from_json(j["page"]);
        if (p.kind == "coordination_lost") continue;
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
      const bool vantage =
          *kind == decision::page_kind::vantage_absent || *kind == decision::page_kind::vantage_impaired;
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
    if (eng->adopt_continuity(state)) common::logger("engine")->info("take-over: decision state adopted");
  }

  /// This replica just won: send what the previous leader never claimed
  /// (pages this replica held while following) and re-queue what it claimed
  /// but never finished (it crashed in between; the sinks' dedup keys merge a
  /// repeat). Then resume the plans begun before.
  void take_over() {
    if (!coord->is_leader()) return;
    runner.leadership_gained();
    if (!shared) return;
    std::map<std::string, std::string> claimed;
    try {
      claimed = coord->list(coordination::coordination_keys::outbox_prefix);
    } catch (const std::exception& e) {
      common::logger("page")->warn("take-over: cannot read the shared outbox ({}); held pages wait", e.what());
      return;
    }
    if (eng != nullptr) adopt_on_take_over(claimed);
    // A held page goes out only if it fits the incidents as adopted: an update
    // of one still open, a resolve of one no longer open. The rest were this
    // replica's own view (another id for the same outage, or an incident the
    // leader resolved) and would open a second incident.
    const auto open = eng != nullptr ? eng->open_incident_ids() : std::set<std::string>{};
    const auto mine = claims->take_held();
    std::size_t sent = 0;
    std::size_t dropped = 0;
    std::size_t requeued = 0;
    std::vector<paging::page> just_claimed;
    for (const auto& p : mine) {
      if (claimed.contains(coordination::coordination_keys::outbox(paging::idempotency_key(p)))) continue;
      const bool resolve = p.action == paging::page_action::resolve;
      if (p.kind != "coordination_lost" && resolve == open.contains(p.incident_id)) {
        ++dropped;
        continue;
      }
      if (claims->send(p) != coordination::page_claimer::outcome::already_claimed) just_claimed.push_back(p);
      ++sent;
    }
    // An open incident nobody ever paged (the old leader's claim failed, then
    // it died): this core pages it again at its next tick.
    std::size_t repaged = 0;
    if (eng != nullptr) {
      for (const auto& id : coordination::unpaged_incidents(open, claimed, just_claimed)) {
        if (eng->mark_unpaged(id)) ++repaged;
        common::logger("page")->warn("take-over: incident {} has no page in the shared outbox: paging it", id);
      }
    }
    for (const auto& [key, raw] : claimed) {
      const auto j = nlohmann::json::parse(raw, nullptr, false);
      if (!j.is_object() || j.value("state", std::string{}) != "claimed" || !j.contains("page")) continue;
      try {
        submit(paging::page_from_json(j["page"]));  // the local outbox drops a page it already has
        ++requeued;
      } catch (const std::exception& e) {
        common::logger("page")->warn("take-over: shared outbox entry {} unreadable: {}", key, e.what());
      }
    }
    dispatcher->wake();
    common::logger("page")->info(
        "{} took over: {} held page(s) sent, {} dropped (not the adopted incidents), {} unfinished claimed page(s) "
        "re-queued, {} unpaged incident(s) paged again",
        replica_id, sent, dropped, requeued, repaged);
  }

  void lost_page(paging::page_action action) {
    const auto st = coord->status();
    paging::page p;
    p.incident_id = cfg.deployment + "/coordination-lost";  // one dedup key for every replica
    p.action = action;
    p.timestamp = clock.wall();
    p.sequence = static_cast<std::uint64_t>(p.timestamp.time_since_epoch().count());
    p.kind = "coordination_lost";
    p.severity = paging::page_severity::warning;
    p.summary = action == paging::page_action::resolve ? "coordination restored; a leader can act again"
                                                       : "coordination lost; no replica can act (" + st.detail + ")";
    p.deployment = cfg.deployment;
    p.details = {
        {"replica", replica_id}, {"health", std::string(coordination::to_string(st.health))}, {"detail", st.detail}};
    for (const auto& l : page_links(cfg, url, false))
      p.links.push_back({l["href"], l["text"]});
    common::logger("coordination")->warn("{}: {}", replica_id, p.summary);
    submit(p);
  }

  /// Every half step: the coordination-lost warning (after lease_ttl / 2 of
  /// `lost`, so one failed request does not page), and advertising the URL.
  void check_health() {
    const auto now = clock.monotonic();
    if (coord->health() == coordination::coordination_health::lost) {
      if (!lost_since) lost_since = now;
      if (!lost_paged && now - *lost_since >= cfg.coordination.lease_ttl / 2) {
        lost_page(paging::page_action::trigger);
        lost_paged = true;
      }
    } else {
      lost_since.reset();
      if (lost_paged) {
        lost_page(paging::page_action::resolve);
        lost_paged = false;
      }
      if (!advertised) advertised = coord->advertise(advertise_url.empty() ? url : advertise_url);
    }
    if (shared) claims->retry_pending();
    health_timer.expires_after(coord->step_interval());
    health_timer.async_wait([this, a = alive](const boost::system::error_code& ec) {
      if (!ec && *a) check_health();
    });
  }

  /// POST /v1/approvals or /v1/propose on a follower: forwarded to the leader
  /// (same path and body), whose answer is returned as is (docs/ha.md).
  /// nullopt: this replica leads, handle here.
  std::optional<common::http_response> forward_to_leader(const common::http_request& r) {
    if (!shared || coord->is_leader()) return std::nullopt;
    const auto st = coord->status();
    if (!r.header("x-vigil-forwarded-by").empty()) {
      return common::http_response::error(503, "not_leader",
                                          "forwarded here by " + r.header("x-vigil-forwarded-by") +
                                              ", but this replica no longer leads; submit again in a few seconds");
    }
    if (st.health == coordination::coordination_health::lost) {
      return common::http_response::error(503, "coordination_lost",
                                          "coordination lost; no replica can act (" + st.detail + ")");
    }
    if (st.leader_id.empty()) {
      return common::http_response::error(503, "no_leader",
                                          "no replica leads right now (an election is under way); submit again "
                                          "in a few seconds");
    }
    const auto leader_url = coord->replica_url(st.leader_id);
    if (!leader_url) {
      return common::http_response::error(503, "leader_unknown",
                                          "the leader " + st.leader_id + " has not advertised its URL yet");
    }
    common::http_call c;
    c.method = "POST";
    c.url = *leader_url + r.path;
    const std::string ct = r.header("content-type");
    c.headers = {{"Content-Type", ct.empty() ? "text/plain" : ct}, {"X-Vigil-Forwarded-By", replica_id}};
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

  void on_leadership(bool leader) {
    // Runner thread: hand over to the io thread (the engine and core live there).
    boost::asio::post(io, [this, leader, a = alive] {
      if (!*a || eng == nullptr) return;
      // is_leader() is the truth; the callback only tells us to look.
      const bool now_leader = leader && coord->is_leader();
      eng->set_leader(now_leader);
      if (now_leader) take_over();
    });
  }
};
engine_services::engine_services(boost::asio::io_context& io, const common::config& cfg, const common::clock& clock,
                                 prometheus::Registry& registry, actuators::plan_runner::line_fn print,
                                 std::string replica_id)
    : impl_(std::make_unique<impl>(io, cfg, clock, registry, std::move(print), std::move(replica_id))) {}

engine_services::~engine_services() {
  stop();
}

engine_hooks engine_services::hooks(const std::string& engine_url) {
  engine_hooks h;
  impl_->url = engine_url;
  h.on_page = [this](const decision::page& p) { impl_->page(p); };
  h.on_follower_page = [this](const decision::page& p) {
    if (impl_->claims) impl_->claims->hold(impl_->convert(p));
  };
  h.on_execute = [this](const decision::execute_plan& e) {
    if (impl_->coord->is_leader()) impl_->runner.execute(e);
  };
  if (impl_->verifier) h.verify_token = make_token_verifier(*impl_->verifier);
  h.forward_to_leader = [this](const common::http_request& r) { return impl_->forward_to_leader(r); };
  h.extra_status = [this] {
    nlohmann::json s = impl_->coord->status_json();  // leader, fencing_token, coordination
    s["plan"] = impl_->runner.status();
    return s;
  };
  h.on_event = [this](const nlohmann::json& ev) { impl_->runner.observe(ev); };  // page times for the RTO report
  h.open_incidents = [this] { return impl_->open_incidents(); };
  h.load_continuity = [this] { return impl_->load_state(); };
  h.on_continuity = [this](const nlohmann::json& state) { return impl_->store_state(state); };
  return h;
}

bool engine_services::starts_as_leader() const {
  return !impl_->shared;
}

void engine_services::start(engine& e, std::string replica_url) {
  impl_->eng = &e;
  impl_->advertise_url = std::move(replica_url);
  impl_->runner.attach(e);
  impl_->dispatcher->start();
  if (impl_->shared) {
    impl_->coord_runner = std::make_unique<coordination::coordination_runner>(
        *impl_->coord, impl_->clock, [this](bool leader) { impl_->on_leadership(leader); });
    impl_->coord_runner->start();
    impl_->check_health();
    impl_->state_thread = std::thread([this] { impl_->follow_state(); });
  }
}

void engine_services::stop() {
  if (!impl_) return;
  *impl_->alive = false;
  impl_->health_timer.cancel();
  {
    const std::lock_guard lock(impl_->state_mu);
    impl_->state_stop = true;
  }
  impl_->state_cv.notify_all();
  if (impl_->state_thread.joinable()) impl_->state_thread.join();
  if (impl_->coord_runner) {
    impl_->coord_runner->stop();
    impl_->coord->resign();  // the others may campaign at once
  }
  if (impl_->dispatcher) impl_->dispatcher->stop();
}

}  // namespace vigil::app
