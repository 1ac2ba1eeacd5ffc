#include "approvals/keys.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace vigil::approvals {

namespace {

constexpr std::size_t max_key_file_bytes = std::size_t{16} * 1024;

std::string openssl_error(std::string_view what) {
  std::string out(what);
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    out += ": ";
    out += buf.data();
  }
  ERR_clear_error();
  return out;
}

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

// Never prompt: encrypted keys are refused instead of blocking on a terminal.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return 0;
}

bio_ptr memory_bio(std::string_view data) {
  return bio_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

std::string key_type_name(EVP_PKEY* k) {
  const char* name = EVP_PKEY_get0_type_name(k);
  return name ? name : "unknown";
}

std::string sha256_hex_prefix(std::span<const std::uint8_t> data, std::size_t hex_digits) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len && out.size() < hex_digits; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

// Reads a whole (small) file; the caller gets an error naming the path.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path.string() + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::string data;
  data.resize(max_key_file_bytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > max_key_file_bytes) {
    error = path.string() + ": larger than 16 KiB, not a PEM key";
    return std::nullopt;
  }
  return data;
}

std::string write_file_synced(const std::filesystem::path& path, std::string_view data, mode_t mode, bool overwrite) {
  // O_NOFOLLOW: --force must not write a private key through a symlink planted in its place.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) return path.string() + ": exists; use --force to overwrite it";
    if (errno == ELOOP) return path.string() + ": is a symbolic link; refusing to write a key through it";
    return path.string() + ": cannot create: " + std::strerror(errno);
  }
  // O_CREAT's mode is masked by the umask and not applied to an existing file.
  std::string error;
  if (::fchmod(fd, mode) != 0) error = path.string() + ": chmod: " + std::strerror(errno);
  std::size_t off = 0;
  while (error.empty() && off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      error = path.string() + ": write: " + std::strerror(errno);
    else
      off += static_cast<std::size_t>(n);
  }
  if (error.empty() && ::fsync(fd) != 0) error = path.string() + ": fsync: " + std::strerror(errno);
  ::close(fd);
  return error;
}

}  // namespace

ed25519_key::~ed25519_key() {
  EVP_PKEY_free(pkey_);
}

std::unique_ptr<ed25519_key> ed25519_key::generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!pkey) throw std::runtime_error(openssl_error("Ed25519 key generation failed"));
  return std::unique_ptr<ed25519_key>(new ed25519_key(pkey, true));
}

key_result ed25519_key::from_private_pem(std::string_view pem) {
  auto bio = memory_bio(pem);
  return wrap(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr), true,
              "not a PKCS#8 PEM private key (or it is encrypted)");
}

key_result ed25519_key::from_public_pem(std::string_view pem) {
  auto bio = memory_bio(pem);
  return wrap(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr), false,
              "not an SPKI PEM public key (BEGIN PUBLIC KEY)");
}

key_result ed25519_key::owning(evp_pkey_st* pkey, bool is_private) {
  // Not `return {std::unique_ptr<ed25519_key>(new ...), {}}`: clang-tidy 14's
  // analyzer loses the pointer inside that aggregate and reports a leak.
  key_result r;
  r.key.reset(new ed25519_key(pkey, is_private));
  return r;
}

key_result ed25519_key::wrap(evp_pkey_st* pkey, bool is_private, std::string_view parse_error) {
  if (!pkey) return {nullptr, openssl_error(parse_error)};
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    std::string type = key_type_name(pkey);
    EVP_PKEY_free(pkey);
    return {nullptr, std::string(is_private ? "the private key" : "the public key") + " is " + type +
                         ", expected ED25519 (create one with `vigil keygen`)"};
  }
  return owning(pkey, is_private);
}

key_result ed25519_key::from_raw_private(std::span<const std::uint8_t> seed) {
  if (seed.size() != 32) return {nullptr, "an Ed25519 private key seed is 32 bytes"};
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!pkey) return {nullptr, openssl_error("bad Ed25519 seed")};
  return owning(pkey, true);
}

key_result ed25519_key::from_raw_public(std::span<const std::uint8_t> pub) {
  if (pub.size() != 32) return {nullptr, "an Ed25519 public key is 32 bytes"};
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
  if (!pkey) return {nullptr, openssl_error("bad Ed25519 public key")};
  return owning(pkey, false);
}

std::string ed25519_key::private_pem() const {
  if (!private_) throw std::logic_error("private_pem() on a public key");
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error(openssl_error("cannot encode the private key"));
  }
  return bio_string(bio.get());
}

std::string ed25519_key::public_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_) != 1) {
    throw std::runtime_error(openssl_error("cannot encode the public key"));
  }
  return bio_string(bio.get());
}

std::array<std::uint8_t, 32> ed25519_key::raw_public() const {
  std::array<std::uint8_t, 32> out{};
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey_, out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error(openssl_error("cannot read the raw public key"));
  }
  return out;
}

std::unique_ptr<ed25519_key> ed25519_key::public_key() const {
  const auto raw = raw_public();
  auto r = from_raw_public(raw);
  if (!r.key) throw std::runtime_error(r.error);
  return std::move(r.key);
}

std::string ed25519_key::fingerprint() const {
  return sha256_hex_prefix(raw_public(), 16);
}

key_result load_private_key_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {nullptr, path.string() + ": " + std::strerror(errno)};
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> octal{};
    std::snprintf(octal.data(), octal.size(), "%04o", static_cast<unsigned>(st.st_mode) & 0777U);
    return {nullptr, path.string() + " is readable by group/others (mode " + octal.data() + "); chmod 600 it (and " +
                         "consider the key exposed if others could read it)"};
  }
  std::string error;
  auto data = read_small_file(path, error);
  if (!data) return {nullptr, error};
  auto r = ed25519_key::from_private_pem(*data);
  std::string& pem = *data;
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!r.key) r.error = path.string() + ": " + r.error;
  return r;
}

key_result load_public_key_file(const std::filesystem::path& path) {
  std::string error;
  auto data = read_small_file(path, error);
  if (!data) return {nullptr, error};
  auto r = ed25519_key::from_public_pem(*data);
  if (!r.key) r.error = path.string() + ": " + r.error;
  return r;
}

std::string write_key_pair(const ed25519_key& key, const std::filesystem::path& private_path,
                           const std::filesystem::path& public_path, bool overwrite) {
  for (const auto& p : {private_path, public_path}) {
    std::error_code ec;
    if (std::filesystem::is_symlink(p, ec)) {
      return p.string() + ": is a symbolic link; refusing to write a key through it (even with --force)";
    }
    if (!overwrite && std::filesystem::exists(p, ec)) return p.string() + ": exists; use --force to overwrite it";
  }
  std::string priv = key.private_pem();
  std::string error = write_file_synced(private_path, priv, 0600, overwrite);
  OPENSSL_cleanse(priv.data(), priv.size());
  if (!error.empty()) return error;
  return write_file_synced(public_path, key.public_pem(), 0644, overwrite);
}

}  // namespace vigil::approvals
