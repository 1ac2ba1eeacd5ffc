#include "coordination/etcd_client.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/base64.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"

namespace vigil::coordination {

namespace {

using json = nlohmann::json;

constexpr int curl_timeout_code = 28;  // CURLE_OPERATION_TIMEDOUT

/// libcurl codes of a failed TLS handshake or certificate check: SSL connect
/// error (35), local certificate problem (58), cipher (59), peer verification
/// (60), CA file (77), issuer (83), client certificate (98).
bool tls_failure(int curl_code) {
  switch (curl_code) {
    case 35:
    case 58:
    case 59:
    case 60:
    case 77:
    case 83:
    case 98:
      return true;
    default:
      return false;
  }
}

/// etcd's answers that the token it was sent no longer works: a simple token
/// expired, or revoked by a password change, or issued before the auth store
/// changed. The request was refused before it was applied.
bool token_refused(std::string_view message) {
  return message.find("invalid auth token") != std::string_view::npos ||
         message.find("revision of auth store is old") != std::string_view::npos;
}

/// etcd's answers about the user itself: wrong password, no token sent to a
/// cluster with auth enabled, auth not enabled, or a role that lacks the key.
bool auth_refused(std::string_view message) {
  for (const std::string_view m : {"authentication failed", "user name is empty", "authentication is not enabled",
                                   "permission denied", "user name not found"}) {
    if (message.find(m) != std::string_view::npos) return true;
  }
  return false;
}

// gRPC status codes the gateway reports in {"code": N}.
constexpr int grpc_deadline_exceeded = 4;
constexpr int grpc_unavailable = 14;

etcd_error make_error(etcd_errc code, std::string message) {
  return {code, std::move(message)};
}

/// An int64 field as the gateway writes it: a decimal string; absent means 0.
/// A JSON integer is accepted too; anything else (a double, junk) is refused.
std::optional<std::int64_t> int64_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return std::nullopt;
  const auto& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> bytes_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::string{};
  if (!it->is_string()) return std::nullopt;
  return etcd_base64_decode(it->get_ref<const std::string&>());
}

bool bool_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::optional<etcd_kv> parse_kv(const json& j) {
  if (!j.is_object()) return std::nullopt;
  etcd_kv kv;
  auto key = bytes_field(j, "key");
  auto value = bytes_field(j, "value");
  auto cr = int64_field(j, "create_revision");
  auto mr = int64_field(j, "mod_revision");
  auto ver = int64_field(j, "version");
  auto lease = int64_field(j, "lease");
  if (!key || !value || !cr || !mr || !ver || !lease) return std::nullopt;
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  kv.create_revision = *cr;
  kv.mod_revision = *mr;
  kv.version = *ver;
  kv.lease = *lease;
  return kv;
}

std::optional<std::int64_t> header_revision(const json& j) {
  const auto it = j.find("header");
  if (it == j.end() || !it->is_object()) return 0;
  return int64_field(*it, "revision");
}

std::optional<etcd_range_response> parse_range(const json& j) {
  if (!j.is_object()) return std::nullopt;
  etcd_range_response r;
  auto rev = header_revision(j);
  auto count = int64_field(j, "count");
  if (!rev || !count) return std::nullopt;
  r.revision = *rev;
  r.count = *count;
  r.more = bool_field(j, "more");
  if (const auto it = j.find("kvs"); it != j.end()) {
    if (!it->is_array()) return std::nullopt;
    for (const auto& e : *it) {
      auto kv = parse_kv(e);
      if (!kv) return std::nullopt;
      r.kvs.push_back(std::move(*kv));
    }
  }
  return r;
}

json encode_op(const etcd_op& op) {
  json req = {{"key", etcd_base64_encode(op.key)}};
  switch (op.what) {
    case etcd_op::kind::put:
      req["value"] = etcd_base64_encode(op.value);
      if (op.lease != 0) req["lease"] = std::to_string(op.lease);
      return {{"request_put", req}};
    case etcd_op::kind::range:
      if (!op.range_end.empty()) req["range_end"] = etcd_base64_encode(op.range_end);
      return {{"request_range", req}};
    case etcd_op::kind::delete_range:
      if (!op.range_end.empty()) req["range_end"] = etcd_base64_encode(op.range_end);
      return {{"request_delete_range", req}};
  }
  return req;
}

json encode_compare(const etcd_compare& c) {
  static constexpr const char* relations[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j = {{"key", etcd_base64_encode(c.key)}, {"result", relations[static_cast<int>(c.rel)]}};
  switch (c.what) {
    case etcd_compare::target::create_revision:
      j["target"] = "CREATE";
      j["create_revision"] = std::to_string(c.number);
      break;
    case etcd_compare::target::mod_revision:
      j["target"] = "MOD";
      j["mod_revision"] = std::to_string(c.number);
      break;
    case etcd_compare::target::version:
      j["target"] = "VERSION";
      j["version"] = std::to_string(c.number);
      break;
    case etcd_compare::target::value:
      j["target"] = "VALUE";
      j["value"] = etcd_base64_encode(c.value);
      break;
  }
  return j;
}

void with_tls(common::http_call& hc, const etcd_client_options& o) {
  hc.ca_file = o.security.ca_file;
  hc.cert_file = o.security.cert_file;
  hc.key_file = o.security.key_file;
}

/// Parses the body; bad JSON becomes a bad_response naming the path.
etcd_result<json> parse_body(std::string_view path, const std::string& body) {
  etcd_result<json> out;
  try {
    // The keepalive stream ends its one object with a newline; tolerate any
    // trailing whitespace.
    out.value = json::parse(body);
  } catch (const json::exception& e) {
    out.error = make_error(etcd_errc::bad_response, std::string(path) + ": not JSON: " + e.what());
  }
  if (out.ok() && !out.value.is_object()) {
    out.error = make_error(etcd_errc::bad_response, std::string(path) + ": not a JSON object");
  }
  return out;
}

template <class T>
etcd_result<T> fail(etcd_error&& e) {
  etcd_result<T> r;
  r.error = std::move(e);
  return r;
}

template <class T>
etcd_result<T> bad(std::string_view path, std::string_view what) {
  return fail<T>(make_error(etcd_errc::bad_response, std::string(path) + ": " + std::string(what)));
}

/// post() then parse as an object.
template <class Client>
etcd_result<json> call(Client& c, std::string_view path, const json& body, bool retry_on_timeout) {
  auto raw = c.post(path, body.dump(), retry_on_timeout);
  if (!raw) return fail<json>(std::move(raw.error));
  return parse_body(path, raw.value);
}

}  // namespace

std::string_view to_string(etcd_errc e) {
  switch (e) {
    case etcd_errc::ok:
      return "ok";
    case etcd_errc::unreachable:
      return "unreachable";
    case etcd_errc::no_leader:
      return "no_leader";
    case etcd_errc::timeout:
      return "timeout";
    case etcd_errc::bad_response:
      return "bad_response";
    case etcd_errc::rejected:
      return "rejected";
    case etcd_errc::tls:
      return "tls";
    case etcd_errc::auth:
      return "auth";
  }
  return "unknown";
}

etcd_compare compare_create_revision(std::string key, std::int64_t rev) {
  return {etcd_compare::target::create_revision, etcd_compare::relation::equal, std::move(key), rev, {}};
}
etcd_compare compare_mod_revision(std::string key, std::int64_t rev) {
  return {etcd_compare::target::mod_revision, etcd_compare::relation::equal, std::move(key), rev, {}};
}
etcd_compare compare_value(std::string key, std::string value) {
  return {etcd_compare::target::value, etcd_compare::relation::equal, std::move(key), 0, std::move(value)};
}

etcd_op op_put(std::string key, std::string value, std::int64_t lease) {
  return {etcd_op::kind::put, std::move(key), {}, std::move(value), lease};
}
etcd_op op_get(std::string key) {
  return {etcd_op::kind::range, std::move(key), {}, {}, 0};
}
etcd_op op_delete(std::string key) {
  return {etcd_op::kind::delete_range, std::move(key), {}, {}, 0};
}

std::string etcd_prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "\0" range end
}

