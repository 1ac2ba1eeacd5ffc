#include "detector/http_prober.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "common/descriptors.hpp"
#include "detector/curl_easy.hpp"
#include "detector/curl_multi.hpp"
#include "detector/probe_metrics.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
using decision::outcome;
using std::chrono::milliseconds;

namespace {

/// curl's low-speed window is whole seconds: round up, at least 1 s.
long low_speed_seconds(milliseconds d) {
  return std::max<long>(1, static_cast<long>((d.count() + 999) / 1000));
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0)
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0)
    s.remove_suffix(1);
  return std::string(s);
}

std::string where(const common::source_pos& p) {
  std::string out = p.file.empty() ? std::string("<config>") : p.file;
  out += ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": ";
  if (!p.key_path.empty()) out += p.key_path + ": ";
  return out;
}

double us_to_ms(curl_off_t us) {
  return static_cast<double>(us) / 1000.0;
}

/// The fields every kind of check has.
compiled_check common_fields(const common::check_config& check, const common::probe_defaults_config& defaults) {
  compiled_check c;
  c.id = check.id;
  c.region = check.region;
  c.timeout = check.timeout;
  c.connect_timeout = check.timeout;
  c.degraded_after = check.degraded_after;
  c.interval = check.interval;
  c.fast_interval = check.fast_interval;
  c.jitter = defaults.jitter;
  return c;
}

/// gRPC's length-prefixed framing of one uncompressed HealthCheckRequest
/// message: field 1 (service, a string) when set.
std::string grpc_health_request(const std::string& service) {
  std::string msg;
  if (!service.empty()) {
    msg.push_back('\x0a');  // field 1, length-delimited
    std::size_t n = service.size();
    do {  // varint length
      msg.push_back(static_cast<char>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
      n >>= 7;
    } while (n != 0);
    msg += service;
  }
  std::string framed(5, '\0');  // compressed flag 0, 4-byte big-endian length
  for (std::size_t i = 0; i < 4; ++i)
    framed[1 + i] = static_cast<char>((msg.size() >> (8 * (3 - i))) & 0xFF);
  return framed + msg;
}

compiled_check compile_socket_check(const common::check_config& check, const common::probe_defaults_config& defaults) {
  compiled_check c = common_fields(check, defaults);
  if (check.tcp) {
    c.kind = check_kind::tcp;
    c.tcp = check.tcp;
    if (check.tcp->connect_timeout.count() > 0) c.connect_timeout = std::min(check.tcp->connect_timeout, c.timeout);
  } else if (check.dns) {
    c.kind = check_kind::dns;
    c.dns = check.dns;
  } else if (check.postgres) {
    c.kind = check_kind::postgres;
    c.postgres = check.postgres;
  } else {
    const common::grpc_check_config& g = *check.grpc;
    c.kind = check_kind::grpc;
    c.url = (g.tls ? "https://" : "http://") + g.address + "/grpc.health.v1.Health/Check";
    c.method = "POST";
    c.headers = {"Content-Type: application/grpc", "TE: trailers"};
    c.body = grpc_health_request(g.service);
    c.ca_file = g.ca_file;
    c.low_speed_limit = 0;
    c.low_speed_time = c.timeout;
  }
  return c;
}

}  // namespace

