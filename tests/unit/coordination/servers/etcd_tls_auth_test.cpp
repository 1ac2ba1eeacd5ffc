// The etcd backend over TLS with client certificates and etcd user/password
// auth, against a real etcd 3.4 member started with --client-cert-auth and
// auth enabled: a throwaway CA, a server certificate for IP 127.0.0.1 and a
// client certificate are made with openssl in the test's directory; the
// "vigil" user's role may read and write only the test's key prefix.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/config_load.hpp"
#include "coordination/coordination_etcd.hpp"
#include "coordination/coordination_runner.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/unit/coordination/servers/etcd_test_util.hpp"

namespace vigil::coordination {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::replica;
namespace fs = std::filesystem;

constexpr const char* prefix_root = "/vigil-tls";
constexpr const char* vigil_password = "vigil-pw-1";

void run(const std::string& cmd) {
  // The commands are fixed strings built here, with paths under our own temp dir.
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(cert-env33-c,concurrency-mt-unsafe)
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

/// CA, server (IP SAN 127.0.0.1), client and an unrelated "other" CA.
void make_certs(const fs::path& d) {
  const std::string in = "cd '" + d.string() + "' && ";
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  const std::string quiet = " >/dev/null 2>&1";
  for (const char* ca : {"ca", "other-ca"}) {
    run(in + "openssl req -x509 " + ec + "-keyout " + ca + "-key.pem -out " + ca + ".pem -days 2 -subj /CN=" + ca +
        quiet);
  }
  write_file(d / "server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  write_file(d / "client.ext", "extendedKeyUsage=clientAuth\n");
  // The client certificate has no CommonName: etcd 3.4 refuses JSON gateway
  // requests whose client certificate carries one (it could not use it as
  // the user name), answering 400 to every call.
  for (const std::string who : {"server", "client"}) {
    const std::string subject = who == "server" ? "/CN=vigil-test-server" : "/O=vigil";
    run(in + "openssl req " + ec + "-keyout " + who + "-key.pem -out " + who + ".csr -subj " + subject + quiet);
    run(in + "openssl x509 -req -in " + who + ".csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out " + who +
        ".pem -extfile " + who + ".ext" + quiet);
  }
}

/// One TLS + auth member shared by the tests of this file.
class EtcdTlsAuth : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vigil-etcd-tls-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    make_certs(dir_);
    vigil::testing::etcd_cluster_options o;
    o.ca_file = file("ca.pem");
    o.cert_file = file("server.pem");
    o.key_file = file("server-key.pem");
    o.client_cert_auth = true;
    o.client_cert_file = file("client.pem");
    o.client_key_file = file("client-key.pem");
    // Tokens expire after 5 s without use (the re-authentication test; etcd
    // 3.4 refuses fresh tokens at 2 s);
    // bcrypt at its minimum cost keeps authentication cheap on a busy box.
    o.extra_args = {"--auth-token-ttl", "5", "--bcrypt-cost", "4"};
    cluster_ = new vigil::testing::etcd_cluster(1, o);
    // Users and roles, then auth on (etcdctl 3.4 over the same mutual TLS).
    const std::string ctl = etcdctl();
    const std::string quiet = " >/dev/null";
    run(ctl + "user add root --new-user-password=root-pw" + quiet);
    run(ctl + "role add root" + quiet);
    run(ctl + "user grant-role root root" + quiet);
    run(ctl + "role add vigil" + quiet);
    run(ctl + "role grant-permission vigil --prefix=true readwrite " + std::string(prefix_root) + "/" + quiet);
    run(ctl + "user add vigil --new-user-password=" + std::string(vigil_password) + quiet);
    run(ctl + "user grant-role vigil vigil" + quiet);
    run(ctl + "auth enable" + quiet);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 protected:
  static std::string file(const char* name) { return (dir_ / name).string(); }
  static std::string endpoint() { return cluster_->endpoints()[0]; }
  static std::string etcdctl() {
    return "ETCDCTL_API=3 /usr/bin/etcdctl --dial-timeout=10s --command-timeout=20s --endpoints=" + endpoint() +
           " --cacert=" + file("ca.pem") + " --cert=" + file("client.pem") + " --key=" + file("client-key.pem") + " ";
  }
  static etcd_security security(std::string password = vigil_password, std::string ca = "ca.pem") {
    return {file(ca.c_str()), file("client.pem"), file("client-key.pem"), "vigil", std::move(password)};
  }
  static etcd_client_options client_options(etcd_security s) {
    // Generous: a TLS handshake plus bcrypt on a 2-core machine shared with other jobs.
    return etcd_client_options{{endpoint()}, seconds(10), seconds(5), std::move(s)};
  }
  static std::string fresh_prefix(std::string_view what) {
    return std::string(prefix_root) + "/" + std::string(what) + "-" + common::random_hex(4);
  }

  static fs::path dir_;
  static vigil::testing::etcd_cluster* cluster_;
};

fs::path EtcdTlsAuth::dir_;
vigil::testing::etcd_cluster* EtcdTlsAuth::cluster_ = nullptr;

/// Steps both until exactly one leads (real time: leases are real).
bool elect(const common::clock& clock, coordinator& a, coordinator& b) {
  for (int i = 0; i < 300; ++i) {
    a.step(clock.monotonic());
    b.step(clock.monotonic());
    if (a.is_leader() != b.is_leader()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

TEST_F(EtcdTlsAuth, TwoReplicasFromConfigElectAndShareStateOverTlsAndAuth) {
  // The whole path an operator uses: a config file naming the PEM files and
  // a password file, loaded by the real loader, then make_coordinator().
  const std::string prefix = fresh_prefix("cfg");
  write_file(dir_ / "etcd-password", std::string(vigil_password) + "\n");
  // Secrets group or others can read are refused (docs/configuration.md, "Secrets").
  fs::permissions(dir_ / "etcd-password", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(dir_ / "client-key.pem", fs::perms::owner_read | fs::perms::owner_write);
  const std::string yaml =
      "deployment: t\n"
      "regions:\n  - {name: us-east-1, role: primary}\n  - {name: us-west-2, role: dr}\n"
      "vantages: [us-east-1, us-west-2, eu-west-1]\n"
      "services:\n  - name: api\n    checks:\n"
      "      - {region: us-east-1, http: {url: \"http://127.0.0.1:1/\"}}\n"
      "      - {region: us-west-2, http: {url: \"http://127.0.0.1:2/\"}}\n"
      "engine: {state_dir: " +
      (dir_ / "state").string() +
      "}\n"
      "coordination:\n"
      "  backend: etcd\n"
      "  endpoints: [\"" +
      endpoint() +
      "\"]\n"
      "  lease_ttl: 6s\n"
      "  prefix: " +
      prefix +
      "\n"
      "  ca_file: ca.pem\n"
      "  cert_file: client.pem\n"
      "  key_file: client-key.pem\n"
      "  username: vigil\n"
      "  password_file: etcd-password\n";
  write_file(dir_ / "vigil.yaml", yaml);
  const auto loaded = common::load_config((dir_ / "vigil.yaml").string());
  ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics.front().format());
  EXPECT_EQ(loaded.value->coordination.password, vigil_password);
  EXPECT_EQ(loaded.value->coordination.ca_file, file("ca.pem"));

  const common::real_clock clock;
  prometheus::Registry ra;
  prometheus::Registry rb;
  auto a = make_coordinator(*loaded.value, "a", clock, ra);
  auto b = make_coordinator(*loaded.value, "b", clock, rb);
  ASSERT_TRUE(elect(clock, *a, *b)) << a->status().detail << " / " << b->status().detail;
  coordinator& leader = a->is_leader() ? *a : *b;
  coordinator& follower = a->is_leader() ? *b : *a;
  EXPECT_EQ(follower.status().leader_id, leader.status().replica_id);
  EXPECT_EQ(leader.health(), coordination_health::healthy) << leader.status().detail;

  // Shared state: the leader writes under the fence, the follower reads it
  // and cannot write.
  EXPECT_EQ(leader.put_guarded("decision", R"({"open":1})"), write_result::ok);
  EXPECT_EQ(follower.get("decision"), std::optional<std::string>(R"({"open":1})"));
  EXPECT_EQ(follower.put_guarded("decision", "{}"), write_result::fenced);
  EXPECT_EQ(follower.list("").size(), 1U);
  // One approval token, consumed once across both replicas.
  const std::string jti = common::random_hex(16);
  const auto expires = clock.wall() + seconds(60);
  EXPECT_TRUE(follower.ledger().try_consume(jti, expires));
  EXPECT_FALSE(leader.ledger().try_consume(jti, expires));

  // Hand-over: the leader resigns, the follower takes over with a higher token.
  const std::int64_t first_token = leader.fencing_token();
  leader.resign();
  ASSERT_TRUE(elect(clock, *a, *b)) << follower.status().detail;
  EXPECT_TRUE(follower.is_leader() || leader.is_leader());
  EXPECT_GT(std::max(a->fencing_token(), b->fencing_token()), first_token);
}

TEST_F(EtcdTlsAuth, PlainCallsAreRefusedByTheServer) {
  // The cluster really enforces both layers: no client certificate fails the
  // handshake; a certificate but no token is refused by auth.
  etcd_security no_cert = security();
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  no_cert.username.clear();
  etcd_client c1(client_options(no_cert));
  auto r1 = c1.range(fresh_prefix("x"));
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error.code, etcd_errc::ok);

  etcd_security no_user = security();
  no_user.username.clear();
  etcd_client c2(client_options(no_user));
  auto r2 = c2.range(fresh_prefix("x"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error.code, etcd_errc::auth) << r2.error.message;
  EXPECT_NE(r2.error.message.find("user name is empty"), std::string::npos) << r2.error.message;
}

TEST_F(EtcdTlsAuth, WrongCaIsRefusedWithATlsError) {
  etcd_client c(client_options(security(vigil_password, "other-ca.pem")));
  auto r = c.range(fresh_prefix("ca"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error.code, etcd_errc::tls) << r.error.message;
  EXPECT_NE(r.error.message.find("TLS: "), std::string::npos) << r.error.message;
  EXPECT_NE(r.error.message.find("certificate"), std::string::npos) << r.error.message;
  EXPECT_NE(r.error.message.find("other-ca.pem"), std::string::npos) << r.error.message;
  EXPECT_EQ(c.authentications(), 0U);
  // The probe fails the same way and marks the endpoint down.
  EXPECT_EQ(c.probe_endpoints(), 0U);
  EXPECT_EQ(c.endpoints_down(), 1U);
}

TEST_F(EtcdTlsAuth, HostNameIsVerified) {
  // "localhost" is not in the certificate (only IP 127.0.0.1): refused even
  // though the CA is right.
  etcd_client_options o = client_options(security());
  o.endpoints = {"https://localhost:" + std::to_string(cluster_->at(0).client_port)};
  etcd_client c(o);
  auto r = c.range(fresh_prefix("host"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error.code, etcd_errc::tls) << r.error.message;
}

TEST_F(EtcdTlsAuth, WrongPasswordIsRefusedWithAnAuthError) {
  etcd_client c(client_options(security("not-the-password")));
  auto r = c.put(fresh_prefix("pw") + "/k", "v");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error.code, etcd_errc::auth) << r.error.message;
  EXPECT_NE(r.error.message.find("authenticating as vigil"), std::string::npos) << r.error.message;
  EXPECT_NE(r.error.message.find("authentication failed"), std::string::npos) << r.error.message;
  EXPECT_EQ(r.error.message.find("not-the-password"), std::string::npos) << r.error.message;

  // A coordinator with that password never leads and says why.
  const common::real_clock clock;
  replica bad({endpoint()}, fresh_prefix("pw"), "bad", clock, seconds(6), security("not-the-password"));
  bad->step(clock.monotonic());
  EXPECT_FALSE(bad->is_leader());
  EXPECT_EQ(bad->health(), coordination_health::lost);
  EXPECT_NE(bad->status().detail.find("auth: "), std::string::npos) << bad->status().detail;
}

TEST_F(EtcdTlsAuth, KeysOutsideTheRolePrefixAreDenied) {
  etcd_client c(client_options(security()));
  auto inside = c.put(fresh_prefix("perm") + "/k", "v");
  ASSERT_TRUE(inside) << inside.error.message;
  auto outside = c.put("/not-vigil/k", "v");
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error.code, etcd_errc::auth) << outside.error.message;
  EXPECT_NE(outside.error.message.find("permission denied"), std::string::npos) << outside.error.message;
}

TEST_F(EtcdTlsAuth, ExpiredTokenIsRenewedWhileTheLeaderKeepsItsTerm) {
  // lease_ttl 30 s: the local deadline is 20 s after the last keepalive, far
  // more than the 5 s token TTL, so an idle pause expires the token but not
  // the term.
  const common::real_clock clock;
  replica a({endpoint()}, fresh_prefix("ttl"), "a", clock, seconds(30), security());
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader()) << a->status().detail;
  const std::int64_t token = a->fencing_token();
  const std::uint64_t before = a->client().authentications();
  EXPECT_EQ(before, 1U);
  // A second client whose first request after the pause is a keepalive: the
  // lease must still be renewable with a stale token in hand.
  etcd_client k(client_options(security()));
  auto lease = k.lease_grant(60);
  ASSERT_TRUE(lease) << lease.error.message;

  // Idle for longer than --auth-token-ttl (5 s; etcd sweeps every second),
  // then the next request meets "invalid auth token" and authenticates again.
  std::this_thread::sleep_for(seconds(9));
  EXPECT_EQ(a->put_guarded("after-expiry", "1"), write_result::ok) << a->status().detail;
  EXPECT_EQ(a->client().authentications(), before + 1);
  a->step(clock.monotonic());
  EXPECT_TRUE(a->is_leader()) << a->status().detail;
  EXPECT_EQ(a->fencing_token(), token);
  EXPECT_EQ(a->health(), coordination_health::healthy) << a->status().detail;
  auto kept = k.lease_keepalive(lease.value.id);
  ASSERT_TRUE(kept) << kept.error.message;
  EXPECT_GT(kept.value.ttl, 0);
  // etcd 3.4 may serve a keepalive without checking the token; either way
  // the client authenticated at most once more.
  EXPECT_GE(k.authentications(), 1U);
  EXPECT_LE(k.authentications(), 2U);
}

TEST_F(EtcdTlsAuth, TokenRevokedByAPasswordChangeIsRenewedAndTheTermSurvives) {
  // Changing a user's password (here to the same value) invalidates every
  // token etcd issued to that user: the leader's next request is refused,
  // it authenticates again and keeps its lease and fencing token.
  const common::real_clock clock;
  replica a({endpoint()}, fresh_prefix("revoke"), "a", clock, seconds(20), security());
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader()) << a->status().detail;
  const std::int64_t token = a->fencing_token();
  const std::uint64_t before = a->client().authentications();

  run("echo " + std::string(vigil_password) + " | " + etcdctl() +
      "--user=root:root-pw user passwd vigil --interactive=false >/dev/null");
  EXPECT_EQ(a->put_guarded("after-revoke", "1"), write_result::ok) << a->status().detail;
  EXPECT_EQ(a->client().authentications(), before + 1);
  a->step(clock.monotonic());
  EXPECT_TRUE(a->is_leader()) << a->status().detail;
  EXPECT_EQ(a->fencing_token(), token);
  EXPECT_EQ(a->health(), coordination_health::healthy) << a->status().detail;
}

}  // namespace
}  // namespace vigil::coordination
