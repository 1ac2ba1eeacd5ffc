// tcp checks: connect, optional TLS, optional send and expect (see socket_probers.hpp).
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <map>

#include "detector/asio_probe.hpp"
#include "detector/curl_easy.hpp"
#include "detector/socket_probers.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using decision::outcome;

namespace {

outcome connect_outcome(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return outcome::connect_refused;
  if (ec == asio::error::timed_out) return outcome::timeout;
  return outcome::connect_error;
}

std::string tls_failure(const boost::system::error_code& ec, SSL* ssl) {
  std::string d = "TLS handshake failed: " + ec.message();
  if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK) {
    d += " (certificate: ";
    d += X509_verify_cert_error_string(v);
    d += ")";
  }
  return d;
}

class tcp_probe final : public asio_probe {
 public:
  tcp_probe(asio::io_context& io, const common::clock& clock, const compiled_check& check, prober::done_fn done,
            probe_metrics* metrics, ssl::context* tls)
      : asio_probe(io, clock, check, std::move(done), metrics),
        cfg_(*check.tcp),
        resolver_(io),
        stream_(io, tls != nullptr ? *tls : plain_context()) {}

 protected:
  void start() override {
    arm_deadline(check_.connect_timeout);
    auto [host, port] = split_host_port(cfg_.address);
    host_ = host;
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (!ec) {
      const tcp::endpoint ep(ip, static_cast<std::uint16_t>(std::stoi(port)));
      return connect(std::vector<tcp::endpoint>{ep});
    }
    phase_ = "resolving";
    resolver_.async_resolve(
        host, port, [self = self()](const boost::system::error_code& e, const tcp::resolver::results_type& r) {
          if (self->finished()) return;
          self->result_.phases.dns_ms = self->lap_ms();
          if (e) return self->finish(outcome::dns_error, "cannot resolve " + self->host_ + ": " + e.message());
          self->connect(std::vector<tcp::endpoint>(r.begin(), r.end()));
        });
  }

