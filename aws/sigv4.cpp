#include "aws/sigv4.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "aws/timefmt.hpp"

namespace vigil::aws {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view whitespace = " \t\n\r\v\f";

// Headers proxies and HTTP stacks rewrite: never signed (botocore's list).
bool unsigned_header(std::string_view lname) {
  return lname == "user-agent" || lname == "expect" || lname == "transfer-encoding" || lname == "x-amzn-trace-id" ||
         lname == "authorization";
}

std::string trim_all(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (const char c : v) {
    if (whitespace.find(c) != std::string_view::npos) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 5.2.4 dot-segment removal; AWS also collapses empty segments
// ("//a//" -> "/a/"), as botocore's remove_dot_segments does.
std::string normalize_path(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const auto next = path.find('/', pos);
    const auto seg = path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!out.empty()) out.pop_back();
      } else {
        out.push_back(seg);
      }
    }
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result.push_back('/');
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result.push_back('/');
  return result.empty() ? "/" : result;
}

std::string host_for_signing(const http_request& req) {
  std::string host = req.host;
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const auto port = std::string_view(host).substr(colon + 1);
    if ((req.scheme == "https" && port == "443") || (req.scheme == "http" && port == "80")) {
      host.resize(colon);
    }
  }
  return host;
}

std::string payload_hash(const http_request& req) {
  if (const auto* h = req.header("x-amz-content-sha256")) return *h;
  return sha256_hex(req.body);
}

}  // namespace

std::string credentials::redacted() const {
  std::string id = access_key_id.size() > 8
                       ? access_key_id.substr(0, 4) + "…" + access_key_id.substr(access_key_id.size() - 4)
                       : std::string(access_key_id.empty() ? "(none)" : "****");
  std::string out = id + " (" + (source.empty() ? "unknown" : source);
  if (!session_token.empty()) out += ", session";
  if (expiration) out += ", expires " + format_iso8601(*expiration);
  return out + ")";
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
  return hex(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md.data(), &len);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string canonical_uri(std::string_view wire_path, bool s3) {
  if (s3) return wire_path.empty() ? "/" : std::string(wire_path);
  return uri_encode(normalize_path(wire_path), true);
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& q) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(q.size());
  for (const auto& [k, v] : q)
    enc.emplace_back(uri_encode(k), uri_encode(v));
  std::sort(enc.begin(), enc.end());  // after encoding: byte order of the encoded forms
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

canonical_header_block canonical_headers(const http_request& req) {
  std::map<std::string, std::string> merged;  // sorted by lowercase name
  for (const auto& [name, value] : req.headers) {
    auto lname = to_lower(name);
    if (unsigned_header(lname)) continue;
    auto [it, inserted] = merged.try_emplace(std::move(lname), trim_all(value));
    if (!inserted) {
      it->second.push_back(',');
      it->second += trim_all(value);
    }
  }
  canonical_header_block out;
  for (const auto& [name, value] : merged) {
    out.block += name;
    out.block.push_back(':');
    out.block += value;
    out.block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  return out;
}

std::string canonical_request(const http_request& req, bool s3) {
  const auto headers = canonical_headers(req);
  std::string method = req.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", method, canonical_uri(req.path, s3), canonical_query(req.query),
                     headers.block, headers.signed_headers, payload_hash(req));
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_req) {
  return fmt::format("{}\n{}\n{}\n{}", algorithm, amz_date, scope, sha256_hex(canonical_req));
}

std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service) {
  const std::string k_secret = "AWS4" + std::string(secret);
  const auto k_date = hmac_sha256(k_secret, date8);
  const auto k_region = hmac_sha256(k_date, region);
  const auto k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string signature(std::string_view key, std::string_view sts) {
  return hex(hmac_sha256(key, sts));
}

signing_result sign(http_request& req, const credentials& creds, const signing_params& params) {
  const std::string amz_date = format_amz_date(params.at);
  const std::string date8 = amz_date.substr(0, 8);
  if (req.header("host") == nullptr) req.headers.emplace_back("Host", host_for_signing(req));
  req.set_header("X-Amz-Date", amz_date);
  req.remove_header("Authorization");
  req.remove_header("X-Amz-Security-Token");
  if (params.content_sha256_header || params.s3) {
    req.set_header("X-Amz-Content-SHA256", sha256_hex(req.body));
  }
  if (!creds.session_token.empty() && params.sign_security_token) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }

  signing_result r;
  r.canonical_request = canonical_request(req, params.s3);
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date8, params.region, params.service);
  r.string_to_sign = string_to_sign(amz_date, scope, r.canonical_request);
  r.signature = signature(signing_key(creds.secret_access_key, date8, params.region, params.service), r.string_to_sign);
  r.signed_headers = canonical_headers(req).signed_headers;
  r.authorization = fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", algorithm, creds.access_key_id,
                                scope, r.signed_headers, r.signature);
  req.headers.emplace_back("Authorization", r.authorization);
  if (!creds.session_token.empty() && !params.sign_security_token) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  return r;
}

bool clock_skew::is_skew_error(const aws_error& e) {
  if (e.code == "RequestTimeTooSkewed" || e.code == "SignatureExpired" || e.code == "RequestExpired" ||
      e.code == "RequestInTheFuture") {
    return true;
  }
  return e.code == "InvalidSignatureException" && e.message.find("Signature expired") != std::string::npos;
}

bool clock_skew::learn(const aws_error& e, std::string_view date_header, common::wall_time local_now) {
  if (!is_skew_error(e)) return false;
  const auto server = parse_http_date(date_header);
  if (!server) return false;
  offset_ms_.store((*server - local_now).count());
  return true;
}

}  // namespace vigil::aws
