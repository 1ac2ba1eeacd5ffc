// Key files and the file-backed jti ledger.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "approvals/jti_ledger.hpp"
#include "approvals/keys.hpp"

namespace vigil::approvals {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-files-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  common::manual_clock clock_;
};

TEST_F(files_test, key_pair_files_modes_and_overwrite) {
  const auto key = ed25519_key::generate();
  ASSERT_EQ(write_key_pair(*key, dir_ / "a.key", dir_ / "a.pub", false), "");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_NE(write_key_pair(*key, dir_ / "a.key", dir_ / "a.pub", false).find("--force"), std::string::npos);
  const auto other = ed25519_key::generate();
  ASSERT_EQ(write_key_pair(*other, dir_ / "a.key", dir_ / "a.pub", true), "");
  auto priv = load_private_key_file(dir_ / "a.key");
  ASSERT_TRUE(priv.key) << priv.error;
  auto pub = load_public_key_file(dir_ / "a.pub");
  ASSERT_TRUE(pub.key) << pub.error;
  EXPECT_EQ(priv.key->raw_public(), other->raw_public());
  EXPECT_EQ(pub.key->fingerprint(), other->fingerprint());
  EXPECT_EQ(pub.key->fingerprint().size(), 16U);
  EXPECT_FALSE(pub.key->has_private());
}

TEST_F(files_test, force_refuses_to_write_through_a_symlink) {
  const auto key = ed25519_key::generate();
  std::ofstream(dir_ / "victim") << "precious\n";
  fs::create_symlink(dir_ / "victim", dir_ / "b.key");
  for (const bool force : {false, true}) {
    const std::string err = write_key_pair(*key, dir_ / "b.key", dir_ / "b.pub", force);
    EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
  }
  std::ifstream in(dir_ / "victim");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "precious");
  EXPECT_FALSE(fs::exists(dir_ / "b.pub"));
}

TEST_F(files_test, private_key_readable_by_others_is_refused) {
  const auto key = ed25519_key::generate();
  ASSERT_EQ(write_key_pair(*key, dir_ / "a.key", dir_ / "a.pub", false), "");
  fs::permissions(dir_ / "a.key", fs::perms::group_read, fs::perm_options::add);
  const auto r = load_private_key_file(dir_ / "a.key");
  EXPECT_FALSE(r.key);
  EXPECT_NE(r.error.find("chmod 600"), std::string::npos);
}

TEST_F(files_test, wrong_key_kinds_are_refused) {
  EXPECT_FALSE(ed25519_key::from_public_pem("not a key").key);
  EXPECT_FALSE(ed25519_key::from_private_pem(ed25519_key::generate()->public_pem()).key);
  // An encrypted PKCS#8 key: refused without prompting for a passphrase.
  const std::string encrypted =  // openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj2YM1VSQUqewICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEEzxikU6ABiIgbe6pxxWtfQEQH5J\n"
      "n9Yvu7dCzycaSeqWkw4dZl7rjNUjzsb1qJVPNksQopC3V8Xh8eH/2jthFhFcxN+W\n"
      "kzjdhhXuph80ARD95g0=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_FALSE(ed25519_key::from_private_pem(encrypted).key);
  // An EC P-256 public key (SPKI): well-formed, but not Ed25519.
  const std::string ec =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
      "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
      "-----END PUBLIC KEY-----\n";
  const auto r = ed25519_key::from_public_pem(ec);
  EXPECT_FALSE(r.key);
  EXPECT_NE(r.error.find("expected ED25519"), std::string::npos) << r.error;
}

