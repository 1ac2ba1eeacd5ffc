// Bad configs: each case asserts that loading fails and that the formatted
// diagnostic names the exact line:column and key path and what was expected.
#include <gtest/gtest.h>

#include "common/config_load.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {

using test::base_yaml;
using test::fake_world;
using test::has_error;

config_load_result load(const std::string& yaml) {
  return fake_world{}.load(yaml);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(config_errors, unknown_top_level_key_with_did_you_mean) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "servces: []\n"), "13:1", "servces", "unknown key (did you mean \"services\"?)"));
}

TEST(config_errors, silences_and_maintenance_windows) {
  const auto ok = load(base_yaml +
                       "silences: {pages: hold, max_active: 5, max_duration: 2d}\n"
                       "maintenance_windows:\n"
                       "  - {name: db, scope: 'service:db', schedule: 'Sun 02:00-04:00', timezone: 'UTC+01:00'}\n");
  ASSERT_TRUE(ok.ok()) << test::all_diagnostics(ok);
  EXPECT_TRUE(ok.value->silences.hold_pages);
  EXPECT_EQ(ok.value->silences.max_active, 5);
  ASSERT_EQ(ok.value->silences.windows.size(), 1U);
  EXPECT_EQ(ok.value->silences.windows[0].timezone, "UTC+01:00");
  const auto bad = load(base_yaml + "maintenance_windows:\n  - {name: db, scope: all, schedule: 'Sunday 2-4'}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(test::all_diagnostics(bad).find("maintenance_windows[0].schedule"), std::string::npos)
      << test::all_diagnostics(bad);
  const auto tz = load(base_yaml +
                       "maintenance_windows:\n  - {name: db, scope: all, schedule: 'Sun 02:00-04:00', "
                       "timezone: Europe/Paris}\n");
  EXPECT_NE(test::all_diagnostics(tz).find("fixed offsets only"), std::string::npos) << test::all_diagnostics(tz);
  EXPECT_FALSE(load(base_yaml + "silences: {pages: drop}\n").ok());
  EXPECT_FALSE(load(base_yaml + "silences: {max_duration: 90d}\n").ok());
}

TEST(config_errors, unknown_nested_key_with_did_you_mean) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  fal: 3\n"), "14:3", "decision.fal",
                        "unknown key (did you mean \"fall\"?)"));
}

TEST(config_errors, unknown_key_without_near_miss_has_no_suggestion) {
  const auto r = load(base_yaml + "decision:\n  banana: 3\n");
  EXPECT_TRUE(has_error(r, "14:3", "decision.banana", "unknown key"));
  EXPECT_EQ(test::all_diagnostics(r).find("did you mean"), std::string::npos);
}

TEST(config_errors, wrong_type_string_for_integer) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  fall: three\n"), "14:9", "decision.fall",
                        "expected an integer in [1, 100], got \"three\""));
}

TEST(config_errors, wrong_type_map_for_duration) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  tick: {a: 1}\n"), "14:9", "decision.tick", "got a map"));
}

TEST(config_errors, wrong_type_scalar_for_section) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision: fast\n"), "13:11", "decision", "expected a map"));
}

TEST(config_errors, bad_duration) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  tick: 10x\n"), "14:9", "decision.tick",
                        "expected a duration such as 500ms, 2s, 5m, 1h, got \"10x\""));
}

TEST(config_errors, duration_without_unit) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "probe_defaults: {interval: 5}\n"), "13:28", "probe_defaults.interval", "got \"5\""));
}

TEST(config_errors, fall_out_of_range) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  fall: 101\n"), "14:9", "decision.fall",
                        "expected an integer in [1, 100], got \"101\""));
}

TEST(config_errors, fraction_out_of_range) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  regional_fraction: 1.5\n"), "14:22",
                        "decision.regional_fraction", "expected a number in (0, 1], got \"1.5\""));
}

TEST(config_errors, fraction_zero_is_out_of_range) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  impaired_fraction: 0\n"), "14:22", "decision.impaired_fraction",
                        "expected a number in (0, 1]"));
}

TEST(config_errors, impaired_after_is_a_duration) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "decision:\n  impaired_after: 10x\n"), "14:19", "decision.impaired_after", "10x"));
}

