// The etcd JSON-gateway client against a real etcd 3.4 cluster (3 members on
// 127.0.0.1, started by tests/support/etcd_cluster.hpp). Its pure parts:
// etcd_codec_test.cpp, one folder up.
#include "coordination/etcd_client.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "tests/support/etcd_cluster.hpp"

namespace vigil::coordination {
namespace {

std::string unique(std::string_view what) {
  return "/t/" + std::string(what) + "/" + common::random_hex(6);
}

etcd_client make_client() {
  return etcd_client(etcd_client_options{testing::shared_etcd_cluster().endpoints()});
}

TEST(EtcdClient, PutRangeAndDeleteWithBinaryValues) {
  auto c = make_client();
  const std::string key = unique("kv");
  const std::string value("bin\0\xff\x01 value\0", 13);  // embedded and trailing NUL bytes
  auto put = c.put(key, value);
  ASSERT_TRUE(put) << put.error.message;
  EXPECT_GT(put.value, 0);
  auto got = c.range(key);
  ASSERT_TRUE(got) << got.error.message;
  ASSERT_EQ(got.value.kvs.size(), 1U);
  EXPECT_EQ(got.value.kvs[0].key, key);
  EXPECT_EQ(got.value.kvs[0].value, value);
  EXPECT_EQ(got.value.kvs[0].create_revision, put.value);
  EXPECT_EQ(got.value.kvs[0].mod_revision, put.value);
  EXPECT_EQ(got.value.kvs[0].version, 1);
  EXPECT_EQ(got.value.kvs[0].lease, 0);  // omitted on the wire
  EXPECT_EQ(got.value.count, 1);
  auto del = c.delete_range(key);
  ASSERT_TRUE(del);
  EXPECT_EQ(del.value, 1);
  auto del_again = c.delete_range(key);
  ASSERT_TRUE(del_again);
  EXPECT_EQ(del_again.value, 0);  // "deleted" omitted when zero
}

TEST(EtcdClient, AbsentKeyHasNoKvsAndZeroCount) {
  auto c = make_client();
  auto raw = c.post("/v3/kv/range", nlohmann::json{{"key", etcd_base64_encode(unique("absent"))}}.dump(), true);
  ASSERT_TRUE(raw);
  const auto j = nlohmann::json::parse(raw.value);
  EXPECT_FALSE(j.contains("count"));  // zero values are omitted by the gateway
  EXPECT_FALSE(j.contains("kvs"));
  auto got = c.range(unique("absent"));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got.value.kvs.empty());
  EXPECT_EQ(got.value.count, 0);
  EXPECT_GT(got.value.revision, 0);
}

TEST(EtcdClient, RangePrefixListsOnlyThePrefix) {
  auto c = make_client();
  const std::string p = unique("prefix");
  ASSERT_TRUE(c.put(p + "/a", "1"));
  ASSERT_TRUE(c.put(p + "/b", "2"));
  ASSERT_TRUE(c.put(p + "0", "outside"));
  auto got = c.range_prefix(p + "/");
  ASSERT_TRUE(got);
  ASSERT_EQ(got.value.kvs.size(), 2U);
  EXPECT_EQ(got.value.kvs[0].key, p + "/a");
  EXPECT_EQ(got.value.kvs[1].value, "2");
}

TEST(EtcdClient, TxnOnCreateRevisionWinsOnceAndAFailedTxnHasNoSucceededKey) {
  auto c = make_client();
  const std::string key = unique("txn");
  auto first = c.txn({compare_create_revision(key, 0)}, {op_put(key, "me")}, {op_get(key)});
  ASSERT_TRUE(first) << first.error.message;
  EXPECT_TRUE(first.value.succeeded);
  auto second = c.txn({compare_create_revision(key, 0)}, {op_put(key, "other")}, {op_get(key)});
  ASSERT_TRUE(second);
  EXPECT_FALSE(second.value.succeeded);
  ASSERT_EQ(second.value.responses.size(), 1U);
  ASSERT_EQ(second.value.responses[0].kvs.size(), 1U);
  EXPECT_EQ(second.value.responses[0].kvs[0].value, "me");
  EXPECT_EQ(second.value.responses[0].kvs[0].create_revision, first.value.revision);

  // On the wire: a failed txn carries no "succeeded" at all.
  const nlohmann::json body = {
      {"compare", {{{"target", "CREATE"}, {"key", etcd_base64_encode(key)}, {"create_revision", "0"}}}},
      {"success", nlohmann::json::array()}};
  auto raw = c.post("/v3/kv/txn", body.dump(), false);
  ASSERT_TRUE(raw);
  EXPECT_FALSE(nlohmann::json::parse(raw.value).contains("succeeded")) << raw.value;
}

TEST(EtcdClient, TxnComparesModRevisionAndValue) {
  auto c = make_client();
  const std::string key = unique("cas");
  auto rev = c.put(key, "v1");
  ASSERT_TRUE(rev);
  auto stale = c.txn({compare_mod_revision(key, rev.value - 1)}, {op_put(key, "lost")});
  ASSERT_TRUE(stale);
  EXPECT_FALSE(stale.value.succeeded);
  auto cas = c.txn({compare_mod_revision(key, rev.value), compare_value(key, "v1")}, {op_put(key, "v2")});
  ASSERT_TRUE(cas);
  EXPECT_TRUE(cas.value.succeeded);
  auto by_value = c.txn({compare_value(key, "v1")}, {op_delete(key)});
  ASSERT_TRUE(by_value);
  EXPECT_FALSE(by_value.value.succeeded);
  EXPECT_EQ(c.range(key).value.kvs.at(0).value, "v2");
}

TEST(EtcdClient, LeaseIdsAboveTwoToThe53AreExact) {
  auto c = make_client();
  auto lease = c.lease_grant(5);
  ASSERT_TRUE(lease) << lease.error.message;
  // etcd lease ids use the member id in their high bits: far above 2^53, where
  // a double would round them.
  EXPECT_GT(lease.value.id, std::int64_t{1} << 53);
  EXPECT_EQ(lease.value.ttl, 5);
  const std::string key = unique("leased");
  ASSERT_TRUE(c.put(key, "x", lease.value.id));
  auto got = c.range(key);
  ASSERT_TRUE(got);
  EXPECT_EQ(got.value.kvs.at(0).lease, lease.value.id);
  auto ttl = c.lease_time_to_live(lease.value.id);
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl.value.ttl, 0);
  EXPECT_EQ(ttl.value.granted_ttl, 5);
  (void)c.lease_revoke(lease.value.id);
}

