// PASETO v4.public against the official test vectors
// (paseto-standard/test-vectors, v4.json: 4-S-1..4-S-3 and the failure cases
// 4-F-1..4-F-3) plus vigil's strict-parsing rules.
#include "approvals/paseto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "approvals/keys.hpp"
#include "common/base64.hpp"

namespace vigil::approvals {
namespace {

std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// From v4.json: the key pair shared by 4-S-* and 4-F-1.
constexpr std::string_view vector_seed = "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774";
constexpr std::string_view vector_public = "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2";
constexpr std::string_view vector_secret_pem =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILTL+0PfTOIQcn2VPkpxMwf6Gbt9n4UEFDjZ4RuUKjd0\n-----END PRIVATE "
    "KEY-----";
constexpr std::string_view vector_public_pem =
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAHrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaI=\n-----END PUBLIC "
    "KEY-----";
constexpr std::string_view vector_message = R"({"data":"this is a signed message","exp":"2022-01-01T00:00:00+00:00"})";
constexpr std::string_view vector_footer = R"({"kid":"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN"})";

struct vector_case {
  std::string name;
  std::string token;
  std::string footer;
  std::string implicit;
};

const std::vector<vector_case>& sign_vectors() {
  static const std::vector<vector_case> v{
      {"4-S-1",
       "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9bg_"
       "XBBzds8lTZShVlwwKSgeKpLT3yukTw6JUz3W4h_ExsQV-P0V54zemZDcAxFaSeef1QlXEFtkqxT1ciiQEDA",
       "", ""},
      {"4-S-2",
       "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9v3Jt8mx_"
       "TdM2ceTGoqwrh4yDFn0XsHvvV_D0DtwQxVrJEBMl0F2caAdgnpKlt4p7xBnx1HcO-SPo8FPp214HDw."
       "eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
       std::string(vector_footer), ""},
      {"4-S-3",
       "v4.public."
       "eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9NPWciuD3d0o5"
       "eXJXG5pJy-DiVEoyPYWs1YSTwWHNJq6DZD3je5gf-0M4JR9ipdUSJbIovzmBECeaWmaqcaP0DQ."
       "eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
       std::string(vector_footer), R"({"test-vector":"4-S-3"})"},
  };
  return v;
}

std::unique_ptr<ed25519_key> vector_private() {
  auto r = ed25519_key::from_raw_private(unhex(vector_seed));
  EXPECT_TRUE(r.key) << r.error;
  return std::move(r.key);
}

std::unique_ptr<ed25519_key> vector_public_key() {
  auto r = ed25519_key::from_raw_public(unhex(vector_public));
  EXPECT_TRUE(r.key) << r.error;
  return std::move(r.key);
}

TEST(paseto, official_vectors_verify) {
  const auto pub = vector_public_key();
  for (const auto& c : sign_vectors()) {
    SCOPED_TRACE(c.name);
    const auto r = paseto_v4_verify(*pub, c.token, c.implicit);
    ASSERT_TRUE(r.parts) << r.detail;
    EXPECT_EQ(r.parts->message, vector_message);
    EXPECT_EQ(r.parts->footer, c.footer);
  }
}

TEST(paseto, official_vectors_sign_deterministically) {
  const auto key = vector_private();
  for (const auto& c : sign_vectors()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(paseto_v4_sign(*key, vector_message, c.footer, c.implicit), c.token);
  }
}

TEST(paseto, vector_pem_keys_match_raw_keys) {
  auto priv = ed25519_key::from_private_pem(vector_secret_pem);
  ASSERT_TRUE(priv.key) << priv.error;
  auto pub = ed25519_key::from_public_pem(vector_public_pem);
  ASSERT_TRUE(pub.key) << pub.error;
  EXPECT_EQ(priv.key->raw_public(), vector_public_key()->raw_public());
  EXPECT_EQ(pub.key->raw_public(), vector_public_key()->raw_public());
  EXPECT_EQ(paseto_v4_sign(*priv.key, vector_message), sign_vectors()[0].token);
  // Round trip through vigil's own PEM encoding.
  auto again = ed25519_key::from_private_pem(priv.key->private_pem());
  ASSERT_TRUE(again.key);
  EXPECT_EQ(again.key->public_pem(), pub.key->public_pem());
}

TEST(paseto, implicit_assertion_is_bound) {
  const auto pub = vector_public_key();
  const auto& s3 = sign_vectors()[2];
  EXPECT_EQ(paseto_v4_verify(*pub, s3.token, "").error, paseto_error::bad_signature);
  EXPECT_EQ(paseto_v4_verify(*pub, s3.token, R"({"test-vector":"4-S-2"})").error, paseto_error::bad_signature);
}

TEST(paseto, official_failure_vectors) {
  const auto pub = vector_public_key();
  // 4-F-1: a v4.local token offered to a public verifier.
  EXPECT_EQ(paseto_v4_verify(*pub,
                             "v4.local.vngXfCISbnKgiP6VWGuOSlYrFYU300fy9ijW33rznDYgxHNPwWluAY2Bgb0z54CUs6aYYkIJ-"
                             "bOOOmJHPuX_34Agt_IPlNdGDpRdGNnBz2MpWJvB3cttheEc1uyCEYltj7wBQQYX."
                             "YXJiaXRyYXJ5LXN0cmluZy10aGF0LWlzbid0LWpzb24",
                             R"({"test-vector":"4-F-1"})")
                .error,
            paseto_error::unsupported_version);
  // 4-F-2: a v4.public token that does not verify with the public key.
  const auto f2 = paseto_v4_verify(*pub,
                                   "v4.public.eyJpbnZhbGlkIjoidGhpcyBzaG91bGQgbmV2ZXIgZGVjb2RlIn22Sp4gjCaUw0c7EH84ZSm_"
                                   "jN_Qr41MrgLNu5LIBCzUr1pn3Z-Wukg9h3ceplWigpoHaTLcwxj0NsI1vjTh67YB."
                                   "eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
                                   R"({"test-vector":"4-F-2"})");
  EXPECT_FALSE(f2.parts);
  EXPECT_TRUE(f2.error == paseto_error::bad_signature || f2.error == paseto_error::bad_format) << f2.detail;
  // 4-F-3: a v3.local token.
  EXPECT_EQ(
      paseto_v4_verify(*pub,
                       "v3.local.23e_2PiqpQBPvRFKzB0zHhjmxK3sKo2grFZRRLM-U7L0a8uHxuF9RlVz3Ic6WmdUUWTxCaYycwWV1yM8gKbZ"
                       "B2JhygDMKvHQ7eBf8GtF0r3K0Q_gF1PXOxcOgztak1eD1dPe9rLVMSgR0nHJXeIGYVuVrVoLWQ."
                       "YXJiaXRyYXJ5LXN0cmluZy10aGF0LWlzbid0LWpzb24",
                       R"({"test-vector":"4-F-3"})")
          .error,
      paseto_error::unsupported_version);
}

TEST(paseto, other_versions_and_purposes_are_unsupported) {
  const auto pub = vector_public_key();
  const std::string body = sign_vectors()[0].token.substr(paseto_v4_public_header.size());
  for (const std::string prefix :
       {"v1.public.", "v2.public.", "v3.public.", "v4.local.", "v2.local.", "v3.local.", "v10.public."}) {
    SCOPED_TRACE(prefix);
    EXPECT_EQ(paseto_v4_verify(*pub, prefix + body).error, paseto_error::unsupported_version);
  }
  for (const std::string prefix : {"V4.public.", "v4.Public.", "v4.public", "v4..", "paseto.", ".", ""}) {
    SCOPED_TRACE(prefix);
    EXPECT_EQ(paseto_v4_verify(*pub, prefix + body).error, paseto_error::bad_format);
  }
}

TEST(paseto, strict_base64url) {
  EXPECT_EQ(common::base64url_decode("").value(), "");
  EXPECT_EQ(common::base64url_decode("Zm9v").value(), "foo");
  EXPECT_EQ(common::base64url_decode("Zm8").value(), "fo");
  EXPECT_EQ(common::base64url_decode("Zg").value(), "f");
  EXPECT_FALSE(common::base64url_decode("Zg=="));  // padding
  EXPECT_FALSE(common::base64url_decode("Zh"));    // non-zero trailing bits: non-canonical "f"
  EXPECT_FALSE(common::base64url_decode("Zm9"));   // non-canonical "fo"
  EXPECT_FALSE(common::base64url_decode("Z"));     // 1 mod 4
  EXPECT_FALSE(common::base64url_decode("Zm+v"));  // standard alphabet
  EXPECT_FALSE(common::base64url_decode("Zm/v"));
  EXPECT_FALSE(common::base64url_decode("Zm9v\n"));
  for (int i = 0; i < 300; ++i) {
    std::string data;
    for (int j = 0; j < i; ++j)
      data += static_cast<char>((i * 31 + j * 7) & 0xff);
    EXPECT_EQ(common::base64url_decode(common::base64url_encode(data)).value(), data);
  }
}

TEST(paseto, malformed_tokens_are_bad_format) {
  const auto pub = vector_public_key();
  const std::string good = sign_vectors()[0].token;
  const std::string with_footer = sign_vectors()[1].token;
  const std::vector<std::string> bad{
      good + ".",             // empty footer segment
      with_footer + ".eyJ9",  // a fourth segment
      good + "=",             // padding
      good + "==",
      good + " ",  // trailing garbage
      " " + good,
      good.substr(0, 20),  // shorter than a signature
      "v4.public.",        // nothing
      std::string(paseto_v4_public_header) + common::base64url_encode(std::string(64, 'x')),  // signature, no message
      good.substr(0, good.size() - 1) + "!",
  };
  for (const auto& t : bad) {
    SCOPED_TRACE(t);
    EXPECT_EQ(paseto_v4_verify(*pub, t).error, paseto_error::bad_format);
  }
  EXPECT_EQ(paseto_v4_verify(*pub, good + std::string(paseto_max_token_bytes, 'A')).error, paseto_error::too_large);
}

TEST(paseto, oversize_signing_is_refused) {
  const auto key = vector_private();
  EXPECT_THROW((void)paseto_v4_sign(*key, std::string(paseto_max_token_bytes, 'x')), std::invalid_argument);
  EXPECT_THROW((void)paseto_v4_sign(*vector_public_key(), "m"), std::invalid_argument);
}

TEST(paseto, every_single_bit_flip_is_rejected) {
  const auto pub = vector_public_key();
  for (const auto& c : sign_vectors()) {
    SCOPED_TRACE(c.name);
    int rejected = 0;
    for (std::size_t pos = 0; pos < c.token.size(); ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string t = c.token;
        t[pos] = static_cast<char>(static_cast<unsigned char>(t[pos]) ^ (1U << bit));
        const auto r = paseto_v4_verify(*pub, t, c.implicit);
        EXPECT_FALSE(r.parts) << "flip of bit " << bit << " at byte " << pos << " was accepted: " << t;
        rejected += r.parts ? 0 : 1;
      }
    }
    EXPECT_EQ(rejected, static_cast<int>(c.token.size() * 8));
  }
}

TEST(paseto, wrong_key_is_bad_signature) {
  const auto other = ed25519_key::generate();
  const auto r = paseto_v4_verify(*other, sign_vectors()[0].token);
  EXPECT_EQ(r.error, paseto_error::bad_signature);
}

TEST(paseto, pae_matches_spec_examples) {
  // From the PASETO spec: PAE([]) and PAE([""]) and PAE(["test"]).
  EXPECT_EQ(paseto_pae({}), std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8));
  const std::array<std::string_view, 1> empty{""};
  EXPECT_EQ(paseto_pae(empty), std::string("\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
  const std::array<std::string_view, 1> test{"test"};
  EXPECT_EQ(paseto_pae(test), std::string("\x01\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0test", 20));
}

}  // namespace
}  // namespace vigil::approvals
