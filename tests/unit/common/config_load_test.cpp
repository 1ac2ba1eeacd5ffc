// load_config_text(): the examples, defaults, substitution and secrets.
// Bad-config cases are in config_errors_test.cpp.
#include "common/config_load.hpp"

#include <gtest/gtest.h>

#include "common/topology.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {

using test::base_yaml;
using test::fake_world;

fake_world example_world() {
  fake_world w;
  for (const auto& f : {"examples/secrets/agent.key", "examples/approvers/alice.pub", "examples/approvers/bob.pub"}) {
    w.files[f] = test::read_source_file(f);
  }
  return w;
}

TEST(config_load, aws_example_loads_with_its_values) {
  const fake_world w = example_world();
  const auto r = w.load(test::read_source_file("examples/aws-active-passive.yaml"), "examples/aws-active-passive.yaml");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.error_count(), 0U);
  EXPECT_TRUE(r.diagnostics.empty()) << test::all_diagnostics(r);
  const config& c = *r.value;
  EXPECT_EQ(c.deployment, "shop-prod");
  EXPECT_EQ(c.primary().name, "us-east-1");
  EXPECT_EQ(c.dr().name, "us-west-2");
  EXPECT_EQ(c.vantages, (std::vector<std::string>{"us-east-1", "us-west-2", "eu-west-1"}));
  EXPECT_EQ(c.decision.quorum, 2);
  EXPECT_EQ(c.decision.confirm_for, duration{20000});
  EXPECT_EQ(c.decision.clear_for, duration{120000});
  EXPECT_EQ(c.decision.lag_max_age, duration{120000});
  EXPECT_EQ(c.probe_defaults.interval, duration{5000});
  EXPECT_EQ(c.probe_defaults.degraded_after, duration{1500});

  ASSERT_EQ(c.services.size(), 4U);
  EXPECT_EQ(c.services[2].name, "partner-dashboard");
  EXPECT_EQ(c.services[0].check_ids, (std::vector<std::string>{"api-web@us-east-1", "api-web@us-west-2"}));
  ASSERT_EQ(c.checks.size(), 10U);
  const check_config* api = c.find_check("api-web@us-east-1");
  ASSERT_NE(api, nullptr);
  ASSERT_TRUE(api->http);
  EXPECT_EQ(api->http->url, "https://api.use1.shop.example.com/health/ready");
  ASSERT_EQ(api->http->expect.size(), 4U);
  EXPECT_EQ(api->http->expect[1], "body.json(\"/db\") == \"ok\"");
  EXPECT_EQ(api->http->expect_pos[0].key_path, "services[0].checks[0].http.expect[0]");
  EXPECT_EQ(api->http->headers.at("User-Agent"), "vigil-probe");
  EXPECT_EQ(api->interval, duration{5000});  // from probe_defaults
  EXPECT_EQ(api->timeout, duration{3000});
  EXPECT_EQ(api->http->method, "GET");
  EXPECT_FALSE(api->region_scope);
  const check_config* notify = c.find_check("notifications@us-west-2");
  ASSERT_NE(notify, nullptr);
  EXPECT_EQ(notify->interval, duration{10000});
  const check_config* partner = c.find_check("partner-dashboard@us-east-1");
  ASSERT_NE(partner, nullptr);
  EXPECT_TRUE(partner->http->follow_redirects);
  EXPECT_EQ(partner->http->max_redirects, 3);

  const check_config* alb = c.find_check("alb-5xx@us-west-2");
  ASSERT_NE(alb, nullptr);
  EXPECT_TRUE(alb->region_scope);
  EXPECT_EQ(alb->service, "alb-5xx");
  ASSERT_TRUE(alb->cloudwatch);
  EXPECT_EQ(alb->cloudwatch->namespace_, "AWS/ApplicationELB");
  EXPECT_EQ(alb->cloudwatch->stat, "Sum");
  EXPECT_EQ(alb->cloudwatch->condition, "< 50");
  EXPECT_EQ(alb->cloudwatch->on_missing, missing_data::ok);
  EXPECT_EQ(alb->cloudwatch->dimensions.at("LoadBalancer"), "app/shop-prod-usw2/6f2b1a3c9d8e7f10");
  EXPECT_EQ(c.checks.back().id, "alb-5xx@us-west-2");  // region checks come after service checks

  EXPECT_EQ(c.replication_lag.source, lag_source::cloudwatch);
  EXPECT_EQ(c.replication_lag.cluster, "shop-prod-secondary");
  EXPECT_EQ(c.replication_lag.region, "us-west-2");
  EXPECT_EQ(c.engine.agent_key, "example-agent-key-replace-me-with-32-random-bytes-hex");  // newline trimmed
  EXPECT_EQ(c.engine.public_url, "https://vigil.ops.shop.example.com");
  EXPECT_EQ(c.coordination.prefix, "/vigil/shop-prod");

  ASSERT_EQ(c.paging.size(), 2U);
  EXPECT_EQ(c.paging[0].kind, sink_kind::pagerduty);
  EXPECT_EQ(c.paging[0].routing_key, "placeholder-set-PD_ROUTING_KEY");  // the ${...:-default}
  EXPECT_EQ(c.paging[1].kind, sink_kind::slack);
  EXPECT_EQ(c.paging[1].name, "slack");

  ASSERT_EQ(c.approvals.approvers.size(), 2U);
  EXPECT_EQ(c.approvals.approvers[1].id, "bob");
  EXPECT_EQ(c.approvals.approvers[1].public_key_file, "examples/approvers/bob.pub");
  EXPECT_NE(c.approvals.approvers[0].public_key_pem.find("BEGIN PUBLIC KEY"), std::string::npos);

  ASSERT_EQ(c.failover.steps.size(), 7U);
  EXPECT_TRUE(c.failover.dry_run);
  const std::vector<std::string> kinds{"arc_routing_control",
                                       "aurora_global_failover",
                                       "wait_db_cluster",
                                       "ecs_scale",
                                       "arc_routing_control",
                                       "verify",
                                       "exec"};
  for (std::size_t i = 0; i < kinds.size(); ++i)
    EXPECT_EQ(c.failover.steps[i].kind, kinds[i]) << i;
  const auto& fence = c.failover.steps[0];
  EXPECT_EQ(fence.params.at("state"), "Off");
  EXPECT_EQ(fence.params.at("cluster_endpoints").size(), 5U);
  EXPECT_EQ(fence.timeout, duration{60000});
  EXPECT_EQ(c.failover.steps[1].retries, 0);
  EXPECT_EQ(c.failover.steps[2].params.at("poll_interval"), 10000);  // durations as milliseconds
  EXPECT_EQ(c.failover.steps[3].params.at("desired_count"), 6);
  EXPECT_EQ(c.failover.steps[6].failure, on_failure::continue_);
  EXPECT_EQ(c.failover.steps[6].params.at("command")[0], "/usr/local/bin/announce-failover");
  EXPECT_EQ(c.failback.steps[1].kind, "aurora_switchover");
  EXPECT_EQ(c.logging.format, "json");
}