TEST(EtcdClient, KeepaliveOnARevokedLeaseAnswersWithoutTtl) {
  auto c = make_client();
  auto lease = c.lease_grant(5);
  ASSERT_TRUE(lease);
  auto alive = c.lease_keepalive(lease.value.id);
  ASSERT_TRUE(alive) << alive.error.message;
  EXPECT_EQ(alive.value.id, lease.value.id);
  EXPECT_GT(alive.value.ttl, 0);
  const std::string key = unique("revoked");
  ASSERT_TRUE(c.put(key, "x", lease.value.id));
  ASSERT_TRUE(c.lease_revoke(lease.value.id));
  auto gone = c.lease_keepalive(lease.value.id);
  ASSERT_TRUE(gone) << gone.error.message;  // 200 with no TTL: lost, not an error
  EXPECT_LE(gone.value.ttl, 0);
  EXPECT_EQ(c.lease_time_to_live(lease.value.id).value.ttl, -1);
  EXPECT_TRUE(c.range(key).value.kvs.empty());  // the key went with its lease
}

TEST(EtcdClient, EtcdRefusalsAreTypedRejected) {
  auto c = make_client();
  auto put = c.put(unique("bad-lease"), "x", 12345);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error.code, etcd_errc::rejected);
  EXPECT_NE(put.error.message.find("lease not found"), std::string::npos) << put.error.message;
  auto junk = c.post("/v3/kv/range", "not json", true);
  EXPECT_EQ(junk.error.code, etcd_errc::rejected);
}

TEST(EtcdClient, RotatesPastADeadEndpointAndMarksItDown) {
  auto eps = testing::shared_etcd_cluster().endpoints();
  eps.insert(eps.begin(), "http://127.0.0.1:" + std::to_string(testing::free_tcp_port()));
  etcd_client c(etcd_client_options{eps});
  auto put = c.put(unique("rotate"), "x");
  ASSERT_TRUE(put) << put.error.message;
  EXPECT_EQ(c.endpoints_down(), 1U);
  EXPECT_EQ(c.probe_endpoints(), 3U);
  EXPECT_EQ(c.endpoints_down(), 1U);
}

TEST(EtcdClient, NoEndpointAnsweringIsUnreachable) {
  etcd_client c(etcd_client_options{{"http://127.0.0.1:" + std::to_string(testing::free_tcp_port()),
                                     "http://127.0.0.1:" + std::to_string(testing::free_tcp_port())}});
  auto r = c.range("/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error.code, etcd_errc::unreachable);
  EXPECT_EQ(c.endpoints_down(), 2U);
  EXPECT_EQ(to_string(r.error.code), "unreachable");
}

}  // namespace
}  // namespace vigil::coordination