TEST(config_errors, partition_after_is_a_duration) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "decision:\n  partition_after: 10x\n"), "14:20", "decision.partition_after", "10x"));
}

TEST(config_errors, ttl_must_be_positive) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  recommendation_ttl: 0s\n"), "14:23",
                        "decision.recommendation_ttl", "at least 1ms"));
}

TEST(config_errors, bad_url_scheme) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "http://127.0.0.1:1/", "ftp://127.0.0.1/")), "10:21",
                        "services[0].checks[0].http.url", "scheme \"ftp\" (expected http or https)"));
}

TEST(config_errors, url_without_host) {
  EXPECT_TRUE(has_error(load(base_yaml + "region_checks:\n"
                                         "  - name: alb\n"
                                         "    region: us-east-1\n"
                                         "    http: {url: 'https:///path'}\n"),
                        "16:17", "region_checks[0].http.url", "no host"));
}

TEST(config_errors, url_with_bad_port) {
  EXPECT_TRUE(has_error(load(base_yaml + "engine: {public_url: 'http://x:99999/'}\n"), "13:22", "engine.public_url",
                        "port \"99999\""));
}

TEST(config_errors, duplicate_check_id) {
  EXPECT_TRUE(has_error(load(base_yaml + "region_checks:\n"
                                         "  - name: api\n"
                                         "    region: us-east-1\n"
                                         "    http: {url: 'http://x:1/'}\n"),
                        "14:11", "region_checks[0].name",
                        "duplicate check id \"api@us-east-1\" (first defined at line 9)"));
}

TEST(config_errors, duplicate_check_in_one_service) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "- region: us-west-2", "- region: us-east-1")), "11:17",
                        "services[0].checks[1].region", "duplicate check id \"api@us-east-1\""));
}

TEST(config_errors, unknown_region_in_a_check) {
  EXPECT_TRUE(has_error(
      load(replace(base_yaml, "- region: us-west-2", "- region: us-west-3")), "11:17", "services[0].checks[1].region",
      "unknown region \"us-west-3\": expected one of us-east-1|us-west-2 (did you mean \"us-west-2\"?)"));
}

TEST(config_errors, unknown_vantage) {
  EXPECT_TRUE(has_error(load(base_yaml + "replication_lag:\n"
                                         "  source: cloudwatch\n"
                                         "  cluster: db-secondary\n"
                                         "  vantage: eu-west-2\n"),
                        "16:12", "replication_lag.vantage", "unknown vantage \"eu-west-2\""));
}

TEST(config_errors, unknown_region_for_replication_lag) {
  EXPECT_TRUE(has_error(load(base_yaml + "replication_lag: {source: cloudwatch, cluster: c, region: eu-west-1}\n"),
                        "13:59", "replication_lag.region", "unknown region \"eu-west-1\""));
}

TEST(config_errors, replication_lag_failback_block) {
  const std::string lag = base_yaml +
                          "replication_lag:\n"
                          "  source: cloudwatch\n"
                          "  cluster: db-secondary\n"
                          "  failback:\n";
  EXPECT_TRUE(has_error(load(lag + "    region: eu-west-1\n    cluster: db-home\n"), "17:13",
                        "replication_lag.failback.region", "unknown region \"eu-west-1\""));
  EXPECT_TRUE(has_error(load(lag + "    region: us-west-2\n    cluster: db-home\n"), "17:13",
                        "replication_lag.failback.region", "is the region the main block measures"));
  EXPECT_TRUE(has_error(load(lag + "    cluster: db-home\n    interval: 5s\n"), "18:5",
                        "replication_lag.failback.interval", "unknown key"));
  EXPECT_TRUE(has_error(load(lag + "    region: us-east-1\n"), "17:5", "replication_lag.failback.cluster",
                        "missing required key"));
  EXPECT_TRUE(has_error(load(lag + "    cluster: db-home\n    metric: Lag\n"), "18:13",
                        "replication_lag.failback.metric", "AuroraGlobalDBRPOLag"));
}

