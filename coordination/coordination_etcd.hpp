#pragma once
// etcd-backed coordination (docs/ha.md; docs/aws-notes.md, "etcd 3.4 JSON gateway").
//
// Election (the create-revision recipe, not /v3/election):
//   grant a lease of lease_ttl; txn "if create_revision(<prefix>/leader) == 0
//   then put <prefix>/leader = <replica id> with the lease". The create
//   revision the winner wrote is its fencing token.
// Holding it: one keepalive POST at a time, every lease_ttl / 3. The local
// deadline is (time the last successful keepalive was sent) + lease_ttl −
// lease_ttl / 3: with lease_ttl = 10 s, keepalives go out every 3.3 s and
// the replica stops acting 6.7 s after the last one that got through, 3.3 s
// before etcd can expire the lease and let another replica win. It steps down
// at once when a keepalive answers without a TTL (or TTL <= 0), when the
// leader key is gone or carries another create revision, and is_leader() is
// false while health is `lost`.
// Followers read the leader key every step and campaign when it is absent:
// a crashed leader is replaced after about lease_ttl + one step.
//
// Shared state lives under <prefix>/state/<key>; every write is a txn guarded
// by "create_revision(<prefix>/leader) == my fencing token". The jti ledger
// lives under <prefix>/jti/<jti>, each with its own lease.
//
// Metrics (registered once here): vigil_coordination_healthy (1 only when
// healthy), vigil_fencing_token (0 when not leader),
// vigil_coordination_endpoints_down, vigil_coordination_errors_total,
// vigil_coordination_leader_transitions_total. vigil_leader belongs to the
// engine, which sets it from is_leader(). Use one coordinator per registry.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coordination/coordination.hpp"
#include "coordination/etcd_client.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace vigil::coordination {

struct etcd_coordinator_options {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds lease_ttl{10000};
  std::string prefix = "/vigil/default";  ///< no trailing slash
  std::string replica_id;                 ///< unique per replica (hostname/region)
  /// Per request and endpoint; 0: clamp(lease_ttl / 5, 200 ms, 2 s).
  std::chrono::milliseconds request_timeout{0};
  etcd_security security{};  ///< TLS files and credentials; empty: plain http, no auth
};

/// Single-use jti ledger in etcd: txn "if create_revision(<prefix>/jti/<jti>)
/// == 0 then put" with a lease of (expires_at − now) + 5 min (at least 60 s),
/// so entries vanish once no token carrying them can verify. Independent of
/// leadership: any replica may consume, and exactly one consume of a jti wins.
/// try_consume throws std::runtime_error when etcd cannot decide (the caller
/// refuses the approval) and std::invalid_argument for a malformed jti. A txn
/// that timed out may still have recorded the jti: that token then stays
/// refused as a replay, and the operator signs a new one (fails closed).
class etcd_jti_ledger final : public approvals::jti_ledger {
 public:
  etcd_jti_ledger(etcd_client& client, std::string prefix, const common::clock& clock, std::string replica_id);
  [[nodiscard]] bool try_consume(std::string_view jti, common::wall_time expires_at) override;
  /// Deletes <prefix>/jti/<jti> if it still holds the record this replica
  /// wrote (txn compare value), so only our own reservation is released.
  void release(std::string_view jti, common::wall_time expires_at) override;

  /// Attempts per consume when etcd times out or is unreachable (each
  /// attempt is bounded by the client's request timeout per endpoint).
  static constexpr int ledger_attempts = 4;
  /// Reservations remembered for release(); past it, expired ones go first,
  /// then an arbitrary one (its release becomes a no-op: the token stays spent).
  static constexpr std::size_t max_remembered = 1024;

 private:
  struct reservation {
    std::string value;
    common::wall_time expires_at;
  };
  [[nodiscard]] std::string record(common::wall_time expires_at, std::string_view nonce) const;
  void remember(std::string_view jti, std::string value, common::wall_time expires_at);
  etcd_client& client_;
  std::string prefix_;
  const common::clock& clock_;
  std::string replica_id_;
  std::mutex mine_mutex_;
  std::map<std::string, reservation> mine_;
};

class etcd_coordinator final : public coordinator {
 public:
  /// Throws std::invalid_argument on empty endpoints / replica id or lease_ttl < 1 s.
  etcd_coordinator(etcd_coordinator_options options, const common::clock& clock, prometheus::Registry& registry);
  ~etcd_coordinator() override;

  void step(common::mono_time now) override;
  [[nodiscard]] std::chrono::milliseconds step_interval() const override;
  [[nodiscard]] bool is_leader() const override;
  [[nodiscard]] std::int64_t fencing_token() const override;
  [[nodiscard]] coordination_health health() const override;
  [[nodiscard]] coordination_status status() const override;
  void resign() override;

  [[nodiscard]] write_result put_guarded(std::string_view key, std::string_view value,
                                         bool only_if_absent = false) override;
  [[nodiscard]] write_result erase_guarded(std::string_view key) override;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override;
  [[nodiscard]] std::map<std::string, std::string> list(std::string_view prefix) override;
  [[nodiscard]] approvals::jti_ledger& ledger() override { return ledger_; }
  /// <prefix>/members/<replica id> = url (a plain put).
  [[nodiscard]] bool advertise(std::string_view url) override;
  [[nodiscard]] std::optional<std::string> replica_url(std::string_view replica_id) override;

  /// Writes guarded by an explicit token (tests: a deposed leader replaying
  /// its old token). put_guarded uses fencing_token().
  [[nodiscard]] write_result put_with_token(std::int64_t token, std::string_view key, std::string_view value,
                                            bool only_if_absent = false);
  [[nodiscard]] std::string leader_key() const { return options_.prefix + "/leader"; }
  [[nodiscard]] std::string state_key(std::string_view key) const;
  [[nodiscard]] etcd_client& client() { return client_; }
  /// The local step-down deadline of the current term (tests).
  [[nodiscard]] common::mono_time deadline() const;

 private:
  struct metrics;
  void campaign(common::mono_time now);
  void hold(common::mono_time now);
  void step_down(std::string why, bool revoke);
  void note_error(const etcd_error& e);
  void publish();
  [[nodiscard]] common::mono_time backoff_until() const;

  etcd_coordinator_options options_;
  const common::clock& clock_;
  etcd_client client_;
  etcd_jti_ledger ledger_;
  std::unique_ptr<metrics> metrics_;
  std::chrono::milliseconds margin_;
  std::chrono::milliseconds keepalive_every_;

  std::mutex step_mu_;     ///< serialises step() and resign(): one keepalive at a time
  mutable std::mutex mu_;  ///< guards everything below (step() writes, getters read)
  bool leader_ = false;
  std::int64_t token_ = 0;
  std::int64_t lease_ = 0;
  common::mono_time deadline_{};
  common::mono_time next_keepalive_{};
  common::mono_time next_probe_{};
  coordination_health health_ = coordination_health::lost;  ///< until the first step reached etcd
  std::string leader_id_;
  std::string detail_ = "not started";
  std::string last_transition_;
  /// After stepping down, wait a keepalive interval before campaigning again
  /// so that a healthier replica gets the first chance.
  common::mono_time no_campaign_before_{};
  bool step_failed_ = false;  ///< an essential request of the current step failed
};

}  // namespace vigil::coordination
