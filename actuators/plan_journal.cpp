#include "actuators/plan_journal.hpp"

#include <algorithm>

#include "common/append_journal.hpp"
#include "common/log.hpp"

namespace vigil::actuators {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

std::string journal_plan::hash() const {
  return str(begin, "hash");
}
std::string journal_plan::recommendation_id() const {
  return str(begin, "recommendation_id");
}

const journal_step* journal_plan::step(const std::string& name) const {
  for (const auto& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

plan_journal::plan_journal(std::filesystem::path file) : file_(std::move(file)) {
  if (file_.empty()) return;
  if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path());
  journal_ = std::make_unique<common::append_journal>(file_);
  if (journal_->torn_bytes() > 0) {
    common::logger("plan")->warn("{}: cut a torn tail of {} bytes (a crash during an append)", file_.string(),
                                 journal_->torn_bytes());
  }
  std::size_t n = 0;
  for (const auto& line : journal_->initial_lines()) {
    ++n;
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("type")) {
      common::logger("plan")->warn("{}:{}: not a journal record, skipped", file_.string(), n);
      continue;
    }
    apply(j);
    ++records_[str(j, "hash")];
    ++lines_;
  }
}

plan_journal::~plan_journal() = default;

void plan_journal::apply(const json& r) {
  const std::string type = str(r, "type");
  const std::string hash = str(r, "hash");
  if (type == "plan_begin") {
    for (const auto& p : plans_) {
      if (p.hash() == hash) return;  // never restarted: the first begin wins
    }
    plans_.push_back(journal_plan{r, {}, std::nullopt});
    return;
  }
  journal_plan* plan = nullptr;
  for (auto& p : plans_) {
    if (p.hash() == hash) plan = &p;
  }
  if (plan == nullptr) return;
  if (type == "plan_end") {
    plan->end = r;
    return;
  }
  if (type == "operator") return;  // informational: commands and holds
  const std::string name = str(r, "step");
  journal_step* st = nullptr;
  for (auto& s : plan->steps) {
    if (s.name == name) st = &s;
  }
  if (st == nullptr) {
    journal_step fresh;
    fresh.name = name;
    plan->steps.push_back(std::move(fresh));
    st = &plan->steps.back();
  }
  st->attempts = std::max(st->attempts, r.value("attempt", 0));
  if (type == "intent") {
    st->intent_open = true;
  } else if (type == "process") {
    st->pgid = r.value("pgid", 0);
    st->boot_id = str(r, "boot_id");
  } else if (type == "process_kill") {
    st->pgid.reset();
  } else if (type == "result") {
    st->intent_open = false;
    st->pgid.reset();
    st->detail = str(r, "detail");
    st->duration_s = r.value("duration_s", 0.0);
    if (r.value("final", true)) st->outcome = str(r, "outcome");
  }
}

void plan_journal::append(const json& record) {
  std::lock_guard lock(mu_);
  const std::string hash = str(record, "hash");
  if (mirror_) mirror_(hash, records_[hash], record);  // throws: nothing recorded anywhere
  if (journal_) journal_->append(record.dump());       // fsync'd before it returns
  apply(record);
  ++records_[hash];
  ++lines_;
}

void plan_journal::set_mirror(mirror_fn f) {
  std::lock_guard lock(mu_);
  mirror_ = std::move(f);
}

void plan_journal::adopt(const std::vector<json>& records) {
  std::lock_guard lock(mu_);
  plans_.clear();
  records_.clear();
  for (const auto& r : records) {
    if (!r.is_object() || !r.contains("type")) continue;
    apply(r);
    ++records_[str(r, "hash")];
  }
}

std::optional<journal_plan> plan_journal::find(const std::string& hash) const {
  std::lock_guard lock(mu_);
  for (const auto& p : plans_) {
    if (p.hash() == hash) return p;
  }
  return std::nullopt;
}

std::vector<journal_plan> plan_journal::plans() const {
  std::lock_guard lock(mu_);
  return plans_;
}

std::size_t plan_journal::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

void plan_journal::begin(common::wall_time at, const std::string& hash, json fields) {
  json r{{"type", "plan_begin"}, {"at", common::format_rfc3339(at)}, {"hash", hash}};
  for (auto& [k, v] : fields.items())
    r[k] = v;
  append(r);
}

void plan_journal::intent(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index,
                          int attempt, json calls) {
  append({{"type", "intent"},
          {"at", common::format_rfc3339(at)},
          {"hash", hash},
          {"step", step},
          {"index", index},
          {"attempt", attempt},
          {"calls", std::move(calls)}});
}

void plan_journal::result(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index,
                          int attempt, const std::string& outcome, const std::string& detail, double duration_s,
                          bool final_result) {
  append({{"type", "result"},
          {"at", common::format_rfc3339(at)},
          {"hash", hash},
          {"step", step},
          {"index", index},
          {"attempt", attempt},
          {"outcome", outcome},
          {"detail", detail},
          {"duration_s", duration_s},
          {"final", final_result}});
}

void plan_journal::process(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index,
                           int attempt, int pgid, const std::string& boot_id) {
  append({{"type", "process"},
          {"at", common::format_rfc3339(at)},
          {"hash", hash},
          {"step", step},
          {"index", index},
          {"attempt", attempt},
          {"pgid", pgid},
          {"boot_id", boot_id}});
}

void plan_journal::process_kill(common::wall_time at, const std::string& hash, const std::string& step,
                                std::size_t index, int pgid, const std::string& detail) {
  append({{"type", "process_kill"},
          {"at", common::format_rfc3339(at)},
          {"hash", hash},
          {"step", step},
          {"index", index},
          {"pgid", pgid},
          {"detail", detail}});
}

void plan_journal::end(common::wall_time at, const std::string& hash, bool ok, const std::string& result,
                       const std::string& detail, json rto) {
  append({{"type", "plan_end"},
          {"at", common::format_rfc3339(at)},
          {"hash", hash},
          {"ok", ok},
          {"result", result},
          {"detail", detail},
          {"rto", std::move(rto)}});
}

void plan_journal::note(common::wall_time at, const std::string& hash, json fields) {
  json r{{"type", "operator"}, {"at", common::format_rfc3339(at)}, {"hash", hash}};
  for (auto& [k, v] : fields.items())
    r[k] = v;
  append(r);
}

}  // namespace vigil::actuators
