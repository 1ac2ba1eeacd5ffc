#pragma once
// Probers for the checks that are not HTTP, each on the agent's io_context
// without blocking it, with the outcome vocabulary, phase timings and metrics
// of the HTTP prober:
//
//   tcp_prober       connect (name resolved on asio's resolver thread unless
//                    an IP literal), optional TLS with verification, optional
//                    payload sent and a reply that must contain `expect`.
//   dns_prober       one hand-built UDP query to the configured resolver;
//                    NXDOMAIN/SERVFAIL/no answer of the type are dns_error,
//                    an expected value missing is body_mismatch.
//   postgres_prober  libpq's non-blocking API (PQconnectStartParams,
//                    PQconnectPoll, PQsendQuery) with its socket waited on by
//                    asio; the first column of the first row is compared with
//                    `expect`. libpq resolves a host *name* synchronously in
//                    PQconnectPoll: give `hostaddr` (or an IP as host) to keep
//                    a slow resolver from holding the loop.
//   check_prober     the agent's prober: dispatches on compiled_check::kind
//                    (http and grpc go to http_prober).
//
// Phases (probe_result::phases): tcp fills dns (name resolution), connect,
// tls, first_byte (after sending, until the first reply byte); dns fills dns
// (query round trip); postgres fills connect (TCP, TLS and authentication:
// libpq does not separate them) and first_byte (query sent to result read).
// Thread affinity and destruction as for http_prober.

#include <boost/asio/io_context.hpp>
#include <memory>

#include "detector/http_prober.hpp"

namespace vigil::detector {

class probe_metrics;
class asio_probe_set;

class tcp_prober final : public prober {
 public:
  tcp_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics = nullptr);
  ~tcp_prober() override;
  tcp_prober(const tcp_prober&) = delete;
  tcp_prober& operator=(const tcp_prober&) = delete;
  void probe(const compiled_check& check, done_fn done) override;
  [[nodiscard]] std::size_t in_flight() const;
  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

class dns_prober final : public prober {
 public:
  dns_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics = nullptr);
  ~dns_prober() override;
  dns_prober(const dns_prober&) = delete;
  dns_prober& operator=(const dns_prober&) = delete;
  void probe(const compiled_check& check, done_fn done) override;
  [[nodiscard]] std::size_t in_flight() const;
  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

class postgres_prober final : public prober {
 public:
  postgres_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics = nullptr);
  ~postgres_prober() override;
  postgres_prober(const postgres_prober&) = delete;
  postgres_prober& operator=(const postgres_prober&) = delete;
  void probe(const compiled_check& check, done_fn done) override;
  [[nodiscard]] std::size_t in_flight() const;
  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// Every kind of check behind one prober: what the agent uses.
class check_prober final : public prober {
 public:
  check_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics = nullptr);
  void probe(const compiled_check& check, done_fn done) override;

 private:
  http_prober http_;
  tcp_prober tcp_;
  dns_prober dns_;
  postgres_prober postgres_;
};

}  // namespace vigil::detector
