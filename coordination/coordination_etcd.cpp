#include "coordination/coordination_etcd.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/log.hpp"

namespace vigil::coordination {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// etcd leases are whole seconds: round lease_ttl up (2500 ms → 3 s).
std::int64_t whole_seconds_up(milliseconds d) {
  return (d.count() + 999) / 1000;
}

[[noreturn]] void ledger_fail(std::string_view what, const etcd_error& e) {
  throw std::runtime_error("jti ledger: " + std::string(what) + ": " + std::string(to_string(e.code)) + ": " +
                           e.message);
}

}  // namespace

struct etcd_coordinator::metrics {
  prometheus::Gauge& healthy;
  prometheus::Gauge& token;
  prometheus::Gauge& endpoints_down;
  prometheus::Counter& errors;
  prometheus::Counter& transitions;

  explicit metrics(prometheus::Registry& r)
      : healthy(prometheus::BuildGauge()
                    .Name("vigil_coordination_healthy")
                    .Help("1 when every coordination endpoint answers and the cluster has quorum")
                    .Register(r)
                    .Add({})),
        token(prometheus::BuildGauge()
                  .Name("vigil_fencing_token")
                  .Help("The fencing token (leader key create revision) this replica holds; 0 when "
                        "not leader")
                  .Register(r)
                  .Add({})),
        endpoints_down(prometheus::BuildGauge()
                           .Name("vigil_coordination_endpoints_down")
                           .Help("Coordination endpoints that failed their last request or health probe")
                           .Register(r)
                           .Add({})),
        errors(prometheus::BuildCounter()
                   .Name("vigil_coordination_errors_total")
                   .Help("Coordination requests that failed on every endpoint")
                   .Register(r)
                   .Add({})),
        transitions(prometheus::BuildCounter()
                        .Name("vigil_coordination_leader_transitions_total")
                        .Help("Times this replica won or lost leadership")
                        .Register(r)
                        .Add({})) {}
};

// ---------------------------------------------------------------- jti ledger

etcd_jti_ledger::etcd_jti_ledger(etcd_client& client, std::string prefix, const common::clock& clock,
                                 std::string replica_id)
    : client_(client), prefix_(std::move(prefix)), clock_(clock), replica_id_(std::move(replica_id)) {}

bool etcd_jti_ledger::try_consume(std::string_view jti, common::wall_time expires_at) {
  if (!approvals::valid_jti(jti)) throw std::invalid_argument("invalid jti");
  // Keep the entry 5 minutes past the token's expiry (clock skew between
  // replicas), and at least a minute.
  const auto remaining = std::chrono::duration_cast<seconds>(expires_at - clock_.wall());
  const std::int64_t ttl = std::max<std::int64_t>(60, remaining.count() + 1 + 300);
  const std::string key = prefix_ + "/jti/" + std::string(jti);
  // The record carries a nonce, so after a write whose outcome is unknown
  // (a timeout under load) reading the key back tells "ours" from "a
  // concurrent use", and release() deletes only this very reservation.
  const std::string mine = record(expires_at, common::random_hex(8));
  etcd_error last;
  for (int attempt = 0; attempt < ledger_attempts; ++attempt) {
    auto lease = client_.lease_grant(ttl);
    if (!lease) {
      last = lease.error;
      if (lease.error.code == etcd_errc::rejected) break;
      continue;  // nothing written yet: a leaked lease expires by itself
    }
    auto t = client_.txn({compare_create_revision(key, 0)}, {op_put(key, mine, lease.value.id)});
    if (t) {
      if (!t.value.succeeded) (void)client_.lease_revoke(lease.value.id);
      if (t.value.succeeded) remember(jti, mine, expires_at);
      return t.value.succeeded;
    }
    last = t.error;
    if (t.error.code == etcd_errc::rejected) {
      (void)client_.lease_revoke(lease.value.id);
      break;
    }
    // Outcome unknown: the put may have been applied. Never revoke the
    // lease before looking (revoking would delete a reservation we made).
    auto back = client_.range(key);
    if (!back) {
      last = back.error;
      continue;
    }
    if (!back.value.kvs.empty()) {
      if (back.value.kvs.front().value != mine) return false;  // someone else's use
      remember(jti, mine, expires_at);
      return true;
    }
    // Not applied: drop the lease (a late put bound to it then fails) and retry.
    (void)client_.lease_revoke(lease.value.id);
  }
  ledger_fail("consume", last);
}

std::string etcd_jti_ledger::record(common::wall_time expires_at, std::string_view nonce) const {
  return nlohmann::json{
      {"replica", replica_id_}, {"expires_at_ms", expires_at.time_since_epoch().count()}, {"nonce", nonce}}
      .dump();
}

