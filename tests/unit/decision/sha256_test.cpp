#include "decision/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

#include "decision/canonical_json.hpp"

namespace vigil::decision {

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  sha256 h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i)
    h.update(chunk);
  EXPECT_EQ(to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotAcrossBlockBoundaries) {
  const std::string data(200, 'x');
  for (std::size_t split = 0; split <= data.size(); split += 7) {
    sha256 h;
    h.update(std::string_view(data).substr(0, split));
    h.update(std::string_view(data).substr(split));
    EXPECT_EQ(to_hex(h.finish()), sha256_hex(data)) << split;
  }
  EXPECT_EQ(sha256_hex(std::string(55, 'a')).size(), 64U);
  EXPECT_NE(sha256_hex(std::string(55, 'a')), sha256_hex(std::string(56, 'a')));
}

TEST(CanonicalJson, SortedKeysNoWhitespace) {
  const auto j = nlohmann::json::parse(R"({"b": 1, "a": {"z": [1, 2, {"y": true, "x": null}], "c": "é\n"}})");
  EXPECT_EQ(canonical_json(j), "{\"a\":{\"c\":\"é\\n\",\"z\":[1,2,{\"x\":null,\"y\":true}]},\"b\":1}");
}

TEST(CanonicalJson, SameContentSameHashWhateverTheOrder) {
  const auto a = nlohmann::json::parse(R"({"x": 1, "y": [1, 2]})");
  const auto b = nlohmann::json::parse(R"({"y": [1, 2], "x": 1})");
  EXPECT_EQ(canonical_hash(a), canonical_hash(b));
  EXPECT_NE(canonical_hash(a), canonical_hash(nlohmann::json::parse(R"({"x": 1, "y": [2, 1]})")));
}

TEST(CanonicalJson, RefusesFloats) {
  EXPECT_THROW((void)canonical_json(nlohmann::json{{"a", 0.5}}), std::invalid_argument);
}

}  // namespace vigil::decision
