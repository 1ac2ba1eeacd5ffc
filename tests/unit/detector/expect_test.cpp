#include "detector/expect.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;

expectation parse_ok(std::string_view text) {
  auto r = parse_expect(text);
  if (auto* err = std::get_if<expect_error>(&r)) {
    ADD_FAILURE() << "'" << text << "' failed at column " << err->column << ": " << err->message;
    return expectation();
  }
  return std::get<expectation>(r);
}

expect_error parse_bad(std::string_view text) {
  auto r = parse_expect(text);
  if (std::holds_alternative<expectation>(r)) {
    ADD_FAILURE() << "'" << text << "' parsed but should not";
    return {};
  }
  return std::get<expect_error>(r);
}

// GCC warns about designated initializers that leave members to their defaults.
response_view resp(long status, std::string_view body = {},
                   const std::multimap<std::string, std::string>* headers = nullptr,
                   std::chrono::milliseconds latency = 0ms,
                   std::optional<std::chrono::seconds> cert_left = std::nullopt) {
  response_view r;
  r.status = status;
  r.body = body;
  r.headers = headers;
  r.latency = latency;
  r.cert_left = cert_left;
  return r;
}

expect_set set_of(std::initializer_list<std::string_view> texts) {
  std::vector<expectation> v;
  for (auto t : texts)
    v.push_back(parse_ok(t));
  return expect_set(std::move(v));
}

TEST(expect_parse, status_forms) {
  auto e = parse_ok("status == 200");
  EXPECT_EQ(e.subject, expect_subject::status);
  EXPECT_EQ(e.op, expect_op::eq);
  EXPECT_EQ(e.numbers, std::vector<std::int64_t>{200});

  e = parse_ok("status in [200, 204]");
  EXPECT_EQ(e.op, expect_op::in);
  EXPECT_EQ(e.numbers, (std::vector<std::int64_t>{200, 204}));

  e = parse_ok("  status   !=503");
  EXPECT_EQ(e.op, expect_op::ne);
  EXPECT_EQ(e.numbers, std::vector<std::int64_t>{503});

  e = parse_ok("status not in [500,502,503]");
  EXPECT_EQ(e.op, expect_op::not_in);
  EXPECT_EQ(e.numbers.size(), 3U);
  EXPECT_EQ(parse_ok("status < 400").op, expect_op::lt);
}

TEST(expect_parse, body_json_header_latency_cert) {
  auto e = parse_ok(R"(body contains "ok")");
  EXPECT_EQ(e.subject, expect_subject::body);
  EXPECT_EQ(e.op, expect_op::contains);
  EXPECT_EQ(e.text, "ok");

  e = parse_ok(R"(body.json("/status") == "UP")");
  EXPECT_EQ(e.subject, expect_subject::json);
  EXPECT_EQ(e.argument, "/status");
  EXPECT_EQ(e.literal, nlohmann::json("UP"));

  e = parse_ok(R"(body.json("/items/0/n") >= 3)");
  EXPECT_EQ(e.op, expect_op::ge);
  EXPECT_EQ(e.literal, nlohmann::json(3));
  EXPECT_EQ(parse_ok(R"(body.json("/ready") == true)").literal, nlohmann::json(true));
  EXPECT_EQ(parse_ok(R"(body.json("/err") == null)").literal, nlohmann::json(nullptr));

  e = parse_ok(R"(header("Content-Type") contains "json")");
  EXPECT_EQ(e.subject, expect_subject::header);
  EXPECT_EQ(e.argument, "content-type");

  e = parse_ok("latency < 300ms");
  EXPECT_EQ(e.subject, expect_subject::latency);
  EXPECT_EQ(e.span, 300ms);

  EXPECT_EQ(e.severity, expect_severity::fail);
  EXPECT_EQ(parse_ok("latency < 300ms warn").severity, expect_severity::warn);

  e = parse_ok("cert_expiry > 7d");
  EXPECT_EQ(e.subject, expect_subject::cert_expiry);
  EXPECT_EQ(e.op, expect_op::gt);
  EXPECT_EQ(e.span, std::chrono::hours(24 * 7));
  EXPECT_EQ(e.severity, expect_severity::warn);
  EXPECT_EQ(parse_ok("cert_expiry > 7d fail").severity, expect_severity::fail);

  e = parse_ok(R"(body not contains "error \"x\"")");
  EXPECT_EQ(e.op, expect_op::not_contains);
  EXPECT_EQ(e.text, "error \"x\"");
}