void etcd_jti_ledger::remember(std::string_view jti, std::string value, common::wall_time expires_at) {
  const std::scoped_lock lock(mine_mutex_);
  const auto now = clock_.wall();
  std::erase_if(mine_, [&](const auto& e) { return e.second.expires_at < now; });
  if (mine_.size() >= max_remembered) mine_.erase(mine_.begin());
  mine_[std::string(jti)] = reservation{std::move(value), expires_at};
}

void etcd_jti_ledger::release(std::string_view jti, common::wall_time expires_at) {
  if (!approvals::valid_jti(jti)) throw std::invalid_argument("invalid jti");
  std::string value;
  {
    const std::scoped_lock lock(mine_mutex_);
    const auto it = mine_.find(std::string(jti));
    if (it == mine_.end() || it->second.expires_at != expires_at) return;  // not a use this replica made
    value = it->second.value;
  }
  const std::string key = prefix_ + "/jti/" + std::string(jti);
  // Only the record this replica wrote for this token: never another's use.
  auto t = client_.txn({compare_value(key, value)}, {op_delete(key)});
  if (!t) ledger_fail("release txn", t.error);
  const std::scoped_lock lock(mine_mutex_);
  mine_.erase(std::string(jti));
}

// ---------------------------------------------------------------- coordinator

etcd_coordinator::etcd_coordinator(etcd_coordinator_options options, const common::clock& clock,
                                   prometheus::Registry& registry)
    : options_([&] {
        if (options.endpoints.empty()) throw std::invalid_argument("etcd coordinator: no endpoints");
        if (options.replica_id.empty()) throw std::invalid_argument("etcd coordinator: empty replica id");
        if (options.lease_ttl < seconds(1)) throw std::invalid_argument("etcd coordinator: lease_ttl < 1s");
        while (!options.prefix.empty() && options.prefix.back() == '/')
          options.prefix.pop_back();
        if (options.request_timeout.count() <= 0) {
          options.request_timeout = std::clamp(options.lease_ttl / 5, milliseconds(200), milliseconds(2000));
        }
        return std::move(options);
      }()),
      clock_(clock),
      client_(etcd_client_options{options_.endpoints, options_.request_timeout,
                                  std::min(options_.request_timeout, milliseconds(1000)), options_.security}),
      ledger_(client_, options_.prefix, clock, options_.replica_id),
      metrics_(std::make_unique<metrics>(registry)),
      margin_(options_.lease_ttl / 3),
      keepalive_every_(options_.lease_ttl / 3) {}

etcd_coordinator::~etcd_coordinator() = default;

std::chrono::milliseconds etcd_coordinator::step_interval() const {
  return std::clamp(options_.lease_ttl / 6, milliseconds(50), milliseconds(1000));
}

bool etcd_coordinator::is_leader() const {
  const std::lock_guard lock(mu_);
  return leader_ && health_ != coordination_health::lost && clock_.monotonic() < deadline_;
}

std::int64_t etcd_coordinator::fencing_token() const {
  const std::lock_guard lock(mu_);
  const bool leading = leader_ && health_ != coordination_health::lost && clock_.monotonic() < deadline_;
  return leading ? token_ : 0;
}

coordination_health etcd_coordinator::health() const {
  const std::lock_guard lock(mu_);
  return health_;
}

common::mono_time etcd_coordinator::backoff_until() const {
  const std::lock_guard lock(mu_);
  return no_campaign_before_;
}

common::mono_time etcd_coordinator::deadline() const {
  const std::lock_guard lock(mu_);
  return deadline_;
}

coordination_status etcd_coordinator::status() const {
  coordination_status s;
  s.backend = "etcd";
  s.replica_id = options_.replica_id;
  s.leader = is_leader();
  s.fencing_token = fencing_token();
  s.endpoints_down = client_.endpoints_down();
  const std::lock_guard lock(mu_);
  s.health = health_;
  s.leader_id = leader_id_;
  s.detail = detail_;
  s.last_transition = last_transition_;
  return s;
}

std::string etcd_coordinator::state_key(std::string_view key) const {
  return options_.prefix + "/state/" + std::string(key);
}

void etcd_coordinator::note_error(const etcd_error& e) {
  metrics_->errors.Increment();
  const std::lock_guard lock(mu_);
  // Every request step() makes is one it needs: when it fails on every
  // endpoint nobody can prove leadership, so stop acting at once.
  step_failed_ = true;
  health_ = coordination_health::lost;
  detail_ = std::string(to_string(e.code)) + ": " + e.message;
}

