#pragma once
// A small client for etcd 3.4's JSON gateway (docs/aws-notes.md, "etcd 3.4 JSON gateway"): POST
// /v3/kv/range|put|deleterange|txn and /v3/lease/grant|revoke|keepalive|
// timetolive, one blocking libcurl request per call (common/http_client).
//
// Wire rules it hides: keys and values travel base64 encoded; int64 fields
// (revisions, lease ids, TTLs, counts) are JSON strings and are parsed as
// integers, never as doubles; fields holding zero are omitted by the server and
// read as 0 here (a failed txn has no "succeeded" key); a keepalive is one
// POST whose answer is one streamed {"result":{...}} object.
//
// Endpoints are tried in order starting from the last one that answered; a
// failing endpoint is marked down and the next one is tried. Every request
// carries the gRPC metadata "hasleader: true", so a member that has lost its
// leader refuses at once (`no_leader`) instead of waiting out its own request
// timeout. A txn, put or delete that timed out is NOT retried elsewhere: it
// may have been applied, and the caller must treat the outcome as unknown.
//
// Transport security (docs/ha.md, "etcd with TLS and auth"): https://
// endpoints are verified against `ca_file` (server certificate and host name
// or IP SAN), and `cert_file` + `key_file` present a client certificate.
// With `username` set, the client obtains a simple token with POST
// /v3/auth/authenticate before its first call and sends it in the
// Authorization header of every call. When etcd answers that the token is
// invalid (expired after --auth-token-ttl of idleness, or revoked when the
// user's password changed) or that the auth store revision moved, the client authenticates
// again and sends the same request once more: etcd refused it before applying
// it, so the retry cannot apply a write twice.
//
// Errors are values (etcd_errc), never exceptions. Thread-safe: calls may run
// concurrently from several threads (each uses its own easy handle; one
// authentication at a time).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::coordination {

enum class etcd_errc : std::uint8_t {
  ok,
  unreachable,   ///< no endpoint accepted a connection / answered at the transport level
  no_leader,     ///< members answered but have no raft leader (quorum lost)
  timeout,       ///< the request or etcd's own proposal timed out (outcome unknown for writes)
  bad_response,  ///< an answer that is not the JSON the gateway sends
  rejected,      ///< etcd refused the request itself (bad argument, lease not found, ...)
  tls,           ///< the TLS handshake failed (untrusted server certificate, host mismatch, client certificate)
  auth,          ///< etcd refused the user, the password or the user's permissions
};
[[nodiscard]] std::string_view to_string(etcd_errc e);

struct etcd_error {
  etcd_errc code = etcd_errc::ok;
  std::string message;  ///< endpoint and what happened
};

/// A value or an error. `ok()` tells which; `value` is default-constructed on error.
template <class T>
struct etcd_result {
  T value{};
  etcd_error error;
  [[nodiscard]] bool ok() const { return error.code == etcd_errc::ok; }
  explicit operator bool() const { return ok(); }
};

struct etcd_kv {
  std::string key;    ///< decoded bytes
  std::string value;  ///< decoded bytes
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct etcd_range_response {
  std::int64_t revision = 0;  ///< store revision when served (header)
  std::vector<etcd_kv> kvs;
  std::int64_t count = 0;
  bool more = false;
};

/// One txn condition on one key.
struct etcd_compare {
  enum class target : std::uint8_t { create_revision, mod_revision, version, value };
  enum class relation : std::uint8_t { equal, greater, less, not_equal };
  target what = target::create_revision;
  relation rel = relation::equal;
  std::string key;
  std::int64_t number = 0;  ///< for the revision / version targets
  std::string value;        ///< for target::value
};
[[nodiscard]] etcd_compare compare_create_revision(std::string key, std::int64_t rev);
[[nodiscard]] etcd_compare compare_mod_revision(std::string key, std::int64_t rev);
[[nodiscard]] etcd_compare compare_value(std::string key, std::string value);

/// One txn operation.
struct etcd_op {
  enum class kind : std::uint8_t { put, range, delete_range };
  kind what = kind::range;
  std::string key;
  std::string range_end;   ///< empty: the single key
  std::string value;       ///< put
  std::int64_t lease = 0;  ///< put; 0: no lease
};
[[nodiscard]] etcd_op op_put(std::string key, std::string value, std::int64_t lease = 0);
[[nodiscard]] etcd_op op_get(std::string key);
[[nodiscard]] etcd_op op_delete(std::string key);

struct etcd_txn_response {
  bool succeeded = false;     ///< false when the compare failed (the key is absent on the wire)
  std::int64_t revision = 0;  ///< store revision after the txn (a put's revision when it wrote)
  /// One entry per op of the branch that ran: range ops fill `kvs`; others are empty.
  std::vector<etcd_range_response> responses;
};

struct etcd_lease {
  std::int64_t id = 0;
  std::int64_t ttl = 0;  ///< seconds; <= 0 (or absent) on keepalive: the lease is gone
};

struct etcd_lease_ttl {
  std::int64_t ttl = -1;  ///< remaining seconds; -1 when the lease does not exist
  std::int64_t granted_ttl = 0;
};

/// TLS files and etcd credentials (docs/ha.md, "etcd with TLS and auth").
struct etcd_security {
  std::string ca_file{};    ///< PEM CA bundle for https:// endpoints; empty: the system store
  std::string cert_file{};  ///< PEM client certificate (mutual TLS); with key_file
  std::string key_file{};   ///< PEM private key of cert_file
  std::string username{};   ///< etcd user; empty: no authentication
  std::string password{};   ///< that user's password (never logged)
};

struct etcd_client_options {
  std::vector<std::string> endpoints;       ///< "http://host:port", tried in order
  std::chrono::milliseconds timeout{2000};  ///< whole request, per endpoint tried
  std::chrono::milliseconds connect_timeout{1000};
  etcd_security security{};
};

/// The range_end that selects every key starting with `prefix` (etcd's prefix rule).
[[nodiscard]] std::string etcd_prefix_end(std::string_view prefix);
/// Standard padded base64 (the gateway's bytes encoding) and its strict inverse.
[[nodiscard]] std::string etcd_base64_encode(std::string_view bytes);
[[nodiscard]] std::optional<std::string> etcd_base64_decode(std::string_view text);

class etcd_client {
 public:
  /// Throws std::invalid_argument when `endpoints` is empty.
  explicit etcd_client(etcd_client_options options);
  ~etcd_client();
  etcd_client(const etcd_client&) = delete;
  etcd_client& operator=(const etcd_client&) = delete;

