#include "decision/types.hpp"

#include <algorithm>
#include <unordered_map>

namespace vigil::decision {

int params::effective_quorum(std::size_t vantages) const {
  if (quorum > 0) return quorum;
  return static_cast<int>(vantages / 2 + 1);
}

std::optional<vantage_index> topology::find_vantage(std::string_view name) const {
  for (std::size_t i = 0; i < vantages.size(); ++i) {
    if (vantages[i] == name) return static_cast<vantage_index>(i);
  }
  return std::nullopt;
}

std::optional<check_index> topology::find_check(std::string_view id) const {
  if (check_by_id.size() == checks.size()) {
    const auto it = check_by_id.find(id);
    if (it == check_by_id.end()) return std::nullopt;
    if (it->second < checks.size() && checks[it->second].id == id) return it->second;
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].id == id) return static_cast<check_index>(i);
  }
  return std::nullopt;
}

std::optional<region_index> topology::find_region(std::string_view name) const {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].name == name) return static_cast<region_index>(i);
  }
  return std::nullopt;
}

region_index topology::primary() const {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].role == region_role::primary) return static_cast<region_index>(i);
  }
  return 0;
}

region_index topology::dr() const {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].role == region_role::dr) return static_cast<region_index>(i);
  }
  return 0;
}

void topology::index() {
  services.clear();
  for (auto& r : regions) {
    r.checks.clear();
    r.services.clear();
  }
  check_by_id.clear();
  check_by_id.reserve(checks.size());
  std::unordered_map<std::string, service_index> by_name;
  // [region][service]: the service is already in regions[region].services.
  std::vector<std::vector<bool>> listed(regions.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    auto& c = checks[i];
    check_by_id.emplace(c.id, static_cast<check_index>(i));  // a duplicate id keeps its first index
    auto [it, inserted] = by_name.emplace(c.service, static_cast<service_index>(services.size()));
    if (inserted) services.push_back(c.service);
    c.service_idx = it->second;
    if (c.region >= regions.size()) continue;  // validate() reports it
    auto& r = regions[c.region];
    r.checks.push_back(static_cast<check_index>(i));
    auto& seen = listed[c.region];
    if (seen.size() <= c.service_idx) seen.resize(services.size(), false);
    if (!c.region_scope && c.role == check_role::classify && !seen[c.service_idx]) {
      seen[c.service_idx] = true;
      r.services.push_back(c.service_idx);
    }
  }
}

std::vector<std::string> topology::validate() const {
  std::vector<std::string> problems;
  const auto primaries = std::count_if(regions.begin(), regions.end(),
                                       [](const region_info& r) { return r.role == region_role::primary; });
  const auto drs =
      std::count_if(regions.begin(), regions.end(), [](const region_info& r) { return r.role == region_role::dr; });
  if (regions.size() != 2 || primaries != 1 || drs != 1) {
    problems.emplace_back("regions: exactly one primary and one dr region are required");
  }
  if (vantages.empty()) problems.emplace_back("vantages: at least one is required");
  if (vantages.size() >= no_vantage) problems.emplace_back("vantages: too many");
  if (checks.size() >= no_check) problems.emplace_back("checks: too many");
  for (const auto& c : checks) {
    if (c.region >= regions.size()) problems.push_back("check " + c.id + ": region index out of range");
    if (c.service_idx >= services.size() || services[c.service_idx] != c.service) {
      problems.push_back("check " + c.id + ": not indexed (call topology::index())");
    }
  }
  const int q = p.effective_quorum(vantages.size());
  if (q < 1 || static_cast<std::size_t>(q) > vantages.size()) {
    problems.push_back("decision.quorum: " + std::to_string(q) + " is not within [1, " +
                       std::to_string(vantages.size()) + "]");
  }
  if (p.fall < 1 || p.rise < 1) problems.emplace_back("decision.fall/rise: must be >= 1");
  if (p.tick.count() <= 0) problems.emplace_back("decision.tick: must be > 0");
  if (p.approvals_required < 1) problems.emplace_back("approvals.required: must be >= 1");
  if (!(p.impaired_fraction > 0.0 && p.impaired_fraction <= 1.0)) {
    problems.emplace_back("decision.impaired_fraction: must be in (0, 1]");
  }
  if (!(p.regional_fraction > 0.0 && p.regional_fraction <= 1.0)) {
    problems.emplace_back("decision.regional_fraction: must be in (0, 1]");
  }
  return problems;
}

std::string_view approval_hint(approval_reason r) {
  switch (r) {
    case approval_reason::accepted:
      return "";
    case approval_reason::no_recommendation:
      return "there is no open recommendation; check `vigil status` before approving";
    case approval_reason::unknown_recommendation:
      return "the token names a recommendation this engine does not know; fetch the current one from "
             "/v1/recommendation";
    case approval_reason::wrong_hash:
      return "the token is bound to different content; re-read /v1/recommendation and sign its current hash";
    case approval_reason::token_expired:
      return "the token has expired; sign a new one";
    case approval_reason::recommendation_expired:
      return "the recommendation outlived its ttl; re-check the situation and run `vigil propose failover` if still "
             "needed";
    case approval_reason::withdrawn:
      return "the condition cleared before approval; nothing to do unless it returns";
    case approval_reason::superseded:
      return "the evidence changed; review the new revision at /v1/recommendation and sign its hash";
    case approval_reason::blocked:
      return "a blocking gate fails now; see the gate details, fix or wait, then approve again";
    case approval_reason::missing_allow_data_loss:
      return "replication lag is unknown or above budget; approve again with --allow-data-loss if you accept the "
             "stated bound";
    case approval_reason::duplicate_approver:
      return "this approver already approved; another approver is needed";
    case approval_reason::replayed_token:
      return "this token was already used; sign a new one";
    case approval_reason::not_pending:
      return "the recommendation is already approved or finished; follow the plan's progress in /v1/status";
  }
  return "";
}

}  // namespace vigil::decision