TEST(config_errors, two_primaries) {
  const auto r = load(replace(base_yaml, "role: dr", "role: primary"));
  EXPECT_TRUE(has_error(r, "4:29", "regions[1].role", "a second primary region \"us-west-2\""));
  EXPECT_TRUE(has_error(r, "3:3", "regions", "no region with role: dr"));
}

TEST(config_errors, no_dr_region) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "  - {name: us-west-2, role: dr}\n", "")), "3:3", "regions",
                        "no region with role: dr: expected exactly one primary and one dr region"));
}

TEST(config_errors, bad_role_with_did_you_mean) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "role: dr", "role: DR")), "4:29", "regions[1].role",
                        "expected one of primary|dr, got \"DR\" (did you mean \"dr\"?)"));
}

TEST(config_errors, quorum_larger_than_vantages) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  quorum: 4\n"), "14:11", "decision.quorum",
                        "expected at most 3 (the number of vantages), got 4"));
}

TEST(config_errors, quorum_not_a_majority) {
  const std::string yaml = replace(base_yaml, "eu-west-1]", "eu-west-1, eu-central-1]") + "decision:\n  quorum: 2\n";
  EXPECT_TRUE(has_error(load(yaml), "14:11", "decision.quorum",
                        "expected a strict majority of the 4 vantages (at least 3), got 2"));
}

TEST(config_errors, duplicate_vantage) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "eu-west-1]", "us-west-2]")), "5:34", "vantages[2]",
                        "duplicate vantage \"us-west-2\""));
}

TEST(config_errors, missing_env_var_names_it) {
  EXPECT_TRUE(has_error(load(base_yaml + "engine:\n  record: ${VIGIL_TEST_MISSING}/obs.jsonl\n"), "14:11",
                        "engine.record", "environment variable VIGIL_TEST_MISSING is not set"));
}

TEST(config_errors, malformed_env_reference) {
  EXPECT_TRUE(has_error(load(base_yaml + "engine:\n  record: '${1BAD}'\n"), "14:11", "engine.record",
                        "bad environment reference ${1BAD}"));
}

TEST(config_errors, unreadable_secret_file_names_it) {
  EXPECT_TRUE(has_error(load(base_yaml + "engine:\n  agent_key_file: secrets/nope.key\n"), "14:19",
                        "engine.agent_key_file",
                        "cannot read secret file \"conf/secrets/nope.key\": No such file or directory"));
}

TEST(config_errors, unreadable_public_key_file) {
  EXPECT_TRUE(has_error(load(base_yaml + "approvals:\n  approvers:\n    - {id: alice, public_key_file: a.pub}\n"),
                        "15:36", "approvals.approvers[0].public_key_file",
                        "cannot read public key file \"conf/a.pub\""));
}

TEST(config_errors, secret_and_secret_file_together) {
  fake_world w;
  w.files["conf/k"] = "k";
  EXPECT_TRUE(has_error(w.load(base_yaml + "engine: {agent_key: '${K:-x}', agent_key_file: k}\n"), "13:48",
                        "engine.agent_key_file", "set either agent_key or agent_key_file, not both"));
}

TEST(config_errors, yaml_syntax_error_with_position) {
  EXPECT_TRUE(has_error(load("deployment: t\nregions: [a,\n  b: {"), "3:1", "", "YAML syntax error"));
}

TEST(config_errors, yaml_syntax_error_bad_indentation) {
  const auto r = load("deployment: t\n  regions: x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(test::all_diagnostics(r).find("conf/vigil.yaml:2:10: error: YAML syntax error: illegal map value"),
            std::string::npos)
      << test::all_diagnostics(r);
}

TEST(config_errors, empty_file) {
  const auto r = load("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(test::all_diagnostics(r),
            "conf/vigil.yaml:1:1: error: the file is empty: expected a map with deployment, "
            "regions, vantages and services\n");
}

TEST(config_errors, top_level_list) {
  EXPECT_TRUE(has_error(load("- a\n- b\n"), "1:1", "(top level)", "expected a map"));
}

TEST(config_errors, unknown_plan_step_kind) {
  EXPECT_TRUE(has_error(load(base_yaml + "plan:\n"
                                         "  failover:\n"
                                         "    steps:\n"
                                         "      - {name: a, kind: ecs_scal}\n"),
                        "16:25", "plan.failover.steps[0].kind", "got \"ecs_scal\" (did you mean \"ecs_scale\"?)"));
}

