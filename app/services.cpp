#include "app/services.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "app/objectives.hpp"
#include "app/readiness_loop.hpp"
#include "approvals/approval.hpp"
#include "approvals/approval_hook.hpp"
#include "approvals/jti_ledger.hpp"
#include "common/log.hpp"
#include "common/waiter.hpp"
#include "coordination/coordination_runner.hpp"
#include "coordination/takeover.hpp"
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
  /// Operator commands: the same keys and jti ledger, counted by vigil_operator_commands_total instead.
  std::unique_ptr<approvals::approval_verifier> command_tokens;
  std::unique_ptr<approvals::command_verifier> commands;
  std::vector<std::string> sinks;
  std::unique_ptr<paging::page_outbox> outbox;
  std::unique_ptr<paging::pager_metrics> pager_metrics;
  common::cv_waiter waiter;
  std::unique_ptr<paging::page_dispatcher> dispatcher;
  actuators::plan_runner runner;
  /// Recorded timelines, the RTO estimate and scheduled drills (GET /v1/objectives).
  std::unique_ptr<objectives_service> objectives;
  /// The replica protocol: take-over, page claims, guards, coordination-lost page.
  std::unique_ptr<coordination::takeover> ha;
  std::unique_ptr<coordination::coordination_runner> coord_runner;
  /// The continuous readiness loop (readiness: configured), on its own thread.
  std::unique_ptr<readiness_loop> readiness;
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  // io thread
  engine* eng = nullptr;
  std::string url;  ///< this replica's API, for page links
  boost::asio::steady_timer health_timer;
  std::optional<coordination::write_result> last_store;  ///< the last decision state write's outcome, for logs
  // follower: the thread that reads the leader's decision state
  std::thread state_thread;
  std::mutex state_mu;
  std::condition_variable state_cv;
  bool state_stop = false;

  impl(boost::asio::io_context& ctx, const common::config& c, const common::clock& clk, prometheus::Registry& reg,
       actuators::plan_runner::line_fn print, std::string replica)
      : io(ctx),
        cfg(c),
        clock(clk),
        replica_id(std::move(replica)),
        coord(make_coord(c, replica_id, clk, reg)),
        shared(c.coordination.backend == common::coordination_backend::etcd),
        runner(ctx, c, std::chrono::milliseconds(200), std::move(print), runner_options(reg, clk)),
        objectives(std::make_unique<objectives_service>(ctx, c, clk, reg, objectives_settings_from(c))),
        health_timer(ctx) {
    build_approvals(reg);
    build_paging(reg);
    build_replica_protocol();
    readiness = make_engine_readiness(io, cfg, clock, reg, [this] { return eng; });
  }

  static std::unique_ptr<coordination::coordinator> make_coord(const common::config& c, const std::string& replica,
                                                               const common::clock& clk, prometheus::Registry& reg) {
    std::error_code ec;
    std::filesystem::create_directories(c.engine.state_dir, ec);
    if (ec) {
      throw std::runtime_error("engine.state_dir '" + c.engine.state_dir + "' (in " + c.file +
                               "): cannot create it: " + ec.message());
    }
    return coordination::make_coordinator(c, replica, clk, reg);
  }

  actuators::plan_runner_options runner_options(prometheus::Registry& reg, const common::clock& clk) {
    actuators::plan_runner_options o;
    o.registry = &reg;
    o.clock = &clk;
    o.resume = true;
    return o;
  }

  /// The approval verifier over the single-use jti ledger: the single node's
  /// file, or with etcd the coordinator's (a jti is single-use across every replica).
  void build_approvals(prometheus::Registry& reg) {
    if (!shared) {
      // Compacted at every start: expired entries go, an unexpired jti never does.
      ledger = std::make_unique<approvals::file_jti_ledger>(
          std::filesystem::path(cfg.engine.state_dir) / "approvals.jti",
          approvals::forget_before_for(clock.wall(), cfg.approvals.max_skew));
    }
    approval_metrics = std::make_unique<approvals::approval_metrics>(approvals::approval_metrics::build_family(reg));
    if (!cfg.approvals.approvers.empty()) {
      approvals::jti_ledger& l = shared ? coord->ledger() : *ledger;
      verifier =
          std::make_unique<approvals::approval_verifier>(cfg.deployment, cfg.approvals, l, approval_metrics.get());
      command_tokens = std::make_unique<approvals::approval_verifier>(cfg.deployment, cfg.approvals, l);
    }
    commands = std::make_unique<approvals::command_verifier>(command_tokens.get(),
                                                             approvals::command_limits{cfg.silences.max_duration});
  }

  /// The configured sinks, the durable outbox and its delivery worker.
  void build_paging(prometheus::Registry& reg) {
    auto page_sinks = paging::make_sinks(cfg.paging, common::logger("page"));
    sinks = sink_names(page_sinks);
    outbox = std::make_unique<paging::page_outbox>(std::filesystem::path(cfg.engine.state_dir) / "outbox.jsonl", sinks);
    pager_metrics = std::make_unique<paging::pager_metrics>(reg, sinks);
    dispatcher =
        std::make_unique<paging::page_dispatcher>(*outbox, std::move(page_sinks), clock, waiter, pager_metrics.get());
  }

  /// The replica protocol, connected to the outbox and the plan runner (the
  /// engine joins in start()): the shared plan journal, the step guard and,
  /// with etcd, the delivery guard.
  void build_replica_protocol() {
    coordination::takeover_options o;
    o.replica_id = replica_id;
    o.shared = shared;
    o.deployment = cfg.deployment;
    o.lost_grace = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.coordination.lease_ttl / 2);
    coordination::takeover_seams s;
    s.submit = [this](const paging::page& p) { submit(p); };
    s.wake = [this] { dispatcher->wake(); };
    s.links = [this] { return page_links(cfg, url, false); };
    s.leadership_gained = [this] { runner.leadership_gained(); };
    ha = std::make_unique<coordination::takeover>(*coord, clock, std::move(o), std::move(s));
    if (shared) {
      runner.set_shared_journal([this](const std::string& hash, std::size_t n,
                                       const nlohmann::json& record) { ha->mirror_journal(hash, n, record); },
                                [this] { return ha->load_journal(); });
    }
    runner.set_may_act(
        [this](const actuators::plan_context& pc, std::size_t index, const std::string& step, int attempt) {
          return ha->may_act(pc.recommendation_id, pc.recommendation_hash, index, step, attempt);
        });
    if (shared) dispatcher->set_guard(ha->delivery_guard());
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
        const common::log_fields f{{"incident_id", p.incident_id}};
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
      const common::log_fields f{{"incident_id", p.incident_id}, {"region", p.region}};
      common::logger("page")->error("could not record page {} in the outbox: {}", p.incident_id, e.what());
    }
  }

  void page(const decision::page& p) { ha->page(convert(p)); }

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

  /// Every half step: the coordination-lost warning and advertising the URL.
  void check_health() {
    ha->check_health();
    health_timer.expires_after(coord->step_interval());
    health_timer.async_wait([this, a = alive](const boost::system::error_code& ec) {
      if (!ec && *a) check_health();
    });
  }

  /// Follower loop (its own thread: reads block): every decision tick, the
  /// leader's decision state; a changed one is adopted on the io thread. The
  /// leader runs its retention sweep here.
  void follow_state() {
    const auto every = std::max<std::chrono::milliseconds>(cfg.decision.tick, std::chrono::milliseconds(100));
    std::unique_lock lock(state_mu);
    while (!state_stop) {
      lock.unlock();
      if (auto j = ha->follow_step()) {
        boost::asio::post(io, [this, j = std::move(*j), a = alive] {
          if (!*a || eng == nullptr || coord->is_leader()) return;  // a leader adopted it in take_over
          (void)eng->adopt_continuity(j);
        });
      }
      lock.lock();
      state_cv.wait_for(lock, every, [this] { return state_stop; });
    }
  }

  /// The objectives service drives the engine's notices; under HA its newest
  /// timelines are shared under the coordination key `timelines`.
  void start_objectives(engine& e) {
    objectives_seams seams;
    seams.is_leader = [&e] { return e.is_leader(); };
    seams.status = [&e] { return e.status_json(); };
    seams.set_notice = [&e](const std::string& key, decision::severity sev, const std::string& summary,
                            const nlohmann::json& details) { e.set_notice(key, sev, summary, details); };
    seams.clear_notice = [&e](const std::string& key) { e.clear_notice(key); };
    if (shared) {
      seams.load_shared = [this] { return coord->get_json("timelines"); };
      seams.store_shared = [this](const nlohmann::json& doc) {
        return coord->put_json_guarded("timelines", doc) == coordination::write_result::ok;
      };
    }
    objectives->start(std::move(seams));
  }

  void on_leadership(bool leader) {
    // Runner thread: hand over to the io thread (the engine and core live there).
    boost::asio::post(io, [this, leader, a = alive] {
      if (!*a || eng == nullptr) return;
      // is_leader() is the truth; the callback only tells us to look.
      const bool now_leader = leader && coord->is_leader();
      eng->set_leader(now_leader);
      if (now_leader) (void)ha->take_over();
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
    if (impl_->shared) impl_->ha->hold(impl_->convert(p));
  };
  h.on_execute = [this](const decision::execute_plan& e) {
    if (impl_->coord->is_leader()) impl_->runner.execute(e);
  };
  if (impl_->verifier) {
    // Looked up at each call: SIGHUP may replace the verifier (reload_approvers).
    h.verify_token = [this](const std::string& token, common::wall_time now,
                            const std::optional<decision::recommendation>& current, int required) {
      return make_token_verifier(*impl_->verifier)(token, now, current, required);
    };
  }
  h.forward_to_leader = [this](const common::http_request& r) { return impl_->ha->forward_to_leader(r); };
  h.extra_status = [this] {
    nlohmann::json s = impl_->coord->status_json();  // leader, fencing_token, coordination
    s["plan"] = impl_->runner.status();
    return s;
  };
  h.on_event = [this](const nlohmann::json& ev) {
    impl_->runner.observe(ev);  // page times for the RTO report
    impl_->objectives->observe(ev, [this] { return impl_->runner.status(); });
  };
  h.extra_routes.emplace_back([this](const common::http_request& r) { return impl_->objectives->route(r); });
  h.open_incidents = [this] { return impl_->open_incidents(); };
  h.load_continuity = [this] { return impl_->load_state(); };
  h.on_continuity = [this](const nlohmann::json& state) { return impl_->store_state(state); };
  h.verify_command = [this](std::string_view body, std::string_view action, common::wall_time now,
                            const approvals::command_verifier::extra_check& extra) {
    return impl_->commands->verify(body, action, now, extra);
  };
  h.plan_command = [this](const std::string& action, const std::string& id, const std::string& by,
                          const std::string& reason) { return impl_->runner.command(action, id, by, reason); };
  h.set_brake = [this](bool on, const std::string& detail) { impl_->runner.set_brake(on, detail); };
  if (impl_->readiness) {
    h.extra_routes.emplace_back([this](const common::http_request& r) { return impl_->readiness->route(r); });
  }
  // The coordinator's shared state: a file in engine.state_dir, or etcd (fenced: only the leader writes).
  h.load_controls = [this] { return impl_->coord->get_json("controls"); };
  h.store_controls = [this](const nlohmann::json& doc) {
    return impl_->coord->put_json_guarded("controls", doc) == coordination::write_result::ok;
  };
  // Standing approvals: a use is spent in the jti ledger (etcd-shared under HA);
  // the policies are shared under HA, a 0600 file in state_dir on a single node.
  h.consume_once = [this](const std::string& key, common::wall_time expires_at) {
    approvals::jti_ledger& l = impl_->shared ? impl_->coord->ledger() : *impl_->ledger;
    return l.try_consume(key, expires_at);
  };
  if (impl_->shared) {
    h.load_standing = [this] { return impl_->coord->get_json("standing"); };
    h.store_standing = [this](const nlohmann::json& doc) {
      return impl_->coord->put_json_guarded("standing", doc) == coordination::write_result::ok;
    };
  }
  return h;
}

std::string engine_services::reload_objectives(const common::config& cfg) {
  return impl_->objectives->reload(objectives_settings_from(cfg));
}

std::string engine_services::reload_approvers(const common::approvals_config& approvals) {
  if (!impl_->verifier) return "approvals were off at start (no approvers): adding approvers needs a restart";
  if (approvals.approvers.empty()) return "approvals.approvers is now empty: the loaded keys stay until a restart";
  approvals::jti_ledger& l = impl_->shared ? impl_->coord->ledger() : *impl_->ledger;
  try {
    impl_->verifier = std::make_unique<approvals::approval_verifier>(impl_->cfg.deployment, approvals, l,
                                                                     impl_->approval_metrics.get());
  } catch (const std::exception& e) {
    return std::string("approver keys not reloaded, the loaded keys stay: ") + e.what();
  }
  std::string ids;
  for (const auto& a : approvals.approvers)
    ids += (ids.empty() ? "" : ", ") + a.id;
  return "approver keys reloaded: " + std::to_string(approvals.approvers.size()) + " key(s) (" + ids + ")";
}

bool engine_services::starts_as_leader() const {
  return !impl_->shared;
}

void engine_services::start(engine& e, std::string replica_url) {
  impl_->eng = &e;
  impl_->ha->set_advertise_url(replica_url.empty() ? impl_->url : std::move(replica_url));
  impl_->ha->attach_engine([&e](const nlohmann::json& state) { return e.adopt_continuity(state); },
                           [&e] { return e.open_incident_ids(); },
                           [&e](const std::string& id) { return e.mark_unpaged(id); });
  impl_->runner.attach(e);
  impl_->start_objectives(e);
  impl_->dispatcher->start();
  if (impl_->readiness)
    impl_->readiness->start(
        std::min<std::chrono::milliseconds>(impl_->cfg.readiness.interval, std::chrono::seconds(10)));
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
  if (impl_->readiness) impl_->readiness->stop();
  impl_->health_timer.cancel();
  impl_->objectives->stop();
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
