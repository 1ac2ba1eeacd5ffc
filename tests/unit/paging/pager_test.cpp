// Paging sinks against a strict fake PagerDuty (tests/support/fake_pagerduty.py),
// the outbox's durability and the delivery worker's retries.
#include "paging/pager.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/utf8.hpp"
#include "common/waiter.hpp"
#include "paging/outbox.hpp"
#include "paging/pager_worker.hpp"
#include "tests/support/test_process.hpp"

namespace vigil::paging {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;
using testing::child_process;

constexpr std::string_view routing_key = "R0123456789abcdef0123456789ABCDE";  // 32 characters

/// Advances the manual clock instead of sleeping.
class manual_waiter final : public common::waiter {
 public:
  explicit manual_waiter(common::manual_clock& c) : clock_(c) {}
  void wait_for(std::chrono::milliseconds d) override { clock_.advance(d); }
  void notify() override {}

 private:
  common::manual_clock& clock_;
};

page make_page(std::string incident, page_action action, std::uint64_t seq, common::wall_time ts) {
  page p;
  p.incident_id = std::move(incident);
  p.action = action;
  p.sequence = seq;
  p.kind = "regional_outage";
  p.severity = page_severity::critical;
  p.summary = "us-east-1 regional outage: 4/4 services down from 2/3 vantages; failover to us-west-2 recommended";
  p.region = "us-east-1";
  p.deployment = "prod";
  p.details = {{"gates", json::array({{{"name", "dr_healthy"}, {"ok", true}}})}, {"lag_ms", 420}};
  p.links = {{"http://vigil.example/status", "status page"}, {"http://vigil.example/runbook", "runbook"}};
  p.timestamp = ts;
  return p;
}

json get_json(const std::string& url) {
  const auto r = common::http_perform({"GET", url, {}, {}, 5s, 2s, std::size_t{16} * 1024 * 1024});
  EXPECT_TRUE(r.success()) << url << ": " << r.error << " " << r.status;
  return json::parse(r.body);
}

void post_json(const std::string& url, const json& body) {
  const auto r = common::http_perform({"POST", url, {{"Content-Type", "application/json"}}, body.dump(), 5s, 2s});
  ASSERT_TRUE(r.success()) << url << ": " << r.error;
}

class pager_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-pager-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fake_ = std::make_unique<child_process>(
        std::vector<std::string>{testing::python(), testing::source_dir() + "/tests/support/fake_pagerduty.py"});
  }
  void TearDown() override {
    fake_.reset();
    fs::remove_all(dir_);
  }
  common::paging_sink_config pd_config(std::string key = std::string(routing_key)) const {
    common::paging_sink_config c;
    c.kind = common::sink_kind::pagerduty;
    c.name = "pd";
    c.routing_key = std::move(key);
    c.url = fake_->base_url() + "/v2/enqueue";
    c.timeout = 5s;
    return c;
  }
  json stats() const { return get_json(fake_->base_url() + "/_stats"); }

  fs::path dir_;
  std::unique_ptr<child_process> fake_;
  common::manual_clock clock_;
};

TEST(pager_format, pagerduty_event_fields) {
  common::manual_clock clock;
  auto p = make_page("inc-1", page_action::trigger, 0, clock.wall());
  p.summary = std::string(2000, 'x');
  const auto ev = pagerduty_event(p, routing_key);
  EXPECT_EQ(ev["event_action"], "trigger");
  EXPECT_EQ(ev["dedup_key"], "inc-1");
  EXPECT_LE(ev["payload"]["summary"].get<std::string>().size(), max_page_summary);
  EXPECT_EQ(ev["payload"]["severity"], "critical");
  EXPECT_EQ(ev["payload"]["component"], "us-east-1");
  EXPECT_EQ(ev["payload"]["class"], "regional_outage");
  EXPECT_EQ(ev["payload"]["custom_details"]["lag_ms"], 420);
  EXPECT_EQ(ev["links"].size(), 2U);
  p.action = page_action::update;
  EXPECT_EQ(pagerduty_event(p, routing_key)["event_action"], "trigger");  // same dedup_key: PD merges
  p.action = page_action::resolve;
  const auto res = pagerduty_event(p, routing_key);
  EXPECT_EQ(res["event_action"], "resolve");
  EXPECT_FALSE(res.contains("payload"));
  p.incident_id = std::string(300, 'i');
  EXPECT_LE(pagerduty_event(p, routing_key)["dedup_key"].get<std::string>().size(), 255U);
}