TEST(config_load, environment_overrides_the_example_defaults) {
  fake_world w = example_world();
  w.env["PD_ROUTING_KEY"] = "R0ut1ngK3y";
  w.env["SLACK_WEBHOOK"] = "https://hooks.slack.com/services/T1/B2/xyz";
  const auto r = w.load(test::read_source_file("examples/aws-active-passive.yaml"), "examples/aws-active-passive.yaml");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->paging[0].routing_key, "R0ut1ngK3y");
  EXPECT_EQ(r.value->paging[1].webhook_url, "https://hooks.slack.com/services/T1/B2/xyz");
}

TEST(config_load, local_example_loads) {
  const fake_world w = example_world();
  const auto r = w.load(test::read_source_file("examples/local.yaml"), "examples/local.yaml");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const config& c = *r.value;
  EXPECT_EQ(c.deployment, "local-dev");
  EXPECT_EQ(c.vantages.size(), 3U);
  EXPECT_EQ(c.engine.state_dir, "/tmp/vigil-local");
  EXPECT_FALSE(c.engine.agent_key.empty());
  for (const auto& chk : c.checks) {
    ASSERT_TRUE(chk.http);
    EXPECT_EQ(chk.http->url.rfind("http://127.0.0.1:", 0), 0U) << chk.http->url;
  }
  EXPECT_EQ(c.decision.tick, duration{500});
  EXPECT_EQ(c.decision.stale_after, duration{3000});     // 3 x probe_defaults.interval
  EXPECT_EQ(c.decision.impaired_after, duration{1500});  // probe_defaults.interval + tick
}

