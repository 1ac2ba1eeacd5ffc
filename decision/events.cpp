#include "decision/events.hpp"

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

template <typename... F>
struct overloaded : F... {
  using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string_view event_type(const event& e) {
  return std::visit(overloaded{[](const classification_changed&) { return std::string_view{"classification"}; },
                               [](const page&) { return std::string_view{"page"}; },
                               [](const recommendation_changed&) { return std::string_view{"recommendation"}; },
                               [](const approval_decided&) { return std::string_view{"approval"}; },
                               [](const execute_plan&) { return std::string_view{"execute_plan"}; },
                               [](const audit_record&) { return std::string_view{"audit"}; }},
                    e);
}

time_point event_time(const event& e) {
  return std::visit([](const auto& v) { return v.at; }, e);
}

nlohmann::json to_json(const event& e) {
  nlohmann::json j =
      std::visit(overloaded{[](const classification_changed& c) -> nlohmann::json {
                              return {{"region", c.region},
                                      {"from", to_string(c.from)},
                                      {"to", to_string(c.to)},
                                      {"down_services", c.down_services},
                                      {"evidence", c.evidence}};
                            },
                            [](const page& p) -> nlohmann::json {
                              nlohmann::json pj{{"kind", to_string(p.kind)},    {"action", to_string(p.action)},
                                                {"incident_id", p.incident_id}, {"severity", to_string(p.sev)},
                                                {"summary", p.summary},         {"details", p.details}};
                              if (!p.region.empty()) pj["region"] = p.region;
                              if (!p.vantage.empty()) pj["vantage"] = p.vantage;
                              return pj;
                            },
                            [](const recommendation_changed& r) -> nlohmann::json {
                              return {{"recommendation", to_json(r.rec, r.approvals_required)}, {"reason", r.reason}};
                            },
                            [](const approval_decided& a) -> nlohmann::json {
                              return {{"accepted", a.accepted}, {"reason", to_string(a.reason)},
                                      {"hint", a.hint},         {"recommendation_id", a.recommendation_id},
                                      {"approver", a.approver}, {"approvals", a.approvals},
                                      {"required", a.required}};
                            },
                            [](const execute_plan& x) -> nlohmann::json {
                              return {{"recommendation_id", x.recommendation_id},
                                      {"recommendation_hash", x.recommendation_hash},
                                      {"action", to_string(x.action)},
                                      {"from", x.from},
                                      {"to", x.to},
                                      {"allow_data_loss", x.allow_data_loss},
                                      {"planned", x.planned},
                                      {"approvers", x.approvers}};
                            },
                            [](const audit_record& a) -> nlohmann::json {
                              return {{"kind", a.kind}, {"message", a.message}, {"details", a.details}};
                            }},
                 e);
  j["type"] = event_type(e);
  j["at"] = format_time(event_time(e));
  return j;
}

}  // namespace vigil::decision
