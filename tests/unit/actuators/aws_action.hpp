#pragma once
// What a recording transport's tests read off a signed AWS request: its IAM
// action, a canned answer to give back, and a client over such a transport.

#include <memory>
#include <string>

#include "aws/client.hpp"
#include "aws/http.hpp"
#include "tests/support/aws_fakes.hpp"

namespace vigil::test_support {

inline std::string between(const std::string& s, const std::string& from, const std::string& to) {
  const auto a = s.find(from);
  if (a == std::string::npos) return {};
  const auto b = s.find(to, a + from.size());
  return s.substr(a + from.size(), b == std::string::npos ? std::string::npos : b - a - from.size());
}

/// The IAM action of a signed request: the SigV4 scope's service (CloudWatch
/// signs as "monitoring") and the action (Query Action=, JSON X-Amz-Target,
/// Route 53's REST path).
inline std::string iam_action(const aws::http_request& r) {
  const std::string* auth = r.header("Authorization");
  std::string svc = auth ? between(*auth, "Credential=", ",") : "";
  // AKID/date/region/service/aws4_request
  for (int i = 0; i < 3 && !svc.empty(); ++i)
    svc = svc.substr(svc.find('/') + 1);
  svc = svc.substr(0, svc.find('/'));
  if (svc == "monitoring") svc = "cloudwatch";
  std::string action;
  if (const auto* target = r.header("X-Amz-Target")) {
    action = target->substr(target->rfind('.') + 1);
  } else if (r.body.find("Action=") != std::string::npos) {
    action = between("&" + r.body, "&Action=", "&");
  } else if (svc == "route53") {
    if (r.method == "GET" && r.path.find("/rrset") != std::string::npos) {
      action = "ListResourceRecordSets";
    } else if (r.path.find("/rrset") != std::string::npos) {
      action = "ChangeResourceRecordSets";
    } else if (r.path.find("/hostedzone/") != std::string::npos) {
      action = "GetHostedZone";
    } else {
      action = "GetChange";
    }
  }
  return svc + ":" + action;
}

inline aws::http_response answer(int status, std::string body) {
  aws::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// An AWS client (one attempt, no sleeping) over a recording transport whose
/// answers come from `handler`.
struct recording_client {
  fake_transport http;
  common::real_clock clock;
  std::unique_ptr<aws::credentials_provider> creds =
      aws::make_static_provider(aws::credentials{"AKIDTEST", "secret", "", {}, "test"});
  std::unique_ptr<aws::client> client;

  explicit recording_client(fake_transport::handler handler) {
    aws::client_options o;
    o.env = aws::map_env({});
    o.aws.max_attempts = 1;
    o.sleep = [](std::chrono::milliseconds) {};
    client = std::make_unique<aws::client>(o, *creds, http, clock);
    http.set_handler(std::move(handler));
  }
};

}  // namespace vigil::test_support
