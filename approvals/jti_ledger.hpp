#pragma once
// The single-use ledger of approval token ids (PASETO does not stop replay by
// itself: docs/aws-notes.md, "PASETO v4.public and Ed25519"). An approval is accepted only after try_consume(jti)
// returned true, and never again for the same jti — across restarts too.
//
// Implementations: file_jti_ledger here (embedded single node); an etcd one
// (txn "create_revision(<prefix>/jti/<jti>) == 0 then put" with a lease) elsewhere.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/append_journal.hpp"
#include "common/clock.hpp"

namespace vigil::approvals {

class jti_ledger {
 public:
  virtual ~jti_ledger() = default;
  /// Records `jti` durably and returns true if it was never seen; false if it
  /// was (a replay). `expires_at` lets the ledger forget the entry once no
  /// token carrying it can verify any more. Throws std::runtime_error when it
  /// cannot record durably (the caller must then refuse the approval).
  [[nodiscard]] virtual bool try_consume(std::string_view jti, common::wall_time expires_at) = 0;
  /// Un-spends a jti this ledger consumed (try_consume returned true) whose
  /// approval the decision core then refused: a refused token is not spent,
  /// so the operator's retry is not a replay. While it was reserved, a
  /// concurrent use of the same jti (another replica) was a replay; only one
  /// use is ever accepted. Best effort: throws std::runtime_error when it
  /// cannot, and the jti stays spent (fails closed: sign a new token). The
  /// default keeps it spent.
  virtual void release(std::string_view jti, common::wall_time expires_at) {
    (void)jti;
    (void)expires_at;
  }
};

/// The file_jti_ledger's name inside engine.state_dir.
inline constexpr std::string_view jti_ledger_file_name = "jti.ledger";

/// The cutoff for compaction at `now`: a token whose exp is before it can no
/// longer verify (the verifier refuses now > exp + max_skew), with an hour of
/// margin for a clock stepped back between two starts.
[[nodiscard]] common::wall_time forget_before_for(common::wall_time now, std::chrono::milliseconds max_skew);

/// jti ids the ledgers accept: 1..128 of [A-Za-z0-9._:-] (no spaces, no newlines).
[[nodiscard]] bool valid_jti(std::string_view jti);

/// Append-only text file "<expires_at_ms> <jti>\n", one fsync'd line per
/// consumed jti, and "release <jti>\n" for one released after a refusal. Opening it takes an exclusive flock (a second
/// engine on the same state directory fails fast), reads every complete line and cuts off a torn last line (a write
/// that never returned, so never accepted). Entries that expired before `forget_before` are dropped by compact(), which
/// writes a new file and renames it over the old one.
///
/// Thread-safe: every call takes an internal mutex.
class file_jti_ledger final : public jti_ledger {
 public:
  /// Opens or creates `file` (its directory must exist). Throws
  /// std::runtime_error naming the file on I/O errors or when it is locked.
  /// With `forget_before`, compacts at once (the engine passes
  /// forget_before_for(now, max_skew) at start), so the file stays small
  /// however long the engine runs between restarts.
  explicit file_jti_ledger(std::filesystem::path file, std::optional<common::wall_time> forget_before = std::nullopt);

  [[nodiscard]] bool try_consume(std::string_view jti, common::wall_time expires_at) override;
  /// Appends "release <jti>" (fsync'd) and forgets the jti.
  void release(std::string_view jti, common::wall_time expires_at) override;
  /// Drops entries with expires_at < forget_before (pass now - max_skew).
  void compact(common::wall_time forget_before);
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mu_;
  common::append_journal journal_;
  std::unordered_map<std::string, std::int64_t> seen_;  ///< jti -> expires_at (ms since epoch)
};

}  // namespace vigil::approvals
