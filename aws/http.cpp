#include "aws/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "common/descriptors.hpp"

namespace vigil::aws {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Typed wrappers: curl_easy_setopt is variadic, and passing the wrong type
// (an int where a long is expected) is undefined behaviour.
void set_long(CURL* h, CURLoption o, long v) {
  curl_easy_setopt(h, o, v);
}
void set_off(CURL* h, CURLoption o, curl_off_t v) {
  curl_easy_setopt(h, o, v);
}
void set_str(CURL* h, CURLoption o, const char* v) {
  curl_easy_setopt(h, o, v);
}
void set_ptr(CURL* h, CURLoption o, void* v) {
  curl_easy_setopt(h, o, v);
}
void set_list(CURL* h, CURLoption o, curl_slist* v) {
  curl_easy_setopt(h, o, v);
}
using write_fn = size_t (*)(char*, size_t, size_t, void*);
void set_write_fn(CURL* h, CURLoption o, write_fn f) {
  curl_easy_setopt(h, o, f);
}

struct receive_state {
  http_response* resp;
  std::size_t limit;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<receive_state*>(user);
  const std::size_t len = size * n;
  // CURLOPT_MAXFILESIZE does not stop a chunked body (docs/aws-notes.md, "libcurl"): cap it here.
  if (st->resp->body.size() + len > st->limit) {
    st->too_large = true;
    return 0;
  }
  st->resp->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<receive_state*>(user);
  const std::size_t len = size * n;
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    st->resp->headers.clear();  // a new response (after 100-continue or a redirect)
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  st->resp->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return len;
}

class curl_transport final : public http_transport {
 public:
  explicit curl_transport(curl_transport_options o) : options_(std::move(o)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  http_response send(const http_request& req, std::chrono::milliseconds timeout) override {
    http_response resp;
    CURL* h = curl_easy_init();
    if (h == nullptr) {
      resp.transport_error = "curl_easy_init failed";
      return resp;
    }
    const std::string url = req.url();
    curl_slist* list = nullptr;
    for (const auto& [name, value] : req.headers) {
      // "Name;" sends an empty header; "Name:" alone would remove curl's own.
      std::string line = name;
      line.append(value.empty() ? ";" : ": ").append(value);
      list = curl_slist_append(list, line.c_str());
    }
    // libcurl adds "Expect: 100-continue" to large POSTs and a default
    // Content-Type to form posts: suppress both, the signed headers are exact.
    list = curl_slist_append(list, "Expect:");
    if (req.header("content-type") == nullptr) list = curl_slist_append(list, "Content-Type:");
    if (req.header("accept") == nullptr) list = curl_slist_append(list, "Accept:");

    receive_state st{&resp, options_.max_body_bytes};
    set_str(h, CURLOPT_URL, url.c_str());
    common::curl_sockets_cloexec(h);
    set_long(h, CURLOPT_NOSIGNAL, 1L);
    set_long(h, CURLOPT_TIMEOUT_MS, std::max(1L, static_cast<long>(timeout.count())));
    set_long(h, CURLOPT_CONNECTTIMEOUT_MS,
             std::max(1L, static_cast<long>(std::min(timeout, options_.connect_timeout).count())));
    set_long(h, CURLOPT_FOLLOWLOCATION, 0L);
    set_long(h, CURLOPT_SSL_VERIFYPEER, 1L);
    set_long(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) set_str(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    set_list(h, CURLOPT_HTTPHEADER, list);
    set_write_fn(h, CURLOPT_WRITEFUNCTION, on_body);
    set_ptr(h, CURLOPT_WRITEDATA, &st);
    set_write_fn(h, CURLOPT_HEADERFUNCTION, on_header);
    set_ptr(h, CURLOPT_HEADERDATA, &st);
    if (req.method == "GET") {
      set_long(h, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      set_long(h, CURLOPT_NOBODY, 1L);
    } else {
      set_str(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      set_str(h, CURLOPT_POSTFIELDS, req.body.c_str());
      set_off(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    const CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      resp.status = static_cast<int>(status);
    } else if (st.too_large) {
      resp.transport_error = "response body exceeds " + std::to_string(options_.max_body_bytes) + " bytes";
    } else {
      resp.transport_error = curl_easy_strerror(rc);
      resp.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return resp;
  }

 private:
  curl_transport_options options_;
};

const std::string* find_header(const header_list& hs, std::string_view name) {
  for (const auto& [k, v] : hs) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<http_transport> make_curl_transport(curl_transport_options options) {
  return std::make_unique<curl_transport>(std::move(options));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = lower(c);
  return out;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0x0f]);
    }
  }
  return out;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string encode_path(std::string_view raw) {
  return uri_encode(raw, true);
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    if (!part.empty()) {
      const auto eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(uri_decode(part), "");
      } else {
        out.emplace_back(uri_decode(part.substr(0, eq)), uri_decode(part.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

bool parse_endpoint_url(std::string_view url, endpoint_url& out) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  out.scheme = to_lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return false;
  auto rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  out.host = std::string(rest.substr(0, slash));
  if (out.host.empty()) return false;
  out.base_path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!out.base_path.empty() && out.base_path.back() == '/')
    out.base_path.pop_back();
  return true;
}

std::string http_request::url() const {
  std::string u = scheme + "://" + host + (path.empty() ? "/" : path);
  char sep = '?';
  for (const auto& [k, v] : query) {
    u.push_back(sep);
    u += uri_encode(k);
    u.push_back('=');
    u += uri_encode(v);
    sep = '&';
  }
  return u;
}

const std::string* http_request::header(std::string_view name) const {
  return find_header(headers, name);
}

void http_request::set_header(std::string_view name, std::string value) {
  remove_header(name);
  headers.emplace_back(std::string(name), std::move(value));
}

void http_request::remove_header(std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
}

const std::string* http_response::header(std::string_view name) const {
  return find_header(headers, name);
}

}  // namespace vigil::aws
