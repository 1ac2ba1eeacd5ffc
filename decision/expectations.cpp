// Checks a scenario's `expect` list against a simulation timeline.
#include <algorithm>

#include "decision/simulator.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

std::string str(const nlohmann::json& f, const char* k) {
  return f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : std::string{};
}

struct window {
  duration from{0};
  std::optional<duration> to;
  [[nodiscard]] bool contains(duration t) const { return t >= from && (!to || t <= *to); }
  [[nodiscard]] std::string text() const {
    return "between " + format_seconds(from) + " and " + (to ? format_seconds(*to) : std::string("the end"));
  }
};

window window_of(const scenario_expect& x) {
  return {x.after, x.within ? std::optional<duration>(x.after + *x.within) : std::nullopt};
}

/// Does a state-like series (entries that each set "the current value") hold
/// `pred` at some moment of the window? The value in force just before the
/// window counts, as does every entry inside it (several may share one
/// instant: approved, executing and done in the same tick).
template <typename Select, typename Pred>
std::optional<duration> holds_in(const timeline& tl, const window& w, Select select, Pred pred, bool initial) {
  bool current = initial;
  for (const auto& e : tl) {
    if (!select(e)) continue;
    if (e.t >= w.from) break;
    current = pred(e);
  }
  if (current) return w.from;
  for (const auto& e : tl) {
    if (!select(e) || !w.contains(e.t)) continue;
    if (pred(e)) return e.t;
  }
  return std::nullopt;
}

std::string last_seen(const timeline& tl, const std::string& type, const std::string& region) {
  std::string s;
  for (const auto& e : tl) {
    if (e.type != type || (!region.empty() && str(e.fields, "region") != region)) continue;
    if (type == "classification") s = str(e.fields, "to") + " at " + format_seconds(e.t);
    if (type == "recommendation") {
      s = str(e.fields, "action") + " " + str(e.fields, "state") + " at " + format_seconds(e.t);
    }
  }
  return s.empty() ? "none seen" : "last: " + s;
}

bool rec_matches(const timeline_entry& e, const scenario_expect& x) {
  if (x.action && str(e.fields, "action") != to_string(*x.action)) return false;
  if (x.state && str(e.fields, "state") != to_string(*x.state)) return false;
  return true;
}

bool fields_match(const timeline_entry& e, const nlohmann::json& fields) {
  for (const auto& [k, v] : fields.items()) {
    if (!e.fields.contains(k) || e.fields[k] != v) return false;
  }
  return true;
}

bool page_matches(const timeline_entry& e, const scenario_expect& x) {
  // Without `action`, trigger and update pages match; `action: resolve` matches resolutions.
  const bool resolve = x.action_of_page == page_action::resolve;
  if (e.type != (resolve ? "resolve" : "page") || str(e.fields, "kind") != to_string(x.page)) return false;
  if (!x.region.empty() && str(e.fields, "region") != x.region) return false;
  if (!x.vantage.empty() && str(e.fields, "vantage") != x.vantage) return false;
  if (x.action_of_page && str(e.fields, "action") != to_string(*x.action_of_page)) return false;
  if (!x.summary.empty() && str(e.fields, "summary").find(x.summary) == std::string::npos) return false;
  return true;
}

bool standing_matches(const timeline_entry& e, const scenario_expect& x) {
  return e.type == "standing" && str(e.fields, "result") == x.standing_result &&
         (!x.hold || str(e.fields, "reason") == to_string(*x.hold));
}

bool approval_matches(const timeline_entry& e, const scenario_expect& x) {
  if (e.type != "approval") return false;
  if (x.accepted && e.fields.value("accepted", false) != *x.accepted) return false;
  if (x.reason && str(e.fields, "reason") != to_string(*x.reason)) return false;
  return true;
}

