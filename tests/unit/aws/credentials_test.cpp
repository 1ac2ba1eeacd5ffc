// The credential chain with injected environment, files, clock, HTTP and STS:
// order, profiles and role chaining, web identity re-reads, container and
// IMDSv2 protocols, refresh 5 minutes before expiry.

#include "aws/credentials.hpp"

#include <gtest/gtest.h>

#include "aws/timefmt.hpp"
#include "tests/support/aws_fakes.hpp"

namespace vigil::aws {
namespace {

using namespace std::chrono_literals;
using test_support::fake_sts;
using test_support::fake_transport;

struct world {
  common::manual_clock clock;
  fake_transport http;
  fake_sts sts;
  std::map<std::string, std::string> env{{"HOME", "/home/v"}};
  std::map<std::string, std::string> files;

  provider_context ctx() {
    provider_context c;
    c.env = [this](const std::string& n) -> std::optional<std::string> {
      auto it = env.find(n);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    c.read_file = [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    c.clock = &clock;
    c.http = &http;
    c.sts = &sts;
    return c;
  }
  std::string creds_json(const std::string& id, common::wall_time exp) {
    return R"({"Code":"Success","AccessKeyId":")" + id +
           R"(","SecretAccessKey":"s3cr3t","Token":"tok","Expiration":")" + format_iso8601(exp) + "\"}";
  }
};

TEST(credentials, environment_comes_first) {
  world w;
  w.env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  w.env["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  w.env["AWS_SESSION_TOKEN"] = "envtoken";
  w.files["/home/v/.aws/credentials"] = "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n";
  auto chain = make_default_chain(w.ctx());
  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(chain->name(), "environment");
}

TEST(credentials, profiles_from_both_files_credentials_file_wins) {
  world w;
  w.env["AWS_PROFILE"] = "ops";
  w.env["AWS_CONFIG_FILE"] = "/etc/aws/config";
  w.files["/etc/aws/config"] =
      "# comment\n[default]\nregion = us-east-1\n[profile ops]\nregion = eu-west-1 ; inline\n"
      "aws_access_key_id = AKIDCONFIG\naws_secret_access_key = cfgsecret\ns3 =\n  max_concurrent_requests = 2\n";
  w.files["/home/v/.aws/credentials"] = "[ops]\naws_access_key_id = AKIDCREDS\n";
  const auto p = load_profile(w.ctx());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->at("region"), "eu-west-1");
  EXPECT_EQ(p->at("aws_access_key_id"), "AKIDCREDS");
  EXPECT_EQ(p->at("aws_secret_access_key"), "cfgsecret");
  EXPECT_EQ(p->count("max_concurrent_requests"), 0u);
  auto c = make_default_chain(w.ctx())->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDCREDS");
  EXPECT_EQ(c->source, "profile:ops");
}

TEST(credentials, role_arn_with_source_profile_assumes_the_role_and_refreshes_early) {
  world w;
  w.sts.expiry = w.clock.wall() + 1h;
  w.files["/home/v/.aws/config"] =
      "[profile deploy]\nrole_arn = arn:aws:iam::111:role/vigil\nsource_profile = base\nexternal_id = ext-1\n"
      "region = us-west-2\nrole_session_name = vigil-test\n";
  w.files["/home/v/.aws/credentials"] = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n";
  auto ctx = w.ctx();
  ctx.profile = "deploy";
  auto chain = make_default_chain(ctx);
  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->access_key_id, "ASIAROLE1");
  ASSERT_EQ(w.sts.assume_calls.size(), 1u);
  EXPECT_EQ(w.sts.assume_calls[0].first.access_key_id, "AKIDBASE");
  EXPECT_EQ(w.sts.assume_calls[0].second.role_arn, "arn:aws:iam::111:role/vigil");
  EXPECT_EQ(w.sts.assume_calls[0].second.external_id, "ext-1");
  EXPECT_EQ(w.sts.assume_calls[0].second.region, "us-west-2");
  EXPECT_EQ(w.sts.assume_calls[0].second.session_name, "vigil-test");

  w.clock.advance(54min);  // 6 minutes left: still cached
  EXPECT_EQ(chain->get()->access_key_id, "ASIAROLE1");
  w.clock.advance(2min);  // 4 minutes left: inside the 5-minute margin
  w.sts.expiry = w.clock.wall() + 1h;
  EXPECT_EQ(chain->get()->access_key_id, "ASIAROLE2");

  // A failed refresh keeps the old credentials while they are still valid...
  w.clock.advance(56min);
  w.sts.fail = true;
  EXPECT_EQ(chain->get()->access_key_id, "ASIAROLE2");
  // ...and reports the failure once they expire.
  w.clock.advance(5min);
  auto expired = chain->get();
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, "AccessDenied");
}

TEST(credentials, source_profile_loop_and_missing_source_are_errors) {
  world w;
  w.files["/home/v/.aws/config"] =
      "[profile a]\nrole_arn = arn:a\nsource_profile = b\n[profile b]\nrole_arn = arn:b\nsource_profile = a\n"
      "[profile c]\nrole_arn = arn:c\n";
  auto ctx = w.ctx();
  ctx.profile = "a";
  auto r = make_profile_provider(ctx)->get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("loop"), std::string::npos);
  ctx.profile = "c";
  r = make_default_chain(ctx)->get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "CredentialsError");  // configured but broken: the chain stops here
}

