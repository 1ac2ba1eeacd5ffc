// SigV4 against AWS's published vectors, stage by stage: the IAM ListUsers
// example from the SigV4 documentation and the cases of AWS's SigV4 test
// suite (aws-sig-v4-test-suite: context us-east-1, service "service",
// 20150830T123600Z, AKIDEXAMPLE). The differential test against botocore's
// signer lives in sigv4_botocore_test.cpp.

#include "aws/sigv4.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aws/timefmt.hpp"

namespace vigil::aws {
namespace {

const credentials suite_creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
constexpr std::string_view suite_scope = "20150830/us-east-1/service/aws4_request";
constexpr std::string_view empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

common::wall_time suite_time() {
  return *parse_iso8601("2015-08-30T12:36:00Z");
}

struct suite_case {
  std::string name;
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  header_list extra_headers;  // besides Host and X-Amz-Date
  std::string body;
  std::string canonical;  // expected canonical request
  std::string sts_hash;   // last line of the expected string to sign
  std::string signature;
};

std::string creq(std::string_view method, std::string_view uri, std::string_view query, std::string_view headers,
                 std::string_view signed_headers, std::string_view payload = empty_hash) {
  return std::string(method) + "\n" + std::string(uri) + "\n" + std::string(query) + "\n" + std::string(headers) +
         "\n" + std::string(signed_headers) + "\n" + std::string(payload);
}

constexpr std::string_view host_date = "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n";
constexpr std::string_view form_hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";

std::vector<suite_case> suite_cases() {
  const std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return {
      {"get-vanilla",
       "GET",
       "/",
       {},
       {},
       "",
       creq("GET", "/", "", host_date, "host;x-amz-date"),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       {{"Param2", "value2"}, {"Param1", "value1"}},
       {},
       "",
       creq("GET", "/", "Param1=value1&Param2=value2", host_date, "host;x-amz-date"),
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       {{unreserved, unreserved}},
       {},
       "",
       creq("GET", "/", unreserved + "=" + unreserved, host_date, "host;x-amz-date"),
       "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       {{"\xE1\x88\xB4", "bar"}},
       {},
       "",
       creq("GET", "/", "%E1%88%B4=bar", host_date, "host;x-amz-date"),
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       {},
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       creq("GET", "/", "",
            "host:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n",
            "host;my-header1;x-amz-date"),
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       "GET",
       "/",
       {},
       {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}},
       "",
       creq("GET", "/", "",
            "host:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n",
            "host;my-header1;x-amz-date"),
       "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-header-value-trim",
       "GET",
       "/",
       {},
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       creq("GET", "/", "",
            "host:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n",
            "host;my-header1;my-header2;x-amz-date"),
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-unreserved",
       "GET",
       "/" + unreserved,
       {},
       {},
       "",
       creq("GET", "/" + unreserved, "", host_date, "host;x-amz-date"),
       "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-utf8",
       "GET",
       "/\xE1\x88\xB4",
       {},
       {},
       "",
       creq("GET", "/%E1%88%B4", "", host_date, "host;x-amz-date"),
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space",
       "GET",
       "/example space/",
       {},
       {},
       "",
       creq("GET", "/example%20space/", "", host_date, "host;x-amz-date"),
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"post-vanilla",
       "POST",
       "/",
       {},
       {},
       "",
       creq("POST", "/", "", host_date, "host;x-amz-date"),
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"post-vanilla-query",
       "POST",
       "/",
       {{"Param1", "value1"}},
       {},
       "",
       creq("POST", "/", "Param1=value1", host_date, "host;x-amz-date"),
       "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"post-header-key-sort",
       "POST",
       "/",
       {},
       {{"My-Header1", "value1"}},
       "",
       creq("POST", "/", "", "host:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n",
            "host;my-header1;x-amz-date"),
       "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded"},
        {"Content-Length", "13"},
        {"X-Amz-Content-Sha256", std::string(form_hash)}},
       "Param1=value1",
       creq("POST", "/", "",
            "content-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            "x-amz-content-sha256:" +
                std::string(form_hash) + "\nx-amz-date:20150830T123600Z\n",
            "content-length;content-type;host;x-amz-content-sha256;x-amz-date", form_hash),
       "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"post-x-www-form-urlencoded-parameters",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"Content-Length", "13"},
        {"X-Amz-Content-Sha256", std::string(form_hash)}},
       "Param1=value1",
       creq("POST", "/", "",
            "content-length:13\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:example.amazonaws.com\nx-amz-content-sha256:" +
                std::string(form_hash) + "\nx-amz-date:20150830T123600Z\n",
            "content-length;content-type;host;x-amz-content-sha256;x-amz-date", form_hash),
       "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
       "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
  };
}

// NOLINTNEXTLINE(readability-identifier-naming) // GoogleTest finds the printer by this exact name
void PrintTo(const suite_case& c, std::ostream* os) {
  *os << c.name;
}

