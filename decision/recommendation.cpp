#include "decision/recommendation.hpp"

#include <algorithm>

#include "decision/canonical_json.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

bool recommendation::gates_pass() const {
  return first_blocking_failure() == nullptr;
}

const gate_result* recommendation::first_blocking_failure() const {
  for (const auto& g : gates) {
    if (g.blocking && !g.ok) return &g;
  }
  return nullptr;
}

nlohmann::json recommendation::canonical_content() const {
  nlohmann::json gs = nlohmann::json::array();
  for (const auto& g : gates) {
    gs.push_back({{"name", to_string(g.name)}, {"ok", g.ok}, {"blocking", g.blocking}});
  }
  nlohmann::json content{{"action", to_string(action)},
                         {"from", from},
                         {"to", to},
                         {"gates", std::move(gs)},
                         {"evidence_digest", evidence_digest},
                         {"allow_data_loss_required", allow_data_loss_required},
                         {"created_at", format_time(created_at)}};
  // Only when true: an unplanned recommendation hashes as it did before plans
  // had a mode, so records and tokens from then stay valid.
  if (planned) content["planned"] = true;
  return content;
}

void recommendation::rehash() {
  hash = canonical_hash(canonical_content());
}

bool materially_different(const std::vector<gate_result>& a, bool a_loss, const std::vector<gate_result>& b,
                          bool b_loss) {
  if (a_loss != b_loss || a.size() != b.size()) return true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].ok != b[i].ok || a[i].blocking != b[i].blocking) return true;
  }
  return false;
}

std::string promotion_statement(bool planned, std::optional<std::int64_t> expected_data_loss_ms) {
  if (planned) return "planned switchover: no data loss, needs the old primary";
  std::string bound = "an unknown amount (no recent replication lag)";
  if (expected_data_loss_ms) {
    // Tenths of a second, rounded up: a bound must not understate the loss.
    const std::int64_t tenths = (std::max<std::int64_t>(*expected_data_loss_ms, 0) + 99) / 100;
    bound = "up to " + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
  }
  return "unplanned global failover: writes not yet replicated, " + bound + ", are lost";
}

nlohmann::json to_json(const gate_result& g) {
  return {{"name", to_string(g.name)}, {"ok", g.ok}, {"blocking", g.blocking}, {"detail", g.detail}};
}

nlohmann::json to_json(const recommendation& r, int approvals_required) {
  nlohmann::json gates = nlohmann::json::array();
  for (const auto& g : r.gates)
    gates.push_back(to_json(g));
  nlohmann::json j{
      {"id", r.id},
      {"revision", r.revision},
      {"hash", r.hash},
      {"incident_id", r.incident_id},
      {"action", to_string(r.action)},
      {"from", r.from},
      {"to", r.to},
      {"state", to_string(r.state)},
      {"gates", std::move(gates)},
      {"allow_data_loss_required", r.allow_data_loss_required},
      {"planned", r.planned},
      {"expected_data_loss_ms", nullptr},
      {"data_loss_bound", r.data_loss_bound},
      {"evidence_digest", r.evidence_digest},
      {"evidence", r.evidence},
      {"created_at", format_time(r.created_at)},
      {"expires_at", format_time(r.expires_at)},
      {"approvals", {{"count", r.approvers.size()}, {"required", approvals_required}, {"approvers", r.approvers}}},
      {"reason", r.reason},
      {"dry_run", r.dry_run}};
  if (r.expected_data_loss_ms) j["expected_data_loss_ms"] = *r.expected_data_loss_ms;
  if (!r.supersedes.empty()) j["supersedes"] = r.supersedes;
  if (const auto* g = r.first_blocking_failure()) j["blocked_by"] = to_string(g->name);
  return j;
}

}  // namespace vigil::decision
