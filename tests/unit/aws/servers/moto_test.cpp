// End to end against moto_server (started once per test process, signatures
// verified after the first 3 requests): vigil's signer, client and typed
// calls; typed errors for a wrong secret and an unknown key; the credential
// chain through moto's STS and through fake container/IMDSv2 endpoints.

#include <gtest/gtest.h>

#include "aws/cloudwatch.hpp"
#include "aws/ecs_ssm.hpp"
#include "aws/rds.hpp"
#include "aws/route53.hpp"
#include "aws/sts.hpp"
#include "tests/support/aws_moto.hpp"

namespace vigil::aws {
namespace {

using test_support::moto;
using namespace std::chrono_literals;

const auto* moto_env = ::testing::AddGlobalTestEnvironment(new test_support::moto_environment);

struct moto_client {
  common::real_clock clock;  // moto checks nothing about time, but the chain's cache uses it
  std::unique_ptr<http_transport> http = make_curl_transport();
  std::unique_ptr<credentials_provider> creds;
  std::unique_ptr<client> c;

  explicit moto_client(credentials cr, moto& server = moto::instance()) : creds(make_static_provider(std::move(cr))) {
    client_options o;
    o.env = map_env({{"AWS_ENDPOINT_URL", server.endpoint()}});
    o.aws.call_timeout = 20s;
    o.sleep = [](std::chrono::milliseconds) {};
    c = std::make_unique<client>(o, *creds, *http, clock);
  }
};

#define REQUIRE_MOTO()                                              \
  do {                                                              \
    if (!moto::instance().ok()) FAIL() << moto::instance().error(); \
  } while (false)

credentials good() {
  return {moto::instance().access_key(), moto::instance().secret_key(), "", {}, "moto"};
}

TEST(moto, get_caller_identity_with_verified_signature) {
  REQUIRE_MOTO();
  moto_client m(good());
  auto id = get_caller_identity(*m.c, "us-east-1");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(id->account, "123456789012");
  EXPECT_NE(id->arn.find("user/vigil"), std::string::npos);
}

TEST(moto, wrong_secret_is_a_typed_signature_error) {
  REQUIRE_MOTO();
  auto bad = good();
  bad.secret_access_key = "not-the-secret";
  moto_client m(bad);
  auto r = get_metric_data(*m.c, "us-east-1", {{"q0", "Vigil/Test", "Errors", {}, "Sum", 60}}, m.clock.wall() - 5min,
                           m.clock.wall());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_FALSE(r.error().retryable);
  EXPECT_EQ(m.c->stats().attempts, 1u);

  moto_client unknown({"AKIAUNKNOWN000000000", "x", "", {}, "test"});
  auto id = get_caller_identity(*unknown.c, "us-east-1");
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, "InvalidClientTokenId");
}

TEST(moto, cloudwatch_get_metric_data_reads_put_metric_data) {
  REQUIRE_MOTO();
  moto::instance().seed("put_metric", {{"namespace", "Vigil/Test"},
                                       {"metric", "Latency"},
                                       {"dimensions", {{"LoadBalancer", "app/prod/1"}}},
                                       {"value", 42},
                                       {"count", 3}});
  moto_client m(good());
  auto r = get_metric_data(*m.c, "us-east-1",
                           {{"lat", "Vigil/Test", "Latency", {{"LoadBalancer", "app/prod/1"}}, "Maximum", 60},
                            {"none", "Vigil/Test", "Nothing", {}, "Sum", 60}},
                           m.clock.wall() - 10min, m.clock.wall() + 1min);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  const auto& lat = (*r)[0].id == "lat" ? (*r)[0] : (*r)[1];
  const auto& none = (*r)[0].id == "lat" ? (*r)[1] : (*r)[0];
  ASSERT_FALSE(lat.points.empty());
  EXPECT_EQ(lat.points[0].value, 42.0);
  EXPECT_TRUE(none.points.empty());
}

TEST(moto, rds_global_cluster_describe_and_remove) {
  REQUIRE_MOTO();
  const auto arns = moto::instance().seed(
      "rds_global", {{"global", "vigil-global"}, {"primary", "vigil-east"}, {"secondary", "vigil-west"}});
  moto_client m(good());
  auto g = describe_global_clusters(*m.c, "us-east-1", "vigil-global");
  ASSERT_TRUE(g) << g.error().to_string();
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ((*g)[0].identifier, "vigil-global");
  ASSERT_EQ((*g)[0].members.size(), 2u);
  int writers = 0;
  for (const auto& mem : (*g)[0].members)
    writers += mem.is_writer ? 1 : 0;
  EXPECT_EQ(writers, 1);
  auto west = describe_db_clusters(*m.c, "us-west-2", "vigil-west");
  ASSERT_TRUE(west) << west.error().to_string();
  ASSERT_EQ(west->size(), 1u);
  EXPECT_EQ((*west)[0].arn, arns.at("secondary_arn").get<std::string>());
  auto missing = describe_db_clusters(*m.c, "us-west-2", "no-such-cluster");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "DBClusterNotFoundFault");
  // moto 5.2 answers RemoveFromGlobalCluster with an empty result and, for a
  // member in another region, removes nothing: check the call is accepted and
  // comes back as a value naming the global cluster.
  auto removed = remove_from_global_cluster(*m.c, "us-west-2", "vigil-global", arns.at("secondary_arn"));
  ASSERT_TRUE(removed) << removed.error().to_string();
  EXPECT_EQ(removed->identifier, "vigil-global");
  // moto has no FailoverGlobalCluster: whatever it answers must come back as a typed value.
  auto fo = failover_global_cluster(*m.c, "us-west-2", {"vigil-global", arns.at("primary_arn"), true, false});
  if (!fo) {
    EXPECT_FALSE(fo.error().code.empty());
  }
}