TEST(config_load, defaults_of_section_3) {
  const auto r = fake_world{}.load(base_yaml);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const config& c = *r.value;
  EXPECT_EQ(c.decision.tick, duration{1000});
  EXPECT_EQ(c.decision.quorum, 2);  // strict majority of 3
  EXPECT_EQ(c.decision.fall, 3);
  EXPECT_EQ(c.decision.rise, 3);
  EXPECT_EQ(c.decision.stale_after, duration{6000});
  EXPECT_DOUBLE_EQ(c.decision.impaired_fraction, 0.5);
  EXPECT_EQ(c.decision.impaired_after, duration{3000});  // probe_defaults.interval 2s + tick 1s
  EXPECT_EQ(c.decision.partition_after, duration{60000});
  EXPECT_DOUBLE_EQ(c.decision.regional_fraction, 0.5);
  EXPECT_EQ(c.decision.confirm_for, duration{2000});
  EXPECT_EQ(c.decision.clear_for, duration{30000});
  EXPECT_EQ(c.decision.cooldown, duration{3600000});
  EXPECT_EQ(c.decision.recommendation_ttl, duration{1800000});
  EXPECT_EQ(c.probe_defaults.interval, duration{2000});
  EXPECT_EQ(c.checks[0].id, "api@us-east-1");
  EXPECT_EQ(c.checks[0].role, check_role::classify);
  EXPECT_EQ(c.checks[0].pos.line, 9);
  EXPECT_EQ(c.checks[0].pos.column, 9);
  EXPECT_EQ(c.checks[0].http->body_limit, 64U * 1024U);
  EXPECT_EQ(c.checks[0].http->max_redirects, 0);
  EXPECT_EQ(c.replication_lag.source, lag_source::none);
  EXPECT_EQ(c.engine.listen, "127.0.0.1:9470");
  EXPECT_EQ(c.engine.public_url, "http://127.0.0.1:9470");
  EXPECT_EQ(c.coordination.backend, coordination_backend::file);
  EXPECT_EQ(c.coordination.prefix, "/vigil/t");
  EXPECT_EQ(c.approvals.required, 1);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.find_check("nope@us-east-1"), nullptr);
  // Warnings only: no agent key, no approvers, no paging, no plan.
  EXPECT_EQ(r.error_count(), 0U);
  EXPECT_GE(r.diagnostics.size(), 4U);
}

TEST(config_load, replication_lag_failback_inherits_the_main_block) {
  const auto r = fake_world{}.load(base_yaml +
                                   "replication_lag:\n"
                                   "  source: cloudwatch\n"
                                   "  cluster: db-secondary\n"
                                   "  metric: AuroraGlobalDBReplicationLag\n"
                                   "  interval: 7s\n"
                                   "  failback: {cluster: db-home}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const auto& rl = r.value->replication_lag;
  ASSERT_TRUE(rl.failback);
  EXPECT_EQ(rl.region, "us-west-2");
  const auto fb = rl.failback_source();
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->region, "us-east-1");  // default: the configured primary
  EXPECT_EQ(fb->cluster, "db-home");
  EXPECT_EQ(fb->metric, "AuroraGlobalDBReplicationLag");
  EXPECT_EQ(fb->interval, duration{7000});
  EXPECT_EQ(fb->source, lag_source::cloudwatch);
  EXPECT_FALSE(fb->failback);
  EXPECT_TRUE(make_topology(*r.value).p.failback_lag_source_configured);
  EXPECT_FALSE(fake_world{}.load(base_yaml).value->replication_lag.failback_source());
}

