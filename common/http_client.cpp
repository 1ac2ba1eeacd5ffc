#include "common/http_client.hpp"

#include <curl/curl.h>

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "common/descriptors.hpp"

namespace vigil::common {

namespace {

struct easy_deleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// curl_easy_setopt is variadic: these typed wrappers make every call pass the
// type libcurl expects for that kind of option.
CURLcode set_long(CURL* h, CURLoption opt, long v) {
  return curl_easy_setopt(h, opt, v);
}
CURLcode set_str(CURL* h, CURLoption opt, const char* v) {
  return curl_easy_setopt(h, opt, v);
}
CURLcode set_ptr(CURL* h, CURLoption opt, void* v) {
  return curl_easy_setopt(h, opt, v);
}
CURLcode set_list(CURL* h, CURLoption opt, curl_slist* v) {
  return curl_easy_setopt(h, opt, v);
}
CURLcode set_off(CURL* h, CURLoption opt, curl_off_t v) {
  return curl_easy_setopt(h, opt, v);
}
using write_fn = std::size_t (*)(char*, std::size_t, std::size_t, void*);
CURLcode set_write_fn(CURL* h, write_fn f) {
  return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}

struct sink {
  std::string* body;
  std::size_t limit;
  bool overflow = false;
};

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  const std::size_t len = size * n;
  if (s->body->size() + len > s->limit) {
    s->overflow = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  s->body->append(data, len);
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

http_reply http_perform(const http_call& call) {
  global_init();
  http_reply reply;
  std::unique_ptr<CURL, easy_deleter> h(curl_easy_init());
  if (!h) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  std::unique_ptr<curl_slist, slist_deleter> headers;
  for (const auto& [k, v] : call.headers) {
    std::string line = k;
    line.append(": ").append(v);
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) {
      reply.error = "out of memory building headers";
      return reply;
    }
    (void)headers.release();
    headers.reset(next);
  }
  sink s{&reply.body, call.max_response_bytes};
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  CURLcode rc = CURLE_OK;
  const auto step = [&](CURLcode c) {
    if (rc == CURLE_OK) rc = c;
  };
  CURL* e = h.get();
  step(set_str(e, CURLOPT_URL, call.url.c_str()));
  curl_sockets_cloexec(e);
  step(set_ptr(e, CURLOPT_ERRORBUFFER, errbuf.data()));
  step(set_long(e, CURLOPT_NOSIGNAL, 1L));
  step(set_long(e, CURLOPT_FOLLOWLOCATION, 0L));
  step(set_long(e, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count())));
  step(set_long(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(call.connect_timeout.count())));
  step(set_long(e, CURLOPT_SSL_VERIFYPEER, 1L));
  step(set_long(e, CURLOPT_SSL_VERIFYHOST, 2L));
  step(set_str(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  step(set_str(e, CURLOPT_USERAGENT, "vigil"));
  if (!call.ca_file.empty()) step(set_str(e, CURLOPT_CAINFO, call.ca_file.c_str()));
  if (!call.cert_file.empty()) step(set_str(e, CURLOPT_SSLCERT, call.cert_file.c_str()));
  if (!call.key_file.empty()) step(set_str(e, CURLOPT_SSLKEY, call.key_file.c_str()));
  step(set_write_fn(e, on_write));
  step(set_ptr(e, CURLOPT_WRITEDATA, &s));
  if (headers) step(set_list(e, CURLOPT_HTTPHEADER, headers.get()));
  if (call.method == "GET") {
    step(set_long(e, CURLOPT_HTTPGET, 1L));
  } else {
    step(set_str(e, CURLOPT_CUSTOMREQUEST, call.method.c_str()));
    step(set_ptr(e, CURLOPT_POSTFIELDS, const_cast<char*>(call.body.data())));
    step(set_off(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size())));
  }
  if (rc != CURLE_OK) {
    reply.curl_code = static_cast<int>(rc);
    reply.error = std::string("curl setup: ") + curl_easy_strerror(rc);
    return reply;
  }
  rc = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  reply.status = status;
  reply.curl_code = static_cast<int>(rc);
  if (s.overflow) {
    reply.error = "response body larger than " + std::to_string(call.max_response_bytes) + " bytes";
  } else if (rc != CURLE_OK) {
    reply.error = errbuf[0] != '\0' ? std::string(errbuf.data()) : std::string(curl_easy_strerror(rc));
  }
  return reply;
}

}  // namespace vigil::common
