// dns checks: one UDP query (RFC 1035 section 4) to the configured resolver
// (see socket_probers.hpp).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/udp.hpp>
#include <random>

#include "common/descriptors.hpp"
#include "detector/asio_probe.hpp"
#include "detector/socket_probers.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
using asio::ip::udp;
using decision::outcome;

namespace {

constexpr std::size_t max_message = 4096;

std::uint16_t type_code(const std::string& t) {
  if (t == "AAAA") return 28;
  if (t == "CNAME") return 5;
  if (t == "TXT") return 16;
  if (t == "MX") return 15;
  if (t == "NS") return 2;
  return 1;  // A
}

std::string_view rcode_name(unsigned rcode) {
  static constexpr std::array<std::string_view, 6> names{"NOERROR",  "FORMERR", "SERVFAIL",
                                                         "NXDOMAIN", "NOTIMP",  "REFUSED"};
  return rcode < names.size() ? names.at(rcode) : "rcode";
}

std::string lower_name(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (s.ends_with(".")) s.pop_back();
  return s;
}

/// The question section: the name as labels, type, class IN.
std::string build_query(std::uint16_t id, const std::string& name, std::uint16_t type) {
  std::string q;
  auto u16 = [&q](unsigned v) {
    q.push_back(static_cast<char>((v >> 8) & 0xFF));
    q.push_back(static_cast<char>(v & 0xFF));
  };
  u16(id);
  u16(0x0100);  // standard query, recursion desired
  u16(1);       // QDCOUNT
  u16(0);
  u16(0);
  u16(0);
  std::string_view n = name;
  if (n.ends_with(".")) n.remove_suffix(1);
  while (!n.empty()) {
    const auto dot = n.find('.');
    const std::string_view label = n.substr(0, dot);
    q.push_back(static_cast<char>(label.size()));
    q.append(label);
    n = dot == std::string_view::npos ? std::string_view() : n.substr(dot + 1);
  }
  q.push_back('\0');
  u16(type);
  u16(1);  // IN
  return q;
}

/// A reader over one response; every read is bounds-checked (ok() turns false).
class dns_reader {
 public:
  explicit dns_reader(std::string_view m) : m_(m) {}
  [[nodiscard]] bool ok() const { return ok_; }
  std::size_t pos = 0;

  unsigned u8() {
    if (pos + 1 > m_.size()) return fail();
    return static_cast<unsigned char>(m_[pos++]);
  }
  unsigned u16() {
    const unsigned hi = u8();
    return (hi << 8) | u8();
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  /// A possibly compressed name starting at `pos`; moves pos past it.
  std::string name() {
    std::string out;
    std::size_t p = pos;
    bool jumped = false;
    for (int hops = 0; ok_ && hops < 64; ++hops) {
      if (p >= m_.size()) return fail(), out;
      const auto len = static_cast<unsigned char>(m_[p]);
      if (len == 0) {
        if (!jumped) pos = p + 1;
        return out.empty() ? "." : out;
      }
      if ((len & 0xC0) == 0xC0) {
        if (p + 1 >= m_.size()) return fail(), out;
        if (!jumped) pos = p + 2;
        jumped = true;
        p = ((len & 0x3FU) << 8) | static_cast<unsigned char>(m_[p + 1]);
        continue;
      }
      if (p + 1 + len > m_.size()) return fail(), out;
      out.append(m_.substr(p + 1, len)).push_back('.');
      p += 1 + len;
    }
    fail();
    return out;
  }
  std::string_view bytes(std::size_t n) {
    if (pos + n > m_.size()) return fail(), std::string_view();
    const auto v = m_.substr(pos, n);
    pos += n;
    return v;
  }

 private:
  unsigned fail() {
    ok_ = false;
    pos = m_.size();
    return 0;
  }
  std::string_view m_;
  bool ok_ = true;
};

/// One answer's data as text: an address, a name, TXT strings joined, "pref name" for MX.
std::string rdata_text(dns_reader& r, std::uint16_t type, std::size_t rdlen) {
  const std::size_t end = r.pos + rdlen;
  std::string out;
  if (type == 1 && rdlen == 4) {
    const auto b = r.bytes(4);
    std::array<char, INET_ADDRSTRLEN> buf{};
    ::inet_ntop(AF_INET, b.data(), buf.data(), buf.size());
    out = buf.data();
  } else if (type == 28 && rdlen == 16) {
    const auto b = r.bytes(16);
    std::array<char, INET6_ADDRSTRLEN> buf{};
    ::inet_ntop(AF_INET6, b.data(), buf.data(), buf.size());
    out = buf.data();
  } else if (type == 5 || type == 2) {
    out = lower_name(r.name());
  } else if (type == 15) {
    const unsigned pref = r.u16();
    out = std::to_string(pref) + " " + lower_name(r.name());
  } else if (type == 16) {
    while (r.ok() && r.pos < end) {
      const unsigned n = r.u8();
      out.append(r.bytes(n));
    }
  }
  r.pos = end;
  return out;
}

class dns_probe final : public asio_probe {
 public:
  dns_probe(asio::io_context& io, const common::clock& clock, const compiled_check& check, prober::done_fn done,
            probe_metrics* metrics, std::uint16_t id)
      : asio_probe(io, clock, check, std::move(done), metrics), cfg_(*check.dns), socket_(io), id_(id) {}