// The gateway speaks standard padded base64; paseto.hpp already holds a strict
// base64url codec, so translate the two differing characters and the padding.
std::string etcd_base64_encode(std::string_view bytes) {
  std::string s = common::base64url_encode(bytes);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0)
    s += '=';
  return s;
}

std::optional<std::string> etcd_base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=')
    ++pad;
  std::string s(text.substr(0, text.size() - pad));
  for (char& c : s) {
    if (c == '-' || c == '_') return std::nullopt;
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return common::base64url_decode(s);
}

etcd_client::etcd_client(etcd_client_options options)
    : options_(std::move(options)), down_(std::make_unique<std::atomic<bool>[]>(options_.endpoints.size())) {
  if (options_.endpoints.empty()) throw std::invalid_argument("etcd client: no endpoints");
  for (auto& e : options_.endpoints) {
    while (!e.empty() && e.back() == '/')
      e.pop_back();
  }
}

etcd_client::~etcd_client() = default;

etcd_result<std::string> etcd_client::post(std::string_view path, const std::string& body, bool retry_on_timeout) {
  if (options_.security.username.empty()) return send(path, body, retry_on_timeout, {});
  for (int attempt = 0;; ++attempt) {
    auto tok = token();
    if (!tok) return tok;
    auto r = send(path, body, retry_on_timeout, tok.value);
    if (r || attempt > 0 || !token_refused(r.error.message)) return r;
    common::logger("coordination")->info("etcd: {}; authenticating again", r.error.message);
    drop_token(tok.value);
  }
}

