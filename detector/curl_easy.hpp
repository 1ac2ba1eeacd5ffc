#pragma once
// Small typed wrappers around libcurl's variadic C calls (curl_easy_setopt,
// curl_easy_getinfo), so argument types are checked and every cast is explicit,
// plus the pieces of the prober that only need libcurl: mapping a failed
// transfer to an outcome, proxy detection and reading certificate expiry.

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "decision/outcome.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace vigil::detector::curl {

/// Calls curl_global_init once per process (thread-safe, idempotent).
void global_init();

// setopt wrappers: each returns curl's result code.
CURLcode set(CURL* h, CURLoption o, long v);
CURLcode set_off(CURL* h, CURLoption o, curl_off_t v);  ///< curl_off_t is long on LP64
CURLcode set(CURL* h, CURLoption o, const char* v);
CURLcode set(CURL* h, CURLoption o, const std::string& v);
CURLcode set(CURL* h, CURLoption o, void* v);
CURLcode set(CURL* h, CURLoption o, curl_slist* v);
CURLcode set(CURL* h, CURLoption o, curl_write_callback v);  ///< WRITEFUNCTION, HEADERFUNCTION

// getinfo wrappers: missing values read as 0 / empty.
[[nodiscard]] long info_long(CURL* h, CURLINFO i);
[[nodiscard]] curl_off_t info_off(CURL* h, CURLINFO i);

CURLMcode multi_set(CURLM* m, CURLMoption o, long v);
CURLMcode multi_set(CURLM* m, CURLMoption o, void* v);
CURLMcode multi_set(CURLM* m, CURLMoption o, curl_socket_callback v);
CURLMcode multi_set(CURLM* m, CURLMoption o, curl_multi_timer_callback v);

/// Does a proxy carry a request to `url`? True when `configured` is set;
/// otherwise applies libcurl's environment rules (http_proxy for http — lower
/// case only —, https_proxy / HTTPS_PROXY, all_proxy / ALL_PROXY, and
/// no_proxy / NO_PROXY by exact host, domain suffix or "*"; CIDR entries are
/// not interpreted). Used only to classify failures.
[[nodiscard]] bool proxy_applies(std::string_view url, std::string_view configured);

/// What is known about a failed transfer.
struct failure_facts {
  CURLcode code = CURLE_OK;
  long os_errno = 0;       ///< CURLINFO_OS_ERRNO
  long connect_code = 0;   ///< CURLINFO_HTTP_CONNECTCODE: the proxy's answer to CONNECT
  bool via_proxy = false;  ///< proxy_applies()
  bool over_cap = false;   ///< the write callback refused the body
};

/// Maps a failed transfer (code != CURLE_OK) to the outcome vocabulary.
[[nodiscard]] decision::outcome classify(const failure_facts& f);

/// Earliest notAfter of the server certificate chain of a live TLS
/// connection (CURLINFO_TLS_SSL_PTR, OpenSSL backend); nullopt when there is
/// no TLS session or no certificate. Call it while the transfer runs (e.g. in
/// the header callback): the connection may be gone afterwards.
[[nodiscard]] std::optional<common::wall_time> peer_cert_not_after(CURL* h);

/// The same for an OpenSSL connection of our own (the TCP prober's).
[[nodiscard]] std::optional<common::wall_time> ssl_chain_not_after(const ssl_st* ssl);

}  // namespace vigil::detector::curl
