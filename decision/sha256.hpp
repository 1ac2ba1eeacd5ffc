#pragma once
// SHA-256 (FIPS 180-4), implemented here beside OpenSSL on purpose: decision/
// links no I/O or crypto library (docs/design.md, "Pure decision core";
// cmake/VigilPurity.cmake refuses OpenSSL), yet the core itself computes the
// recommendation content hashes approvers sign. The rest of vigil uses OpenSSL
// (common/crypto.hpp). Used for content hashes and evidence digests, not for
// secrets: no constant-time guarantees needed. Checked against OpenSSL over many
// inputs in tests/unit/common/sha256_openssl_test.cpp.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::decision {

class sha256 {
 public:
  using digest = std::array<std::uint8_t, 32>;

  sha256();
  void update(std::string_view data);
  /// Finishes and returns the digest; the object must not be updated afterwards.
  [[nodiscard]] digest finish();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> h_{};
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_len_ = 0;
};

/// Lower-case hex of SHA-256(data).
[[nodiscard]] std::string sha256_hex(std::string_view data);
[[nodiscard]] std::string to_hex(const sha256::digest& d);

}  // namespace vigil::decision