TEST(credentials, web_identity_rereads_the_token_file_on_refresh) {
  world w;
  w.sts.expiry = w.clock.wall() + 1h;
  w.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token";
  w.env["AWS_ROLE_ARN"] = "arn:aws:iam::111:role/web";
  w.env["AWS_ROLE_SESSION_NAME"] = "pod-1";
  w.env["AWS_REGION"] = "eu-west-1";
  w.files["/var/run/token"] = "token-one\n";
  auto chain = make_default_chain(w.ctx());
  ASSERT_EQ(chain->get()->access_key_id, "ASIAWEB1");
  w.files["/var/run/token"] = "token-two";
  w.clock.advance(56min);
  w.sts.expiry = w.clock.wall() + 1h;
  ASSERT_EQ(chain->get()->access_key_id, "ASIAWEB2");
  ASSERT_EQ(w.sts.web_calls.size(), 2u);
  EXPECT_EQ(w.sts.web_calls[0].token, "token-one");
  EXPECT_EQ(w.sts.web_calls[1].token, "token-two");
  EXPECT_EQ(w.sts.web_calls[1].session_name, "pod-1");
  EXPECT_EQ(w.sts.web_calls[1].region, "eu-west-1");
}

TEST(credentials, container_relative_uri_and_authorization_token_file) {
  world w;
  w.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc?x=1";
  w.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/var/run/ecs-token";
  w.files["/var/run/ecs-token"] = "Bearer secret-token\n";
  w.http.push(200, w.creds_json("ASIACONTAINER", w.clock.wall() + 6h));
  auto c = make_default_chain(w.ctx())->get();
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(c->expiration, w.clock.wall() + 6h);
  const auto sent = w.http.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].url(), "http://169.254.170.2/v2/credentials/abc?x=1");
  EXPECT_EQ(*sent[0].header("authorization"), "Bearer secret-token");
}

TEST(credentials, container_full_uri_must_be_https_or_loopback) {
  world w;
  w.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://10.0.0.5:8080/creds";
  auto r = make_default_chain(w.ctx())->get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("https or a loopback"), std::string::npos);
  w.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:8080/creds";
  w.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "tok-env";
  w.http.push(200, w.creds_json("ASIALOOP", w.clock.wall() + 1h));
  auto ok = make_default_chain(w.ctx())->get();
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(w.http.sent()[0].url(), "http://127.0.0.1:8080/creds");
  EXPECT_EQ(*w.http.sent()[0].header("authorization"), "tok-env");
}

TEST(credentials, imds_v2_token_then_role_then_credentials) {
  world w;
  w.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1234/";
  w.http.set_handler([&](const http_request& req) {
    http_response r;
    const auto* tok = req.header("x-aws-ec2-metadata-token");
    if (req.method == "PUT" && req.path == "/latest/api/token" &&
        req.header("x-aws-ec2-metadata-token-ttl-seconds") != nullptr) {
      r.status = 200;
      r.body = "imds-token";
    } else if (tok == nullptr || *tok != "imds-token") {
      r.status = 401;
    } else if (req.path == "/latest/meta-data/iam/security-credentials/") {
      r.status = 200;
      r.body = "vigil-role\n";
    } else if (req.path == "/latest/meta-data/iam/security-credentials/vigil-role") {
      r.status = 200;
      r.body = w.creds_json("ASIAIMDS", w.clock.wall() + 6h);
    } else {
      r.status = 404;
    }
    return r;
  });
  auto chain = make_default_chain(w.ctx());
  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->source, "imds:vigil-role");
  EXPECT_EQ(chain->name(), "imds");
  EXPECT_EQ(w.http.sent().size(), 3u);
}

TEST(credentials, nothing_configured_lists_what_was_tried) {
  world w;
  w.http.set_handler([](const http_request&) {
    http_response r;
    r.transport_error = "Connection timed out";
    return r;
  });
  auto r = make_default_chain(w.ctx())->get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "NoCredentials");
  for (const char* name : {"environment", "profile:default", "web_identity", "container", "imds"}) {
    EXPECT_NE(r.error().message.find(name), std::string::npos) << name;
  }
  w.env["AWS_EC2_METADATA_DISABLED"] = "true";
  EXPECT_EQ(make_default_chain(w.ctx())->get().error().code, "NoCredentials");
}

TEST(credentials, parse_ini_and_credentials_json_edges) {
  const auto ini = parse_ini("[a]\nk = v # c\nK2=v2#notcomment\n\n[ profile b ]\nx=1\n");
  EXPECT_EQ(ini.at("a").at("k"), "v");
  EXPECT_EQ(ini.at("a").at("k2"), "v2#notcomment");
  EXPECT_EQ(ini.at("profile b").at("x"), "1");
  EXPECT_EQ(parse_credentials_json("{\"Code\":\"Failure\",\"Message\":\"no\"}", "imds").error().code,
            "CredentialsError");
  EXPECT_EQ(parse_credentials_json("not json", "imds").error().code, "MalformedResponse");
}

}  // namespace
}  // namespace vigil::aws