struct bad_case {
  const char* text;
  int column;
  const char* fragment;
};

TEST(expect_parse, errors_name_the_column) {
  const std::vector<bad_case> cases = {
      {"", 1, "expected a subject"},
      {"staus == 200", 1, "unknown subject 'staus'"},
      {"status = 200", 8, "not an operator"},
      {"status == 2000", 11, "outside 100..599"},
      {"status == \"200\"", 11, "expected an HTTP status code"},
      {"status in [200, ]", 17, "expected an HTTP status code"},
      {"status in [200, 204", 20, "expected ']'"},
      {"status contains 2", 8, "does not apply to status"},
      {"body == 3", 9, "expected a quoted string"},
      {"body contains \"ok", 15, "unterminated string"},
      {"body.jsn(\"/a\") == 1", 6, "expected 'json'"},
      {"body.json(\"a\") == 1", 11, "bad JSON pointer"},
      {"body.json(\"/a\") < \"x\"", 19, "ordering operators compare numbers"},
      {"body.json(\"/a\") in [1]", 17, "does not apply to body.json"},
      {"header(content-type) contains \"x\"", 8, "expected a quoted string"},
      {"header(\"\") == \"x\"", 8, "header name is empty"},
      {"latency < 300", 11, "expected a duration"},
      {"latency < 3 parsecs", 11, "expected a duration"},
      {"latency == 300ms", 9, "does not apply to latency"},
      {"cert_expiry > 7d extra", 18, "after the value"},
      {"cert_expiry > 7d warn fail", 23, "after the value"},
      {"status == 200 warn", 15, "only latency and cert_expiry expectations can be 'warn'"},
      {"status not 200", 12, "expected 'in' or 'contains'"},
      {"status == 200 $", 15, "unexpected character '$'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto err = parse_bad(c.text);
    EXPECT_EQ(err.column, c.column) << err.message;
    EXPECT_NE(err.message.find(c.fragment), std::string::npos) << err.message;
  }
}

TEST(expect_eval, default_status_is_2xx_or_3xx) {
  const expect_set none;
  EXPECT_EQ(none.evaluate(resp(200)).result, outcome::ok);
  EXPECT_EQ(none.evaluate(resp(302)).result, outcome::ok);
  const auto v = none.evaluate(resp(500));
  EXPECT_EQ(v.result, outcome::http_status);
  EXPECT_NE(v.detail.find("500"), std::string::npos);
  EXPECT_EQ(none.evaluate(resp(404)).result, outcome::http_status);
}

TEST(expect_eval, explicit_status_replaces_the_default) {
  const auto s = set_of({"status in [200, 503]"});
  EXPECT_EQ(s.evaluate(resp(503)).result, outcome::ok);
  EXPECT_EQ(s.evaluate(resp(204)).result, outcome::http_status);
  EXPECT_EQ(set_of({"status != 503"}).evaluate(resp(404)).result, outcome::ok);
}

TEST(expect_eval, body_json_and_headers) {
  const std::string body = R"({"status":"UP","db":"ok","n":4,"tags":["a","b"]})";
  const std::multimap<std::string, std::string> headers{{"content-type", "application/json"}};
  const response_view r = resp(200, body, &headers);

  EXPECT_EQ(set_of({R"(body.json("/status") == "UP")", R"(body.json("/n") > 3)", R"(body.json("/tags") contains "b")",
                    R"(header("content-type") contains "json")", R"(body contains "db")"})
                .evaluate(r)
                .result,
            outcome::ok);

  auto v = set_of({R"(body.json("/status") == "DOWN")"}).evaluate(r);
  EXPECT_EQ(v.result, outcome::body_mismatch);
  EXPECT_NE(v.detail.find("\"UP\""), std::string::npos) << v.detail;

  EXPECT_EQ(set_of({R"(body.json("/missing") == 1)"}).evaluate(r).result, outcome::body_mismatch);
  EXPECT_EQ(set_of({R"(header("x-missing") == "1")"}).evaluate(r).result, outcome::body_mismatch);
  EXPECT_EQ(set_of({R"(header("x-missing") != "1")"}).evaluate(r).result, outcome::ok);
  EXPECT_EQ(set_of({R"(body contains "nope")"}).evaluate(r).result, outcome::body_mismatch);

  const response_view html = resp(200, "<html>", &headers);
  v = set_of({R"(body.json("/status") == "UP")"}).evaluate(html);
  EXPECT_EQ(v.result, outcome::body_mismatch);
  EXPECT_NE(v.detail.find("not JSON"), std::string::npos);
}

TEST(expect_eval, latency_and_cert) {
  const auto s = set_of({"latency < 300ms"});
  EXPECT_EQ(s.evaluate(resp(200, {}, nullptr, 299ms)).result, outcome::ok);
  EXPECT_EQ(s.evaluate(resp(200, {}, nullptr, 300ms)).result, outcome::timeout);

  const auto c = set_of({"cert_expiry > 7d fail"});
  EXPECT_TRUE(c.needs_cert());
  EXPECT_FALSE(c.warns());
  EXPECT_EQ(c.evaluate(resp(200, {}, nullptr, 0ms, std::chrono::hours(24 * 30))).result, outcome::ok);
  EXPECT_EQ(c.evaluate(resp(200, {}, nullptr, 0ms, std::chrono::hours(48))).result, outcome::cert_expiring);
  EXPECT_EQ(c.evaluate(resp(200)).result, outcome::internal);
}

TEST(expect_eval, cert_expiry_only_warns_unless_it_says_fail) {
  const auto c = set_of({"cert_expiry > 7d"});
  EXPECT_TRUE(c.warns());
  const auto v = c.evaluate(resp(200, {}, nullptr, 0ms, std::chrono::hours(72)));
  EXPECT_EQ(v.result, outcome::degraded);
  EXPECT_EQ(v.warning, outcome::cert_expiring);
  EXPECT_NE(v.detail.find("cert_expiry > 7d: certificate expires in 259200s (warn)"), std::string::npos) << v.detail;
  const auto fine = c.evaluate(resp(200, {}, nullptr, 0ms, std::chrono::hours(24 * 30)));
  EXPECT_EQ(fine.result, outcome::ok);
  EXPECT_EQ(fine.warning, outcome::ok);
  // A real failure wins over a warning; the warning is not reported then.
  const auto both =
      set_of({"cert_expiry > 7d", "status == 200"}).evaluate(resp(503, {}, nullptr, 0ms, std::chrono::hours(72)));
  EXPECT_EQ(both.result, outcome::http_status);
  EXPECT_EQ(both.warning, outcome::ok);
}

TEST(expect_eval, latency_warns_when_it_says_so) {
  const auto s = set_of({"latency < 300ms warn"});
  EXPECT_EQ(s.evaluate(resp(200, {}, nullptr, 299ms)).result, outcome::ok);
  const auto v = s.evaluate(resp(200, {}, nullptr, 400ms));
  EXPECT_EQ(v.result, outcome::degraded);
  EXPECT_EQ(v.warning, outcome::timeout);
  EXPECT_EQ(set_of({"latency < 300ms fail"}).evaluate(resp(200, {}, nullptr, 400ms)).result, outcome::timeout);
}

TEST(expect_eval, status_failure_wins_over_content_and_counts_the_rest) {
  const auto s = set_of({"latency < 10ms", R"(body contains "ok")", "status == 200"});
  const auto v = s.evaluate(resp(503, "down", nullptr, 50ms));
  EXPECT_EQ(v.result, outcome::http_status);
  EXPECT_NE(v.detail.find("+2 more"), std::string::npos) << v.detail;
  const auto w = s.evaluate(resp(200, "down", nullptr, 50ms));
  EXPECT_EQ(w.result, outcome::body_mismatch);
}

}  // namespace
}  // namespace vigil::detector
