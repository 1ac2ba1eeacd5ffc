#include "approvals/paseto.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "common/base64.hpp"

namespace vigil::approvals {

namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

void append_le64(std::string& out, std::uint64_t n) {
  // PAE clears the top bit so that the length is never read as negative.
  n &= 0x7fffffffffffffffULL;
  for (int i = 0; i < 8; ++i) {
    out += static_cast<char>(n & 0xff);
    n >>= 8;
  }
}

std::string pre_auth(std::string_view message, std::string_view footer, std::string_view implicit) {
  const std::array<std::string_view, 4> pieces{paseto_v4_public_header, message, footer, implicit};
  return paseto_pae(pieces);
}

paseto_parse_result fail(paseto_error e, std::string detail) {
  return {std::nullopt, e, std::move(detail)};
}

bool looks_like_other_paseto(std::string_view token) {
  // "v<digits>.<purpose>." — a PASETO, just not one we accept.
  if (token.size() < 3 || token[0] != 'v') return false;
  std::size_t i = 1;
  while (i < token.size() && token[i] >= '0' && token[i] <= '9')
    ++i;
  if (i == 1 || i >= token.size() || token[i] != '.') return false;
  const auto rest = token.substr(i + 1);
  return rest.starts_with("local.") || rest.starts_with("public.");
}

}  // namespace

std::string_view to_string(paseto_error e) {
  switch (e) {
    case paseto_error::bad_format:
      return "bad_format";
    case paseto_error::unsupported_version:
      return "unsupported_version";
    case paseto_error::too_large:
      return "too_large";
    case paseto_error::bad_signature:
      return "bad_signature";
  }
  return "bad_format";
}

std::string paseto_pae(std::span<const std::string_view> pieces) {
  std::string out;
  append_le64(out, pieces.size());
  for (const auto p : pieces) {
    append_le64(out, p.size());
    out.append(p);
  }
  return out;
}

paseto_parse_result paseto_v4_parse(std::string_view token) {
  if (token.size() > paseto_max_token_bytes) {
    return fail(paseto_error::too_large, "the token is " + std::to_string(token.size()) + " bytes; at most " +
                                             std::to_string(paseto_max_token_bytes) + " are accepted");
  }
  if (!token.starts_with(paseto_v4_public_header)) {
    if (looks_like_other_paseto(token)) {
      const auto end = token.find('.', token.find('.') + 1);
      return fail(paseto_error::unsupported_version,
                  "the token is a '" + std::string(token.substr(0, end)) + "' PASETO; only v4.public is accepted");
    }
    return fail(paseto_error::bad_format, "not a PASETO v4.public token (it must start with 'v4.public.')");
  }
  const auto body = token.substr(paseto_v4_public_header.size());
  const auto dot = body.find('.');
  const auto payload_b64 = body.substr(0, dot);
  std::string_view footer_b64;
  if (dot != std::string_view::npos) {
    footer_b64 = body.substr(dot + 1);
    if (footer_b64.empty()) return fail(paseto_error::bad_format, "empty footer segment after the payload");
    if (footer_b64.find('.') != std::string_view::npos) {
      return fail(paseto_error::bad_format, "too many '.'-separated segments");
    }
  }
  auto payload = common::base64url_decode(payload_b64);
  if (!payload) return fail(paseto_error::bad_format, "the payload is not canonical unpadded base64url");
  if (payload->size() <= paseto_signature_bytes) {
    return fail(paseto_error::bad_format, "the payload is too short to hold a message and a 64-byte signature");
  }
  std::string footer;
  if (!footer_b64.empty()) {
    auto f = common::base64url_decode(footer_b64);
    if (!f) return fail(paseto_error::bad_format, "the footer is not canonical unpadded base64url");
    footer = std::move(*f);
  }
  paseto_parts parts;
  const std::size_t msg_len = payload->size() - paseto_signature_bytes;
  parts.signature = payload->substr(msg_len);
  payload->resize(msg_len);
  parts.message = std::move(*payload);
  parts.footer = std::move(footer);
  return {std::move(parts), paseto_error::bad_format, {}};
}

bool paseto_v4_verify(const ed25519_key& key, const paseto_parts& parts, std::string_view implicit_assertion) {
  if (parts.signature.size() != paseto_signature_bytes) return false;
  const std::string m2 = pre_auth(parts.message, parts.footer, implicit_assertion);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.native()) != 1) {
    ERR_clear_error();
    return false;
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(parts.signature.data()),
                                  parts.signature.size(), reinterpret_cast<const unsigned char*>(m2.data()), m2.size());
  ERR_clear_error();
  return rc == 1;
}

paseto_parse_result paseto_v4_verify(const ed25519_key& key, std::string_view token,
                                     std::string_view implicit_assertion) {
  auto r = paseto_v4_parse(token);
  if (!r.parts) return r;
  if (!paseto_v4_verify(key, *r.parts, implicit_assertion)) {
    return fail(paseto_error::bad_signature, "the signature does not verify with this key");
  }
  return r;
}

std::string paseto_v4_sign(const ed25519_key& key, std::string_view message, std::string_view footer,
                           std::string_view implicit_assertion) {
  if (!key.has_private()) throw std::invalid_argument("PASETO signing needs a private key");
  const std::string m2 = pre_auth(message, footer, implicit_assertion);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, paseto_signature_bytes> sig{};
  std::size_t sig_len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.native()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &sig_len, reinterpret_cast<const unsigned char*>(m2.data()), m2.size()) !=
          1 ||
      sig_len != sig.size()) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 signing failed");
  }
  std::string payload(message);
  payload.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  std::string token(paseto_v4_public_header);
  token += common::base64url_encode(payload);
  if (!footer.empty()) {
    token += '.';
    token += common::base64url_encode(footer);
  }
  if (token.size() > paseto_max_token_bytes) {
    throw std::invalid_argument("the token would be " + std::to_string(token.size()) + " bytes; at most " +
                                std::to_string(paseto_max_token_bytes) + " are accepted");
  }
  return token;
}

}  // namespace vigil::approvals
