#include "common/http_server.hpp"

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <cctype>
#include <charconv>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "common/connection_table.hpp"
#include "common/descriptors.hpp"
#include "common/log.hpp"

namespace vigil::common {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void parse_query(std::string_view q, std::map<std::string, std::string>& out) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    const auto eq = pair.find('=');
    if (!pair.empty()) {
      out[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}

// Benign ends of a connection: the peer closed or went quiet.
bool benign(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout;
}

}  // namespace

std::string http_request::header(std::string_view lower_name) const {
  const auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string{} : it->second;
}

http_response http_response::json(int status, std::string body) {
  return http_response{status, "application/json", std::move(body), {}};
}

http_response http_response::text(int status, std::string body) {
  return http_response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

http_response http_response::error(int status, std::string_view reason, std::string_view message) {
  return json(status, nlohmann::json{{"error", reason}, {"message", message}}.dump());
}

struct http_server::state {
  asio::io_context& io;
  tcp::acceptor acceptor;
  http_handler handler;
  http_server_options options;
  http_server_stats stats;
  bool stopped = false;

  std::mutex mutex;  ///< guards table and closers (sessions run on their own strands)
  connection_table table;
  std::map<connection_table::id, std::function<void()>> closers;

  state(asio::io_context& ctx, http_handler h, http_server_options o)
      : io(ctx),
        acceptor(ctx),
        handler(std::move(h)),
        options(o),
        table(o.max_connections, o.max_connections_per_address) {}

  void waiting(connection_table::id c) {
    const std::lock_guard lock(mutex);
    table.waiting(c);
  }
  void busy(connection_table::id c, bool authenticated) {
    const std::lock_guard lock(mutex);
    table.busy(c);
    if (authenticated) table.authenticated(c);
  }
  void remove(connection_table::id c) {
    const std::lock_guard lock(mutex);
    table.remove(c);
    closers.erase(c);
  }
};

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<http_server::state> st, connection_table::id id)
      : stream_(std::move(socket)), state_(std::move(st)), id_(id) {}
  ~session() { state_->remove(id_); }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Registers the closer the server calls when it evicts this session.
  void run() {
    {
      const std::lock_guard lock(state_->mutex);
      if (!state_->table.contains(id_)) return;  // evicted before it started
      state_->closers[id_] = [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
          asio::post(self->stream_.get_executor(), [self] { self->shut(); });
        }
      };
    }
    read_head();
  }

 private:
  /// A keep-alive connection first waits (idle_timeout) for a byte of its next
  /// request; the head then has header_timeout, like a new connection's.
  void await_next() {
    if (buffer_.size() > 0) return read_head();  // pipelined: the next request is here
    stream_.expires_after(state_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->fail(ec, "idle");
      self->buffer_.commit(n);
      self->read_head();
    });
  }

  void read_head() {
    parser_.emplace();
    parser_->body_limit(state_->options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    stream_.expires_after(state_->options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (ec == beast::error::timeout) ++state_->stats.header_timeouts;
    if (ec) return on_read(ec);
    if (parser_->is_done()) return on_read(ec);
    stream_.expires_after(state_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return reply(http_response::error(413, "body_too_large", "request body exceeds the server's limit"), false);
    }
    if (ec == http::error::header_limit) {
      ++state_->stats.bad_requests;
      return reply(http_response::error(431, "header_too_large", "the request head exceeds the server's limit"), false);
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_version).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      ++state_->stats.bad_requests;
      return reply(http_response::error(400, "bad_request", "malformed request: " + ec.message()), false);
    }
    if (ec) return fail(ec, "read");
    auto& req = parser_->get();
    http_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    const auto qpos = r.target.find('?');
    r.path = r.target.substr(0, qpos);
    if (qpos != std::string::npos) parse_query(std::string_view(r.target).substr(qpos + 1), r.query);
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(req.body());
    beast::error_code rec;
    const auto ep = stream_.socket().remote_endpoint(rec);
    if (!rec) r.remote = ep.address().to_string();
    state_->busy(id_, false);
    http_response resp;
    try {
      resp = state_->handler(r);
    } catch (const std::exception& e) {
      logger("http")->error("handler for {} {} threw: {}", r.method, r.path, e.what());
      resp = http_response::error(500, "internal", "internal error; see the engine log");
    }
    if (resp.authenticated) state_->busy(id_, true);
    reply(std::move(resp), req.keep_alive());
  }

  void reply(http_response resp, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(resp.status));
    res->version(11);
    res->set(http::field::server, "vigil");
    res->set(http::field::content_type, resp.content_type);
    res->set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : resp.headers)
      res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    stream_.expires_after(state_->options.read_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec) return self->fail(ec, "write");
      if (!res->keep_alive()) return self->close();
      self->state_->waiting(self->id_);
      self->await_next();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  /// Evicted: the pending read or write ends with operation_aborted.
  void shut() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  void fail(beast::error_code ec, const char* what) {
    if (!benign(ec)) logger("http")->debug("session {}: {}", what, ec.message());
    close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::state> state_;
  connection_table::id id_;
};

