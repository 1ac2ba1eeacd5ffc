#pragma once
// Replication-lag sources feeding the `replication_lag` gate (docs/aws-notes.md, "Replication lag sources"):
//
// - cloudwatch: AWS/RDS AuroraGlobalDBRPOLag (or AuroraGlobalDBReplicationLag),
//   milliseconds, dimension DBClusterIdentifier = the secondary cluster, in the
//   secondary's region. 1-minute resolution: `at` is the datapoint's time, so
//   the sample age shows the (up to ~60 s) staleness.
// - aurora_sql: on the Aurora PostgreSQL writer, `aurora_global_db_status()`;
//   the row of the secondary region (config replication_lag.region) gives
//   rpo_lag_in_msec (visibility_lag_in_msec when the RPO lag is null).
// - postgres_standby: on a streaming standby, 0 when everything received is
//   replayed (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()), else
//   now() - pg_last_xact_replay_timestamp().
//   Idle-primary caveat: with no writes on the primary, the last replayed
//   transaction gets older and now() - timestamp grows although nothing is
//   behind; the LSN comparison reports 0 in that case. The converse limit:
//   the timestamp moves only when a transaction commits, so while replay is
//   stuck behind a long idle gap the lag is measured from the last commit
//   that was replayed, which is what a failover would lose.
//
// Every source returns a sample, never throws: {at, lag or nullopt, error}.
// SQL sources keep one connection and reconnect after a failure; connect and
// statement timeouts come from replication_lag.timeout.
// Thread safety: one sample() at a time per source.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/batch.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "detector/cloudwatch_sampler.hpp"

namespace prometheus {
class Registry;
class Gauge;
}  // namespace prometheus

namespace vigil::detector {

struct lag_sample {
  common::wall_time at;                          ///< when the lag was true
  std::optional<std::chrono::milliseconds> lag;  ///< nullopt: unknown
  std::string error;                             ///< why it is unknown
};

[[nodiscard]] common::wire_lag to_wire(const lag_sample& s);

class lag_source {
 public:
  virtual ~lag_source() = default;
  [[nodiscard]] virtual lag_sample sample() = 0;
  [[nodiscard]] virtual std::string_view kind() const = 0;
};

[[nodiscard]] std::unique_ptr<lag_source> make_cloudwatch_lag_source(const common::replication_lag_config& cfg,
                                                                     metric_source& source, const common::clock& clock);
[[nodiscard]] std::unique_ptr<lag_source> make_aurora_sql_lag_source(const common::replication_lag_config& cfg,
                                                                     const common::clock& clock);
[[nodiscard]] std::unique_ptr<lag_source> make_postgres_standby_lag_source(const common::replication_lag_config& cfg,
                                                                           const common::clock& clock);
/// By cfg.source; nullptr for lag_source::none. `cw` is needed for cloudwatch.
[[nodiscard]] std::unique_ptr<lag_source> make_lag_source(const common::replication_lag_config& cfg,
                                                          const common::clock& clock, metric_source* cw);

/// The agent's own view: vigil_agent_replication_lag_seconds{vantage} (NaN
/// while unknown) and vigil_agent_replication_lag_sample_age_seconds{vantage},
/// registered once (docs/design.md, "Metrics registered once"). Distinct from the engine's
/// vigil_replication_lag_seconds (the sample the gate uses): in `vigil run`
/// both live in one registry and must not be confused or merged.
class lag_metrics {
 public:
  lag_metrics(prometheus::Registry& registry, const std::string& vantage);
  void record(const lag_sample& s, common::wall_time now);
  void update_age(common::wall_time now);  ///< call on every tick so the age keeps growing

 private:
  prometheus::Gauge* lag_;
  prometheus::Gauge* age_;
  std::optional<common::wall_time> last_at_;
};

}  // namespace vigil::detector
