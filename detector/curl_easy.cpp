#include "detector/curl_easy.hpp"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

namespace vigil::detector::curl {

using decision::outcome;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CURLcode set(CURL* h, CURLoption o, long v) {
  return curl_easy_setopt(h, o, v);
}
CURLcode set_off(CURL* h, CURLoption o, curl_off_t v) {
  return curl_easy_setopt(h, o, v);
}
CURLcode set(CURL* h, CURLoption o, const char* v) {
  return curl_easy_setopt(h, o, v);
}
CURLcode set(CURL* h, CURLoption o, const std::string& v) {
  return curl_easy_setopt(h, o, v.c_str());
}
CURLcode set(CURL* h, CURLoption o, void* v) {
  return curl_easy_setopt(h, o, v);
}
CURLcode set(CURL* h, CURLoption o, curl_slist* v) {
  return curl_easy_setopt(h, o, v);
}
CURLcode set(CURL* h, CURLoption o, curl_write_callback v) {
  return curl_easy_setopt(h, o, v);
}

long info_long(CURL* h, CURLINFO i) {
  long v = 0;
  if (curl_easy_getinfo(h, i, &v) != CURLE_OK) return 0;
  return v;
}

curl_off_t info_off(CURL* h, CURLINFO i) {
  curl_off_t v = 0;
  if (curl_easy_getinfo(h, i, &v) != CURLE_OK) return 0;
  return v;
}

CURLMcode multi_set(CURLM* m, CURLMoption o, long v) {
  return curl_multi_setopt(m, o, v);
}
CURLMcode multi_set(CURLM* m, CURLMoption o, void* v) {
  return curl_multi_setopt(m, o, v);
}
CURLMcode multi_set(CURLM* m, CURLMoption o, curl_socket_callback v) {
  return curl_multi_setopt(m, o, v);
}
CURLMcode multi_set(CURLM* m, CURLMoption o, curl_multi_timer_callback v) {
  return curl_multi_setopt(m, o, v);
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

/// libcurl's no_proxy rules for a host name (7.88 Curl_check_noproxy, without CIDR).
bool no_proxy_matches(std::string host, std::string_view list) {
  host = lower(host);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::size_t i = 0;
  while (i < list.size()) {
    std::size_t j = list.find(',', i);
    if (j == std::string_view::npos) j = list.size();
    std::string_view entry = list.substr(i, j - i);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.front())) != 0)
      entry.remove_prefix(1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back())) != 0)
      entry.remove_suffix(1);
    i = j + 1;
    if (entry == "*") return true;
    if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    if (entry.empty()) continue;
    const std::string e = lower(entry);
    if (host == e) return true;
    if (host.size() > e.size() && host.ends_with(e) && host[host.size() - e.size() - 1] == '.') return true;
  }
  return false;
}

}  // namespace

bool proxy_applies(std::string_view url, std::string_view configured) {
  if (!configured.empty()) return true;
  CURLU* u = curl_url();
  if (u == nullptr) return false;
  std::string scheme;
  std::string host;
  if (curl_url_set(u, CURLUPART_URL, std::string(url).c_str(), 0) == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
      scheme = lower(part);
      curl_free(part);
    }
    part = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
      host = part;
      curl_free(part);
    }
  }
  curl_url_cleanup(u);
  if (scheme.empty()) return false;
  if (auto np = env("no_proxy"); np && no_proxy_matches(host, *np)) return false;
  if (auto np = env("NO_PROXY"); np && no_proxy_matches(host, *np)) return false;
  // http_proxy is honoured in lower case only (an upper-case HTTP_PROXY can be
  // set by a CGI request header); other schemes accept both spellings.
  const std::string lower_name = scheme + "_proxy";
  if (env(lower_name.c_str())) return true;
  if (scheme != "http") {
    std::string upper_name = lower_name;
    std::transform(upper_name.begin(), upper_name.end(), upper_name.begin(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    if (env(upper_name.c_str())) return true;
  }
  return env("all_proxy").has_value() || env("ALL_PROXY").has_value();
}

outcome classify(const failure_facts& f) {
  if (f.over_cap && f.code == CURLE_WRITE_ERROR) return outcome::body_too_large;
  // A CONNECT the proxy refused (403, 502, ...): the tunnel never came up.
  if (f.via_proxy && f.connect_code >= 300) return outcome::proxy_error;
  switch (f.code) {
    case CURLE_OPERATION_TIMEDOUT:
      return outcome::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
      return outcome::dns_error;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
      return outcome::proxy_error;
    case CURLE_COULDNT_CONNECT:
      // With a proxy, curl only ever connects to the proxy.
      if (f.via_proxy) return outcome::proxy_error;
      return f.os_errno == ECONNREFUSED ? outcome::connect_refused : outcome::connect_error;
    case CURLE_TOO_MANY_REDIRECTS:
      return outcome::too_many_redirects;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return outcome::tls_error;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      // Before a tunnel is up (plain HTTP through a proxy, or a CONNECT that
      // got no answer) the peer that hung up is the proxy.
      if (f.via_proxy && f.connect_code != 200) return outcome::proxy_error;
      return outcome::connect_error;
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return outcome::connect_error;
    case CURLE_WEIRD_SERVER_REPLY:
      return outcome::http_status;
    default:
      return outcome::internal;
  }
}

std::optional<common::wall_time> peer_cert_not_after(CURL* h) {
  curl_tlssessioninfo* info = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == nullptr ||
      info->backend != CURLSSLBACKEND_OPENSSL || info->internals == nullptr) {
    return std::nullopt;
  }
  return ssl_chain_not_after(static_cast<const SSL*>(info->internals));
}

std::optional<common::wall_time> ssl_chain_not_after(const SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  std::optional<std::time_t> earliest;
  auto consider = [&](const X509* cert) {
    std::tm tm{};
    if (cert == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return;
    const std::time_t t = timegm(&tm);
    if (!earliest || t < *earliest) earliest = t;
  };
  // On the client side the peer chain includes the leaf.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl); chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i)
      consider(sk_X509_value(chain, i));
  }
  if (!earliest) return std::nullopt;
  return common::wall_time{std::chrono::seconds{*earliest}};
}

}  // namespace vigil::detector::curl
