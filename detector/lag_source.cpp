#include "detector/lag_source.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cmath>
#include <limits>

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;

class cloudwatch_lag final : public lag_source {
 public:
  cloudwatch_lag(common::replication_lag_config cfg, metric_source& src, const common::clock& clock)
      : cfg_(std::move(cfg)), src_(src), clock_(clock) {}

  lag_sample sample() override {
    const auto now = clock_.wall();
    aws::metric_query q{"lag", "AWS/RDS", cfg_.metric, {{"DBClusterIdentifier", cfg_.cluster}}, "Maximum", 60};
    auto r = src_.get_metric_data(cfg_.region, {q}, now - 5min, now);
    if (!r) return {now, std::nullopt, r.error().to_string()};
    for (const auto& m : *r) {
      if (m.id == "lag" && !m.points.empty()) {
        const auto& p = m.points.front();
        return {p.at, std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(p.value))), {}};
      }
    }
    return {now, std::nullopt, fmt::format("no {} datapoint for {} in the last 5 minutes", cfg_.metric, cfg_.cluster)};
  }
  std::string_view kind() const override { return "cloudwatch"; }

 private:
  common::replication_lag_config cfg_;
  metric_source& src_;
  const common::clock& clock_;
};

// One libpq connection, re-established after any failure.
class pg_connection {
 public:
  explicit pg_connection(std::string dsn, std::chrono::milliseconds timeout)
      : dsn_(std::move(dsn)), timeout_(timeout) {}
  ~pg_connection() { close(); }
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// The first row of a query (nullopt values = SQL NULL), or nullopt with *error set.
  std::optional<std::vector<std::optional<std::string>>> row(const char* sql, std::string* error) {
    auto all = rows(sql, error);
    if (!all) return std::nullopt;
    if (all->empty()) {
      *error = "query returned no row";
      return std::nullopt;
    }
    return std::move(all->front());
  }

  /// All rows (for aurora_global_db_status()).
  std::optional<std::vector<std::vector<std::optional<std::string>>>> rows(const char* sql, std::string* error) {
    if (!connect(error)) return std::nullopt;
    PGresult* res = PQexec(conn_, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      *error = first_line(PQresultErrorMessage(res));
      PQclear(res);
      if (PQstatus(conn_) != CONNECTION_OK) close();
      return std::nullopt;
    }
    std::vector<std::vector<std::optional<std::string>>> out;
    for (int r = 0; r < PQntuples(res); ++r) {
      auto& row = out.emplace_back();
      for (int i = 0; i < PQnfields(res); ++i) {
        if (PQgetisnull(res, r, i) != 0) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(PQgetvalue(res, r, i));
        }
      }
    }
    PQclear(res);
    return out;
  }

 private:
  static std::string first_line(const char* msg) {
    std::string s = msg == nullptr ? "" : msg;
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }

  bool connect(std::string* error) {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return true;
    close();
    const auto secs = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout_).count());
    const std::string connect_timeout = std::to_string(secs);
    const std::string options = fmt::format("-c statement_timeout={}", timeout_.count());
    // The DSN (a secret) is expanded as a conninfo string or URI; the keys
    // after it override it, so the timeouts always apply.
    const char* keys[] = {"dbname", "connect_timeout", "options", "application_name", nullptr};
    const char* values[] = {dsn_.c_str(), connect_timeout.c_str(), options.c_str(), "vigil-lag", nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn_) != CONNECTION_OK) {
      *error = "connect: " + first_line(PQerrorMessage(conn_));
      close();
      return false;
    }
    return true;
  }
  void close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  std::string dsn_;
  std::chrono::milliseconds timeout_;
  PGconn* conn_ = nullptr;
};

std::optional<double> to_number(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  try {
    return std::stod(*v);
  } catch (...) {
    return std::nullopt;
  }
}

class aurora_sql_lag final : public lag_source {
 public:
  aurora_sql_lag(common::replication_lag_config cfg, const common::clock& clock)
      : cfg_(std::move(cfg)), clock_(clock), conn_(cfg_.dsn, cfg_.timeout) {}

  lag_sample sample() override {
    std::string err;
    auto rows = conn_.rows(
        "select aws_region::text, rpo_lag_in_msec::float8, visibility_lag_in_msec::float8 "
        "from aurora_global_db_status()",
        &err);
    const auto now = clock_.wall();
    if (!rows) return {now, std::nullopt, err};
    for (const auto& r : *rows) {
      if (r.size() < 3 || !r[0] || *r[0] != cfg_.region) continue;
      auto ms = to_number(r[1]);
      if (!ms) ms = to_number(r[2]);
      if (!ms) return {now, std::nullopt, "aurora_global_db_status(): no lag reported for " + cfg_.region};
      return {now, std::chrono::milliseconds(std::llround(*ms)), {}};
    }
    return {now, std::nullopt, "aurora_global_db_status() has no row for region " + cfg_.region};
  }
  std::string_view kind() const override { return "aurora_sql"; }