http_request suite_request(const suite_case& c) {
  http_request r;
  r.method = c.method;
  r.host = "example.amazonaws.com";
  r.path = c.path;
  r.query = c.query;
  r.headers.emplace_back("Host", "example.amazonaws.com");
  for (const auto& h : c.extra_headers)
    r.headers.push_back(h);
  r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  r.body = c.body;
  return r;
}

class sigv4_suite : public ::testing::TestWithParam<suite_case> {};

TEST_P(sigv4_suite, every_stage_matches_the_published_vector) {
  const auto& c = GetParam();
  const auto req = suite_request(c);
  const auto cr = canonical_request(req);
  EXPECT_EQ(cr, c.canonical);
  const auto sts = string_to_sign("20150830T123600Z", suite_scope, cr);
  EXPECT_EQ(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n" + std::string(suite_scope) + "\n" + c.sts_hash);
  const auto key = signing_key(suite_creds.secret_access_key, "20150830", "us-east-1", "service");
  EXPECT_EQ(signature(key, sts), c.signature);
}

TEST_P(sigv4_suite, sign_reaches_the_same_stages_and_header) {
  const auto& c = GetParam();
  auto req = suite_request(c);
  req.remove_header("X-Amz-Date");  // sign() must add it
  const auto r = sign(req, suite_creds, {"service", "us-east-1", suite_time()});
  EXPECT_EQ(r.canonical_request, c.canonical);
  EXPECT_EQ(r.signature, c.signature);
  EXPECT_EQ(r.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + std::string(suite_scope) +
                                 ", SignedHeaders=" + r.signed_headers + ", Signature=" + c.signature);
  ASSERT_NE(req.header("authorization"), nullptr);
  EXPECT_EQ(*req.header("authorization"), r.authorization);
  EXPECT_EQ(*req.header("x-amz-date"), "20150830T123600Z");
}

INSTANTIATE_TEST_SUITE_P(aws_suite, sigv4_suite, ::testing::ValuesIn(suite_cases()),
                         [](const ::testing::TestParamInfo<suite_case>& p) {
                           std::string n = p.param.name;
                           for (auto& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

TEST(sigv4, iam_list_users_documentation_example) {
  http_request req;
  req.method = "GET";
  req.host = "iam.amazonaws.com";
  req.query = parse_query("Action=ListUsers&Version=2010-05-08");
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  const auto r = sign(req, suite_creds, {"iam", "us-east-1", suite_time()});
  EXPECT_EQ(r.canonical_request,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" +
                std::string(empty_hash));
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(r.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(hex(signing_key(suite_creds.secret_access_key, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

// The suite's context for the session-token cases.
const std::string suite_token =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfK"
    "D8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx"
    "6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIl"
    "TJabIQwj2ICCR/oLxBA==";

TEST(sigv4, post_sts_header_before_signs_the_token) {
  auto creds = suite_creds;
  creds.session_token = suite_token;
  http_request req;
  req.method = "POST";
  req.host = "example.amazonaws.com";
  const auto r = sign(req, creds, {"service", "us-east-1", suite_time()});
  EXPECT_EQ(r.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(r.signature, "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
  EXPECT_EQ(*req.header("x-amz-security-token"), suite_token);
}

TEST(sigv4, post_sts_header_after_adds_the_token_unsigned) {
  auto creds = suite_creds;
  creds.session_token = suite_token;
  http_request req;
  req.method = "POST";
  req.host = "example.amazonaws.com";
  signing_params p{"service", "us-east-1", suite_time()};
  p.sign_security_token = false;
  const auto r = sign(req, creds, p);
  EXPECT_EQ(r.signed_headers, "host;x-amz-date");
  EXPECT_EQ(r.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");  // post-vanilla
  EXPECT_EQ(*req.header("x-amz-security-token"), suite_token);
}

TEST(sigv4, relative_and_slash_paths_normalise_except_for_s3) {
  EXPECT_EQ(canonical_uri("/example/..", false), "/");
  EXPECT_EQ(canonical_uri("/example1/example2/../..", false), "/");
  EXPECT_EQ(canonical_uri("/./", false), "/");
  EXPECT_EQ(canonical_uri("/./example", false), "/example");
  EXPECT_EQ(canonical_uri("//", false), "/");
  EXPECT_EQ(canonical_uri("//example//", false), "/example/");
  EXPECT_EQ(canonical_uri("", false), "/");
  EXPECT_EQ(canonical_uri("//example//", true), "//example//");
  EXPECT_EQ(canonical_uri("/a%20b", true), "/a%20b");
}

TEST(sigv4, wire_path_is_encoded_twice_except_for_s3) {
  // vigil sends /my%20key on the wire; every service but S3 signs it encoded again.
  EXPECT_EQ(canonical_uri(encode_path("/my key"), false), "/my%2520key");
  EXPECT_EQ(canonical_uri(encode_path("/my key"), true), "/my%20key");
  EXPECT_EQ(canonical_uri("/example/$delete", false), "/example/%24delete");
}

TEST(sigv4, query_is_encoded_then_sorted) {
  // Raw "a0" < "a=" (0x30 < 0x3D) but encoded "a%3D" < "a0": sorting before encoding is wrong.
  EXPECT_EQ(canonical_query({{"a0", "x"}, {"a=", "y"}}), "a%3D=y&a0=x");
  // The suite's get-vanilla-query-order-encoded: the UTF-8 name sorts first once encoded.
  EXPECT_EQ(canonical_query({{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}}),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  EXPECT_EQ(canonical_query({{"v", ""}}), "v=");
  EXPECT_EQ(canonical_query(parse_query("v")), "v=");  // a bare ?v
  EXPECT_EQ(canonical_query({{"k", "b"}, {"k", "a"}}), "k=a&k=b");
  EXPECT_EQ(canonical_query({{"sp ace", "a+b"}}), "sp%20ace=a%2Bb");
}

TEST(sigv4, header_values_are_trimmed_and_collapsed) {
  http_request req;
  req.headers = {{"X-A", "  a \t\t b   c  "}, {"x-a", "d"}, {"User-Agent", "curl"}, {"HOST", "h"}};
  const auto c = canonical_headers(req);
  EXPECT_EQ(c.block, "host:h\nx-a:a b c,d\n");
  EXPECT_EQ(c.signed_headers, "host;x-a");
}

TEST(sigv4, empty_payload_hash_and_content_sha256_header) {
  EXPECT_EQ(sha256_hex(""), empty_hash);
  http_request req;
  req.host = "example.amazonaws.com:443";
  signing_params p{"service", "us-east-1", suite_time()};
  p.content_sha256_header = true;
  sign(req, suite_creds, p);
  EXPECT_EQ(*req.header("x-amz-content-sha256"), empty_hash);
  EXPECT_EQ(*req.header("host"), "example.amazonaws.com");  // default port not signed
}

TEST(sigv4, signing_twice_replaces_date_and_authorization) {
  http_request req;
  req.host = "example.amazonaws.com";
  sign(req, suite_creds, {"service", "us-east-1", suite_time()});
  const auto r = sign(req, suite_creds, {"service", "us-east-1", suite_time()});
  EXPECT_EQ(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  int auths = 0;
  for (const auto& h : req.headers)
    auths += iequals(h.first, "authorization") ? 1 : 0;
  EXPECT_EQ(auths, 1);
}

TEST(sigv4, credentials_redacted_never_shows_the_secret) {
  credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok", suite_time(), "env"};
  const auto s = c.redacted();
  EXPECT_EQ(s.find("wJalr"), std::string::npos);
  EXPECT_EQ(s.find("tok"), std::string::npos);
  EXPECT_EQ(s.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_NE(s.find("AKIA"), std::string::npos);
  EXPECT_NE(s.find("session"), std::string::npos);
}

TEST(clock_skew, learns_offset_once_from_date_header_on_skew_errors) {
  clock_skew skew;
  const auto local = suite_time();
  aws_error other{"AccessDenied", "no", "", 403, false};
  EXPECT_FALSE(skew.learn(other, "Sun, 30 Aug 2015 12:46:00 GMT", local));
  EXPECT_EQ(skew.offset().count(), 0);
  aws_error skewed{"InvalidSignatureException", "Signature expired: 20150830T123600Z is now earlier than ...", "", 400,
                   false};
  EXPECT_TRUE(skew.learn(skewed, "Sun, 30 Aug 2015 12:46:00 GMT", local));
  EXPECT_EQ(skew.offset(), std::chrono::minutes(10));
  EXPECT_EQ(format_amz_date(skew.corrected(local)), "20150830T124600Z");
  EXPECT_TRUE(clock_skew::is_skew_error({"RequestTimeTooSkewed", "", "", 403, false}));
  EXPECT_TRUE(clock_skew::is_skew_error({"SignatureExpired", "", "", 403, false}));
  EXPECT_FALSE(skew.learn(skewed, "garbage", local));
}

TEST(timefmt, formats_and_parses) {
  const auto t = suite_time();
  EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
  EXPECT_EQ(format_iso8601(t), "2015-08-30T12:36:00Z");
  EXPECT_EQ(format_iso8601(t + std::chrono::milliseconds(999)), "2015-08-30T12:36:00Z");
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00.250Z"), t + std::chrono::milliseconds(250));
  EXPECT_EQ(parse_iso8601("2015-08-30T14:36:00+02:00"), t);
  EXPECT_EQ(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), t);
  EXPECT_FALSE(parse_iso8601("2015-13-30T12:36:00Z"));
  EXPECT_FALSE(parse_http_date("30 Aug 2015"));
}

}  // namespace
}  // namespace vigil::aws