std::variant<compiled_check, std::vector<std::string>> compile_check(const common::check_config& check,
                                                                     const common::probe_defaults_config& defaults) {
  std::vector<std::string> errors;
  if (check.tcp || check.dns || check.postgres || check.grpc) return compile_socket_check(check, defaults);
  if (!check.http) {
    errors.push_back(where(check.pos) + "check " + check.id + " has no http probe");
    return errors;
  }
  const common::http_check_config& h = *check.http;
  compiled_check c = common_fields(check, defaults);
  c.url = h.url;
  c.method = h.method;
  for (const auto& [name, value] : h.headers)
    c.headers.emplace_back(name).append(": ").append(value);
  c.body = h.body;
  c.timeout = check.timeout;
  c.connect_timeout = h.connect_timeout.count() > 0 ? std::min(h.connect_timeout, check.timeout) : check.timeout;
  c.low_speed_limit = h.low_speed_limit;
  c.low_speed_time = h.low_speed_time.count() > 0 ? h.low_speed_time : check.timeout;
  c.body_limit = h.body_limit;
  c.follow_redirects = h.follow_redirects;
  c.max_redirects = h.follow_redirects ? (h.max_redirects > 0 ? h.max_redirects : 5) : 0;
  c.ca_file = h.ca_file;
  c.keep_alive = h.keep_alive;

  std::vector<expectation> items;
  for (std::size_t i = 0; i < h.expect.size(); ++i) {
    const common::source_pos& pos = i < h.expect_pos.size() ? h.expect_pos[i] : check.pos;
    auto parsed = parse_expect(h.expect[i]);
    if (auto* err = std::get_if<expect_error>(&parsed)) {
      errors.push_back(where(pos) + "bad expect expression '" + h.expect[i] + "': " + err->message +
                       " (expression column " + std::to_string(err->column) + ")");
      continue;
    }
    auto& e = std::get<expectation>(parsed);
    if (e.subject == expect_subject::cert_expiry && !h.url.starts_with("https://")) {
      errors.push_back(where(pos) + "'" + h.expect[i] + "' needs an https:// URL, got " + h.url);
      continue;
    }
    items.push_back(std::move(e));
  }
  if (!errors.empty()) return errors;
  c.expect = expect_set(std::move(items));
  return c;
}