TEST_F(files_test, ledger_is_single_use_durable_and_exclusive) {
  const auto file = dir_ / std::string(jti_ledger_file_name);
  {
    file_jti_ledger l(file);
    EXPECT_TRUE(l.try_consume("a1", clock_.wall() + 10min));
    EXPECT_FALSE(l.try_consume("a1", clock_.wall() + 10min));
    EXPECT_TRUE(l.try_consume("b2", clock_.wall() + 1min));
    // A second engine on the same state directory fails fast.
    EXPECT_THROW(file_jti_ledger second(file), std::runtime_error);
    EXPECT_THROW((void)l.try_consume("bad jti\n", clock_.wall()), std::invalid_argument);
  }
  std::ofstream(file, std::ios::app) << "1795000000000 torn-writ";  // a crash inside write(2)
  {
    file_jti_ledger l(file);
    EXPECT_EQ(l.size(), 2U);
    EXPECT_FALSE(l.try_consume("a1", clock_.wall() + 10min));
    EXPECT_TRUE(l.try_consume("torn-writ", clock_.wall() + 10min));  // never acknowledged: not a replay
    l.compact(clock_.wall() + 5min);                                 // b2 expired
    EXPECT_EQ(l.size(), 2U);
    EXPECT_TRUE(l.try_consume("b2", clock_.wall() + 10min));
  }
  file_jti_ledger l(file);
  EXPECT_EQ(l.size(), 3U);
  EXPECT_FALSE(l.try_consume("b2", clock_.wall() + 10min));
}

// The engine compacts the ledger at every start (forget_before_for(now,
// max_skew)): entries of tokens that can no longer verify go, and no unexpired
// jti is ever forgotten, however the file was left.
TEST_F(files_test, ledger_is_compacted_on_open_without_forgetting_an_unexpired_jti) {
  const auto file = dir_ / std::string(jti_ledger_file_name);
  const auto skew = std::chrono::milliseconds(60s);
  {
    file_jti_ledger l(file);
    EXPECT_TRUE(l.try_consume("old-1", clock_.wall() + 1min));
    EXPECT_TRUE(l.try_consume("old-2", clock_.wall() + 2min));
    EXPECT_TRUE(l.try_consume("edge", clock_.wall() + 3h));
    EXPECT_TRUE(l.try_consume("live", clock_.wall() + 5h));
  }
  const auto lines_in = [&] {
    std::ifstream in(file);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
      ++n;
    return n;
  };
  ASSERT_EQ(lines_in(), 4U);
  clock_.advance(4h + 1min);  // the engine starts again hours later
  // edge: exp + max_skew is before now, but within the hour of margin for a clock stepped back: kept.
  const auto cutoff = forget_before_for(clock_.wall(), skew);
  EXPECT_EQ(cutoff, clock_.wall() - skew - 1h);
  {
    file_jti_ledger l(file, cutoff);
    EXPECT_EQ(l.size(), 2U);
    EXPECT_EQ(lines_in(), 2U);  // the file itself was rewritten
    EXPECT_FALSE(l.try_consume("edge", clock_.wall() + 10min));
    EXPECT_FALSE(l.try_consume("live", clock_.wall() + 10min));
    EXPECT_TRUE(l.try_consume("new-1", clock_.wall() + 10min));
    // A second engine still fails fast after the rewrite (the lock moved to the new file).
    EXPECT_THROW(file_jti_ledger second(file), std::runtime_error);
  }
  clock_.advance(2h);
  file_jti_ledger l(file, forget_before_for(clock_.wall(), skew));
  EXPECT_EQ(l.size(), 1U);  // only "live" is left: its exp is exactly the cutoff
  EXPECT_FALSE(l.try_consume("live", clock_.wall() + 10min));
  EXPECT_TRUE(l.try_consume("edge", clock_.wall() + 10min));  // long expired: forgetting it is safe
}

TEST_F(files_test, a_corrupt_ledger_is_not_guessed_at) {
  const auto file = dir_ / "jti.ledger";
  std::ofstream(file) << "1795000000000 ok\ngarbage line\n";
  EXPECT_THROW(file_jti_ledger l(file), std::runtime_error);
}

}  // namespace
}  // namespace vigil::approvals
