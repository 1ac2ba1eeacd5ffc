#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace vigil::common {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;

struct reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

reply request(std::uint16_t port, http::verb verb, const std::string& target, const std::string& body = {}) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return {res.result_int(), res.body(), std::string(res[http::field::content_type])};
}

class http_server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    http_server_options opts;
    opts.max_body_bytes = 1024;
    server_ = std::make_unique<http_server>(
        io_, "127.0.0.1:0",
        [this](const http_request& r) {
          last_ = r;
          if (r.path == "/throw") throw std::runtime_error("boom");
          if (r.path == "/echo") return http_response::text(200, r.method + " " + r.body);
          return http_response::error(404, "not_found", "no route for " + r.path);
        },
        opts);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }

  asio::io_context io_;
  std::unique_ptr<http_server> server_;
  std::thread thread_;
  http_request last_;
};

TEST_F(http_server_test, serves_and_parses_query_and_headers) {
  ASSERT_NE(server_->port(), 0);
  const auto r = request(server_->port(), http::verb::post, "/echo?since=3&name=a%20b", "hello");
  EXPECT_EQ(r.status, 200U);
  EXPECT_EQ(r.body, "POST hello");
  EXPECT_EQ(last_.path, "/echo");
  EXPECT_EQ(last_.query.at("since"), "3");
  EXPECT_EQ(last_.query.at("name"), "a b");
  EXPECT_EQ(last_.header("host"), "127.0.0.1");
  EXPECT_EQ(last_.remote, "127.0.0.1");
}

TEST_F(http_server_test, unknown_route_is_a_json_error) {
  const auto r = request(server_->port(), http::verb::get, "/nope");
  EXPECT_EQ(r.status, 404U);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"error\":\"not_found\""), std::string::npos);
}

TEST_F(http_server_test, oversized_body_is_413) {
  const auto r = request(server_->port(), http::verb::post, "/echo", std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413U);
}

TEST_F(http_server_test, handler_exception_is_500_and_server_survives) {
  EXPECT_EQ(request(server_->port(), http::verb::get, "/throw").status, 500U);
  EXPECT_EQ(request(server_->port(), http::verb::post, "/echo", "again").body, "POST again");
}

// --- limits: head deadline, malformed heads, connection caps -------------------

/// A server with `opts` on its own io thread; /agent answers as an
/// authenticated request, everything else 200.
class limited_server {
 public:
  explicit limited_server(http_server_options opts) {
    server_ = std::make_unique<http_server>(
        io_, "127.0.0.1:0",
        [](const http_request& r) {
          auto resp = http_response::text(200, "ok " + r.path);
          resp.authenticated = r.path == "/agent";
          return resp;
        },
        opts);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~limited_server() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  limited_server(const limited_server&) = delete;
  limited_server& operator=(const limited_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] const http_server_stats& stats() const { return server_->stats(); }

 private:
  asio::io_context io_;
  std::unique_ptr<http_server> server_;
  std::thread thread_;
};

/// A blocking client socket that sends raw bytes.
struct raw_client {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  explicit raw_client(std::uint16_t port) { sock.connect({asio::ip::make_address("127.0.0.1"), port}); }
  bool send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  /// Everything until the server closes.
  std::string read_all() {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      const auto n = sock.read_some(asio::buffer(buf), ec);
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }
  /// One response on a kept-alive connection.
  unsigned get(const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(sock, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    return res.result_int();
  }
  /// True once the server closed the connection (reads EOF or a reset).
  bool closed_by_server() {
    boost::system::error_code ec;
    char c = 0;
    sock.read_some(asio::buffer(&c, 1), ec);
    return static_cast<bool>(ec);
  }
};

TEST(http_server_limits, a_slowloris_is_dropped_before_its_head_completes) {
  http_server_options o;
  o.header_timeout = std::chrono::milliseconds(500);
  limited_server s(o);
  raw_client c(s.port());
  const std::string head = "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(60, 'p') + "\r\n\r\n";
  std::size_t sent = 0;
  for (; sent < head.size(); ++sent) {  // one byte every 100 ms: ~9 s for the head
    if (!c.send(head.substr(sent, 1))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (s.stats().header_timeouts.load() > 0) break;
  }
  EXPECT_LT(sent, head.size());
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(s.stats().header_timeouts.load(), 1U);
  EXPECT_EQ(request(s.port(), http::verb::get, "/after").status, 200U);  // others are still served
}

TEST(http_server_limits, a_malformed_request_line_is_400) {
  limited_server s({});
  raw_client c(s.port());
  ASSERT_TRUE(c.send("NOT A REQUEST\r\n\r\n"));
  const auto answer = c.read_all();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_NE(answer.find("bad_request"), std::string::npos);
  EXPECT_EQ(s.stats().bad_requests.load(), 1U);
}

TEST(http_server_limits, a_malformed_header_is_400) {
  limited_server s({});
  raw_client c(s.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"));
  EXPECT_TRUE(c.read_all().starts_with("HTTP/1.1 400"));
}

TEST(http_server_limits, a_head_too_large_is_431) {
  http_server_options o;
  o.max_header_bytes = 2048;
  limited_server s(o);
  raw_client c(s.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n"));
  const auto answer = c.read_all();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 431")) << answer.substr(0, 200);
  EXPECT_NE(answer.find("header_too_large"), std::string::npos);
}

TEST(http_server_limits, at_the_cap_the_oldest_idle_connection_is_evicted) {
  http_server_options o;
  o.max_connections = 3;
  limited_server s(o);
  raw_client idle1(s.port());
  raw_client idle2(s.port());
  raw_client idle3(s.port());
  // A fourth client is served; the oldest idle connection made room for it.
  EXPECT_EQ(request(s.port(), http::verb::get, "/v1/observations").status, 200U);
  EXPECT_TRUE(idle1.closed_by_server());
  EXPECT_GE(s.stats().evicted.load(), 1U);
  EXPECT_EQ(s.stats().refused.load(), 0U);
}

TEST(http_server_limits, an_authenticated_connection_is_kept_over_idle_ones) {
  http_server_options o;
  o.max_connections = 2;
  limited_server s(o);
  raw_client agent(s.port());
  ASSERT_EQ(agent.get("/agent"), 200U);  // kept alive, authenticated, now the oldest waiting
  raw_client idle(s.port());
  EXPECT_EQ(request(s.port(), http::verb::get, "/status").status, 200U);
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_EQ(agent.get("/agent"), 200U);  // still open
}

TEST(http_server_limits, the_per_address_cap_holds_one_peer_back) {
  http_server_options o;
  o.max_connections = 100;
  o.max_connections_per_address = 2;
  limited_server s(o);
  raw_client idle1(s.port());
  raw_client idle2(s.port());
  EXPECT_EQ(request(s.port(), http::verb::get, "/x").status, 200U);
  EXPECT_TRUE(idle1.closed_by_server());
  EXPECT_EQ(s.stats().evicted.load(), 1U);
}

TEST(http_server_address, split_host_port) {
  std::string host;
  std::uint16_t port = 0;
  EXPECT_TRUE(split_host_port("127.0.0.1:9470", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9470);
  EXPECT_TRUE(split_host_port("[::1]:80", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(split_host_port("127.0.0.1", host, port));
  EXPECT_FALSE(split_host_port("127.0.0.1:99999", host, port));
  EXPECT_FALSE(split_host_port("h:12x", host, port));
}

}  // namespace
}  // namespace vigil::common
