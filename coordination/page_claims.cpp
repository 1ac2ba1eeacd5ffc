#include "coordination/page_claims.hpp"

#include <utility>

#include "common/log.hpp"

namespace vigil::coordination {

page_claimer::page_claimer(coordination::coordinator& coord, std::string replica_id, submit_fn submit)
    : coord_(coord), replica_id_(std::move(replica_id)), submit_(std::move(submit)) {}

void page_claimer::hold(paging::page p) {
  held_.push_back(std::move(p));
  if (held_.size() > max_held) held_.pop_front();
}

std::deque<paging::page> page_claimer::take_held() {
  auto out = std::move(held_);
  held_.clear();
  return out;
}

page_claimer::outcome page_claimer::send(const paging::page& p) {
  const std::string key = coordination_keys::outbox(paging::idempotency_key(p));
  const auto r = coord_.put_json_guarded(
      key, {{"state", "claimed"}, {"by", replica_id_}, {"token", coord_.fencing_token()}, {"page", paging::to_json(p)}},
      /*only_if_absent=*/true);
  switch (r) {
    case coordination::write_result::ok:
      submit_(p);
      return outcome::submitted;
    case coordination::write_result::exists: {
      // Ours and unfinished: an earlier attempt timed out after etcd applied it.
      std::optional<nlohmann::json> j;
      try {
        j = coord_.get_json(key);
      } catch (const std::exception& e) {
        common::logger("page")->warn("page {}: claim exists but cannot be read ({}): settled at the next retry", key,
                                     e.what());
        pending_.push_back(p);
        return outcome::pending;
      }
      if (j && j->is_object() && j->value("by", std::string{}) == replica_id_ &&
          j->value("state", std::string{}) == "claimed") {
        common::logger("page")->info("page {}: this replica's claim was applied by an attempt that timed out: queued",
                                     key);
        submit_(p);  // the local outbox drops a page it already has
        return outcome::submitted;
      }
      common::logger("page")->info("page {} already claimed by another term: not sent again", key);
      return outcome::already_claimed;
    }
    case coordination::write_result::unavailable:
      common::logger("page")->warn("page {}: claim's outcome unknown (coordination unavailable): retried", key);
      pending_.push_back(p);
      return outcome::pending;
    case coordination::write_result::fenced:
      break;
  }
  common::logger("page")->warn("page {} not claimed (fenced): held for the next leader term", key);
  hold(p);
  return outcome::held;
}

void page_claimer::retry_pending() {
  if (pending_.empty()) return;
  auto batch = std::move(pending_);
  pending_.clear();
  if (!coord_.is_leader()) {
    for (auto& p : batch)
      hold(std::move(p));
    return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (send(batch[i]) == outcome::pending) {
      // Still unknown: keep the rest in order without more requests this round.
      for (std::size_t k = i + 1; k < batch.size(); ++k)
        pending_.push_back(std::move(batch[k]));
      return;
    }
  }
}

std::set<std::string> unpaged_incidents(const std::set<std::string>& open,
                                        const std::map<std::string, std::string>& claimed,
                                        const std::vector<paging::page>& just_claimed) {
  std::set<std::string> paged;
  for (const auto& [key, raw] : claimed) {
    const auto j = nlohmann::json::parse(raw, nullptr, false);
    if (!j.is_object() || !j.contains("page") || !j["page"].is_object()) continue;
    const auto& p = j["page"];
    if (p.value("action", std::string{}) == "resolve") continue;
    paged.insert(p.value("incident_id", std::string{}));
  }
  for (const auto& p : just_claimed)
    if (p.action != paging::page_action::resolve) paged.insert(p.incident_id);
  std::set<std::string> out;
  for (const auto& id : open)
    if (!paged.contains(id)) out.insert(id);
  return out;
}

}  // namespace vigil::coordination