  [[nodiscard]] etcd_result<etcd_range_response> range(std::string_view key, std::string_view range_end = {});
  [[nodiscard]] etcd_result<etcd_range_response> range_prefix(std::string_view prefix);
  /// Returns the store revision of the put.
  [[nodiscard]] etcd_result<std::int64_t> put(std::string_view key, std::string_view value, std::int64_t lease = 0);
  /// Returns how many keys were deleted.
  [[nodiscard]] etcd_result<std::int64_t> delete_range(std::string_view key, std::string_view range_end = {});
  [[nodiscard]] etcd_result<etcd_txn_response> txn(const std::vector<etcd_compare>& compares,
                                                   const std::vector<etcd_op>& success,
                                                   const std::vector<etcd_op>& failure = {});

  /// `ttl_seconds` >= 1 (etcd raises it to its own minimum, about 2 s).
  [[nodiscard]] etcd_result<etcd_lease> lease_grant(std::int64_t ttl_seconds);
  [[nodiscard]] etcd_result<bool> lease_revoke(std::int64_t id);
  /// One POST /v3/lease/keepalive. A lease that is gone answers with no TTL:
  /// the result is then ok with ttl == 0; callers must treat ttl <= 0 as lost.
  [[nodiscard]] etcd_result<etcd_lease> lease_keepalive(std::int64_t id);
  [[nodiscard]] etcd_result<etcd_lease_ttl> lease_time_to_live(std::int64_t id);

  /// GET /health on every endpoint (each with the connect timeout as its
  /// whole budget); updates the per-endpoint up/down marks and returns how
  /// many answered healthy.
  std::size_t probe_endpoints();
  /// Endpoints whose last request failed at the transport level or who said
  /// they had no leader.
  [[nodiscard]] std::size_t endpoints_down() const;
  [[nodiscard]] const etcd_client_options& options() const { return options_; }
  /// Successful POST /v3/auth/authenticate calls so far (0 without a username).
  [[nodiscard]] std::uint64_t authentications() const { return authentications_.load(); }
  /// Forgets the current token so the next call authenticates again (tests).
  void drop_token();

  /// One request as the client sends it (exposed for tests): POST `path` with
  /// a JSON body to the endpoints in rotation; returns the decoded JSON text.
  [[nodiscard]] etcd_result<std::string> post(std::string_view path, const std::string& body, bool retry_on_timeout);

 private:
  /// One request to the endpoints in rotation with `token` (may be empty).
  [[nodiscard]] etcd_result<std::string> send(std::string_view path, const std::string& body, bool retry_on_timeout,
                                              const std::string& token);
  /// The current token, authenticating first when there is none.
  [[nodiscard]] etcd_result<std::string> token();
  /// Clears the token if it is still `used` (another thread may have renewed it).
  void drop_token(const std::string& used);

  etcd_client_options options_;
  std::atomic<std::size_t> preferred_{0};
  std::unique_ptr<std::atomic<bool>[]> down_;
  std::mutex auth_mu_;  ///< guards token_; held across an authentication
  std::string token_;
  std::atomic<std::uint64_t> authentications_{0};
};

}  // namespace vigil::coordination