TEST(config_load, follow_redirects_bounds_redirects_by_default) {
  const auto r = fake_world{}.load(base_yaml +
                                   "region_checks:\n"
                                   "  - name: edge\n"
                                   "    region: us-east-1\n"
                                   "    role: gate\n"
                                   "    http: {url: 'https://e.example/', follow_redirects: true, method: HEAD}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const check_config* edge = r.value->find_check("edge@us-east-1");
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(edge->http->max_redirects, 5);
  EXPECT_EQ(edge->http->method, "HEAD");
  EXPECT_EQ(edge->role, check_role::gate);
}

TEST(config_load, tcp_dns_postgres_and_grpc_checks) {
  fake_world w;
  w.env["PG_DSN"] = "host=10.0.0.9 user=vigil dbname=app";
  const auto r =
      w.load(base_yaml +
             "region_checks:\n"
             "  - name: smtp\n"
             "    region: us-east-1\n"
             "    tcp: {address: \"mail.internal:25\", expect: \"220 \", read_limit: 512}\n"
             "  - name: tls\n"
             "    region: us-east-1\n"
             "    tcp: {address: \"10.0.0.1:443\", tls: true, server_name: api.example.com,"
             " send: \"PING\\r\\n\", connect_timeout: 300ms}\n"
             "  - name: dns\n"
             "    region: us-east-1\n"
             "    dns: {name: api.example.com, type: AAAA, resolver: \"[fd00::2]:53\", expect: [\"fd00::10\"]}\n"
             "  - name: writer\n"
             "    region: us-west-2\n"
             "    postgres: {dsn: \"${PG_DSN}\", query: \"SELECT NOT pg_is_in_recovery()\", expect: \"t\"}\n"
             "  - name: health\n"
             "    region: us-west-2\n"
             "    grpc: {address: \"api.internal:50051\", service: shop.Api}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const check_config* smtp = r.value->find_check("smtp@us-east-1");
  ASSERT_TRUE(smtp && smtp->tcp);
  EXPECT_EQ(smtp->kind(), "tcp");
  EXPECT_EQ(smtp->tcp->expect, "220 ");
  EXPECT_EQ(smtp->tcp->read_limit, 512U);
  EXPECT_FALSE(smtp->tcp->tls);
  const check_config* tls = r.value->find_check("tls@us-east-1");
  ASSERT_TRUE(tls && tls->tcp);
  EXPECT_TRUE(tls->tcp->tls);
  EXPECT_EQ(tls->tcp->server_name, "api.example.com");
  EXPECT_EQ(tls->tcp->send, "PING\r\n");
  EXPECT_EQ(tls->tcp->connect_timeout, duration{300});
  const check_config* dns = r.value->find_check("dns@us-east-1");
  ASSERT_TRUE(dns && dns->dns);
  EXPECT_EQ(dns->kind(), "dns");
  EXPECT_EQ(dns->dns->type, "AAAA");
  EXPECT_EQ(dns->dns->resolver, "[fd00::2]:53");
  EXPECT_EQ(dns->dns->expect, std::vector<std::string>{"fd00::10"});
  const check_config* writer = r.value->find_check("writer@us-west-2");
  ASSERT_TRUE(writer && writer->postgres);
  EXPECT_EQ(writer->kind(), "postgres");
  EXPECT_EQ(writer->postgres->dsn, "host=10.0.0.9 user=vigil dbname=app");
  EXPECT_EQ(writer->postgres->expect, std::optional<std::string>("t"));
  const check_config* health = r.value->find_check("health@us-west-2");
  ASSERT_TRUE(health && health->grpc);
  EXPECT_EQ(health->kind(), "grpc");
  EXPECT_EQ(health->grpc->service, "shop.Api");
  EXPECT_FALSE(health->grpc->tls);
}

TEST(config_load, env_substitution_defaults_and_escapes) {
  fake_world w;
  w.env["STATE"] = "/srv/vigil";
  w.env["FALL"] = "5";
  const auto r = w.load(base_yaml +
                        "decision: {fall: '${FALL}'}\n"
                        "engine:\n"
                        "  state_dir: ${STATE}/state\n"
                        "  record: '$${NOT_A_VAR}/x'\n"
                        "  public_url: '${PUBLIC_URL:-http://vigil.local:8080}'\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->decision.fall, 5);
  EXPECT_EQ(r.value->engine.state_dir, "/srv/vigil/state");
  EXPECT_EQ(r.value->engine.record, "${NOT_A_VAR}/x");
  EXPECT_EQ(r.value->engine.public_url, "http://vigil.local:8080");
}

TEST(config_load, file_secrets_resolve_relative_to_the_config_and_trim_the_newline) {
  fake_world w;
  w.files["conf/keys/agent.key"] = "s3cr3t\r\n";
  w.files["/abs/pd.key"] = "pdkey\n";
  const auto r = w.load(base_yaml +
                        "engine: {agent_key_file: keys/agent.key}\n"
                        "paging:\n"
                        "  - {kind: pagerduty, routing_key_file: /abs/pd.key}\n"
                        "  - {kind: webhook, name: hooks, url: 'https://h.example/x', secret: '${HOOK_SECRET:-x}'}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->engine.agent_key, "s3cr3t");
  EXPECT_EQ(r.value->paging[0].routing_key, "pdkey");
  EXPECT_EQ(r.value->paging[1].name, "hooks");
  EXPECT_EQ(r.value->paging[1].secret, "x");
}

TEST(config_load, inline_secret_is_a_warning_that_does_not_show_the_secret) {
  const auto r = fake_world{}.load(base_yaml + "engine: {agent_key: hunter2hunter2}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const std::string all = test::all_diagnostics(r);
  EXPECT_NE(all.find("conf/vigil.yaml:13:21: warning: engine.agent_key: secret written inline"), std::string::npos)
      << all;
  EXPECT_EQ(all.find("hunter2"), std::string::npos) << all;
}

TEST(config_load, quorum_reachable_from_one_region_is_a_warning) {
  const std::string yaml =
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: dr}]\n"
      "vantages:\n"
      "  - {name: use1-a, region: us-east-1}\n"
      "  - {name: use1-b, region: us-east-1}\n"
      "  - us-west-2\n"
      "services:\n"
      "  - name: api\n"
      "    checks: [{region: us-east-1, http: {url: 'http://a:1/'}},\n"
      "             {region: us-west-2, http: {url: 'http://b:1/'}}]\n";
  const auto r = fake_world{}.load(yaml);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const std::string all = test::all_diagnostics(r);
  EXPECT_NE(all.find("conf/vigil.yaml:4:3: warning: vantages: region us-east-1 hosts 2 vantages (use1-a, use1-b), "
                     "enough for the quorum of 2 alone"),
            std::string::npos)
      << all;
  EXPECT_EQ(r.value->vantage_regions.at("use1-a"), "us-east-1");
  EXPECT_EQ(r.value->vantage_regions.at("us-west-2"), "us-west-2");
}

TEST(config_load, vantages_named_after_one_region_warn_too) {
  // Vantage names equal to region names count as hosted there: two of five
  // named us-east-1 cannot exist (duplicates), so use a quorum of 1 of 1.
  const std::string yaml =
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: dr}]\n"
      "vantages: [us-east-1]\n"
      "services: [{name: api, checks: [{region: us-east-1, http: {url: 'http://a:1/'}},\n"
      "                                {region: us-west-2, http: {url: 'http://b:1/'}}]}]\n";
  const auto r = fake_world{}.load(yaml);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_NE(test::all_diagnostics(r).find("warning: vantages: region us-east-1 hosts 1 vantages"), std::string::npos)
      << test::all_diagnostics(r);
}

TEST(config_load, few_services_without_a_region_check_warn_about_thin_evidence) {
  // base_yaml: one service per region, no region check: a single failing
  // service is a regional outage in each region.
  const auto one = fake_world{}.load(base_yaml);
  ASSERT_TRUE(one.ok()) << test::all_diagnostics(one);
  const std::string all = test::all_diagnostics(one);
  EXPECT_NE(all.find("warning: services: primary region us-east-1: 1 of its 1 services down is a regional outage "
                     "(regional_fraction 0.5): a single failing service is enough; vigil then waits clear_for (30s)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("dr region us-west-2: 1 of its 1 services"), std::string::npos) << all;
  EXPECT_NE(all.find("Add a `scope: region` check for us-east-1"), std::string::npos) << all;

  std::string four = base_yaml;
  for (const char* name : {"cart", "pay", "auth"}) {
    four += std::string("  - name: ") + name +
            "\n    checks: [{region: us-east-1, http: {url: 'http://a:1/'}}, {region: us-west-2, http: {url: "
            "'http://b:1/'}}]\n";
  }
  const auto r4 = fake_world{}.load(four + "decision: {regional_fraction: 0.5}\n");
  ASSERT_TRUE(r4.ok()) << test::all_diagnostics(r4);
  EXPECT_NE(test::all_diagnostics(r4).find("warning: decision.regional_fraction: primary region us-east-1: 2 of its 4 "
                                           "services down is a regional outage (regional_fraction 0.5): one service "
                                           "outage plus one more failing service is enough"),
            std::string::npos)
      << test::all_diagnostics(r4);
  EXPECT_NE(test::all_diagnostics(r4).find("or raise decision.regional_fraction above 0.5 (3 of 4 services)"),
            std::string::npos)
      << test::all_diagnostics(r4);
  // 0.75 of 4 is 3 services: no warning.
  const auto r3 = fake_world{}.load(four + "decision: {regional_fraction: 0.75}\n");
  ASSERT_TRUE(r3.ok()) << test::all_diagnostics(r3);
  EXPECT_EQ(test::all_diagnostics(r3).find("is a regional outage"), std::string::npos) << test::all_diagnostics(r3);
  // A region check in us-east-1 silences that region only.
  const auto rc = fake_world{}.load(base_yaml +
                                    "region_checks:\n"
                                    "  - {name: edge, region: us-east-1, http: {url: 'http://a:1/edge'}}\n");
  ASSERT_TRUE(rc.ok()) << test::all_diagnostics(rc);
  EXPECT_EQ(test::all_diagnostics(rc).find("region us-east-1: 1 of its"), std::string::npos)
      << test::all_diagnostics(rc);
  EXPECT_NE(test::all_diagnostics(rc).find("dr region us-west-2: 1 of its 1 services"), std::string::npos)
      << test::all_diagnostics(rc);
}

TEST(config_load, three_regions_vantages_do_not_warn) {
  const auto r = fake_world{}.load(base_yaml);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(test::all_diagnostics(r).find("enough for the quorum"), std::string::npos) << test::all_diagnostics(r);
}

TEST(config_load, every_step_kind_reads_its_params) {
  fake_world w;
  w.files["conf/hook.secret"] = "hooksecret\n";
  const auto r =
      w.load(base_yaml +
             "plan:\n"
             "  failback:\n"
             "    dry_run: false\n"
             "    steps:\n"
             "      - {name: p, kind: ssm_parameter, parameter: /shop/active, value: us-east-1,\n"
             "         region: us-east-1, secure: true}\n"
             "      - {name: dns, kind: route53_upsert, hosted_zone_id: Z1, record_name: db.example.,\n"
             "         record_type: CNAME, values: [a.example., b.example.], ttl: 30}\n"
             "      - {name: hook, kind: webhook, url: 'https://h.example/x', secret_file: hook.secret,\n"
             "         headers: {X-A: b}}\n"
             "      - {name: detach, kind: aurora_detach, global_cluster: g, db_cluster_arn: arn, region: us-west-2}\n"
             "      - {name: v, kind: verify, region: us-east-1, within: 2m,\n"
             "         http: [{url: 'http://x:1/', expect: ['status == 200']}]}\n"
             "      - {name: arc, kind: arc_routing_control, routing_control_arns: [a, b], state: 'On',\n"
             "         cluster_endpoints: ['https://c.example/v1'], retries: 5, on_failure: continue}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const auto& steps = r.value->failback.steps;
  ASSERT_EQ(steps.size(), 6U);
  EXPECT_FALSE(r.value->failback.dry_run);
  EXPECT_EQ(steps[0].name, "p");
  EXPECT_EQ(steps[0].params.at("parameter"), "/shop/active");
  EXPECT_EQ(steps[0].params.at("secure"), true);
  EXPECT_EQ(steps[1].params.at("values").size(), 2U);
  EXPECT_EQ(steps[1].params.at("ttl"), 30);
  EXPECT_EQ(steps[2].params.at("secret"), "hooksecret");
  EXPECT_FALSE(steps[2].params.contains("secret_file"));
  EXPECT_EQ(steps[2].params.at("headers").at("X-A"), "b");
  EXPECT_EQ(steps[3].kind, "aurora_detach");
  EXPECT_EQ(steps[4].params.at("within"), 120000);
  EXPECT_EQ(steps[4].params.at("http")[0].at("expect")[0], "status == 200");
  EXPECT_EQ(steps[5].retries, 5);
  EXPECT_EQ(steps[5].failure, on_failure::continue_);
  EXPECT_EQ(steps[5].pos.key_path, "plan.failback.steps[5]");
  EXPECT_EQ(steps[5].pos.line, 26);
}

TEST(config_load, diagnostic_format_without_position_or_path) {
  config_diagnostic d;
  d.pos.file = "x.yaml";
  d.message = "boom";
  EXPECT_EQ(d.format(), "x.yaml: error: boom");
  d.pos.line = 3;
  d.pos.column = 7;
  d.pos.key_path = "a.b";
  d.severity = config_diagnostic::level::warning;
  EXPECT_EQ(d.format(), "x.yaml:3:7: warning: a.b: boom");
}

TEST(config_load, unreadable_config_file_is_an_error) {
  const auto r = load_config("/nonexistent/vigil-config.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.error_count(), 1U);
  EXPECT_NE(r.diagnostics[0].format().find("/nonexistent/vigil-config.yaml: error: cannot read"), std::string::npos);
}

TEST(config_load, to_string_names) {
  EXPECT_EQ(to_string(region_role::dr), "dr");
  EXPECT_EQ(to_string(check_role::gate), "gate");
  EXPECT_EQ(to_string(lag_source::postgres_standby), "postgres_standby");
  EXPECT_EQ(to_string(sink_kind::alertmanager), "alertmanager");
  EXPECT_EQ(to_string(missing_data::fail), "fail");
}

TEST(config_load, fast_interval_is_off_unless_set_and_a_check_may_override_it) {
  fake_world w;
  const auto off = w.load(base_yaml);
  ASSERT_TRUE(off.ok()) << test::all_diagnostics(off);
  EXPECT_EQ(off.value->probe_defaults.fast_interval.count(), 0);
  EXPECT_EQ(off.value->checks[0].fast_interval.count(), 0);

  std::string yaml = base_yaml;
  const std::string second = "        http: {url: \"http://127.0.0.1:2/\"}\n";
  yaml.replace(yaml.find(second), second.size(), second + "        fast_interval: 0s\n");
  const auto on = w.load(yaml + "probe_defaults: {interval: 10s, fast_interval: 1s}\n");
  ASSERT_TRUE(on.ok()) << test::all_diagnostics(on);
  EXPECT_EQ(on.value->probe_defaults.fast_interval, duration{1000});
  EXPECT_EQ(on.value->checks[0].fast_interval, duration{1000});  // inherited
  EXPECT_EQ(on.value->checks[1].fast_interval.count(), 0);       // turned off on this check
}

}  // namespace
}  // namespace vigil::common