void etcd_coordinator::step_down(std::string why, bool revoke) {
  std::int64_t lease = 0;
  std::int64_t token = 0;
  {
    const std::lock_guard lock(mu_);
    if (!leader_) return;
    lease = lease_;
    token = token_;
    leader_ = false;
    token_ = 0;
    lease_ = 0;
    leader_id_.clear();
    detail_ = why;
    last_transition_ = "stepped down: " + why;
    no_campaign_before_ = clock_.monotonic() + keepalive_every_;
  }
  metrics_->transitions.Increment();
  common::logger("coordination")->warn("{} stepped down (fencing token {}): {}", options_.replica_id, token, why);
  // Revoking deletes the leader key at once, so a follower need not wait for
  // the lease to expire. Best effort: if etcd is unreachable the lease lapses.
  if (revoke && lease != 0) (void)client_.lease_revoke(lease);
}

void etcd_coordinator::campaign(common::mono_time now) {
  auto lease = client_.lease_grant(whole_seconds_up(options_.lease_ttl));
  if (!lease) return note_error(lease.error);
  const std::string lk = leader_key();
  auto t =
      client_.txn({compare_create_revision(lk, 0)}, {op_put(lk, options_.replica_id, lease.value.id)}, {op_get(lk)});
  if (!t || !t.value.succeeded) {
    // Lost, or unknown (a timed-out txn may have won): revoking covers both,
    // since a key we might have written goes away with the lease.
    (void)client_.lease_revoke(lease.value.id);
    if (!t) return note_error(t.error);
    const std::lock_guard lock(mu_);
    const auto& r = t.value.responses;
    leader_id_ = !r.empty() && !r.front().kvs.empty() ? r.front().kvs.front().value : std::string{};
    return;
  }
  // The deadline counts from before the grant was sent: etcd's lease started
  // later than `now`, so the local deadline always falls first.
  const milliseconds ttl = std::min(options_.lease_ttl, milliseconds(seconds(lease.value.ttl)));
  {
    const std::lock_guard lock(mu_);
    leader_ = true;
    token_ = t.value.revision;
    lease_ = lease.value.id;
    deadline_ = now + ttl - margin_;
    next_keepalive_ = now + keepalive_every_;
    leader_id_ = options_.replica_id;
    detail_ = "leader with fencing token " + std::to_string(token_);
    last_transition_ = "won with fencing token " + std::to_string(token_);
  }
  metrics_->transitions.Increment();
  common::logger("coordination")
      ->info("{} won leadership: fencing token {}, lease {:x}", options_.replica_id, t.value.revision, lease.value.id);
}

void etcd_coordinator::hold(common::mono_time now) {
  std::int64_t lease = 0;
  std::int64_t token = 0;
  bool keepalive_due = false;
  {
    const std::lock_guard lock(mu_);
    if (now >= deadline_) {
      lease = -1;
    } else {
      lease = lease_;
      token = token_;
      keepalive_due = now >= next_keepalive_;
    }
  }
  if (lease < 0) return step_down("local deadline passed without a successful keepalive", true);
  if (keepalive_due) {
    auto k = client_.lease_keepalive(lease);
    if (!k) return note_error(k.error);  // the next step tries again; the deadline keeps running
    if (k.value.ttl <= 0) return step_down("lease lost: the keepalive answered without a TTL", false);
    const milliseconds ttl = std::min(options_.lease_ttl, milliseconds(seconds(k.value.ttl)));
    const std::lock_guard lock(mu_);
    deadline_ = now + ttl - margin_;
    next_keepalive_ = now + keepalive_every_;
  }
  if (clock_.monotonic() >= deadline()) return step_down("local deadline passed during the keepalive", true);
  // The key itself: gone (deleted by hand, lease revoked elsewhere) or
  // re-created by someone else means this term is over.
  auto g = client_.range(leader_key());
  if (!g) return note_error(g.error);
  if (g.value.kvs.empty()) return step_down("the leader key is gone", true);
  if (g.value.kvs.front().create_revision != token) {
    return step_down("the leader key was re-created by " + g.value.kvs.front().value, true);
  }
}