etcd_result<std::string> etcd_client::token() {
  const std::lock_guard lock(auth_mu_);
  etcd_result<std::string> out;
  if (!token_.empty()) {
    out.value = token_;
    return out;
  }
  constexpr std::string_view path = "/v3/auth/authenticate";
  const json body = {{"name", options_.security.username}, {"password", options_.security.password}};
  auto raw = send(path, body.dump(), true, {});
  if (!raw) {
    if (raw.error.code == etcd_errc::rejected || raw.error.code == etcd_errc::auth) {
      raw.error.code = etcd_errc::auth;
      raw.error.message = "authenticating as " + options_.security.username + ": " + raw.error.message;
    }
    return raw;
  }
  auto j = parse_body(path, raw.value);
  if (!j) return fail<std::string>(std::move(j.error));
  const auto it = j.value.find("token");
  if (it == j.value.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return bad<std::string>(path, "no token in the answer");
  }
  token_ = it->get<std::string>();
  authentications_.fetch_add(1);
  out.value = token_;
  return out;
}

void etcd_client::drop_token(const std::string& used) {
  const std::lock_guard lock(auth_mu_);
  if (token_ == used) token_.clear();
}

void etcd_client::drop_token() {
  const std::lock_guard lock(auth_mu_);
  token_.clear();
}

etcd_result<std::string> etcd_client::send(std::string_view path, const std::string& body, bool retry_on_timeout,
                                           const std::string& token) {
  const std::size_t n = options_.endpoints.size();
  const std::size_t start = preferred_.load() % n;
  etcd_error worst{etcd_errc::unreachable, "no endpoint tried"};
  auto rank = [](etcd_errc e) {  // what to report when every endpoint failed
    switch (e) {
      case etcd_errc::no_leader:
        return 4;
      case etcd_errc::timeout:
        return 3;
      case etcd_errc::tls:
        return 2;
      case etcd_errc::unreachable:
        return 1;
      default:
        return 0;
    }
  };
  bool first = true;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t idx = (start + i) % n;
    const std::string& ep = options_.endpoints[idx];
    common::http_call hc;
    hc.method = "POST";
    hc.url = ep + std::string(path);
    hc.headers = {{"Content-Type", "application/json"}, {"Grpc-Metadata-hasleader", "true"}};
    if (!token.empty()) hc.headers.emplace_back("Authorization", token);
    hc.body = body;
    hc.timeout = options_.timeout;
    hc.connect_timeout = std::min(options_.connect_timeout, options_.timeout);
    with_tls(hc, options_);
    const common::http_reply reply = common::http_perform(hc);
    etcd_error err;
    if (!reply.transport_ok()) {
      if (tls_failure(reply.curl_code)) {
        err = make_error(etcd_errc::tls,
                         ep + std::string(path) + ": TLS: " + reply.error +
                             (options_.security.ca_file.empty() ? "" : " (ca_file " + options_.security.ca_file + ")"));
      } else {
        err = make_error(reply.curl_code == curl_timeout_code ? etcd_errc::timeout : etcd_errc::unreachable,
                         ep + std::string(path) + ": " + reply.error);
      }
    } else if (reply.status >= 200 && reply.status < 300 && !token.empty() && token_refused(reply.body)) {
      // A streamed answer (keepalive) reports errors inside a 200; keys and
      // values are base64 there, so the text can only be etcd's own error.
      err = make_error(etcd_errc::rejected, ep + std::string(path) + ": " + reply.body.substr(0, 200));
    } else if (reply.status >= 200 && reply.status < 300) {
      down_[idx].store(false);
      preferred_.store(idx);
      etcd_result<std::string> ok;
      ok.value = reply.body;
      return ok;
    } else {
      // {"error": "...", "message": "...", "code": N} with a gRPC code.
      std::string message = "HTTP " + std::to_string(reply.status);
      int code = 0;
      try {
        const json j = json::parse(reply.body);
        if (j.is_object()) {
          if (j.contains("message") && j["message"].is_string()) message += ": " + j["message"].get<std::string>();
          if (j.contains("code") && j["code"].is_number_integer()) code = j["code"].get<int>();
        }
      } catch (const json::exception&) {
        message += ": " + reply.body.substr(0, 200);
      }
      etcd_errc kind = auth_refused(message) ? etcd_errc::auth : etcd_errc::rejected;
      if (message.find("no leader") != std::string::npos || message.find("leader changed") != std::string::npos ||
          code == grpc_unavailable) {
        kind = etcd_errc::no_leader;
      } else if (code == grpc_deadline_exceeded || message.find("timed out") != std::string::npos) {
        kind = etcd_errc::timeout;
      }
      std::string what = ep;
      what.append(path).append(": ").append(message);
      err = make_error(kind, std::move(what));
    }
    if (err.code == etcd_errc::rejected || err.code == etcd_errc::auth) return fail<std::string>(std::move(err));
    down_[idx].store(true);
    if (first || rank(err.code) > rank(worst.code)) worst = err;
    first = false;
    preferred_.store((idx + 1) % n);
    // A write that timed out may have been applied: sending it again to
    // another member could apply it twice (or make a won txn look lost).
    if (err.code == etcd_errc::timeout && !retry_on_timeout) break;
  }
  return fail<std::string>(std::move(worst));
}

