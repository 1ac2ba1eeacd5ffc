#pragma once
// Which connections an HTTP listener keeps when it is full (common/http_server,
// docs/design.md, "HTTP API"). Pure bookkeeping, no sockets: the server asks
// admit() for every accepted connection and does what it answers.
//
// A connection is either waiting for a request (just accepted, or idle
// between keep-alive requests: it may be a slowloris or an idle hog) or busy
// (its request was read and is being answered). When the listener is at its
// total cap, or the new connection's address is at its per-address cap, the
// table evicts the waiting connection that has waited longest (in that
// address, for the per-address cap) instead of refusing the newcomer: a
// client that is about to send its request is newer than an idle one. A
// connection that carried an authenticated request (an agent's batch) is
// never evicted for a newcomer; busy ones neither. With nothing evictable the
// newcomer is refused.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace vigil::common {

class connection_table {
 public:
  using id = std::uint64_t;

  struct admission {
    bool admitted = false;
    id conn = 0;                ///< the newcomer's id when admitted
    std::optional<id> evicted;  ///< close this one (already removed from the table)
  };

  connection_table(std::size_t max_total, std::size_t max_per_address);

  /// A connection from `address` was accepted.
  admission admit(const std::string& address);
  /// `c` now waits for a request (after its response was written).
  void waiting(id c);
  /// `c`'s request was read completely; not evictable until waiting() again.
  void busy(id c);
  /// `c` carried an authenticated request: kept whenever others can go.
  void authenticated(id c);
  /// `c` closed (no-op when it was evicted or is unknown).
  void remove(id c);

  [[nodiscard]] std::size_t size() const { return conns_.size(); }
  [[nodiscard]] std::size_t count(const std::string& address) const;
  [[nodiscard]] bool contains(id c) const { return conns_.contains(c); }

 private:
  struct conn {
    std::string address;
    std::uint64_t since = 0;  ///< order of the last time it started waiting
    bool waiting = true;
    bool trusted = false;
  };
  using key = std::pair<std::uint64_t, id>;  ///< (since, id): oldest first

  void index(id c, const conn& x);
  void unindex(id c, const conn& x);
  std::optional<id> oldest(const std::set<key>& s) const;

  std::size_t max_total_;
  std::size_t max_per_address_;
  std::uint64_t clock_ = 0;  ///< a counter, not time: only the order matters
  id next_id_ = 1;
  std::map<id, conn> conns_;
  std::set<key> evictable_;  ///< waiting and not trusted
  std::map<std::string, std::set<key>> evictable_by_address_;
  std::map<std::string, std::size_t> per_address_;
};

}  // namespace vigil::common