TEST(pager_format, utf8_truncation_never_splits_a_character) {
  const std::string s = "ab\xc3\xa9\xc3\xa9\xc3\xa9";  // ab + 3 x e-acute
  for (std::size_t max = 3; max < s.size(); ++max) {
    const auto t = common::truncate_utf8(s, max);
    EXPECT_LE(t.size(), max);
    ASSERT_TRUE(t.ends_with("\xe2\x80\xa6")) << max;
    // What precedes the ellipsis is a prefix of s that ends on a character
    // boundary: no dangling lead byte, no split sequence.
    const auto kept = t.substr(0, t.size() - 3);
    EXPECT_TRUE(s.starts_with(kept)) << max;
    EXPECT_NE(static_cast<unsigned char>(s[kept.size()]) & 0xc0, 0x80U) << max;
  }
  EXPECT_EQ(common::truncate_utf8("short", 1024), "short");
}

TEST(pager_format, alertmanager_resolve_keeps_labels_and_ends_now) {
  common::manual_clock clock;
  const auto fire = alertmanager_alerts(make_page("inc-1", page_action::trigger, 0, clock.wall()));
  const auto done = alertmanager_alerts(make_page("inc-1", page_action::resolve, 2, clock.wall()));
  EXPECT_EQ(fire[0]["labels"], done[0]["labels"]);
  EXPECT_EQ(done[0]["endsAt"], common::format_rfc3339(clock.wall()));
  EXPECT_GT(fire[0]["endsAt"].get<std::string>(), fire[0]["startsAt"].get<std::string>());
}

TEST(pager_format, page_json_round_trip) {
  common::manual_clock clock;
  const auto p = make_page("inc-9", page_action::update, 3, clock.wall());
  EXPECT_EQ(to_json(page_from_json(to_json(p))), to_json(p));
  EXPECT_EQ(idempotency_key(p), "inc-9/update/3");
}

TEST(pager_format, severity_by_kind_and_approve_command) {
  EXPECT_EQ(default_severity("regional_outage"), page_severity::critical);
  EXPECT_EQ(default_severity("global_outage"), page_severity::critical);
  EXPECT_EQ(default_severity("service_degraded"), page_severity::error);
  EXPECT_EQ(default_severity("vantage_impaired"), page_severity::warning);
  EXPECT_EQ(default_severity("coordination_lost"), page_severity::warning);
  EXPECT_EQ(approve_command("https://vigil:9470"),
            "vigil approve --key ~/.vigil/$USER.key --engine https://vigil:9470");
}

TEST(pager_format, http_classification) {
  EXPECT_EQ(classify_http(202, "", "").status, delivery_status::delivered);
  EXPECT_EQ(classify_http(0, "Connection refused", "").status, delivery_status::retry);
  EXPECT_EQ(classify_http(429, "", "").status, delivery_status::retry);
  EXPECT_EQ(classify_http(503, "", "").status, delivery_status::retry);
  EXPECT_EQ(classify_http(400, "", "bad").status, delivery_status::rejected);
  EXPECT_EQ(classify_http(404, "", "").status, delivery_status::rejected);
}

TEST(pager_format, make_sinks_validates_config) {
  common::paging_sink_config pd;
  pd.kind = common::sink_kind::pagerduty;
  EXPECT_THROW((void)make_sinks({pd}), std::invalid_argument);  // no routing_key
  common::paging_sink_config log1, log2;
  EXPECT_THROW((void)make_sinks({log1, log2}), std::invalid_argument);  // both named "log"
  log2.name = "audit-log";
  EXPECT_EQ(make_sinks({log1, log2}).size(), 2U);
}

TEST_F(pager_test, pagerduty_lifecycle_is_valid_events_v2) {
  auto sink = make_pagerduty_sink(pd_config());
  EXPECT_EQ(sink->deliver(make_page("inc-1", page_action::trigger, 0, clock_.wall())).status,
            delivery_status::delivered);
  EXPECT_EQ(sink->deliver(make_page("inc-1", page_action::update, 1, clock_.wall())).status,
            delivery_status::delivered);
  EXPECT_EQ(sink->deliver(make_page("inc-1", page_action::resolve, 2, clock_.wall())).status,
            delivery_status::delivered);
  const auto s = stats();
  EXPECT_EQ(s["invalid"], 0) << s["errors"].dump();
  EXPECT_EQ(s["events"].size(), 3U);
  EXPECT_EQ(s["incidents_opened"]["inc-1"], 1);
  EXPECT_TRUE(s["open"].empty());
}

TEST_F(pager_test, pagerduty_rejection_is_not_retried) {
  auto sink = make_pagerduty_sink(pd_config("short-key"));
  const auto r = sink->deliver(make_page("inc-1", page_action::trigger, 0, clock_.wall()));
  EXPECT_EQ(r.status, delivery_status::rejected);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(stats()["invalid"], 1);
}

