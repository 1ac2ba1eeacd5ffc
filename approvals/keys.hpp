#pragma once
// Ed25519 keys for approval tokens (docs/aws-notes.md, "PASETO v4.public and Ed25519").
//
// On disk: the private key is PKCS#8 PEM ("BEGIN PRIVATE KEY"), written with
// mode 0600 and refused on load when group or others may read it (as ssh
// does); the public key is SPKI PEM ("BEGIN PUBLIC KEY"). Encrypted PEM is not
// supported (loading never prompts for a passphrase). Any key type other than
// Ed25519 is rejected with a message naming it.
//
// Thread safety: a loaded key is immutable; sharing a const ed25519_key
// between threads is safe (OpenSSL 3 EVP_PKEY reads are thread-safe).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL EVP_PKEY

namespace vigil::approvals {

class ed25519_key;

/// A key or the reason it could not be had.
struct key_result {
  std::unique_ptr<ed25519_key> key;
  std::string error;  ///< set when key is null
};

class ed25519_key {
 public:
  ~ed25519_key();
  ed25519_key(const ed25519_key&) = delete;
  ed25519_key& operator=(const ed25519_key&) = delete;

  /// A fresh key pair from the OpenSSL CSPRNG (throws std::runtime_error if it fails).
  [[nodiscard]] static std::unique_ptr<ed25519_key> generate();
  [[nodiscard]] static key_result from_private_pem(std::string_view pem);
  [[nodiscard]] static key_result from_public_pem(std::string_view pem);
  /// 32-byte seed (RFC 8032 private key) or 32-byte public key.
  [[nodiscard]] static key_result from_raw_private(std::span<const std::uint8_t> seed);
  [[nodiscard]] static key_result from_raw_public(std::span<const std::uint8_t> pub);

  [[nodiscard]] bool has_private() const { return private_; }
  [[nodiscard]] std::string private_pem() const;  ///< PKCS#8; throws if public-only
  [[nodiscard]] std::string public_pem() const;   ///< SPKI
  [[nodiscard]] std::array<std::uint8_t, 32> raw_public() const;
  /// The public half as its own key object.
  [[nodiscard]] std::unique_ptr<ed25519_key> public_key() const;
  /// Short fingerprint for logs and docs: first 16 hex digits of SHA-256(raw public key).
  [[nodiscard]] std::string fingerprint() const;

  [[nodiscard]] evp_pkey_st* native() const { return pkey_; }

 private:
  ed25519_key(evp_pkey_st* pkey, bool is_private) : pkey_(pkey), private_(is_private) {}
  /// Takes ownership of `pkey` (may be null: then parse_error is reported).
  static key_result wrap(evp_pkey_st* pkey, bool is_private, std::string_view parse_error);
  /// Takes ownership of a non-null `pkey` of type ED25519.
  static key_result owning(evp_pkey_st* pkey, bool is_private);
  evp_pkey_st* pkey_;
  bool private_;
};

/// Reads a private key file; refuses files readable by group or others.
[[nodiscard]] key_result load_private_key_file(const std::filesystem::path& path);
[[nodiscard]] key_result load_public_key_file(const std::filesystem::path& path);

/// Writes PREFIX.key (0600, created exclusively unless `overwrite`) and
/// PREFIX.pub (0644), both fsync'd. Returns an empty string on success, else
/// what went wrong naming the file.
[[nodiscard]] std::string write_key_pair(const ed25519_key& key, const std::filesystem::path& private_path,
                                         const std::filesystem::path& public_path, bool overwrite);

}  // namespace vigil::approvals
