// tests/support/fake_iam.py, the strict SimulatePrincipalPolicy fake the
// readiness tests use (moto has none): what it answers through vigil's own
// client, and each request IAM refuses, refused the same way.

#include <gtest/gtest.h>

#include "aws/iam.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators {
namespace {

using test_support::fake_key;
using test_support::fake_secret;

const std::string role = "arn:aws:iam::123456789012:role/vigil-actuator";

struct iam_rig {
  test_support::python_fake fake{
      "iam", {"--key", fake_key, "--secret", fake_secret, "--principals", nlohmann::json::array({role}).dump()}};
  test_support::plan_aws aws{fake_key, fake_secret, {{"iam", fake.url()}}};

  aws::result<aws::xml_node> raw(std::vector<std::pair<std::string, std::string>> params,
                                 const std::string& version = "2010-05-08") {
    return aws.client->query(aws::service::iam, "us-east-1", "SimulatePrincipalPolicy", version, params);
  }
  void refused(std::vector<std::pair<std::string, std::string>> params, const std::string& code, int status,
               const std::string& version = "2010-05-08") {
    const auto r = raw(std::move(params), version);
    ASSERT_FALSE(r) << "accepted";
    EXPECT_EQ(r.error().code, code) << r.error().to_string();
    EXPECT_EQ(r.error().http_status, status) << r.error().to_string();
  }
};

TEST(FakeIam, AllowsEveryActionOnEveryResourceUnlessDenied) {
  iam_rig g;
  auto r = aws::simulate_principal_policy(*g.aws.client, role, {"rds:FailoverGlobalCluster", "ecs:UpdateService"},
                                          {"arn:aws:rds::123456789012:global-cluster:g", "arn:aws:ecs:*:*:service/x"});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 4U);
  for (const auto& e : *r)
    EXPECT_EQ(e.decision, "allowed") << e.action;
  g.fake.post("/_fake/deny", {{"actions", {{"ecs:UpdateService", "explicitDeny"}}}});
  r = aws::simulate_principal_policy(*g.aws.client, role, {"rds:FailoverGlobalCluster", "ecs:UpdateService"}, {});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2U);
  EXPECT_EQ((*r)[0].decision, "allowed");
  EXPECT_EQ((*r)[1].action, "ecs:UpdateService");
  EXPECT_EQ((*r)[1].resource, "*");
  EXPECT_EQ((*r)[1].decision, "explicitDeny");
}

TEST(FakeIam, PagesWithMaxItemsAndMarker) {
  iam_rig g;
  const auto r = g.raw({{"PolicySourceArn", role},
                        {"ActionNames.member.1", "ssm:GetParameter"},
                        {"ActionNames.member.2", "ssm:PutParameter"},
                        {"ActionNames.member.3", "ecs:DescribeServices"},
                        {"MaxItems", "2"}});
  ASSERT_TRUE(r) << r.error().to_string();
  const auto* res = r->descendant("SimulatePrincipalPolicyResult");
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->text_at("IsTruncated"), "true");
  EXPECT_EQ(res->child("EvaluationResults")->all("member").size(), 2U);
  const auto next = g.raw({{"PolicySourceArn", role},
                           {"ActionNames.member.1", "ssm:GetParameter"},
                           {"ActionNames.member.2", "ssm:PutParameter"},
                           {"ActionNames.member.3", "ecs:DescribeServices"},
                           {"Marker", res->text_at("Marker")}});
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->descendant("EvaluationResults")->all("member").size(), 1U);
}

TEST(FakeIam, RefusesAMissingOrOutOfBoundsPolicySourceArn) {
  iam_rig g;
  g.refused({{"ActionNames.member.1", "rds:DescribeDBClusters"}}, "ValidationError", 400);
  g.refused({{"PolicySourceArn", "arn:aws:iam::1:r/x"}, {"ActionNames.member.1", "rds:DescribeDBClusters"}},
            "ValidationError", 400);  // 19 characters
  g.refused({{"PolicySourceArn", "arn:aws:iam::123456789012:role/" + std::string(2048, 'r')},
             {"ActionNames.member.1", "rds:DescribeDBClusters"}},
            "ValidationError", 400);
}

TEST(FakeIam, RefusesMissingOrOutOfBoundsActionsAndResources) {
  iam_rig g;
  g.refused({{"PolicySourceArn", role}}, "ValidationError", 400);
  g.refused({{"PolicySourceArn", role}, {"ActionNames.member.1", "ab"}}, "ValidationError", 400);
  g.refused({{"PolicySourceArn", role}, {"ActionNames.member.1", std::string(129, 'a')}}, "ValidationError", 400);
  g.refused({{"PolicySourceArn", role}, {"ActionNames.member.1", "ssm:GetParameter"}, {"ResourceArns.member.1", ""}},
            "ValidationError", 400);
  g.refused({{"PolicySourceArn", role}, {"ActionNames.member.1", "ssm:GetParameter"}, {"MaxItems", "0"}},
            "ValidationError", 400);
}

TEST(FakeIam, RefusesANonPrincipalAnUnknownPrincipalAndAWrongVersion) {
  iam_rig g;
  g.refused({{"PolicySourceArn", "arn:aws:s3:::a-bucket-with-a-long-name"}, {"ActionNames.member.1", "s3:GetObject"}},
            "InvalidInput", 400);
  g.refused(
      {{"PolicySourceArn", "arn:aws:iam::123456789012:role/someone-else"}, {"ActionNames.member.1", "s3:GetObject"}},
      "NoSuchEntity", 404);
  g.refused({{"PolicySourceArn", role}, {"ActionNames.member.1", "s3:GetObject"}}, "InvalidAction", 400, "2014-10-31");
  EXPECT_EQ(g.fake.state()["calls"].get<int>(), 2);  // the wrong version never reached the simulation
}

TEST(FakeIam, RefusesABadSignature) {
  test_support::python_fake fake{
      "iam", {"--key", fake_key, "--secret", fake_secret, "--principals", nlohmann::json::array({role}).dump()}};
  test_support::plan_aws wrong{fake_key, "not-the-secret", {{"iam", fake.url()}}};
  const auto r = aws::simulate_principal_policy(*wrong.client, role, {"ssm:GetParameter"}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
}

}  // namespace
}  // namespace vigil::actuators