void etcd_coordinator::step(common::mono_time now) {
  const std::lock_guard serial(step_mu_);
  bool leading = false;
  {
    const std::lock_guard lock(mu_);
    step_failed_ = false;
    leading = leader_;
  }
  if (leading) hold(now);
  {
    const std::lock_guard lock(mu_);
    leading = leader_;
  }
  bool failed = false;
  if (!leading) {
    {
      const std::lock_guard lock(mu_);
      failed = step_failed_;
    }
    if (!failed) {
      auto g = client_.range(leader_key());
      if (!g) {
        note_error(g.error);
      } else if (!g.value.kvs.empty()) {
        const std::lock_guard lock(mu_);
        leader_id_ = g.value.kvs.front().value;
      } else if (now >= backoff_until()) {
        campaign(now);
      } else {
        const std::lock_guard lock(mu_);
        leader_id_.clear();
      }
    }
  }
  // Endpoint probes find a dead member that the rotation never reaches.
  bool probe = false;
  {
    const std::lock_guard lock(mu_);
    probe = now >= next_probe_;
    if (probe) next_probe_ = now + std::max(options_.lease_ttl, milliseconds(seconds(2)));
  }
  if (probe) (void)client_.probe_endpoints();
  {
    const std::lock_guard lock(mu_);
    if (step_failed_) {
      health_ = coordination_health::lost;
    } else {
      health_ = client_.endpoints_down() > 0 ? coordination_health::degraded : coordination_health::healthy;
      if (leader_)
        detail_ = "leader with fencing token " + std::to_string(token_);
      else
        detail_ = leader_id_.empty() ? "no leader" : "following " + leader_id_;
    }
  }
  publish();
}

void etcd_coordinator::publish() {
  const coordination_health h = health();
  metrics_->healthy.Set(h == coordination_health::healthy ? 1.0 : 0.0);
  metrics_->token.Set(static_cast<double>(fencing_token()));
  metrics_->endpoints_down.Set(static_cast<double>(client_.endpoints_down()));
}

void etcd_coordinator::resign() {
  const std::lock_guard serial(step_mu_);
  step_down("resigned", true);
  publish();
}

write_result etcd_coordinator::put_with_token(std::int64_t token, std::string_view key, std::string_view value,
                                              bool only_if_absent) {
  if (token <= 0) return write_result::fenced;
  const std::string lk = leader_key();
  const std::string sk = state_key(key);
  std::vector<etcd_compare> cmp{compare_create_revision(lk, token)};
  std::vector<etcd_op> failure{op_get(lk)};
  if (only_if_absent) {
    cmp.push_back(compare_create_revision(sk, 0));
    failure.push_back(op_get(sk));
  }
  auto t = client_.txn(cmp, {op_put(sk, std::string(value))}, failure);
  if (!t) {
    metrics_->errors.Increment();
    return write_result::unavailable;
  }
  if (t.value.succeeded) return write_result::ok;
  const auto& r = t.value.responses;
  const bool still_ours = !r.empty() && !r[0].kvs.empty() && r[0].kvs[0].create_revision == token;
  return still_ours ? write_result::exists : write_result::fenced;
}

write_result etcd_coordinator::put_guarded(std::string_view key, std::string_view value, bool only_if_absent) {
  return put_with_token(fencing_token(), key, value, only_if_absent);
}

write_result etcd_coordinator::erase_guarded(std::string_view key) {
  const std::int64_t token = fencing_token();
  if (token <= 0) return write_result::fenced;
  auto t = client_.txn({compare_create_revision(leader_key(), token)}, {op_delete(state_key(key))});
  if (!t) {
    metrics_->errors.Increment();
    return write_result::unavailable;
  }
  return t.value.succeeded ? write_result::ok : write_result::fenced;
}

std::optional<std::string> etcd_coordinator::get(std::string_view key) {
  auto r = client_.range(state_key(key));
  if (!r) throw coordination_unavailable("coordination get " + std::string(key) + ": " + r.error.message);
  if (r.value.kvs.empty()) return std::nullopt;
  return std::move(r.value.kvs.front().value);
}

bool etcd_coordinator::advertise(std::string_view url) {
  auto r = client_.put(options_.prefix + "/members/" + options_.replica_id, url);
  if (!r) metrics_->errors.Increment();
  return static_cast<bool>(r);
}

std::optional<std::string> etcd_coordinator::replica_url(std::string_view replica_id) {
  auto r = client_.range(options_.prefix + "/members/" + std::string(replica_id));
  if (!r || r.value.kvs.empty()) return std::nullopt;
  return std::move(r.value.kvs.front().value);
}

std::map<std::string, std::string> etcd_coordinator::list(std::string_view prefix) {
  auto r = client_.range_prefix(state_key(prefix));
  if (!r) throw coordination_unavailable("coordination list " + std::string(prefix) + ": " + r.error.message);
  const std::size_t root = state_key("").size();
  std::map<std::string, std::string> out;
  for (auto& kv : r.value.kvs)
    out.emplace(kv.key.substr(root), std::move(kv.value));
  return out;
}

}  // namespace vigil::coordination
