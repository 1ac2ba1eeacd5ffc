#pragma once
// Coordination between engine replicas (docs/ha.md): who leads, with which
// fencing token, how healthy the coordination service is, and the shared
// state every replica can read and only the current leader can write.
//
// One interface, two backends (common::coordination_config.backend):
//  - file_coordinator: the embedded single node. Always leader, fencing token
//    1, state in files under engine.state_dir.
//  - etcd_coordinator (coordination_etcd.hpp): 3 or 5 replicas share an etcd
//    3.4 cluster; leader election with the create-revision recipe and a local
//    monotonic step-down deadline.
//
// Keys are relative ("recommendation", "plan/<rec>/<step>"); each backend
// places them under its own root. Every write goes through the fencing guard:
// etcd applies it only while "<prefix>/leader" still carries the create
// revision this replica won with, so a deposed leader's write changes nothing.
//
// Threading: step() is called from one thread (coordination_runner's); the
// getters are safe from any thread and never block. The shared-state calls
// block for at most one etcd request timeout per endpoint tried: call them
// from a worker thread, not from the engine's io thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "approvals/jti_ledger.hpp"
#include "common/clock.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::coordination {

/// healthy: every endpoint answers. degraded: the service works but some
/// endpoint is down (one etcd member lost). lost: no quorum or unreachable —
/// nobody may act.
enum class coordination_health : std::uint8_t { healthy, degraded, lost };
[[nodiscard]] std::string_view to_string(coordination_health h);

/// Outcome of a guarded write.
enum class write_result : std::uint8_t {
  ok,           ///< applied under this replica's fencing token
  exists,       ///< only_if_absent, and the key already existed: nothing written
  fenced,       ///< not the leader (locally, or the token is no longer current): nothing written
  unavailable,  ///< coordination error; the outcome is unknown (a timed-out txn may have applied)
};
[[nodiscard]] std::string_view to_string(write_result r);