TEST(config_errors, plan_step_missing_required_key) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "plan:\n"
                                 "  failover:\n"
                                 "    steps:\n"
                                 "      - {name: a, kind: ecs_scale, cluster: c, service: s, region: us-west-2}\n"),
                "16:9", "plan.failover.steps[0].desired_count", "missing required key"));
}

TEST(config_errors, plan_step_unknown_key_for_its_kind) {
  EXPECT_TRUE(has_error(load(base_yaml + "plan:\n"
                                         "  failover:\n"
                                         "    steps:\n"
                                         "      - name: a\n"
                                         "        kind: exec\n"
                                         "        comand: [/bin/true]\n"),
                        "18:9", "plan.failover.steps[0].comand",
                        "unknown key for kind exec (did you mean \"command\"?)"));
}

TEST(config_errors, plan_step_one_of_keys) {
  EXPECT_TRUE(has_error(load(base_yaml + "plan:\n"
                                         "  failover:\n"
                                         "    steps:\n"
                                         "      - {name: f, kind: arc_routing_control, state: 'Off',\n"
                                         "         cluster_endpoints: ['https://c1.example/v1']}\n"),
                        "16:9", "plan.failover.steps[0].routing_control_arn",
                        "needs routing_control_arn or routing_control_arns"));
}

TEST(config_errors, plan_step_unknown_region_and_bad_state) {
  const auto r = load(base_yaml +
                      "plan:\n"
                      "  failover:\n"
                      "    steps:\n"
                      "      - {name: f, kind: arc_routing_control, state: off, routing_control_arn: a,\n"
                      "         cluster_endpoints: ['https://c1.example/v1']}\n"
                      "      - {name: s, kind: ecs_scale, cluster: c, service: s, desired_count: 2,\n"
                      "         region: eu-west-1}\n");
  EXPECT_TRUE(has_error(r, "16:53", "plan.failover.steps[0].state", "expected one of On|Off, got \"off\""));
  EXPECT_TRUE(has_error(r, "19:18", "plan.failover.steps[1].region", "unknown region \"eu-west-1\""));
}

TEST(config_errors, aurora_mode_and_min_capacity) {
  const auto r = load(base_yaml +
                      "plan:\n"
                      "  failover:\n"
                      "    steps:\n"
                      "      - {name: p, kind: aurora_global_failover, global_cluster: g, target_cluster_arn: t,\n"
                      "         region: us-west-2, mode: planned}\n"
                      "      - {name: s, kind: ecs_scale, cluster: c, service: s, desired_count: 2,\n"
                      "         region: us-west-2, min_capacity: -1}\n");
  EXPECT_TRUE(has_error(r, "17:35", "plan.failover.steps[0].mode",
                        "expected one of auto|failover|switchover, got \"planned\""));
  EXPECT_TRUE(has_error(r, "19:43", "plan.failover.steps[1].min_capacity", "-1"));
  const auto ok = load(base_yaml +
                       "plan:\n"
                       "  failover:\n"
                       "    steps:\n"
                       "      - {name: p, kind: aurora_global_failover, global_cluster: g, target_cluster_arn: t,\n"
                       "         region: us-west-2, mode: switchover}\n"
                       "      - {name: s, kind: ecs_scale, cluster: c, service: s, desired_count: 2,\n"
                       "         region: us-west-2, min_capacity: 1, scalable_target: false}\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value->failover.steps[0].params["mode"], "switchover");
  EXPECT_EQ(ok.value->failover.steps[1].params["min_capacity"], 1);
  EXPECT_EQ(ok.value->failover.steps[1].params["scalable_target"], false);
}

TEST(config_errors, verify_step_unknown_check) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "plan:\n"
                                 "  failover:\n"
                                 "    steps:\n"
                                 "      - {name: v, kind: verify, region: us-west-2, checks: [api@us-west-3]}\n"),
                "16:61", "plan.failover.steps[0].checks[0]",
                "unknown check id \"api@us-west-3\" (did you mean \"api@us-west-2\"?)"));
}