etcd_result<etcd_range_response> etcd_client::range(std::string_view key, std::string_view range_end) {
  json body = {{"key", etcd_base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = etcd_base64_encode(range_end);
  auto j = call(*this, "/v3/kv/range", body, true);
  if (!j) return fail<etcd_range_response>(std::move(j.error));
  auto r = parse_range(j.value);
  if (!r) return bad<etcd_range_response>("/v3/kv/range", "malformed range response");
  etcd_result<etcd_range_response> out;
  out.value = std::move(*r);
  return out;
}

etcd_result<etcd_range_response> etcd_client::range_prefix(std::string_view prefix) {
  return range(prefix, etcd_prefix_end(prefix));
}

etcd_result<std::int64_t> etcd_client::put(std::string_view key, std::string_view value, std::int64_t lease) {
  json body = {{"key", etcd_base64_encode(key)}, {"value", etcd_base64_encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  auto j = call(*this, "/v3/kv/put", body, false);
  if (!j) return fail<std::int64_t>(std::move(j.error));
  auto rev = header_revision(j.value);
  if (!rev) return bad<std::int64_t>("/v3/kv/put", "malformed header revision");
  etcd_result<std::int64_t> out;
  out.value = *rev;
  return out;
}

etcd_result<std::int64_t> etcd_client::delete_range(std::string_view key, std::string_view range_end) {
  json body = {{"key", etcd_base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = etcd_base64_encode(range_end);
  auto j = call(*this, "/v3/kv/deleterange", body, false);
  if (!j) return fail<std::int64_t>(std::move(j.error));
  auto deleted = int64_field(j.value, "deleted");
  if (!deleted) return bad<std::int64_t>("/v3/kv/deleterange", "malformed 'deleted'");
  etcd_result<std::int64_t> out;
  out.value = *deleted;
  return out;
}

etcd_result<etcd_txn_response> etcd_client::txn(const std::vector<etcd_compare>& compares,
                                                const std::vector<etcd_op>& success,
                                                const std::vector<etcd_op>& failure) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares)
    body["compare"].push_back(encode_compare(c));
  for (const auto& o : success)
    body["success"].push_back(encode_op(o));
  for (const auto& o : failure)
    body["failure"].push_back(encode_op(o));
  constexpr std::string_view path = "/v3/kv/txn";
  auto j = call(*this, path, body, false);
  if (!j) return fail<etcd_txn_response>(std::move(j.error));
  etcd_txn_response r;
  auto rev = header_revision(j.value);
  if (!rev) return bad<etcd_txn_response>(path, "malformed header revision");
  r.revision = *rev;
  r.succeeded = bool_field(j.value, "succeeded");
  if (const auto it = j.value.find("responses"); it != j.value.end()) {
    if (!it->is_array()) return bad<etcd_txn_response>(path, "'responses' is not an array");
    for (const auto& resp : *it) {
      if (!resp.is_object()) return bad<etcd_txn_response>(path, "a response is not an object");
      etcd_range_response rr;
      if (const auto rg = resp.find("response_range"); rg != resp.end()) {
        auto parsed = parse_range(*rg);
        if (!parsed) return bad<etcd_txn_response>(path, "malformed response_range");
        rr = std::move(*parsed);
      }
      r.responses.push_back(std::move(rr));
    }
  }
  etcd_result<etcd_txn_response> out;
  out.value = std::move(r);
  return out;
}

etcd_result<etcd_lease> etcd_client::lease_grant(std::int64_t ttl_seconds) {
  constexpr std::string_view path = "/v3/lease/grant";
  auto j = call(*this, path, json{{"TTL", std::to_string(ttl_seconds)}}, true);
  if (!j) return fail<etcd_lease>(std::move(j.error));
  if (const auto e = j.value.find("error"); e != j.value.end() && e->is_string() && !e->get<std::string>().empty()) {
    return fail<etcd_lease>(make_error(etcd_errc::rejected, std::string(path) + ": " + e->get<std::string>()));
  }
  auto id = int64_field(j.value, "ID");
  auto ttl = int64_field(j.value, "TTL");
  if (!id || !ttl || *id == 0) return bad<etcd_lease>(path, "no lease ID in the answer");
  etcd_result<etcd_lease> out;
  out.value = {*id, *ttl};
  return out;
}

etcd_result<bool> etcd_client::lease_revoke(std::int64_t id) {
  auto j = call(*this, "/v3/lease/revoke", json{{"ID", std::to_string(id)}}, true);
  if (!j) return fail<bool>(std::move(j.error));
  etcd_result<bool> out;
  out.value = true;
  return out;
}

etcd_result<etcd_lease> etcd_client::lease_keepalive(std::int64_t id) {
  constexpr std::string_view path = "/v3/lease/keepalive";
  auto j = call(*this, path, json{{"ID", std::to_string(id)}}, true);
  if (!j) return fail<etcd_lease>(std::move(j.error));
  // The streamed answer: {"result":{...}} or {"error":{...}}.
  if (const auto e = j.value.find("error"); e != j.value.end()) {
    const std::string text = e->dump();
    const bool no_leader = text.find("no leader") != std::string::npos;
    return fail<etcd_lease>(
        make_error(no_leader ? etcd_errc::no_leader : etcd_errc::rejected, std::string(path) + ": " + text));
  }
  const auto res = j.value.find("result");
  if (res == j.value.end() || !res->is_object()) return bad<etcd_lease>(path, "no 'result' object");
  auto rid = int64_field(*res, "ID");
  auto ttl = int64_field(*res, "TTL");
  if (!rid || !ttl) return bad<etcd_lease>(path, "malformed ID or TTL");
  etcd_result<etcd_lease> out;
  out.value = {*rid, *ttl};
  return out;
}

etcd_result<etcd_lease_ttl> etcd_client::lease_time_to_live(std::int64_t id) {
  constexpr std::string_view path = "/v3/lease/timetolive";
  auto j = call(*this, path, json{{"ID", std::to_string(id)}}, true);
  if (!j) return fail<etcd_lease_ttl>(std::move(j.error));
  auto ttl = int64_field(j.value, "TTL");
  auto granted = int64_field(j.value, "grantedTTL");
  if (!ttl || !granted) return bad<etcd_lease_ttl>(path, "malformed TTL");
  etcd_result<etcd_lease_ttl> out;
  out.value = {*ttl, *granted};
  return out;
}

std::size_t etcd_client::probe_endpoints() {
  std::size_t healthy = 0;
  for (std::size_t i = 0; i < options_.endpoints.size(); ++i) {
    common::http_call hc;
    hc.url = options_.endpoints[i] + "/health";
    hc.timeout = std::min(options_.connect_timeout, options_.timeout);
    hc.connect_timeout = hc.timeout;
    with_tls(hc, options_);
    const common::http_reply reply = common::http_perform(hc);
    bool up = false;
    if (reply.success()) {
      try {
        const json j = json::parse(reply.body);
        up = j.is_object() && j.value("health", std::string{}) == "true";
      } catch (const json::exception&) {
        up = false;
      }
    }
    down_[i].store(!up);
    if (up) ++healthy;
  }
  return healthy;
}

std::size_t etcd_client::endpoints_down() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < options_.endpoints.size(); ++i)
    n += down_[i].load() ? 1U : 0U;
  return n;
}

}  // namespace vigil::coordination