/// Thrown by reads when the shared state cannot be read (etcd unreachable or
/// without quorum). "Absent" is a std::nullopt, never this.
class coordination_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The keys the engine and executor share (relative to the backend's root).
namespace coordination_keys {
/// The leader's decision state (decision/continuity.hpp): open and lately
/// resolved incidents, the current recommendation, the cooldown and its
/// acknowledgement, in one JSON document so that they change together.
inline constexpr std::string_view decision_state = "decision";
inline constexpr std::string_view outbox_prefix = "outbox/";  ///< outbox/<page dedup key>
inline constexpr std::string_view plan_prefix = "plan/";      ///< plan/<recommendation id>/<step index>
[[nodiscard]] std::string plan_step(std::string_view recommendation_id, std::size_t step_index);
[[nodiscard]] std::string outbox(std::string_view dedup_key);
}  // namespace coordination_keys

struct coordination_status {
  std::string backend;  ///< "file" or "etcd"
  std::string replica_id;
  bool leader = false;  ///< is_leader() at the time of the call
  std::int64_t fencing_token = 0;
  coordination_health health = coordination_health::healthy;
  std::string leader_id;  ///< the replica holding the leader key as last seen; empty: none
  std::size_t endpoints_down = 0;
  std::string detail;           ///< the current state or the last error, for operators
  std::string last_transition;  ///< why leadership was last won or lost ("stepped down: ...")
};

class coordinator {
 public:
  virtual ~coordinator() = default;

  /// Advances election, keepalive and health by one step at `now` (read once
  /// by the caller). Blocking: a few etcd requests, each bounded.
  virtual void step(common::mono_time now) = 0;
  /// How often step() should run (etcd: min(lease_ttl / 6, 1 s)).
  [[nodiscard]] virtual std::chrono::milliseconds step_interval() const = 0;
  /// True while this replica holds leadership: it has won, its local deadline
  /// has not passed (checked against the clock on every call, so it turns
  /// false at the deadline even if step() is stuck) and health is not lost.
  [[nodiscard]] virtual bool is_leader() const = 0;
  /// The winning create revision of the leader key; 0 when not leader.
  [[nodiscard]] virtual std::int64_t fencing_token() const = 0;
  [[nodiscard]] virtual coordination_health health() const = 0;
  [[nodiscard]] virtual coordination_status status() const = 0;
  /// Gives up leadership now (graceful shutdown): the others may campaign at once.
  virtual void resign() = 0;

  /// Writes `value` at `key` if this replica leads (and, with
  /// `only_if_absent`, if the key does not exist yet: dedup / "step started").
  [[nodiscard]] virtual write_result put_guarded(std::string_view key, std::string_view value,
                                                 bool only_if_absent = false) = 0;
  [[nodiscard]] virtual write_result erase_guarded(std::string_view key) = 0;
  /// Throws coordination_unavailable when the state cannot be read.
  [[nodiscard]] virtual std::optional<std::string> get(std::string_view key) = 0;
  /// Every key starting with `prefix` → value; keys are returned relative
  /// (with the prefix). Throws coordination_unavailable.
  [[nodiscard]] virtual std::map<std::string, std::string> list(std::string_view prefix) = 0;
  /// The single-use approval ledger shared by every replica.
  [[nodiscard]] virtual approvals::jti_ledger& ledger() = 0;
  /// Publishes the URL this replica serves its API on, so that followers can
  /// forward operator requests (POST /v1/approvals) to the leader. Not fenced:
  /// membership is not a side effect. False when it could not be written.
  [[nodiscard]] virtual bool advertise(std::string_view url) {
    (void)url;
    return true;
  }
  /// The URL `replica_id` advertised; nullopt when unknown or unreadable.
  [[nodiscard]] virtual std::optional<std::string> replica_url(std::string_view replica_id) {
    (void)replica_id;
    return std::nullopt;
  }

  [[nodiscard]] write_result put_json_guarded(std::string_view key, const nlohmann::json& value,
                                              bool only_if_absent = false);
  /// nullopt when absent; throws coordination_unavailable, or
  /// std::runtime_error naming the key when the stored value is not JSON.
  [[nodiscard]] std::optional<nlohmann::json> get_json(std::string_view key);
  /// {"leader", "fencing_token", "coordination": {backend, health, replica_id,
  /// leader_id, endpoints_down, detail, last_transition}} for
  /// engine_hooks::extra_status.
  [[nodiscard]] nlohmann::json status_json() const;
};

/// Single node: always leader with fencing token 1; shared state is one file
/// per key under `dir` (written to a temporary file, fsync'd, renamed); the
/// ledger is a file_jti_ledger at `ledger_file`, opened on first use.
class file_coordinator final : public coordinator {
 public:
  /// Creates `dir` if needed; throws std::runtime_error naming it on I/O errors.
  file_coordinator(std::filesystem::path dir, std::filesystem::path ledger_file, std::string replica_id = "local");

  void step(common::mono_time) override {}
  [[nodiscard]] std::chrono::milliseconds step_interval() const override { return std::chrono::seconds(1); }
  [[nodiscard]] bool is_leader() const override { return true; }
  [[nodiscard]] std::int64_t fencing_token() const override { return 1; }
  [[nodiscard]] coordination_health health() const override { return coordination_health::healthy; }
  [[nodiscard]] coordination_status status() const override;
  void resign() override {}

  [[nodiscard]] write_result put_guarded(std::string_view key, std::string_view value,
                                         bool only_if_absent = false) override;
  [[nodiscard]] write_result erase_guarded(std::string_view key) override;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override;
  [[nodiscard]] std::map<std::string, std::string> list(std::string_view prefix) override;
  [[nodiscard]] approvals::jti_ledger& ledger() override;

 private:
  [[nodiscard]] std::filesystem::path path_of(std::string_view key) const;

  std::filesystem::path dir_;
  std::filesystem::path ledger_file_;
  std::string replica_id_;
  std::mutex mu_;
  std::unique_ptr<approvals::file_jti_ledger> ledger_;
};

}  // namespace vigil::coordination