void admit(const std::shared_ptr<http_server::state>& st, tcp::socket socket) {
  beast::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  const std::string address = ec ? std::string{} : ep.address().to_string();
  std::function<void()> close_victim;
  connection_table::admission a;
  {
    const std::lock_guard lock(st->mutex);
    a = st->table.admit(address);
    if (a.evicted) {
      if (const auto it = st->closers.find(*a.evicted); it != st->closers.end()) {
        close_victim = std::move(it->second);
        st->closers.erase(it);
      }
    }
  }
  if (a.evicted) ++st->stats.evicted;
  if (close_victim) close_victim();
  if (!a.admitted) {
    ++st->stats.refused;
    beast::error_code ignored;
    socket.close(ignored);  // nothing may go for it: shed at once rather than queue
    return;
  }
  ++st->stats.accepted;
  std::make_shared<session>(std::move(socket), st, a.conn)->run();
}

void do_accept(const std::shared_ptr<http_server::state>& st) {
  st->acceptor.async_accept(asio::make_strand(st->io), [st](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || st->stopped) return;
      logger("http")->warn("accept: {}", ec.message());
    } else if (!set_cloexec(socket.native_handle())) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      admit(st, std::move(socket));
    }
    if (!st->stopped) do_accept(st);
  });
}

}  // namespace

bool split_host_port(std::string_view listen, std::string& host, std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  host = std::string(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view p = listen.substr(colon + 1);
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || ptr != p.data() + p.size() || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

http_server::http_server(asio::io_context& io, const std::string& listen, http_handler handler,
                         http_server_options options)
    : state_(std::make_shared<state>(io, std::move(handler), options)) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(listen, host, port)) throw std::invalid_argument("bad listen address '" + listen + "'");
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("bad listen address '" + listen + "': " + ec.message());
  const tcp::endpoint ep{addr, port};
  auto& acc = state_->acceptor;
  acc.open(ep.protocol());
  set_cloexec(acc.native_handle());  // an exec plan step must not inherit the listening socket
  acc.set_option(asio::socket_base::reuse_address(true));
  acc.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + listen);
  acc.listen(asio::socket_base::max_listen_connections);
}

http_server::~http_server() {
  stop();
}

void http_server::start() {
  do_accept(state_);
}

void http_server::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ec;
  state_->acceptor.close(ec);
}

std::uint16_t http_server::port() const {
  return state_->acceptor.local_endpoint().port();
}

const http_server_stats& http_server::stats() const {
  return state_->stats;
}

std::size_t http_server::connections() const {
  const std::lock_guard lock(state_->mutex);
  return state_->table.size();
}

std::string http_server::base_url() const {
  const auto ep = state_->acceptor.local_endpoint();
  return "http://" + ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace vigil::common