 private:
  common::replication_lag_config cfg_;
  const common::clock& clock_;
  pg_connection conn_;
};

class postgres_standby_lag final : public lag_source {
 public:
  postgres_standby_lag(common::replication_lag_config cfg, const common::clock& clock)
      : cfg_(std::move(cfg)), clock_(clock), conn_(cfg_.dsn, cfg_.timeout) {}

  lag_sample sample() override {
    std::string err;
    // One statement, so both readings come from the same instant.
    auto row = conn_.row(
        "select pg_is_in_recovery(), "
        "case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0::float8 "
        "else extract(epoch from (now() - pg_last_xact_replay_timestamp()))::float8 * 1000 end",
        &err);
    const auto now = clock_.wall();
    if (!row) return {now, std::nullopt, err};
    if (!(*row)[0] || *(*row)[0] != "t") return {now, std::nullopt, "not a standby (pg_is_in_recovery() is false)"};
    const auto ms = to_number((*row)[1]);
    if (!ms) return {now, std::nullopt, "no transaction replayed yet (pg_last_xact_replay_timestamp() is null)"};
    return {now, std::chrono::milliseconds(std::llround(std::max(0.0, *ms))), {}};
  }
  std::string_view kind() const override { return "postgres_standby"; }

 private:
  common::replication_lag_config cfg_;
  const common::clock& clock_;
  pg_connection conn_;
};

}  // namespace

common::wire_lag to_wire(const lag_sample& s) {
  common::wire_lag w;
  w.at_ms = s.at.time_since_epoch().count();
  if (s.lag) w.lag_ms = s.lag->count();
  w.error = s.error;
  return w;
}

std::unique_ptr<lag_source> make_cloudwatch_lag_source(const common::replication_lag_config& cfg, metric_source& source,
                                                       const common::clock& clock) {
  return std::make_unique<cloudwatch_lag>(cfg, source, clock);
}

std::unique_ptr<lag_source> make_aurora_sql_lag_source(const common::replication_lag_config& cfg,
                                                       const common::clock& clock) {
  return std::make_unique<aurora_sql_lag>(cfg, clock);
}

std::unique_ptr<lag_source> make_postgres_standby_lag_source(const common::replication_lag_config& cfg,
                                                             const common::clock& clock) {
  return std::make_unique<postgres_standby_lag>(cfg, clock);
}

std::unique_ptr<lag_source> make_lag_source(const common::replication_lag_config& cfg, const common::clock& clock,
                                            metric_source* cw) {
  switch (cfg.source) {
    case common::lag_source::none:
      return nullptr;
    case common::lag_source::cloudwatch:
      return cw == nullptr ? nullptr : make_cloudwatch_lag_source(cfg, *cw, clock);
    case common::lag_source::aurora_sql:
      return make_aurora_sql_lag_source(cfg, clock);
    case common::lag_source::postgres_standby:
      return make_postgres_standby_lag_source(cfg, clock);
  }
  return nullptr;
}

lag_metrics::lag_metrics(prometheus::Registry& registry, const std::string& vantage)
    : lag_(&prometheus::BuildGauge()
                .Name("vigil_agent_replication_lag_seconds")
                .Help("Newest replication lag this agent measured (NaN while the source cannot be read)")
                .Register(registry)
                .Add({{"vantage", vantage}})),
      age_(&prometheus::BuildGauge()
                .Name("vigil_agent_replication_lag_sample_age_seconds")
                .Help("Age of the newest replication lag sample this agent measured")
                .Register(registry)
                .Add({{"vantage", vantage}})) {
  lag_->Set(std::numeric_limits<double>::quiet_NaN());
}

void lag_metrics::record(const lag_sample& s, common::wall_time now) {
  lag_->Set(s.lag ? std::chrono::duration<double>(*s.lag).count() : std::numeric_limits<double>::quiet_NaN());
  if (s.lag) last_at_ = s.at;
  update_age(now);
}

void lag_metrics::update_age(common::wall_time now) {
  age_->Set(last_at_ ? std::chrono::duration<double>(now - *last_at_).count()
                     : std::numeric_limits<double>::quiet_NaN());
}

}  // namespace vigil::detector
