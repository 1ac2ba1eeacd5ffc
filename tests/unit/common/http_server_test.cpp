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