TEST_F(pager_test, slack_and_signed_webhook) {
  common::paging_sink_config slack;
  slack.kind = common::sink_kind::slack;
  slack.webhook_url = fake_->base_url() + "/slack";
  common::paging_sink_config hook;
  hook.kind = common::sink_kind::webhook;
  hook.url = fake_->base_url() + "/hook";
  hook.secret = "s3cret";
  auto sinks = make_sinks({slack, hook});
  const auto p = make_page("inc-1", page_action::trigger, 0, clock_.wall());
  for (auto& s : sinks)
    EXPECT_EQ(s->deliver(p).status, delivery_status::delivered) << s->name();
  const auto st = stats();
  ASSERT_EQ(st["slack"].size(), 1U);
  EXPECT_NE(st["slack"][0]["text"].get<std::string>().find("[CRITICAL] us-east-1 regional outage"), std::string::npos);
  ASSERT_EQ(st["hooks"].size(), 1U);
  const auto& h = st["hooks"][0];
  const std::string ts = h["headers"]["x-vigil-timestamp"];
  const std::string body = h["body"];
  EXPECT_EQ(h["headers"]["x-vigil-signature"], "sha256=" + common::hmac_sha256_hex("s3cret", ts + "." + body));
  EXPECT_EQ(h["headers"]["x-vigil-idempotency-key"], "inc-1/trigger/0");
  EXPECT_EQ(json::parse(body)["page"]["incident_id"], "inc-1");
}

TEST_F(pager_test, retries_with_capped_exponential_backoff) {
  post_json(fake_->base_url() + "/_fail", {{"status", 503}, {"count", 3}});
  page_outbox outbox(dir_ / "pages.outbox", {"pd"});
  prometheus::Registry registry;
  pager_metrics metrics(registry, {"pd"});
  manual_waiter w(clock_);
  std::vector<std::unique_ptr<page_sink>> sinks;
  sinks.push_back(make_pagerduty_sink(pd_config()));
  page_dispatcher d(outbox, std::move(sinks), clock_, w, &metrics, {1000ms, 2.0, 1500ms, 24h});
  ASSERT_TRUE(d.submit(make_page("inc-1", page_action::trigger, 0, clock_.wall())));
  EXPECT_FALSE(d.submit(make_page("inc-1", page_action::trigger, 0, clock_.wall())));  // idempotent
  EXPECT_EQ(d.run_once(), 1000ms);
  EXPECT_EQ(d.run_once(), 1000ms);  // not due yet: nothing sent
  w.wait_for(1000ms);
  EXPECT_EQ(d.run_once(), 1500ms);  // 2000 ms capped at 1500
  w.wait_for(1500ms);
  EXPECT_EQ(d.run_once(), 1500ms);
  w.wait_for(1500ms);
  EXPECT_EQ(d.run_once(), std::nullopt);  // delivered: nothing pending
  EXPECT_EQ(stats()["received"], 4);
  EXPECT_EQ(outbox.pending_count(), 0U);
  double retries = 0, delivered = 0, pending = -1;
  for (const auto& f : registry.Collect()) {
    for (const auto& m : f.metric) {
      if (f.name == "vigil_outbox_pending") pending = m.gauge.value;
      if (f.name != "vigil_pages_total") continue;
      for (const auto& l : m.label) {
        if (l.name == "result" && l.value == "retry") retries += m.counter.value;
        if (l.name == "result" && l.value == "delivered") delivered += m.counter.value;
      }
    }
  }
  EXPECT_EQ(retries, 3);
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(pending, 0);
}

TEST_F(pager_test, a_failing_trigger_holds_back_its_resolve_and_stale_pages_are_dropped) {
  page_outbox outbox(dir_ / "pages.outbox", {"pd"});
  manual_waiter w(clock_);
  std::vector<std::unique_ptr<page_sink>> sinks;
  auto cfg = pd_config();
  cfg.url = "http://127.0.0.1:1/v2/enqueue";  // nothing listens: every attempt fails
  sinks.push_back(make_pagerduty_sink(cfg));
  page_dispatcher d(outbox, std::move(sinks), clock_, w, nullptr, {1000ms, 2.0, 60000ms, 10min});
  d.submit(make_page("inc-1", page_action::trigger, 0, clock_.wall()));
  d.submit(make_page("inc-1", page_action::resolve, 1, clock_.wall()));
  d.submit(make_page("inc-2", page_action::trigger, 0, clock_.wall()));
  ASSERT_TRUE(d.run_once());
  EXPECT_EQ(outbox.pending_count(), 3U);
  clock_.advance(11min);
  EXPECT_EQ(d.run_once(), std::nullopt);  // all older than give_up_after: dropped, none lost silently
  EXPECT_EQ(outbox.pending_count(), 0U);
}

