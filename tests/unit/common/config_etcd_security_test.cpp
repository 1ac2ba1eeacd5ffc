// coordination: ca_file, cert_file, key_file, username(_file), password(_file):
// loaded and resolved when right, each mistake reported at its line:column.
#include <gtest/gtest.h>

#include "common/config_load.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {

using test::base_yaml;
using test::has_error;

const std::string pem_cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const std::string pem_key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

test::fake_world world() {
  test::fake_world w;
  w.files["conf/tls/ca.pem"] = pem_cert;
  w.files["conf/tls/client.pem"] = pem_cert;
  w.files["conf/tls/client-key.pem"] = pem_key;
  w.files["conf/etcd-user"] = "vigil\n";
  w.files["conf/etcd-password"] = "s3cret-pw\n";
  return w;
}

/// base_yaml + a coordination block: line 13 "coordination:", 14 backend, 15
/// endpoints, then `extra` from line 16 on.
std::string with_etcd(const std::string& extra, const std::string& endpoint = "https://127.0.0.1:2379") {
  return base_yaml + "coordination:\n  backend: etcd\n  endpoints: [\"" + endpoint + "\"]\n" + extra;
}

TEST(config_etcd_security, full_block_loads_and_resolves_paths_and_secrets) {
  const auto r =
      world().load(with_etcd("  ca_file: tls/ca.pem\n  cert_file: tls/client.pem\n  key_file: tls/client-key.pem\n"
                             "  username_file: etcd-user\n  password_file: etcd-password\n"));
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const auto& c = r.value->coordination;
  EXPECT_EQ(c.ca_file, "conf/tls/ca.pem");
  EXPECT_EQ(c.cert_file, "conf/tls/client.pem");
  EXPECT_EQ(c.key_file, "conf/tls/client-key.pem");
  EXPECT_EQ(c.username, "vigil");
  EXPECT_EQ(c.password, "s3cret-pw");
  EXPECT_EQ(test::all_diagnostics(r).find("coordination"), std::string::npos) << test::all_diagnostics(r);
}

TEST(config_etcd_security, inline_username_and_env_password) {
  auto w = world();
  w.env["ETCD_PW"] = "from-env";
  const auto r = w.load(with_etcd("  ca_file: tls/ca.pem\n  username: vigil\n  password: ${ETCD_PW}\n"));
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->coordination.username, "vigil");
  EXPECT_EQ(r.value->coordination.password, "from-env");
  EXPECT_TRUE(r.value->coordination.cert_file.empty());
}

TEST(config_etcd_security, missing_ca_file_is_reported_at_its_value) {
  EXPECT_TRUE(has_error(world().load(with_etcd("  ca_file: tls/nope.pem\n")), "16:12", "coordination.ca_file",
                        "cannot read \"conf/tls/nope.pem\": No such file or directory"));
}

TEST(config_etcd_security, file_without_pem_block_is_refused) {
  auto w = world();
  w.files["conf/tls/ca.pem"] = "not a certificate\n";
  EXPECT_TRUE(has_error(w.load(with_etcd("  ca_file: tls/ca.pem\n")), "16:12", "coordination.ca_file",
                        "holds no PEM CERTIFICATE"));
  EXPECT_TRUE(has_error(world().load(with_etcd("  cert_file: tls/client.pem\n  key_file: tls/client.pem\n")), "17:13",
                        "coordination.key_file", "holds no PEM PRIVATE KEY"));
}

TEST(config_etcd_security, cert_without_key_and_key_without_cert) {
  EXPECT_TRUE(has_error(world().load(with_etcd("  cert_file: tls/client.pem\n")), "16:14", "coordination.cert_file",
                        "set both cert_file and key_file"));
  EXPECT_TRUE(has_error(world().load(with_etcd("  key_file: tls/client-key.pem\n")), "16:13", "coordination.key_file",
                        "set both cert_file and key_file"));
}

TEST(config_etcd_security, tls_files_need_https_endpoints) {
  EXPECT_TRUE(has_error(world().load(with_etcd("  ca_file: tls/ca.pem\n", "http://127.0.0.1:2379")), "15:14",
                        "coordination.endpoints", "need https:// endpoints, got \"http://127.0.0.1:2379\""));
}

TEST(config_etcd_security, username_and_password_come_together) {
  EXPECT_TRUE(has_error(world().load(with_etcd("  username: vigil\n")), "16:13", "coordination.username",
                        "set both username and password"));
  EXPECT_TRUE(has_error(world().load(with_etcd("  password_file: etcd-password\n")), "16:18",
                        "coordination.password_file", "set both username and password"));
  EXPECT_TRUE(has_error(world().load(with_etcd("  username: vigil\n  password_file: missing\n")), "17:18",
                        "coordination.password_file", "cannot read secret file \"conf/missing\""));
}

TEST(config_etcd_security, empty_password_file_is_refused_and_never_quoted) {
  auto w = world();
  w.files["conf/etcd-password"] = "\n";
  const auto r = w.load(with_etcd("  username: vigil\n  password_file: etcd-password\n"));
  EXPECT_TRUE(has_error(r, "17:18", "coordination.password_file", "is empty"));
  const auto ok = world().load(with_etcd("  username: vigil\n  password_file: etcd-password\n"));
  EXPECT_EQ(test::all_diagnostics(ok).find("s3cret-pw"), std::string::npos);
}

TEST(config_etcd_security, password_over_plain_http_warns) {
  const auto r =
      world().load(with_etcd("  username: vigil\n  password_file: etcd-password\n", "http://127.0.0.1:2379"));
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_NE(test::all_diagnostics(r).find("warning: coordination.endpoints: the etcd password and token travel in "
                                          "clear text"),
            std::string::npos)
      << test::all_diagnostics(r);
}

TEST(config_etcd_security, keys_need_the_etcd_backend) {
  const std::string yaml = base_yaml + "coordination:\n  backend: file\n  ca_file: tls/ca.pem\n";
  EXPECT_TRUE(has_error(world().load(yaml), "15:3", "coordination.ca_file", "only used with backend: etcd"));
}

}  // namespace
}  // namespace vigil::common
