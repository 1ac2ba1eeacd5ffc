#pragma once
// A small HTTP/1.1 server on Boost.Beast for the engine's API, status page and
// /metrics (docs/design.md, "HTTP API").
//
// Threading: everything runs on the io_context the server is given; handlers
// are called on that io_context's thread and must not block. Each connection
// is a session that owns its socket and buffers and keeps itself alive with
// shared_from_this (docs/design.md, "Asio discipline"). Limits: the request
// head (request line and headers) must arrive within `header_timeout` of the
// connection's first byte (of its accept, for a new one), or the connection is
// dropped (a slowloris); a head larger than `max_header_bytes` is answered 431,
// a malformed one 400, a body above `max_body_bytes` 413; the body must arrive
// and the response be written within `read_timeout`; a keep-alive connection
// may wait `idle_timeout` for its next request. At most `max_connections`
// sessions, and `max_connections_per_address` from one peer address: at a cap
// the longest-waiting idle connection is evicted for the newcomer
// (common/connection_table.hpp), and only when none may go is the newcomer
// closed at once.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace vigil::common {

struct http_request {
  std::string method;                          ///< "GET", "POST", ...
  std::string target;                          ///< as sent: "/v1/events?since=3"
  std::string path;                            ///< target without the query: "/v1/events"
  std::map<std::string, std::string> query;    ///< decoded query parameters
  std::map<std::string, std::string> headers;  ///< lower-cased names
  std::string body;
  std::string remote;  ///< peer address

  [[nodiscard]] std::string header(std::string_view lower_name) const;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  /// The request proved its sender (an agent batch with a valid signature):
  /// the server keeps this connection when it must shed others.
  bool authenticated = false;

  static http_response json(int status, std::string body);
  static http_response text(int status, std::string body);
  /// {"error": reason, "message": message}
  static http_response error(int status, std::string_view reason, std::string_view message);
};

using http_handler = std::function<http_response(const http_request&)>;

struct http_server_options {
  std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
  std::chrono::milliseconds read_timeout{10000};  ///< the body, and writing the response
  std::size_t max_connections = 512;
  std::size_t max_connections_per_address = 512;
  std::chrono::milliseconds header_timeout{5000};  ///< the whole request head
  std::chrono::milliseconds idle_timeout{10000};   ///< between keep-alive requests
  std::size_t max_header_bytes = std::size_t{16} * 1024;
};

/// Counters since start (any thread may read them).
struct http_server_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> evicted{0};          ///< idle connections closed for a newcomer
  std::atomic<std::uint64_t> refused{0};          ///< newcomers closed at once: nothing could be evicted
  std::atomic<std::uint64_t> header_timeouts{0};  ///< dropped: the head did not arrive in time
  std::atomic<std::uint64_t> bad_requests{0};     ///< answered 400 or 431
};

class http_server {
 public:
  /// Binds at once (throws std::system_error with the address on failure).
  /// `listen` is "host:port"; port 0 picks a free port (see port()).
  http_server(boost::asio::io_context& io, const std::string& listen, http_handler handler,
              http_server_options options = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::string base_url() const;  ///< "http://127.0.0.1:PORT"
  [[nodiscard]] const http_server_stats& stats() const;
  [[nodiscard]] std::size_t connections() const;  ///< open sessions now

  struct state;  ///< shared with sessions

 private:
  std::shared_ptr<state> state_;
};

/// Splits "host:port"; false on a malformed address.
[[nodiscard]] bool split_host_port(std::string_view listen, std::string& host, std::uint16_t& port);

}  // namespace vigil::common
