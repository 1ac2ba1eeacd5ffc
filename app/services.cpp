#include "app/services.hpp"

#include <filesystem>

#include "actuators/approval.hpp"
#include "actuators/jti_ledger.hpp"
#include "actuators/outbox.hpp"
#include "actuators/pager.hpp"
#include "actuators/pager_worker.hpp"
#include "app/approval_hook.hpp"
#include "common/log.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

namespace {

actuators::page_severity to_severity(decision::severity s) {
  switch (s) {
    case decision::severity::critical:
      return actuators::page_severity::critical;
    case decision::severity::error:
      return actuators::page_severity::error;
    case decision::severity::warning:
      return actuators::page_severity::warning;
    case decision::severity::info:
      return actuators::page_severity::info;
  }
  return actuators::page_severity::error;
}

actuators::page_action to_action(decision::page_action a) {
  switch (a) {
    case decision::page_action::trigger:
      return actuators::page_action::trigger;
    case decision::page_action::update:
      return actuators::page_action::update;
    case decision::page_action::resolve:
      return actuators::page_action::resolve;
  }
  return actuators::page_action::trigger;
}

std::vector<std::string> sink_names(const std::vector<std::unique_ptr<actuators::page_sink>>& sinks) {
  std::vector<std::string> out;
  for (const auto& s : sinks)
    out.push_back(s->name());
  return out;
}

}  // namespace

nlohmann::json page_links(const common::config& cfg, const std::string& engine_url) {
  const std::string base = cfg.engine.public_url.empty() ? engine_url : cfg.engine.public_url;
  return nlohmann::json::array({
      {{"href", base + "/"}, {"text", "vigil status page"}},
      {{"href", base + "/v1/recommendation"}, {"text", "current recommendation (JSON)"}},
      {{"href", base + "/docs/runbook.md"}, {"text", "runbook: failover and failback"}},
      {{"href", base + "/v1/recommendation"}, {"text", "approve: vigil approve --key YOU.key --engine " + base}},
  });
}

struct engine_services::impl {
  boost::asio::io_context& io;
  const common::config& cfg;
  const common::clock& clock;
  std::unique_ptr<actuators::file_jti_ledger> ledger;
  std::unique_ptr<actuators::approval_metrics> approval_metrics;
  std::unique_ptr<actuators::approval_verifier> verifier;
  std::vector<std::string> sinks;
  std::unique_ptr<actuators::page_outbox> outbox;
  std::unique_ptr<actuators::pager_metrics> pager_metrics;
  actuators::cv_waiter waiter;
  std::unique_ptr<actuators::page_dispatcher> dispatcher;
  plan_runner runner;

  impl(boost::asio::io_context& ctx, const common::config& c, const common::clock& clk, prometheus::Registry& reg,
       plan_runner::line_fn print)
      : io(ctx),
        cfg(c),
        clock(clk),
        runner(ctx, c, std::chrono::milliseconds(200), std::move(print),
               plan_runner_options{{}, {}, &reg, &clk, {}, true}) {
    const std::filesystem::path dir = cfg.engine.state_dir;
    std::filesystem::create_directories(dir);
    // Compacted at every start: expired entries go, an unexpired jti never does.
    ledger = std::make_unique<actuators::file_jti_ledger>(
        dir / "approvals.jti", actuators::forget_before_for(clock.wall(), cfg.approvals.max_skew));
    approval_metrics = std::make_unique<actuators::approval_metrics>(actuators::approval_metrics::build_family(reg));
    if (!cfg.approvals.approvers.empty()) {
      verifier = std::make_unique<actuators::approval_verifier>(cfg.deployment, cfg.approvals, *ledger,
                                                                approval_metrics.get());
    }
    auto page_sinks = actuators::make_sinks(cfg.paging, common::logger("page"));
    sinks = sink_names(page_sinks);
    outbox = std::make_unique<actuators::page_outbox>(dir / "outbox.jsonl", sinks);
    pager_metrics = std::make_unique<actuators::pager_metrics>(reg, sinks);
    dispatcher = std::make_unique<actuators::page_dispatcher>(*outbox, std::move(page_sinks), clock, waiter,
                                                              pager_metrics.get());
  }

  /// The outbox's open incidents, as the decision core's restore input.
  std::vector<decision::open_incident> open_incidents() const {
    std::vector<decision::open_incident> out;
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

  void page(const decision::page& p, const std::string& engine_url) {
    actuators::page out;
    out.incident_id = p.incident_id;
    out.action = to_action(p.action);
    // Page times increase within an incident, so they order its updates and,
    // being fixed per event, keep the outbox's idempotency key stable.
    out.sequence = static_cast<std::uint64_t>(p.at.time_since_epoch().count());
    out.kind = std::string(decision::to_string(p.kind));
    out.severity = to_severity(p.sev);
    out.summary = p.summary;
    out.region = p.region.empty() ? p.vantage : p.region;
    out.deployment = cfg.deployment;
    out.details = p.details;
    for (const auto& l : page_links(cfg, engine_url))
      out.links.push_back({l["href"], l["text"]});
    out.timestamp = common::wall_time{p.at.time_since_epoch()};
    out.incident_start = common::wall_time{p.incident_start.time_since_epoch()};
    out.content_key = p.content_key;
    try {
      dispatcher->submit(out);
    } catch (const std::exception& e) {
      common::logger("page")->error("could not record page {} in the outbox: {}", p.incident_id, e.what());
    }
  }
};

engine_services::engine_services(boost::asio::io_context& io, const common::config& cfg, const common::clock& clock,
                                 prometheus::Registry& registry, plan_runner::line_fn print)
    : impl_(std::make_unique<impl>(io, cfg, clock, registry, std::move(print))) {}

engine_services::~engine_services() {
  stop();
}

engine_hooks engine_services::hooks(const std::string& engine_url) {
  engine_hooks h;
  h.on_page = [this, engine_url](const decision::page& p) { impl_->page(p, engine_url); };
  h.on_execute = [this](const decision::execute_plan& e) { impl_->runner.execute(e); };
  if (impl_->verifier) h.verify_token = make_token_verifier(*impl_->verifier);
  h.extra_status = [this] { return nlohmann::json{{"plan", impl_->runner.status()}}; };
  h.on_event = [this](const nlohmann::json& ev) { impl_->runner.observe(ev); };  // page times for the RTO report
  h.open_incidents = [this] { return impl_->open_incidents(); };
  return h;
}

void engine_services::start(engine& e) {
  impl_->runner.attach(e);
  impl_->dispatcher->start();
}

void engine_services::stop() {
  if (impl_ && impl_->dispatcher) impl_->dispatcher->stop();
}

}  // namespace vigil::app