expect_result check_one(const timeline& tl, const scenario_expect& x) {
  expect_result r{false, x.text, {}, x.line};
  const window w = window_of(x);
  auto first_in_window = [&](auto pred) -> const timeline_entry* {
    for (const auto& e : tl) {
      if (w.contains(e.t) && pred(e)) return &e;
    }
    return nullptr;
  };
  auto first_anywhere = [&](auto pred) -> const timeline_entry* {
    for (const auto& e : tl) {
      if (pred(e)) return &e;
    }
    return nullptr;
  };
  switch (x.kind) {
    case expect_kind::classification: {
      const auto at = holds_in(
          tl, w,
          [&](const timeline_entry& e) { return e.type == "classification" && str(e.fields, "region") == x.region; },
          [&](const timeline_entry& e) { return str(e.fields, "to") == to_string(x.cls); },
          x.cls == classification::unknown);
      r.ok = at.has_value();
      r.why = r.ok ? x.region + " " + std::string(to_string(x.cls)) + " at " + format_seconds(*at)
                   : x.region + " never " + std::string(to_string(x.cls)) + " " + w.text() + " (" +
                         last_seen(tl, "classification", x.region) + ")";
      break;
    }
    case expect_kind::recommendation: {
      const auto at = holds_in(
          tl, w, [](const timeline_entry& e) { return e.type == "recommendation"; },
          [&](const timeline_entry& e) { return rec_matches(e, x); }, false);
      r.ok = at.has_value();
      r.why = r.ok ? "seen at " + format_seconds(*at)
                   : "no matching recommendation " + w.text() + " (" + last_seen(tl, "recommendation", "") + ")";
      break;
    }
    case expect_kind::page: {
      if (x.count) {
        int n = 0;
        std::string seen;
        for (const auto& y : tl) {
          if (!w.contains(y.t) || !page_matches(y, x)) continue;
          ++n;
          seen += " " + str(y.fields, "action") + "@" + format_seconds(y.t);
        }
        r.ok = n == *x.count;
        r.why = std::to_string(n) + " matching pages " + w.text() + " (expected " + std::to_string(*x.count) +
                "):" + (seen.empty() ? " none" : seen);
        break;
      }
      const auto* e = first_in_window([&](const timeline_entry& y) { return page_matches(y, x); });
      r.ok = e != nullptr;
      r.why = r.ok ? "paged at " + format_seconds(e->t) + ": " + str(e->fields, "summary")
                   : "no " + std::string(to_string(x.page)) + " page " + w.text();
      break;
    }
    case expect_kind::recommendation_field: {
      const auto* e = first_in_window(
          [&](const timeline_entry& y) { return y.type == "recommendation" && fields_match(y, x.fields); });
      r.ok = e != nullptr;
      r.why = r.ok ? "seen at " + format_seconds(e->t) : "no recommendation with " + x.fields.dump() + " " + w.text();
      break;
    }
    case expect_kind::approval: {
      const auto* e = first_in_window([&](const timeline_entry& y) { return approval_matches(y, x); });
      r.ok = e != nullptr;
      std::string seen;
      for (const auto& y : tl) {
        if (y.type == "approval") seen += " " + str(y.fields, "reason") + "@" + format_seconds(y.t);
      }
      r.why = r.ok ? "seen at " + format_seconds(e->t)
                   : "no matching approval " + w.text() + " (seen:" + (seen.empty() ? " none" : seen) + ")";
      break;
    }
    case expect_kind::never_classification: {
      const auto* e = first_anywhere([&](const timeline_entry& y) {
        return y.type == "classification" && str(y.fields, "region") == x.region &&
               str(y.fields, "to") == to_string(x.cls);
      });
      r.ok = e == nullptr;
      r.why = r.ok ? "never happened"
                   : x.region + " became " + std::string(to_string(x.cls)) + " at " + format_seconds(e->t);
      break;
    }
    case expect_kind::never_recommendation: {
      const auto* e =
          first_anywhere([&](const timeline_entry& y) { return y.type == "recommendation" && rec_matches(y, x); });
      r.ok = e == nullptr;
      r.why = r.ok ? "never happened"
                   : "recommendation " + str(e->fields, "id") + " " + str(e->fields, "state") + " at " +
                         format_seconds(e->t);
      break;
    }
    case expect_kind::never_page: {
      const auto* e = first_anywhere([&](const timeline_entry& y) { return page_matches(y, x); });
      r.ok = e == nullptr;
      r.why = r.ok ? "never happened" : "paged at " + format_seconds(e->t) + ": " + str(e->fields, "summary");
      break;
    }
    case expect_kind::standing: {
      int n = 0;
      std::string seen;
      for (const auto& y : tl) {
        if (y.type == "standing")
          seen += " " + str(y.fields, "result") + (y.fields.contains("reason") ? ":" + str(y.fields, "reason") : "") +
                  "@" + format_seconds(y.t);
        if (w.contains(y.t) && standing_matches(y, x)) ++n;
      }
      r.ok = x.count ? n == *x.count : n > 0;
      r.why = std::to_string(n) + " matching standing entries " + w.text() +
              (x.count ? " (expected " + std::to_string(*x.count) + ")" : "") + ":" + (seen.empty() ? " none" : seen);
      break;
    }
    case expect_kind::never_standing: {
      const auto* e = first_anywhere([&](const timeline_entry& y) { return standing_matches(y, x); });
      r.ok = e == nullptr;
      r.why = r.ok ? "never happened" : "standing " + x.standing_result + " at " + format_seconds(e->t);
      break;
    }
    case expect_kind::never_approval: {
      const auto* e = first_anywhere([&](const timeline_entry& y) { return approval_matches(y, x); });
      r.ok = e == nullptr;
      r.why = r.ok ? "never happened" : "approval " + str(e->fields, "reason") + " at " + format_seconds(e->t);
      break;
    }
  }
  return r;
}

}  // namespace

std::vector<expect_result> check_expectations(const timeline& tl, const scenario& sc) {
  std::vector<expect_result> out;
  out.reserve(sc.expects.size());
  for (const auto& x : sc.expects)
    out.push_back(check_one(tl, x));
  return out;
}

}  // namespace vigil::decision
