// decision/sha256 is a hand-written SHA-256 (decision/ may not link OpenSSL);
// here, where OpenSSL may be linked, it is checked against OpenSSL's over many
// inputs: the padding boundaries, random lengths and chunked updates.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "decision/sha256.hpp"

namespace {

std::string openssl_sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr), 1);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(byte(rng));
  return s;
}

TEST(Sha256VsOpenssl, KnownVectorAndEmpty) {
  EXPECT_EQ(vigil::decision::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(vigil::decision::sha256_hex(""), openssl_sha256_hex(""));
  EXPECT_EQ(vigil::decision::sha256_hex("abc"), openssl_sha256_hex("abc"));
}

TEST(Sha256VsOpenssl, PaddingBoundaries) {
  std::mt19937_64 rng(20261206);
  for (std::size_t n : {1U, 55U, 56U, 57U, 63U, 64U, 65U, 119U, 120U, 127U, 128U, 129U}) {
    const auto data = random_bytes(rng, n);
    EXPECT_EQ(vigil::decision::sha256_hex(data), openssl_sha256_hex(data)) << "length " << n;
  }
}

TEST(Sha256VsOpenssl, RandomLengthsUpToFourKiB) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> length(0, 4096);
  for (int i = 0; i < 500; ++i) {
    const auto data = random_bytes(rng, length(rng));
    ASSERT_EQ(vigil::decision::sha256_hex(data), openssl_sha256_hex(data)) << "length " << data.size();
  }
}

TEST(Sha256VsOpenssl, ChunkedUpdatesMatchOneShot) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> length(0, 3000);
  std::uniform_int_distribution<std::size_t> chunk(0, 130);
  for (int i = 0; i < 200; ++i) {
    const auto data = random_bytes(rng, length(rng));
    vigil::decision::sha256 h;
    std::size_t pos = 0;
    while (pos < data.size()) {
      const std::size_t n = std::min(chunk(rng), data.size() - pos);
      h.update(std::string_view(data).substr(pos, n));
      pos += n;
    }
    ASSERT_EQ(vigil::decision::to_hex(h.finish()), openssl_sha256_hex(data)) << "length " << data.size();
  }
}

}  // namespace
