// The pure parts of the etcd JSON-gateway client: base64 and prefix-end
// encoding, and the refusal of an empty endpoint list. The client against a
// real etcd cluster: servers/etcd_client_test.cpp.
#include <gtest/gtest.h>

#include <stdexcept>

#include "coordination/etcd_client.hpp"

namespace vigil::coordination {
namespace {

TEST(EtcdCodec, StandardPaddedBase64RoundTrips) {
  EXPECT_EQ(etcd_base64_encode("foo"), "Zm9v");
  EXPECT_EQ(etcd_base64_encode("fo"), "Zm8=");
  EXPECT_EQ(etcd_base64_encode("f"), "Zg==");
  EXPECT_EQ(etcd_base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(etcd_base64_decode("+/8=").value(), "\xfb\xff");
  EXPECT_EQ(etcd_base64_decode("").value(), "");
  EXPECT_FALSE(etcd_base64_decode("-_8=").has_value());  // base64url characters
  EXPECT_FALSE(etcd_base64_decode("Zm9").has_value());   // not a multiple of 4
  EXPECT_FALSE(etcd_base64_decode("Z===").has_value());
}

TEST(EtcdCodec, PrefixEndIncrementsTheLastByte) {
  EXPECT_EQ(etcd_prefix_end("/a/"), "/a0");
  EXPECT_EQ(etcd_prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd_prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdClient, NeedsEndpoints) {
  EXPECT_THROW(etcd_client(etcd_client_options{}), std::invalid_argument);
}

}  // namespace
}  // namespace vigil::coordination
