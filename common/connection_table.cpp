#include "common/connection_table.hpp"

#include <algorithm>

namespace vigil::common {

connection_table::connection_table(std::size_t max_total, std::size_t max_per_address)
    : max_total_(std::max<std::size_t>(1, max_total)),
      max_per_address_(std::clamp<std::size_t>(max_per_address, 1, std::max<std::size_t>(1, max_total))) {}

void connection_table::index(id c, const conn& x) {
  if (!x.waiting || x.trusted) return;
  evictable_.insert({x.since, c});
  evictable_by_address_[x.address].insert({x.since, c});
}

void connection_table::unindex(id c, const conn& x) {
  evictable_.erase({x.since, c});
  const auto it = evictable_by_address_.find(x.address);
  if (it == evictable_by_address_.end()) return;
  it->second.erase({x.since, c});
  if (it->second.empty()) evictable_by_address_.erase(it);
}

std::optional<connection_table::id> connection_table::oldest(const std::set<key>& s) const {
  if (s.empty()) return std::nullopt;
  return s.begin()->second;
}

connection_table::admission connection_table::admit(const std::string& address) {
  admission out;
  const bool address_full = count(address) >= max_per_address_;
  if (address_full || conns_.size() >= max_total_) {
    std::optional<id> victim;
    if (address_full) {
      const auto it = evictable_by_address_.find(address);
      if (it != evictable_by_address_.end()) victim = oldest(it->second);
    } else {
      victim = oldest(evictable_);
    }
    if (!victim) return out;  // nothing may go: refuse the newcomer
    remove(*victim);
    out.evicted = victim;
  }
  const id c = next_id_++;
  conn x{address, ++clock_, true, false};
  index(c, x);
  conns_.emplace(c, std::move(x));
  ++per_address_[address];
  out.admitted = true;
  out.conn = c;
  return out;
}

void connection_table::waiting(id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  unindex(c, it->second);
  it->second.waiting = true;
  it->second.since = ++clock_;
  index(c, it->second);
}

void connection_table::busy(id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  unindex(c, it->second);
  it->second.waiting = false;
}

void connection_table::authenticated(id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  unindex(c, it->second);
  it->second.trusted = true;
}

void connection_table::remove(id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  unindex(c, it->second);
  const auto pa = per_address_.find(it->second.address);
  if (pa != per_address_.end() && --pa->second == 0) per_address_.erase(pa);
  conns_.erase(it);
}

std::size_t connection_table::count(const std::string& address) const {
  const auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace vigil::common