TEST_F(pager_test, outbox_survives_reopen_and_keeps_idempotency) {
  const auto p1 = make_page("inc-1", page_action::trigger, 0, clock_.wall());
  const auto p2 = make_page("inc-1", page_action::resolve, 1, clock_.wall());
  {
    page_outbox o(dir_ / "pages.outbox", {"pd", "log"});
    ASSERT_TRUE(o.enqueue(p1));
    ASSERT_TRUE(o.enqueue(p2));
    o.mark_done(o.pending()[0].seq, "pd", "delivered");
    o.mark_done(o.pending()[0].seq, "log", "delivered");
    o.mark_done(o.pending()[0].seq, "pd", "delivered");
  }
  {
    page_outbox o(dir_ / "pages.outbox", {"pd", "log"});
    EXPECT_FALSE(o.enqueue(p1));
    EXPECT_FALSE(o.enqueue(p2));
    const auto pend = o.pending();
    ASSERT_EQ(pend.size(), 1U);
    EXPECT_EQ(pend[0].p.action, page_action::resolve);
    EXPECT_EQ(pend[0].pending, std::vector<std::string>{"log"});
    o.compact(clock_.wall());
    EXPECT_EQ(o.pending_count(), 1U);
  }
  {
    // A torn last line (a crash inside write(2)) is cut off, not fatal.
    std::ofstream(dir_ / "pages.outbox", std::ios::app) << R"({"op":"page","seq":99,"ke)";
  }
  page_outbox o(dir_ / "pages.outbox", {"pd", "log"});
  EXPECT_FALSE(o.enqueue(p1));  // still known after compaction
  EXPECT_EQ(o.pending_count(), 1U);
  const auto p3 = make_page("inc-2", page_action::trigger, 0, clock_.wall());
  EXPECT_TRUE(o.enqueue(p3));
  EXPECT_GT(o.pending().back().seq, o.pending().front().seq);
}

// The outbox tells the engine which incidents are open after a restart (the
// last page of each incident not resolved), also after compaction and long
// after the retention of its idempotency keys.
TEST_F(pager_test, outbox_knows_open_incidents_across_reopen_and_compaction) {
  const auto file = dir_ / "pages.outbox";
  const auto t = clock_.wall();
  auto trigger = make_page("inc-1", page_action::trigger, 0, t);
  trigger.incident_start = t - 5s;
  trigger.content_key = "regional_outage|failover-r1|pending_approval";
  {
    page_outbox o(file, {"pd"});
    ASSERT_TRUE(o.enqueue(trigger));
    ASSERT_TRUE(o.enqueue(make_page("inc-2", page_action::trigger, 0, t)));
    ASSERT_TRUE(o.enqueue(make_page("inc-2", page_action::resolve, 1, t + 1s)));
    auto update = make_page("inc-3", page_action::update, 7, t + 2s);
    update.kind = "vantage_absent";
    ASSERT_TRUE(o.enqueue(update));
    const auto open = o.open_incidents();
    ASSERT_EQ(open.size(), 2U);
    EXPECT_EQ(open[0].incident_id, "inc-1");
    EXPECT_EQ(open[1].incident_id, "inc-3");
    for (const auto& e : o.pending())
      o.mark_done(e.seq, "pd", "delivered");
  }
  {
    page_outbox o(file, {"pd"});
    auto open = o.open_incidents();
    ASSERT_EQ(open.size(), 2U);
    EXPECT_EQ(open[0].incident_start, trigger.incident_start);
    EXPECT_EQ(open[0].content_key, trigger.content_key);
    EXPECT_EQ(open[1].kind, "vantage_absent");
    o.compact(t + 24h * 30);  // long past the retention: finished keys go, open incidents stay
  }
  page_outbox o(file, {"pd"});
  EXPECT_EQ(o.pending_count(), 0U);
  auto open = o.open_incidents();
  ASSERT_EQ(open.size(), 2U);
  EXPECT_EQ(open[0].incident_id, "inc-1");
  EXPECT_EQ(open[0].content_key, trigger.content_key);
  EXPECT_FALSE(o.enqueue(trigger));                                        // still known
  EXPECT_TRUE(o.enqueue(make_page("inc-2", page_action::trigger, 0, t)));  // forgotten after the retention
  ASSERT_TRUE(o.enqueue(make_page("inc-1", page_action::resolve, 1, t + 3s)));
  open = o.open_incidents();
  ASSERT_EQ(open.size(), 2U);
  EXPECT_EQ(open[0].incident_id, "inc-3");
  EXPECT_EQ(open[1].incident_id, "inc-2");
}