TEST(config_errors, exec_command_must_be_a_list) {
  EXPECT_TRUE(has_error(load(base_yaml + "plan:\n"
                                         "  failover:\n"
                                         "    steps:\n"
                                         "      - {name: x, kind: exec, command: /bin/true}\n"),
                        "16:40", "plan.failover.steps[0].command", "expected a list of strings, got a string"));
}

TEST(config_errors, clear_for_not_longer_than_confirm_for) {
  EXPECT_TRUE(has_error(load(base_yaml + "decision:\n  confirm_for: 10s\n  clear_for: 10s\n"), "15:14",
                        "decision.clear_for", "clear_for (10s) must be longer than confirm_for (10s)"));
}

TEST(config_errors, duplicate_key) {
  EXPECT_TRUE(
      has_error(load(base_yaml + "decision:\n  fall: 3\n  fall: 4\n"), "15:3", "decision.fall", "duplicate key"));
}

TEST(config_errors, check_needs_exactly_one_probe) {
  const auto r = load(replace(base_yaml, "        http: {url: \"http://127.0.0.1:2/\"}\n", ""));
  EXPECT_TRUE(has_error(r, "11:9", "services[0].checks[1]",
                        "missing the probe: expected one of the keys http, tcp, dns, postgres, grpc, cloudwatch"));
}

TEST(config_errors, check_with_two_probes_names_both) {
  const auto r =
      load(replace(base_yaml, "        http: {url: \"http://127.0.0.1:2/\"}\n",
                   "        http: {url: \"http://127.0.0.1:2/\"}\n        tcp: {address: \"127.0.0.1:5432\"}\n"));
  EXPECT_TRUE(has_error(r, "13:14", "services[0].checks[1].tcp", "a check has one probe, got both http and tcp"));
}

TEST(config_errors, socket_check_keys_are_validated) {
  const std::string checks =
      "region_checks:\n"
      "  - name: db\n"                                                        // 14
      "    region: us-east-1\n"                                               // 15
      "    tcp: {address: \"db.internal\", server_name: x}\n"                 // 16
      "  - name: dns\n"                                                       // 17
      "    region: us-east-1\n"                                               // 18
      "    dns: {name: \"a..b\", type: SRV, resolver: \"ns.internal:53\"}\n"  // 19
      "  - name: pg\n"                                                        // 20
      "    region: us-east-1\n"                                               // 21
      "    postgres: {query: \"SELECT 1\"}\n"                                 // 22
      "  - name: grpc\n"                                                      // 23
      "    region: us-east-1\n"                                               // 24
      "    grpc: {address: \"127.0.0.1:99999\", ca_file: ca.pem}\n";          // 25
  const auto r = load(base_yaml + checks);
  EXPECT_TRUE(has_error(r, "16:20", "region_checks[0].tcp.address", "expected host:port: no port"));
  EXPECT_TRUE(has_error(r, "16:35", "region_checks[0].tcp.server_name", "only used with tls: true"));
  EXPECT_TRUE(has_error(r, "19:17", "region_checks[1].dns.name", "expected a domain name"));
  for (const std::string& bad :
       {std::string(".lead.example"), std::string(64, 'a') + ".example", std::string("sp ace.example")}) {
    EXPECT_TRUE(has_error(load(base_yaml + "region_checks:\n  - {name: d, region: us-east-1, dns: {name: '" + bad +
                               "', resolver: '127.0.0.1:53'}}\n"),
                          "14:46", "region_checks[0].dns.name", "expected a domain name"))
        << bad;
  }
  EXPECT_TRUE(has_error(r, "19:31", "region_checks[1].dns.type", "SRV"));
  EXPECT_TRUE(has_error(r, "19:46", "region_checks[1].dns.resolver", "expected an IP address and port"));
  EXPECT_TRUE(has_error(r, "22:15", "region_checks[2].postgres.dsn", "missing required key"));
  EXPECT_TRUE(has_error(r, "25:21", "region_checks[3].grpc.address", "port \"99999\""));
  EXPECT_TRUE(has_error(r, "25:40", "region_checks[3].grpc.ca_file", "only used with tls: true"));
}