/// The answer to grpc.health.v1.Health/Check: HTTP 200, grpc-status 0 (a
/// trailer, or a header in a trailers-only response) and a HealthCheckResponse
/// whose status (field 1) is SERVING (1).
expect_verdict grpc_health_verdict(const response_view& v) {
  static constexpr std::array<std::string_view, 4> statuses{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  if (v.status != 200) return {outcome::http_status, "HTTP status " + std::to_string(v.status) + ", expected 200"};
  const auto gs = v.headers->find("grpc-status");
  if (gs == v.headers->end()) return {outcome::body_mismatch, "no grpc-status in the response"};
  if (gs->second != "0") {
    const auto msg = v.headers->find("grpc-message");
    return {outcome::http_status,
            "grpc-status " + gs->second + (msg == v.headers->end() ? std::string() : ": " + msg->second)};
  }
  const std::string_view b = v.body;
  if (b.size() < 5 || b[0] != 0) return {outcome::body_mismatch, "not an uncompressed gRPC message"};
  std::size_t len = 0;
  for (std::size_t i = 1; i < 5; ++i)
    len = (len << 8) | static_cast<unsigned char>(b[i]);
  const std::string_view msg = b.substr(5);
  if (msg.size() != len) return {outcome::body_mismatch, "truncated gRPC message"};
  // HealthCheckResponse is one optional enum field; an empty message is UNKNOWN (0).
  std::size_t status = 0;
  if (!msg.empty()) {
    if (msg.size() != 2 || msg[0] != '\x08' || (static_cast<unsigned char>(msg[1]) & 0x80) != 0)
      return {outcome::body_mismatch, "unexpected HealthCheckResponse encoding"};
    status = static_cast<unsigned char>(msg[1]);
  }
  if (status == 1) return {outcome::ok, {}};
  return {outcome::body_mismatch,
          "health status " + (status < statuses.size() ? std::string(statuses.at(status)) : std::to_string(status))};
}

/// Easy handles of finished probes, reset and kept for the next ones. A fresh
/// handle per probe (curl_easy_init + curl_easy_cleanup) costs an allocation
/// of the handle, of its download buffer on first connect, and every option
/// copied again; at thousands of probes a second that was a measurable share
/// of the CPU per probe and a steady churn of ~20 KiB blocks in the heap
/// (bench/RESULTS.md, HTTP probing). curl_easy_reset restores every option to
/// its default; what it keeps (DNS cache, connections: both live in the multi
/// handle anyway; the TLS session cache, which configure() switches off) does
/// not change what a probe measures. At most `max_idle` handles are kept: the
/// pool follows the concurrency of the probes, not the number of checks.
class easy_pool {
 public:
  explicit easy_pool(std::size_t max_idle) : max_idle_(max_idle) { idle_.reserve(max_idle); }
  ~easy_pool() {
    for (CURL* h : idle_)
      curl_easy_cleanup(h);
  }
  easy_pool(const easy_pool&) = delete;
  easy_pool& operator=(const easy_pool&) = delete;

  [[nodiscard]] CURL* take() {
    if (idle_.empty()) return curl_easy_init();
    CURL* h = idle_.back();
    idle_.pop_back();
    return h;
  }

  /// `h` must not be in a multi handle any more.
  void give(CURL* h) {
    if (idle_.size() >= max_idle_) {
      curl_easy_cleanup(h);
      return;
    }
    curl_easy_reset(h);  // drops the pointers into the finished transfer (PRIVATE, ERRORBUFFER, ...)
    idle_.push_back(h);
  }

 private:
  std::vector<CURL*> idle_;
  std::size_t max_idle_;
};

/// One probe in flight. Owned by http_prober::impl; curl's CURLOPT_PRIVATE
/// points here.
struct transfer {
  easy_pool* pool = nullptr;  ///< where `easy` goes back to
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  const compiled_check* check = nullptr;
  prober::done_fn done;
  common::mono_time started{};
  std::string body;
  std::size_t body_bytes = 0;
  bool over_cap = false;
  bool keep_body = false;
  bool keep_headers = false;
  bool want_cert = false;
  std::multimap<std::string, std::string> response_headers;
  std::optional<common::wall_time> not_after;
  std::array<char, CURL_ERROR_SIZE> error{};

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer() {
    if (easy != nullptr) pool->give(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<transfer*>(user);
    const std::size_t n = size * count;
    t->body_bytes += n;
    if (t->body_bytes > t->check->body_limit) {
      // Returning less than n aborts with CURLE_WRITE_ERROR: the cap holds for
      // chunked bodies too, which CURLOPT_MAXFILESIZE does not stop.
      t->over_cap = true;
      return 0;
    }
    if (t->keep_body) t->body.append(data, n);
    return n;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<transfer*>(user);
    const std::size_t n = size * count;
    if (t->want_cert && !t->not_after) t->not_after = curl::peer_cert_not_after(t->easy);
    if (!t->keep_headers) return n;
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      t->response_headers.clear();  // a new response: after a redirect or a 100 Continue
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    t->response_headers.emplace(std::move(name), trim(line.substr(colon + 1)));
    return n;
  }
};

class http_prober::impl {
 public:
  impl(asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
      : io_(io), clock_(clock), metrics_(metrics), alive_(std::make_shared<char>(0)) {
    loop_ = curl::multi_loop::create(io, [this](CURL* easy, CURLcode rc) { finish(easy, rc); });
  }

  ~impl() {
    for (auto& [easy, t] : running_)
      loop_->remove(easy);
    running_.clear();
    loop_->shutdown();
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void probe(const compiled_check& check, done_fn done) {
    auto t = std::make_unique<transfer>();
    t->check = &check;
    t->done = std::move(done);
    t->started = clock_.monotonic();
    const bool grpc = check.kind == check_kind::grpc;
    t->keep_body = grpc || check.expect.needs_body();
    t->keep_headers = grpc || check.expect.needs_headers();
    t->want_cert = check.url.starts_with("https://");
    t->pool = &pool_;
    t->easy = pool_.take();
    if (t->easy == nullptr) return fail_early(std::move(t), "curl_easy_init failed");
    if (const CURLcode rc = configure(*t); rc != CURLE_OK) {
      return fail_early(std::move(t), std::string("cannot configure the probe: ") + curl_easy_strerror(rc));
    }
    CURL* easy = t->easy;
    running_.emplace(easy, std::move(t));
    if (!loop_->add(easy)) {
      auto node = running_.extract(easy);
      fail_early(std::move(node.mapped()), "curl_multi_add_handle failed");
    }
  }

  [[nodiscard]] std::size_t in_flight() const { return running_.size(); }

 private:
  CURLcode configure(transfer& t) {
    const compiled_check& c = *t.check;
    CURL* h = t.easy;
    for (const auto& line : c.headers) {
      curl_slist* next = curl_slist_append(t.headers, line.c_str());
      if (next == nullptr) return CURLE_OUT_OF_MEMORY;
      t.headers = next;
    }
    CURLcode rc = CURLE_OK;
    auto set = [&rc](CURLcode r) {
      if (rc == CURLE_OK) rc = r;
    };
    set(curl::set(h, CURLOPT_PRIVATE, static_cast<void*>(&t)));
    set(curl::set(h, CURLOPT_URL, c.url));
    common::curl_sockets_cloexec(h);
    set(curl::set(h, CURLOPT_NOSIGNAL, 1L));
    set(curl::set(h, CURLOPT_ERRORBUFFER, t.error.data()));
    set(curl::set(h, CURLOPT_USERAGENT, "vigil-probe/1"));
    if (c.method == "HEAD") {
      set(curl::set(h, CURLOPT_NOBODY, 1L));
    } else if (c.method != "GET") {
      set(curl::set(h, CURLOPT_CUSTOMREQUEST, c.method));
    }
    if (!c.body.empty()) {
      set(curl::set_off(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size())));
      set(curl::set(h, CURLOPT_COPYPOSTFIELDS, c.body));
    }
    if (t.headers != nullptr) set(curl::set(h, CURLOPT_HTTPHEADER, t.headers));
    set(curl::set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout.count())));
    set(curl::set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.connect_timeout.count())));
    set(curl::set(h, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(c.low_speed_limit)));
    set(curl::set(h, CURLOPT_LOW_SPEED_TIME, low_speed_seconds(c.low_speed_time)));
    set(curl::set(h, CURLOPT_WRITEFUNCTION, &transfer::on_body));
    set(curl::set(h, CURLOPT_WRITEDATA, static_cast<void*>(&t)));
    set(curl::set(h, CURLOPT_HEADERFUNCTION, &transfer::on_header));
    set(curl::set(h, CURLOPT_HEADERDATA, static_cast<void*>(&t)));
    set(curl::set(h, CURLOPT_FOLLOWLOCATION, c.follow_redirects ? 1L : 0L));
    if (c.follow_redirects) set(curl::set(h, CURLOPT_MAXREDIRS, c.max_redirects));
    // Verification stays on whatever the config says; ca_file only changes the trust anchors.
    set(curl::set(h, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl::set(h, CURLOPT_SSL_VERIFYHOST, 2L));
    if (!c.ca_file.empty()) set(curl::set(h, CURLOPT_CAINFO, c.ca_file));
    if (!c.keep_alive) {
      set(curl::set(h, CURLOPT_FRESH_CONNECT, 1L));
      set(curl::set(h, CURLOPT_FORBID_REUSE, 1L));
    }
    // Every new connection makes a full TLS handshake, as with a fresh handle per
    // probe: a resumed session would send no certificate to read the expiry from.
    set(curl::set(h, CURLOPT_SSL_SESSIONID_CACHE, 0L));
    // Only an explicit proxy is set: otherwise libcurl applies http_proxy,
    // https_proxy and no_proxy from the environment, which operators rely on.
    if (!c.proxy.empty()) set(curl::set(h, CURLOPT_PROXY, c.proxy));
    set(curl::set(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
    if (c.kind == check_kind::grpc) {
      // gRPC needs HTTP/2: negotiated by ALPN over TLS, else h2c with prior knowledge.
      const bool tls = c.url.starts_with("https://");
      set(curl::set(h, CURLOPT_HTTP_VERSION,
                    tls ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE}));
    }
    return rc;
  }

  void fail_early(std::unique_ptr<transfer> t, std::string why) {
    probe_result r;
    r.result = outcome::internal;
    r.detail = std::move(why);
    r.started = t->started;
    const compiled_check* check = t->check;
    auto done = std::move(t->done);
    t.reset();
    if (metrics_ != nullptr) metrics_->record(check->id, r);
    // Never call back from inside probe(): the caller may not expect re-entry.
    asio::post(io_, [alive = std::weak_ptr<char>(alive_), done = std::move(done), r = std::move(r)]() mutable {
      if (!alive.expired()) done(std::move(r));
    });
  }

  void finish(CURL* easy, CURLcode rc) {
    auto node = running_.extract(easy);
    if (node.empty()) return;
    std::unique_ptr<transfer> t = std::move(node.mapped());
    const compiled_check& c = *t->check;
    probe_result r;
    r.started = t->started;
    r.http_status = curl::info_long(easy, CURLINFO_RESPONSE_CODE);
    r.body_bytes = t->body_bytes;
    r.reused_connection = rc == CURLE_OK && curl::info_long(easy, CURLINFO_NUM_CONNECTS) == 0;
    read_phases(easy, r);
    if (t->not_after) {
      r.cert_not_after = t->not_after;
      r.cert_left = std::chrono::floor<std::chrono::seconds>(*t->not_after - clock_.wall());
    }
    if (rc == CURLE_OK) {
      response_view v;
      v.status = r.http_status;
      v.body = t->body;
      v.headers = &t->response_headers;
      v.latency = milliseconds(static_cast<std::int64_t>(r.latency_ms));
      v.cert_left = r.cert_left;
      auto verdict = c.kind == check_kind::grpc ? grpc_health_verdict(v) : c.expect.evaluate(v);
      r.result = verdict.result;
      r.detail = std::move(verdict.detail);
      r.warning = verdict.warning;
      if (r.result == outcome::ok && c.degraded_after.count() > 0 &&
          r.latency_ms > static_cast<double>(c.degraded_after.count())) {
        r.result = outcome::degraded;
        r.detail = "latency " + std::to_string(static_cast<long>(r.latency_ms)) + "ms above degraded_after " +
                   std::to_string(c.degraded_after.count()) + "ms";
      }
    } else {
      curl::failure_facts f;
      f.code = rc;
      f.os_errno = curl::info_long(easy, CURLINFO_OS_ERRNO);
      f.connect_code = curl::info_long(easy, CURLINFO_HTTP_CONNECTCODE);
      f.over_cap = t->over_cap;
      f.via_proxy = curl::proxy_applies(c.url, c.proxy);
      r.result = curl::classify(f);
      r.detail = describe_failure(*t, rc, f);
    }
    auto done = std::move(t->done);
    t.reset();  // frees the easy handle before user code runs
    if (metrics_ != nullptr) metrics_->record(c.id, r);
    done(std::move(r));
  }

  static void read_phases(CURL* easy, probe_result& r) {
    const curl_off_t dns = curl::info_off(easy, CURLINFO_NAMELOOKUP_TIME_T);
    const curl_off_t connect = curl::info_off(easy, CURLINFO_CONNECT_TIME_T);
    const curl_off_t tls = curl::info_off(easy, CURLINFO_APPCONNECT_TIME_T);
    const curl_off_t first = curl::info_off(easy, CURLINFO_STARTTRANSFER_TIME_T);
    const curl_off_t total = curl::info_off(easy, CURLINFO_TOTAL_TIME_T);
    r.phases.dns_ms = us_to_ms(dns);
    if (connect > 0) r.phases.connect_ms = us_to_ms(std::max<curl_off_t>(0, connect - dns));
    if (tls > 0) r.phases.tls_ms = us_to_ms(std::max<curl_off_t>(0, tls - connect));
    if (first > 0) r.phases.first_byte_ms = us_to_ms(std::max<curl_off_t>(0, first - std::max(connect, tls)));
    r.phases.total_ms = us_to_ms(total);
    r.latency_ms = r.phases.total_ms;
  }

  static std::string describe_failure(const transfer& t, CURLcode rc, const curl::failure_facts& f) {
    if (t.over_cap) {
      return "body exceeded " + std::to_string(t.check->body_limit) + " bytes (read " + std::to_string(t.body_bytes) +
             ")";
    }
    std::string d = t.error[0] != '\0' ? std::string(t.error.data()) : std::string(curl_easy_strerror(rc));
    d += " (curl " + std::to_string(static_cast<int>(rc));
    if (f.os_errno != 0) d += ", errno " + std::to_string(f.os_errno);
    if (f.connect_code != 0) d += ", proxy CONNECT " + std::to_string(f.connect_code);
    if (f.via_proxy) d += ", via proxy";
    d += ")";
    return d;
  }

  asio::io_context& io_;
  const common::clock& clock_;
  probe_metrics* metrics_;
  std::shared_ptr<char> alive_;  ///< posted callbacks check it: none runs after destruction
  std::shared_ptr<curl::multi_loop> loop_;
  easy_pool pool_{64};  ///< before running_: transfers give their handles back here
  std::unordered_map<CURL*, std::unique_ptr<transfer>> running_;
};

http_prober::http_prober(asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
    : impl_(std::make_shared<impl>(io, clock, metrics)) {}

http_prober::~http_prober() = default;

void http_prober::probe(const compiled_check& check, done_fn done) {
  impl_->probe(check, std::move(done));
}

std::size_t http_prober::in_flight() const {
  return impl_->in_flight();
}

}  // namespace vigil::detector