TEST(moto, ecs_describe_and_update_service) {
  REQUIRE_MOTO();
  moto::instance().seed("ecs", {{"cluster", "shop"}, {"service", "api"}, {"desired", 2}});
  moto_client m(good());
  auto d = describe_services(*m.c, "us-east-1", "shop", {"api", "ghost"});
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d->services.size(), 1u);
  EXPECT_EQ(d->services[0].desired_count, 2);
  EXPECT_EQ(d->failures.size(), 1u);
  auto u = update_service(*m.c, "us-east-1", {"shop", "api", 6, false});
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->desired_count, 6);
}

/// api.<zone> CNAME dr.<zone>, TTL 60.
record_change cname(const std::string& zone) {
  record_change ch;
  ch.name = "api." + zone;
  ch.type = "CNAME";
  ch.ttl = 60;
  ch.values = {"dr." + zone};
  return ch;
}

TEST(moto, route53_change_then_get_change) {
  REQUIRE_MOTO();
  const auto zone = moto::instance().seed("route53_zone", {{"name", "vigil.example."}});
  moto_client m(good());
  auto r = change_resource_record_sets(*m.c, zone.at("zone_id"), {cname("vigil.example.")}, "vigil failover");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->id.empty());
  // A body-less signed GET: moto 5.2 hashes its parsed parameters instead of
  // the empty body unless the payload hash is a signed header (client.cpp).
  auto g = get_change(*m.c, r->id);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->status, "INSYNC");
}

TEST(moto, route53_get_hosted_zone_and_record_exists_signed) {
  REQUIRE_MOTO();
  const auto zone = moto::instance().seed("route53_zone", {{"name", "ready.example."}});
  moto_client m(good());
  ASSERT_TRUE(change_resource_record_sets(*m.c, zone.at("zone_id"), {cname("ready.example.")}));
  auto name = get_hosted_zone(*m.c, zone.at("zone_id"));
  ASSERT_TRUE(name) << name.error().to_string();
  EXPECT_EQ(*name, "ready.example.");
  auto yes = record_exists(*m.c, zone.at("zone_id"), "api.ready.example.", "CNAME");
  ASSERT_TRUE(yes) << yes.error().to_string();
  EXPECT_TRUE(*yes);
  auto no = record_exists(*m.c, zone.at("zone_id"), "www.ready.example.", "CNAME");
  ASSERT_TRUE(no) << no.error().to_string();
  EXPECT_FALSE(*no);
  auto missing = get_hosted_zone(*m.c, "Z0000000000000NOTTHERE");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "NoSuchHostedZone") << missing.error().to_string();
  // A wrong secret is still refused: the header does not weaken the check.
  auto wrong = good();
  wrong.secret_access_key = "not-the-secret";
  moto_client bad(wrong);
  auto refused = get_hosted_zone(*bad.c, zone.at("zone_id"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 403) << refused.error().to_string();
}

TEST(moto, ssm_put_parameter_versions) {
  REQUIRE_MOTO();
  moto_client m(good());
  auto v1 = put_parameter(*m.c, "us-east-1", {"/vigil/active-region", "us-east-1", "String", true});
  ASSERT_TRUE(v1) << v1.error().to_string();
  auto v2 = put_parameter(*m.c, "us-east-1", {"/vigil/active-region", "us-west-2", "String", true});
  ASSERT_TRUE(v2) << v2.error().to_string();
  EXPECT_EQ(*v2, *v1 + 1);
}

struct chain_rig {
  common::real_clock clock;
  std::unique_ptr<http_transport> http = make_curl_transport();
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;
  std::unique_ptr<client_sts> sts;
  std::unique_ptr<credentials_provider> chain;
  std::unique_ptr<client> c;

  moto* server = &moto::instance();