TEST(config_errors, check_timeout_above_interval) {
  EXPECT_TRUE(has_error(
      load(replace(base_yaml, "      - region: us-west-2\n", "      - region: us-west-2\n        timeout: 5s\n")),
      "12:18", "services[0].checks[1].timeout", "timeout (5s) must not exceed interval (2s)"));
}

TEST(config_errors, bad_boolean) {
  EXPECT_TRUE(has_error(load(replace(base_yaml, "http://127.0.0.1:1/\"}", "http://127.0.0.1:1/\", keep_alive: maybe}")),
                        "10:56", "services[0].checks[0].http.keep_alive", "expected true or false, got \"maybe\""));
}

TEST(config_errors, cloudwatch_condition_period_and_missing_data) {
  const auto r = load(base_yaml +
                      "region_checks:\n"
                      "  - name: alb-5xx\n"
                      "    region: us-east-1\n"
                      "    cloudwatch:\n"
                      "      namespace: AWS/ApplicationELB\n"
                      "      metric: HTTPCode_ELB_5XX_Count\n"
                      "      period: 45s\n"
                      "      condition: 'fewer than 50'\n"
                      "      missing_data: skip\n");
  EXPECT_TRUE(has_error(r, "19:15", "region_checks[0].cloudwatch.period", "a multiple of 60s"));
  EXPECT_TRUE(has_error(r, "20:18", "region_checks[0].cloudwatch.condition", "expected a comparison such as '< 50'"));
  EXPECT_TRUE(has_error(r, "21:21", "region_checks[0].cloudwatch.missing_data",
                        "expected one of ok|fail|ignore, got \"skip\""));
}

TEST(config_errors, paging_sink_missing_secret_and_wrong_key_for_kind) {
  const auto r = load(base_yaml +
                      "paging:\n"
                      "  - {kind: pagerduty}\n"
                      "  - {kind: alertmanager, url: 'http://am:9093', routing_key: x}\n");
  EXPECT_TRUE(has_error(r, "14:5", "paging[0].routing_key", "missing required key (or routing_key_file)"));
  EXPECT_TRUE(has_error(r, "15:49", "paging[1].routing_key", "not used by kind alertmanager"));
}

TEST(config_errors, secrets_never_appear_in_messages) {
  fake_world w;
  w.env["SLACK_HOOK"] = "not-a-url-TOPSECRET";
  const auto r = w.load(base_yaml + "paging:\n  - {kind: slack, webhook_url: '${SLACK_HOOK}'}\n");
  EXPECT_TRUE(has_error(r, "14:32", "paging[0].webhook_url", "expected an http:// or https:// URL"));
  EXPECT_EQ(test::all_diagnostics(r).find("TOPSECRET"), std::string::npos) << test::all_diagnostics(r);
}

TEST(config_errors, approvals_require_more_than_approvers) {
  fake_world w;
  w.files["conf/a.pub"] = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";
  EXPECT_TRUE(
      has_error(w.load(base_yaml + "approvals:\n  required: 2\n  approvers: [{id: a, public_key_file: a.pub}]\n"),
                "14:13", "approvals.required", "expected at most 1 (the number of approvers), got 2"));
}

TEST(config_errors, public_key_must_be_pem) {
  fake_world w;
  w.files["conf/a.pub"] = "ssh-ed25519 AAAA alice\n";
  EXPECT_TRUE(has_error(w.load(base_yaml + "approvals: {approvers: [{id: a, public_key_file: a.pub}]}\n"), "13:50",
                        "approvals.approvers[0].public_key_file", "expected an Ed25519 public key in PEM"));
}

TEST(config_errors, missing_required_top_level_keys) {
  const auto r = load("deployment: t\n");
  EXPECT_TRUE(has_error(r, "1:1", "regions", "missing required key"));
  EXPECT_TRUE(has_error(r, "1:1", "vantages", "missing required key"));
  EXPECT_TRUE(has_error(r, "1:1", "services", "no checks"));
}

TEST(config_errors, null_value_is_reported_at_its_key) {
  EXPECT_TRUE(has_error(load(base_yaml + "engine:\n  state_dir:\n  record: x\n"), "14:3", "engine.state_dir",
                        "expected a string, got nothing"));
}

