// check_prober: one prober for every kind of check (see socket_probers.hpp).
#include "detector/socket_probers.hpp"

namespace vigil::detector {

check_prober::check_prober(boost::asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
    : http_(io, clock, metrics), tcp_(io, clock, metrics), dns_(io, clock, metrics), postgres_(io, clock, metrics) {}

void check_prober::probe(const compiled_check& check, done_fn done) {
  switch (check.kind) {
    case check_kind::tcp:
      return tcp_.probe(check, std::move(done));
    case check_kind::dns:
      return dns_.probe(check, std::move(done));
    case check_kind::postgres:
      return postgres_.probe(check, std::move(done));
    case check_kind::http:
    case check_kind::grpc:
      break;
  }
  http_.probe(check, std::move(done));
}

}  // namespace vigil::detector
