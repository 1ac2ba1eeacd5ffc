// Interoperability with an independent PASETO implementation: the npm
// `paseto` package (v3), driven through tests/support/paseto_interop.js.
// scripts/install-node-deps.sh installs it once into the build directory
// (the first run needs the npm registry; later runs use the cache).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "approvals/approval.hpp"
#include "approvals/paseto.hpp"
#include "tests/support/test_process.hpp"

namespace vigil::approvals {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct run_result {
  int status = -1;
  std::string out;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

run_result run(const std::string& cmd) {
  run_result r;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return r;
  std::array<char, 4096> buf{};
  while (const auto n = std::fread(buf.data(), 1, buf.size(), f))
    r.out.append(buf.data(), n);
  const int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r'))
    r.out.pop_back();
  return r;
}

class paseto_interop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* bin = std::getenv("VIGIL_BINARY_DIR");
    const std::string cache = std::string(bin ? bin : VIGIL_BINARY_DIR) + "/node-deps";
    const auto r = run(testing::source_dir() + "/scripts/install-node-deps.sh " + shell_quote(cache));
    node_path = r.status == 0 ? r.out : std::string{};
  }

  void SetUp() override {
    ASSERT_FALSE(node_path.empty()) << "scripts/install-node-deps.sh failed: node, npm or the npm registry missing";
    dir_ = fs::temp_directory_path() / ("vigil-interop-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ASSERT_EQ(write_key_pair(*alice_, dir_ / "alice.key", dir_ / "alice.pub", true), "");
  }
  void TearDown() override { fs::remove_all(dir_); }

  run_result node(const std::string& cmd, const fs::path& key, const std::string& arg, const std::string& aud = {}) {
    return run("NODE_PATH=" + shell_quote(node_path) + " node " +
               shell_quote(testing::source_dir() + "/tests/support/paseto_interop.js") + " " + cmd + " " +
               shell_quote(key.string()) + " " + shell_quote(arg) + (aud.empty() ? "" : " " + shell_quote(aud)) +
               " 2>&1");
  }

  approval_claims claims(common::wall_time now) const {
    return {"rec-42",    "9f86d081884c7d659a2feaa0c55ad015",
            "failover",  true,
            "prod",      "alice",
            now,         std::nullopt,
            now + 10min, new_jti(),
            {}};
  }

  static inline std::string node_path;
  fs::path dir_;
  std::unique_ptr<ed25519_key> alice_ = ed25519_key::generate();
  common::real_clock clock_;  // npm's verifier checks exp against the real time
};

TEST_F(paseto_interop, npm_signed_token_is_accepted_by_vigil) {
  const auto c = claims(clock_.wall());
  const auto signed_by_npm = node("sign", dir_ / "alice.key", claims_to_json(c));
  ASSERT_EQ(signed_by_npm.status, 0) << signed_by_npm.out;
  ASSERT_TRUE(signed_by_npm.out.starts_with("v4.public.")) << signed_by_npm.out;

  common::approvals_config cfg;
  cfg.approvers.push_back({"alice", "alice.pub", alice_->public_pem(), {}});
  file_jti_ledger ledger(dir_ / "jti.ledger");
  approval_verifier verifier("prod", cfg, ledger);
  const auto r = verifier.verify(signed_by_npm.out, clock_.wall());
  ASSERT_TRUE(r.ok()) << to_string(r.rejection.reason) << ": " << r.rejection.message;
  EXPECT_EQ(r.approval->approver, "alice");
  EXPECT_EQ(r.approval->jti, c.jti);
  EXPECT_TRUE(r.approval->allow_data_loss);
  EXPECT_EQ(verifier.verify(signed_by_npm.out, clock_.wall()).rejection.reason, verifier_reason::replay);
}

TEST_F(paseto_interop, vigil_signed_token_verifies_with_npm) {
  const auto c = claims(clock_.wall());
  const auto token = sign_approval(*alice_, c);
  const auto v = node("verify", dir_ / "alice.pub", token, "prod");
  ASSERT_EQ(v.status, 0) << v.out;
  const auto payload = nlohmann::json::parse(v.out);
  EXPECT_EQ(payload, nlohmann::json::parse(claims_to_json(c)));
  // npm refuses what vigil would refuse: another audience, a flipped bit, another key.
  EXPECT_NE(node("verify", dir_ / "alice.pub", token, "staging").status, 0);
  std::string flipped = token;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_NE(node("verify", dir_ / "alice.pub", flipped).status, 0);
  const auto other = ed25519_key::generate();
  ASSERT_EQ(write_key_pair(*other, dir_ / "other.key", dir_ / "other.pub", true), "");
  EXPECT_NE(node("verify", dir_ / "other.pub", token).status, 0);
}

TEST_F(paseto_interop, npm_and_vigil_agree_on_the_byte_encoding) {
  // The same claims and key must give the same token from both (Ed25519 is
  // deterministic): proves PAE, base64url and the payload layout agree.
  const auto c = claims(clock_.wall());
  const auto signed_by_npm = node("sign", dir_ / "alice.key", claims_to_json(c));
  ASSERT_EQ(signed_by_npm.status, 0) << signed_by_npm.out;
  EXPECT_EQ(signed_by_npm.out, sign_approval(*alice_, c));
}

}  // namespace
}  // namespace vigil::approvals