TEST(config_errors, etcd_needs_endpoints) {
  EXPECT_TRUE(has_error(load(base_yaml + "coordination: {backend: etcd}\n"), "13:15", "coordination.endpoints",
                        "missing required key"));
}

TEST(config_errors, multi_error_file_reports_every_error) {
  const std::string yaml =
      "deployment: shop\n"                             // 1
      "regions:\n"                                     // 2
      "  - {name: us-east-1, role: primary}\n"         // 3
      "  - {name: us-west-2, role: dr}\n"              // 4
      "vantages: [us-east-1, us-west-2, eu-west-1]\n"  // 5
      "decision:\n"                                    // 6
      "  fal: 3\n"                                     // 7
      "  tick: 10x\n"                                  // 8
      "  quorum: 5\n"                                  // 9
      "services:\n"                                    // 10
      "  - name: api\n"                                // 11
      "    checks:\n"                                  // 12
      "      - region: mars-1\n"                       // 13
      "        http: {url: 'gopher://x/'}\n"           // 14
      "      - region: us-west-2\n"                    // 15
      "        http: {url: 'http://ok:1/'}\n"          // 16
      "engine: {record: '${NOPE_NOT_SET}'}\n";         // 17
  const auto r = load(yaml);
  EXPECT_TRUE(has_error(r, "7:3", "decision.fal", "did you mean \"fall\""));
  EXPECT_TRUE(has_error(r, "8:9", "decision.tick", "10x"));
  EXPECT_TRUE(has_error(r, "9:11", "decision.quorum", "expected at most 3"));
  EXPECT_TRUE(has_error(r, "13:17", "services[0].checks[0].region", "unknown region \"mars-1\""));
  EXPECT_TRUE(has_error(r, "14:21", "services[0].checks[0].http.url", "scheme \"gopher\""));
  EXPECT_TRUE(has_error(r, "17:18", "engine.record", "NOPE_NOT_SET is not set"));
  EXPECT_EQ(r.error_count(), 6U) << test::all_diagnostics(r);
  // Errors come in file order.
  EXPECT_EQ(r.diagnostics.front().pos.line, 7);
}

TEST(config_errors, fast_interval_is_bounded_and_shorter_than_the_interval) {
  EXPECT_TRUE(has_error(load(base_yaml + "probe_defaults: {interval: 2s, fast_interval: 2s}\n"), "13:47",
                        "probe_defaults.fast_interval", "must be shorter than interval (2s)"));
  EXPECT_TRUE(has_error(load(base_yaml + "probe_defaults: {fast_interval: 50ms}\n"), "13:18",
                        "probe_defaults.fast_interval", "expected 0 (off) or a duration from 100ms to 1h"));
  EXPECT_TRUE(has_error(load(base_yaml + "probe_defaults: {fast_interval: soon}\n"), "13:33",
                        "probe_defaults.fast_interval", "expected a duration"));
  // On one check: its own interval is the bound, and the error points at its key.
  const std::string own = replace(base_yaml, "        http: {url: \"http://127.0.0.1:1/\"}\n",
                                  "        http: {url: \"http://127.0.0.1:1/\"}\n"
                                  "        interval: 1s\n"
                                  "        fast_interval: 1500ms\n");
  EXPECT_TRUE(has_error(load(own), "12:24", "services[0].checks[0].fast_interval",
                        "fast_interval (1500ms) must be shorter than interval (1s)"));
  // Inherited from the defaults, the error points at the check's interval.
  const std::string inherited = replace(base_yaml, "        http: {url: \"http://127.0.0.1:1/\"}\n",
                                        "        http: {url: \"http://127.0.0.1:1/\"}\n"
                                        "        interval: 500ms\n");
  EXPECT_TRUE(has_error(load(inherited + "probe_defaults: {interval: 10s, fast_interval: 1s}\n"), "11:19",
                        "services[0].checks[0].interval", "fast_interval (1s) must be shorter than interval (500ms)"));
  // Valid: off, or below every interval.
  EXPECT_TRUE(load(base_yaml + "probe_defaults: {interval: 10s, fast_interval: 1s}\n").ok());
  EXPECT_TRUE(load(base_yaml + "probe_defaults: {fast_interval: 0s}\n").ok());
}

}  // namespace
}  // namespace vigil::common