  void close() override {
    resolver_.cancel();
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);  // no TLS close_notify: the probe is over either way
  }

 private:
  std::shared_ptr<tcp_probe> self() { return std::static_pointer_cast<tcp_probe>(shared_from_this()); }

  static ssl::context& plain_context() {
    static ssl::context unused(ssl::context::tls_client);  // a plain stream never uses it
    return unused;
  }

  void connect(const std::vector<tcp::endpoint>& eps) {
    phase_ = "connecting";
    asio::async_connect(
        stream_.next_layer(), eps, [self = self()](const boost::system::error_code& ec, const tcp::endpoint&) {
          if (self->finished()) return;
          self->result_.phases.connect_ms = self->lap_ms();
          if (ec) return self->finish(connect_outcome(ec), "connect to " + self->cfg_.address + ": " + ec.message());
          self->arm_deadline(self->check_.timeout);
          if (self->cfg_.tls) return self->handshake();
          self->send();
        });
  }

  void handshake() {
    phase_ = "in the TLS handshake";
    const std::string name = cfg_.server_name.empty() ? host_ : cfg_.server_name;
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    if (ec) {  // SNI: names only (SSL_set_tlsext_host_name is a macro with a C cast)
      SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
    }
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification(name));
    stream_.async_handshake(ssl::stream_base::client, [self = self()](const boost::system::error_code& e) {
      if (self->finished()) return;
      self->result_.phases.tls_ms = self->lap_ms();
      if (e) return self->finish(outcome::tls_error, tls_failure(e, self->stream_.native_handle()));
      if (auto na = curl::ssl_chain_not_after(self->stream_.native_handle())) {
        self->result_.cert_not_after = na;
        self->result_.cert_left = std::chrono::floor<std::chrono::seconds>(*na - self->clock_.wall());
      }
      self->send();
    });
  }

  template <typename F>
  void with_stream(F&& f) {
    if (cfg_.tls) {
      f(stream_);
    } else {
      f(stream_.next_layer());
    }
  }

  void send() {
    if (cfg_.send.empty()) return read_reply();
    phase_ = "sending";
    with_stream([this](auto& s) {
      asio::async_write(s, asio::buffer(cfg_.send), [self = self()](const boost::system::error_code& ec, std::size_t) {
        if (self->finished()) return;
        if (ec) return self->finish(outcome::connect_error, "send: " + ec.message());
        self->read_reply();
      });
    });
  }

  void read_reply() {
    if (cfg_.expect.empty()) return finish(outcome::ok, {});
    phase_ = "waiting for the expected reply";
    lap_ms();  // first_byte counts from here
    read_more();
  }

  void read_more() {
    with_stream([this](auto& s) {
      s.async_read_some(asio::buffer(chunk_),
                        [self = self()](const boost::system::error_code& ec, std::size_t n) { self->on_read(ec, n); });
    });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (finished()) return;
    if (reply_.empty() && n > 0) result_.phases.first_byte_ms = lap_ms();
    const std::size_t keep = std::min(n, cfg_.read_limit - reply_.size());
    reply_.append(chunk_.data(), keep);
    result_.body_bytes = reply_.size();
    if (reply_.find(cfg_.expect) != std::string::npos) return finish(outcome::ok, {});
    if (keep < n || reply_.size() >= cfg_.read_limit) {
      return finish(outcome::body_too_large,
                    "read " + std::to_string(reply_.size()) + " bytes (read_limit) without finding the expected reply");
    }
    if (ec) {
      const bool closed = ec == asio::error::eof || ec == ssl::error::stream_truncated;
      return finish(closed ? outcome::body_mismatch : outcome::connect_error,
                    (closed ? std::string("connection closed") : "read: " + ec.message()) + " after " +
                        std::to_string(reply_.size()) + " bytes without the expected reply (got " + quoted_prefix() +
                        ")");
    }
    read_more();
  }

  /// The start of the reply, printable, for details.
  [[nodiscard]] std::string quoted_prefix() const {
    std::string out = "\"";
    for (const char c : reply_.substr(0, 64))
      out += (c >= 0x20 && c < 0x7F) ? c : '.';
    return out + (reply_.size() > 64 ? "...\"" : "\"");
  }

  const common::tcp_check_config& cfg_;
  std::string host_;
  tcp::resolver resolver_;
  ssl::stream<tcp::socket> stream_;
  std::array<char, 4096> chunk_{};
  std::string reply_;
};

}  // namespace

struct tcp_prober::impl {
  impl(asio::io_context& i, const common::clock& c, probe_metrics* m) : io(i), clock(c), metrics(m) {}
  asio::io_context& io;
  const common::clock& clock;
  probe_metrics* metrics;
  /// One TLS context per CA bundle ("" = the system's): loading the system
  /// store costs milliseconds, so not once per probe.
  std::map<std::string, std::unique_ptr<ssl::context>> tls;
  asio_probe_set running;  ///< last: destroyed (abandoning probes) before the contexts

  ssl::context& context_for(const std::string& ca_file) {
    auto& ctx = tls[ca_file];
    if (!ctx) {
      ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      if (ca_file.empty()) {
        ctx->set_default_verify_paths();
      } else {
        boost::system::error_code ignored;  // a bad bundle shows as a verification failure
        ctx->load_verify_file(ca_file, ignored);
      }
    }
    return *ctx;
  }
};

tcp_prober::tcp_prober(asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
    : impl_(std::make_unique<impl>(io, clock, metrics)) {}

tcp_prober::~tcp_prober() = default;

void tcp_prober::probe(const compiled_check& check, done_fn done) {
  ssl::context* tls = check.tcp->tls ? &impl_->context_for(check.tcp->ca_file) : nullptr;
  std::make_shared<tcp_probe>(impl_->io, impl_->clock, check, std::move(done), impl_->metrics, tls)
      ->run(impl_->running);
}

std::size_t tcp_prober::in_flight() const {
  return impl_->running.size();
}

}  // namespace vigil::detector
