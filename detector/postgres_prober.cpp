// postgres checks: libpq's non-blocking connect and query, socket waited on by
// asio (see socket_probers.hpp).
#include <libpq-fe.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "detector/asio_probe.hpp"
#include "detector/socket_probers.hpp"

namespace vigil::detector {

namespace asio = boost::asio;
using decision::outcome;

namespace {

std::string trimmed_error(const PGconn* conn) {
  std::string e = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!e.empty() && (e.back() == '\n' || e.back() == ' '))
    e.pop_back();
  return e;
}

/// libpq reports connection failures as text only.
outcome connect_failure(const std::string& e) {
  if (e.find("Connection refused") != std::string::npos) return outcome::connect_refused;
  if (e.find("could not translate host name") != std::string::npos) return outcome::dns_error;
  if (e.find("SSL") != std::string::npos || e.find("certificate") != std::string::npos) return outcome::tls_error;
  if (e.find("timeout expired") != std::string::npos) return outcome::timeout;
  return outcome::connect_error;
}

class postgres_probe final : public asio_probe {
 public:
  postgres_probe(asio::io_context& io, const common::clock& clock, const compiled_check& check, prober::done_fn done,
                 probe_metrics* metrics)
      : asio_probe(io, clock, check, std::move(done), metrics), cfg_(*check.postgres), socket_(io) {}

  ~postgres_probe() override {
    release_socket();
    if (conn_ != nullptr) PQfinish(conn_);
  }
  postgres_probe(const postgres_probe&) = delete;
  postgres_probe& operator=(const postgres_probe&) = delete;

 protected:
  void start() override {
    phase_ = "connecting";
    // expand_dbname: `dsn` may be a key=value string or a postgresql:// URI;
    // what it sets overrides the application_name before it.
    const std::array<const char*, 3> keys{"application_name", "dbname", nullptr};
    const std::array<const char*, 3> values{"vigil-probe", cfg_.dsn.c_str(), nullptr};
    conn_ = PQconnectStartParams(keys.data(), values.data(), 1);
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
      const std::string e = trimmed_error(conn_);
      return finish(connect_failure(e), "connect: " + e);
    }
    poll_connect(PGRES_POLLING_WRITING);
  }

  void close() override {
    release_socket();
    if (conn_ != nullptr) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
  }

 private:
  std::shared_ptr<postgres_probe> self() { return std::static_pointer_cast<postgres_probe>(shared_from_this()); }

  /// The descriptor belongs to libpq: asio only waits on it, never closes it.
  void release_socket() {
    if (socket_.is_open()) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      socket_.release();
    }
  }

  /// Waits until libpq's socket (which may change while connecting: several
  /// hosts, SSL then plain) is readable or writable, then calls `next`.
  template <typename F>
  void wait(bool for_read, F next) {
    const int fd = PQsocket(conn_);
    if (fd < 0) return finish(outcome::connect_error, "libpq has no socket: " + trimmed_error(conn_));
    // Registered afresh every time: a socket libpq closed and reopened may
    // come back with the same number, which the reactor would no longer watch.
    release_socket();
    boost::system::error_code ec;
    socket_.assign(fd, ec);
    if (ec) return finish(outcome::internal, "cannot watch the libpq socket: " + ec.message());
    socket_.async_wait(
        for_read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
        [self = self(), next](const boost::system::error_code& e) {
          if (self->finished() || e == asio::error::operation_aborted) return;
          next(*self);
        });
  }

  void poll_connect(PostgresPollingStatusType st) {
    switch (st) {
      case PGRES_POLLING_READING:
        return wait(true, [](postgres_probe& p) { p.poll_connect(PQconnectPoll(p.conn_)); });
      case PGRES_POLLING_WRITING:
        return wait(false, [](postgres_probe& p) { p.poll_connect(PQconnectPoll(p.conn_)); });
      case PGRES_POLLING_OK:
        return send_query();
      default: {  // PGRES_POLLING_FAILED
        result_.phases.connect_ms = lap_ms();
        const std::string e = trimmed_error(conn_);
        return finish(connect_failure(e), "connect: " + e);
      }
    }
  }

  void send_query() {
    result_.phases.connect_ms = lap_ms();
    phase_ = "running the query";
    if (PQsetnonblocking(conn_, 1) != 0 || PQsendQuery(conn_, cfg_.query.c_str()) == 0) {
      return finish(outcome::connect_error, "send query: " + trimmed_error(conn_));
    }
    flush();
  }

  void flush() {
    const int f = PQflush(conn_);
    if (f < 0) return finish(outcome::connect_error, "send query: " + trimmed_error(conn_));
    if (f == 1) return wait(false, [](postgres_probe& p) { p.flush(); });
    wait(true, [](postgres_probe& p) { p.read_results(); });
  }

  void read_results() {
    if (PQconsumeInput(conn_) == 0) return finish(outcome::connect_error, "read result: " + trimmed_error(conn_));
    while (PQisBusy(conn_) == 0) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) return judge();
      take(res);
      PQclear(res);
    }
    wait(true, [](postgres_probe& p) { p.read_results(); });
  }

  /// Keeps what the first result says; later results (a multi-statement query) only count when they fail.
  void take(const PGresult* res) {
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
      if (error_.empty()) {
        error_ = PQresultErrorMessage(res);
        while (!error_.empty() && error_.back() == '\n')
          error_.pop_back();
        if (error_.empty()) error_ = PQresStatus(st);
      }
      return;
    }
    if (seen_result_) return;
    seen_result_ = true;
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0) {
      value_ = PQgetisnull(res, 0, 0) != 0 ? std::optional<std::string>() : std::string(PQgetvalue(res, 0, 0));
      has_row_ = true;
    }
  }

  void judge() {
    result_.phases.first_byte_ms = lap_ms();
    if (!error_.empty()) return finish(outcome::body_mismatch, "query failed: " + error_);
    if (!cfg_.expect) return finish(outcome::ok, {});
    if (!has_row_) return finish(outcome::body_mismatch, "query returned no row, expected \"" + *cfg_.expect + "\"");
    if (!value_) return finish(outcome::body_mismatch, "query returned NULL, expected \"" + *cfg_.expect + "\"");
    if (*value_ != *cfg_.expect) {
      return finish(outcome::body_mismatch, "query returned \"" + *value_ + "\", expected \"" + *cfg_.expect + "\"");
    }
    finish(outcome::ok, {});
  }

  const common::postgres_check_config& cfg_;
  PGconn* conn_ = nullptr;
  asio::posix::stream_descriptor socket_;
  std::string error_;
  std::optional<std::string> value_;
  bool has_row_ = false;
  bool seen_result_ = false;
};

}  // namespace

struct postgres_prober::impl {
  impl(asio::io_context& i, const common::clock& c, probe_metrics* m) : io(i), clock(c), metrics(m) {}
  asio::io_context& io;
  const common::clock& clock;
  probe_metrics* metrics;
  asio_probe_set running;
};

postgres_prober::postgres_prober(asio::io_context& io, const common::clock& clock, probe_metrics* metrics)
    : impl_(std::make_unique<impl>(io, clock, metrics)) {}

postgres_prober::~postgres_prober() = default;

void postgres_prober::probe(const compiled_check& check, done_fn done) {
  std::make_shared<postgres_probe>(impl_->io, impl_->clock, check, std::move(done), impl_->metrics)
      ->run(impl_->running);
}

std::size_t postgres_prober::in_flight() const {
  return impl_->running.size();
}

}  // namespace vigil::detector