 protected:
  void start() override {
    phase_ = "waiting for the resolver";
    auto [host, port] = split_host_port(cfg_.resolver);
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (ec) return finish(outcome::internal, "resolver is not an IP address: " + cfg_.resolver);
    resolver_ = udp::endpoint(ip, static_cast<std::uint16_t>(std::stoi(port)));
    socket_.open(resolver_.protocol(), ec);
    if (!ec) common::set_cloexec(socket_.native_handle());
    // connect(): only the resolver's datagrams are delivered, and an ICMP port
    // unreachable comes back as connection_refused.
    if (!ec) socket_.connect(resolver_, ec);
    if (ec) return finish(outcome::internal, "cannot open a UDP socket: " + ec.message());
    query_ = build_query(id_, cfg_.name, type_code(cfg_.type));
    socket_.async_send(asio::buffer(query_), [self = self()](const boost::system::error_code& e, std::size_t) {
      if (self->finished()) return;
      if (e) return self->finish(outcome::connect_error, "send to " + self->cfg_.resolver + ": " + e.message());
      self->receive();
    });
  }

  void close() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  std::shared_ptr<dns_probe> self() { return std::static_pointer_cast<dns_probe>(shared_from_this()); }

  void receive() {
    socket_.async_receive(asio::buffer(buf_), [self = self()](const boost::system::error_code& e, std::size_t n) {
      if (self->finished()) return;
      if (e) {
        return self->finish(e == asio::error::connection_refused ? outcome::connect_refused : outcome::connect_error,
                            "resolver " + self->cfg_.resolver + ": " + e.message());
      }
      self->on_response(std::string_view(self->buf_.data(), n));
    });
  }

  void on_response(std::string_view msg) {
    dns_reader r(msg);
    const unsigned id = r.u16();
    const unsigned flags = r.u16();
    if (!r.ok() || id != id_ || (flags & 0x8000U) == 0) return receive();  // not our answer: keep waiting
    result_.phases.dns_ms = lap_ms();
    const unsigned qd = r.u16();
    const unsigned an = r.u16();
    r.u32();  // NSCOUNT, ARCOUNT
    if ((flags & 0x0200U) != 0) return finish(outcome::dns_error, "truncated answer (over UDP; TCP is not tried)");
    const unsigned rcode = flags & 0x0FU;
    if (rcode != 0) {
      return finish(outcome::dns_error, cfg_.name + " " + cfg_.type + ": " + std::string(rcode_name(rcode)) + " (" +
                                            std::to_string(rcode) + ")");
    }
    for (unsigned i = 0; i < qd && r.ok(); ++i) {
      r.name();
      r.u32();  // type, class
    }
    const std::uint16_t want = type_code(cfg_.type);
    std::vector<std::string> answers;
    for (unsigned i = 0; i < an && r.ok(); ++i) {
      r.name();
      const auto type = static_cast<std::uint16_t>(r.u16());
      r.u16();  // class
      r.u32();  // TTL
      const std::size_t rdlen = r.u16();
      if (!r.ok() || r.pos + rdlen > msg.size()) break;
      if (type != want) {
        r.pos += rdlen;  // e.g. the CNAME before the A records
        continue;
      }
      answers.push_back(rdata_text(r, type, rdlen));
    }
    if (!r.ok()) return finish(outcome::dns_error, "malformed answer from " + cfg_.resolver);
    if (answers.empty()) return finish(outcome::dns_error, cfg_.name + ": no " + cfg_.type + " record");
    judge(answers);
  }

  void judge(const std::vector<std::string>& answers) {
    const bool txt = cfg_.type == "TXT";
    for (const auto& e : cfg_.expect) {
      const std::string want = txt ? e : lower_name(e);
      const bool found = std::any_of(answers.begin(), answers.end(), [&](const std::string& a) {
        return txt ? a.find(want) != std::string::npos : a == want;
      });
      if (!found) {
        std::string got;
        for (const auto& a : answers) {
          if (!got.empty()) got += ", ";
          got += a;
        }
        std::string why = cfg_.name;
        why.append(" ").append(cfg_.type).append(" answers [").append(got).append("] lack \"").append(e).append("\"");
        return finish(outcome::body_mismatch, why);
      }
    }
    finish(outcome::ok, {});
  }

  const common::dns_check_config& cfg_;
  udp::socket socket_;
  udp::endpoint resolver_;
  std::uint16_t id_;
  std::string query_;
  std::array<char, max_message> buf_{};
};

}  // namespace

struct dns_prober::impl {
  impl(asio::io_context& i, const common::clock& c, probe_metrics* m)
      : io(i), clock(c), metrics(m), ids(std::random_device{}()) {}
  asio::io_context& io;
  const common::clock& clock;
  probe_metrics* metrics;
  std::mt19937 ids;  ///< query ids: unpredictable, so a stray datagram is not taken for the answer
  asio_probe_set running;
};

dns_prober::dns_prober(asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
    : impl_(std::make_unique<impl>(io, clock, metrics)) {}

dns_prober::~dns_prober() = default;

void dns_prober::probe(const compiled_check& check, done_fn done) {
  const auto id = static_cast<std::uint16_t>(impl_->ids() & 0xFFFFU);
  std::make_shared<dns_probe>(impl_->io, impl_->clock, check, std::move(done), impl_->metrics, id)->run(impl_->running);
}

std::size_t dns_prober::in_flight() const {
  return impl_->running.size();
}

}  // namespace vigil::detector