TEST_F(pager_test, worker_thread_delivers_and_stops) {
  page_outbox outbox(dir_ / "pages.outbox", {"pd"});
  common::cv_waiter w;
  common::real_clock clock;
  std::vector<std::unique_ptr<page_sink>> sinks;
  sinks.push_back(make_pagerduty_sink(pd_config()));
  page_dispatcher d(outbox, std::move(sinks), clock, w);
  d.start();
  d.submit(make_page("inc-1", page_action::trigger, 0, clock.wall()));
  for (int i = 0; i < 500 && outbox.pending_count() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  d.stop();
  EXPECT_EQ(outbox.pending_count(), 0U);
  EXPECT_EQ(stats()["events"].size(), 1U);
}

// The engine is killed (SIGKILL) while a delivery is in flight: the receiver
// has processed the page but its answer never arrives. After a restart no
// page is lost, pages that were done are not sent again, and the in-flight
// page is re-sent with the same dedup key, so PagerDuty opens one incident.
TEST_F(pager_test, restart_mid_delivery_loses_nothing_and_opens_no_second_incident) {
  const auto outbox_file = dir_ / "pages.outbox";
  {
    page_outbox o(outbox_file, {"pd"});
    o.enqueue(make_page("inc-1", page_action::trigger, 0, clock_.wall()));
    o.enqueue(make_page("inc-2", page_action::trigger, 0, clock_.wall()));
    o.enqueue(make_page("inc-1", page_action::update, 1, clock_.wall()));
    o.enqueue(make_page("inc-2", page_action::resolve, 1, clock_.wall()));
  }
  post_json(fake_->base_url() + "/_hang", {{"n", 3}});  // the update of inc-1 hangs after processing
  const pid_t engine = ::fork();
  ASSERT_GE(engine, 0);
  if (engine == 0) {
    page_outbox o(outbox_file, {"pd"});
    manual_waiter w(clock_);
    std::vector<std::unique_ptr<page_sink>> sinks;
    auto cfg = pd_config();
    cfg.timeout = 60s;
    sinks.push_back(make_pagerduty_sink(cfg));
    page_dispatcher d(o, std::move(sinks), clock_, w);
    while (d.run_once()) {
    }
    ::_exit(0);
  }
  for (int i = 0; i < 1000 && stats()["received"] < 3; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(stats()["received"], 3);
  ::kill(engine, SIGKILL);
  int status = 0;
  ::waitpid(engine, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  post_json(fake_->base_url() + "/_release", json::object());

  page_outbox o(outbox_file, {"pd"});
  const auto pend = o.pending();
  ASSERT_EQ(pend.size(), 2U);  // the in-flight update and the resolve behind it
  EXPECT_EQ(idempotency_key(pend[0].p), "inc-1/update/1");
  EXPECT_EQ(idempotency_key(pend[1].p), "inc-2/resolve/1");
  manual_waiter w(clock_);
  std::vector<std::unique_ptr<page_sink>> sinks;
  sinks.push_back(make_pagerduty_sink(pd_config()));
  page_dispatcher d(o, std::move(sinks), clock_, w);
  while (d.run_once()) {
  }
  EXPECT_EQ(o.pending_count(), 0U);
  const auto s = stats();
  EXPECT_EQ(s["invalid"], 0);
  std::map<std::string, int> per_page;
  for (const auto& ev : s["events"]) {
    const std::string seq =
        ev.contains("payload") ? std::to_string(ev["payload"]["custom_details"]["sequence"].get<int>()) : "r";
    ++per_page[ev["dedup_key"].get<std::string>() + "/" + ev["event_action"].get<std::string>() + "/" + seq];
  }
  EXPECT_EQ(per_page["inc-1/trigger/0"], 1);  // done before the crash: never again
  EXPECT_EQ(per_page["inc-2/trigger/0"], 1);
  EXPECT_EQ(per_page["inc-1/trigger/1"], 2);  // in flight: re-sent once, same dedup key
  EXPECT_EQ(per_page["inc-2/resolve/r"], 1);  // not yet sent: sent once
  EXPECT_EQ(s["incidents_opened"]["inc-1"], 1);
  EXPECT_EQ(s["incidents_opened"]["inc-2"], 1);
  EXPECT_EQ(s["open"], json::array({"inc-1"}));
}

}  // namespace
}  // namespace vigil::paging
