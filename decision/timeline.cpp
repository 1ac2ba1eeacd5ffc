#include "decision/timeline.hpp"

#include <cstdio>

#include "decision/time_format.hpp"

namespace vigil::decision {

void append_timeline(timeline& tl, const event& e, time_point start) {
  const duration t = event_time(e) - start;
  if (const auto* c = std::get_if<classification_changed>(&e)) {
    tl.push_back({t,
                  "classification",
                  {{"region", c->region},
                   {"from", to_string(c->from)},
                   {"to", to_string(c->to)},
                   {"down_services", c->down_services}}});
  } else if (const auto* p = std::get_if<page>(&e)) {
    nlohmann::json f{{"kind", to_string(p->kind)},
                     {"action", to_string(p->action)},
                     {"severity", to_string(p->sev)},
                     {"incident_id", p->incident_id},
                     {"summary", p->summary}};
    if (!p->region.empty()) f["region"] = p->region;
    if (!p->vantage.empty()) f["vantage"] = p->vantage;
    tl.push_back({t, p->action == page_action::resolve ? "resolve" : "page", std::move(f)});
  } else if (const auto* r = std::get_if<recommendation_changed>(&e)) {
    nlohmann::json f{{"id", r->rec.id},
                     {"hash", r->rec.hash},
                     {"action", to_string(r->rec.action)},
                     {"from", r->rec.from},
                     {"to", r->rec.to},
                     {"state", to_string(r->rec.state)},
                     {"allow_data_loss_required", r->rec.allow_data_loss_required},
                     {"expected_data_loss_ms", nullptr},
                     {"approvals", r->rec.approvers.size()},
                     {"reason", r->reason}};
    if (r->rec.expected_data_loss_ms) f["expected_data_loss_ms"] = *r->rec.expected_data_loss_ms;
    if (const auto* g = r->rec.first_blocking_failure()) f["blocked_by"] = to_string(g->name);
    tl.push_back({t, "recommendation", std::move(f)});
  } else if (const auto* a = std::get_if<approval_decided>(&e)) {
    tl.push_back({t,
                  "approval",
                  {{"accepted", a->accepted},
                   {"reason", to_string(a->reason)},
                   {"approver", a->approver},
                   {"recommendation_id", a->recommendation_id},
                   {"approvals", a->approvals},
                   {"required", a->required}}});
  }
}

nlohmann::json to_json(const timeline_entry& e) {
  nlohmann::json j = e.fields;
  j["t"] = static_cast<double>(e.t.count()) / 1000.0;
  j["type"] = e.type;
  return j;
}

std::string to_text(const timeline_entry& e) {
  char head[48];
  std::snprintf(head, sizeof head, "%8.1fs  %-14s ", static_cast<double>(e.t.count()) / 1000.0, e.type.c_str());
  const auto& f = e.fields;
  auto s = [&](const char* k) { return f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : std::string{}; };
  std::string body;
  if (e.type == "classification") {
    body = s("region") + " " + s("from") + " -> " + s("to");
  } else if (e.type == "page" || e.type == "resolve") {
    body = s("action") + " " + s("kind") + " [" + s("severity") + "] " + s("summary");
  } else if (e.type == "recommendation") {
    body = s("action") + " " + s("from") + " -> " + s("to") + " " + s("state") + " (" + s("id") + "): " + s("reason");
  } else if (e.type == "approval") {
    body = std::string(f.value("accepted", false) ? "accepted " : "rejected ") + s("approver") + ": " + s("reason");
  } else if (e.type == "plan_step") {
    body = s("recommendation_id") + " " + s("step") + " " + s("status");
  } else {
    body = f.dump();
  }
  return head + body;
}

}  // namespace vigil::decision