  void build() {
    env["AWS_ENDPOINT_URL"] = server->endpoint();
    env["HOME"] = "/nonexistent";
    env["AWS_EC2_METADATA_DISABLED"] = env.count("AWS_EC2_METADATA_SERVICE_ENDPOINT") ? "false" : "true";
    client_options o;
    o.env = map_env(env);
    o.sleep = [](std::chrono::milliseconds) {};
    sts = std::make_unique<client_sts>(o, *http, clock);
    provider_context ctx;
    ctx.env = map_env(env);
    ctx.read_file = [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    ctx.clock = &clock;
    ctx.http = http.get();
    ctx.sts = sts.get();
    chain = make_default_chain(ctx);
    c = std::make_unique<client>(o, *chain, *http, clock);
  }
};

TEST(moto, profile_role_arn_assumes_the_role_through_sts) {
  REQUIRE_MOTO();
  const auto role = moto::instance().seed("role", {{"name", "vigil-failover"}});
  chain_rig r;
  r.env["AWS_PROFILE"] = "failover";
  r.files["/nonexistent/.aws/config"] = "[profile failover]\nrole_arn = " + role.at("arn").get<std::string>() +
                                        "\nsource_profile = base\nrole_session_name = vigil-it\n";
  r.files["/nonexistent/.aws/credentials"] = "[base]\naws_access_key_id = " + moto::instance().access_key() +
                                             "\naws_secret_access_key = " + moto::instance().secret_key() + "\n";
  r.build();
  auto id = get_caller_identity(*r.c, "us-east-1");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_NE(id->arn.find("assumed-role/vigil-failover/vigil-it"), std::string::npos) << id->arn;
  auto creds = r.chain->get();
  ASSERT_TRUE(creds);
  EXPECT_FALSE(creds->session_token.empty());
  EXPECT_TRUE(creds->expiration.has_value());
}

TEST(moto, web_identity_token_file_through_sts) {
  REQUIRE_MOTO();
  // AssumeRoleWithWebIdentity is unsigned by design; moto 5.2 with signature
  // checks on answers 500 to any unsigned request, so this one uses the open moto.
  auto& open = moto::open_instance();
  ASSERT_TRUE(open.ok()) << open.error();
  const auto role = open.seed("role", {{"name", "vigil-web"}});
  chain_rig r;
  r.server = &open;
  r.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/token";
  r.env["AWS_ROLE_ARN"] = role.at("arn");
  r.env["AWS_ROLE_SESSION_NAME"] = "pod";
  r.files["/var/run/secrets/token"] = "eyJhbGciOiJSUzI1NiJ9.e30.sig";
  r.build();
  auto creds = r.chain->get();
  ASSERT_TRUE(creds) << creds.error().to_string();
  EXPECT_EQ(r.chain->name(), "web_identity");
  auto id = get_caller_identity(*r.c, "us-east-1");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_NE(id->arn.find("vigil-web"), std::string::npos) << id->arn;
}

class metadata_server {
 public:
  explicit metadata_server(const std::string& auth)
      : port_(test_support::free_port()),
        proc_({test_support::python(), test_support::source_dir() + "/tests/support/aws_fake_metadata.py",
               std::to_string(port_), moto::instance().access_key(), moto::instance().secret_key(), auth},
              {}, "") {
    ok_ = test_support::wait_for_port(port_, 15s);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  test_support::child_process proc_;
  bool ok_ = false;
};

TEST(moto, container_full_uri_with_token_file_then_signed_call) {
  REQUIRE_MOTO();
  metadata_server meta("Bearer pod-identity");
  ASSERT_TRUE(meta.ok());
  chain_rig r;
  r.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = meta.url() + "/creds";
  r.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/var/run/ecs/token";
  r.files["/var/run/ecs/token"] = "Bearer pod-identity\n";
  r.build();
  auto id = get_caller_identity(*r.c, "us-east-1");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(r.chain->name(), "container");
  r.files["/var/run/ecs/token"] = "Bearer wrong";
  chain_rig bad;
  bad.env = r.env;
  bad.files = r.files;
  bad.build();
  auto denied = bad.chain->get();
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().http_status, 401);
}

TEST(moto, imds_v2_then_signed_call) {
  REQUIRE_MOTO();
  metadata_server meta("");
  ASSERT_TRUE(meta.ok());
  chain_rig r;
  r.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = meta.url();
  r.build();
  auto id = get_caller_identity(*r.c, "us-east-1");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(r.chain->name(), "imds");
}

TEST(moto, describe_identities_per_region) {
  REQUIRE_MOTO();
  common::config cfg;
  cfg.regions = {{"us-east-1", common::region_role::primary, {}}, {"us-west-2", common::region_role::dr, {}}};
  common::real_clock clock;
  auto stack = make_aws_stack(cfg.aws, clock,
                              map_env({{"AWS_ENDPOINT_URL_STS", moto::instance().endpoint()},
                                       {"AWS_ACCESS_KEY_ID", moto::instance().access_key()},
                                       {"AWS_SECRET_ACCESS_KEY", moto::instance().secret_key()},
                                       {"HOME", "/nonexistent"}}));
  const auto ids = describe_identities(cfg, stack);
  ASSERT_EQ(ids.size(), 2u);
  for (const auto& ri : ids) {
    ASSERT_TRUE(ri.identity) << ri.region << ": " << (ri.error ? ri.error->to_string() : "");
    EXPECT_EQ(ri.identity->account, "123456789012");
    EXPECT_EQ(ri.credentials_source, "environment");
    EXPECT_EQ(ri.endpoint, moto::instance().endpoint());
  }
}

}  // namespace
}  // namespace vigil::aws
