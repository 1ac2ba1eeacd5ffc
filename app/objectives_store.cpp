#include "app/objectives_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/descriptors.hpp"
#include "common/log.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

using nlohmann::json;

decision::recorded_timeline timeline_from_report(const json& rto, const std::string& id, const std::string& kind,
                                                 const std::string& action, const std::string& result) {
  decision::recorded_timeline t;
  t.id = id;
  t.kind = kind;
  t.action = action;
  t.result = result;
  t.dry_run = rto.value("dry_run", true);
  const auto mark = [&](const char* key) -> std::optional<decision::time_point> {
    const auto it = rto.find(key);
    if (it == rto.end() || !it->is_string()) return std::nullopt;
    return decision::parse_time(it->get<std::string>());
  };
  t.first_evidence = mark("first_evidence");
  t.classified = mark("classified");
  t.paged = mark("paged");
  t.approved = mark("approved");
  t.plan_started = mark("plan_started");
  t.plan_finished = mark("plan_finished");
  for (const auto& s : rto.value("steps", json::array())) {
    decision::recorded_step r;
    r.name = s.value("name", std::string{});
    r.outcome = s.value("outcome", std::string{});
    r.duration_s = std::max(0.0, s.value("duration_s", 0.0));
    if (s.contains("started") && s["started"].is_string())
      r.started = decision::parse_time(s["started"].get<std::string>());
    if (s.contains("finished") && s["finished"].is_string())
      r.finished = decision::parse_time(s["finished"].get<std::string>());
    t.steps.push_back(std::move(r));
  }
  return t;
}

std::string timelines_path(const std::string& state_dir) {
  return state_dir.empty() ? std::string{} : state_dir + "/timelines.jsonl";
}

std::string append_timeline(const std::string& path, const decision::recorded_timeline& t) {
  common::append_file f;
  if (!f.open(path)) return "cannot open " + path + " for appending";
  f.write_line(decision::to_json(t).dump());  // one line, one write: O_APPEND keeps writers' lines whole
  f.flush();
  f.close();
  return {};
}

timeline_store::timeline_store(std::string path) : path_(std::move(path)) {}

std::string timeline_store::append(const decision::recorded_timeline& t) {
  if (path_.empty()) {
    entries_.push_back(t);
    if (entries_.size() > keep) entries_.erase(entries_.begin(), entries_.end() - static_cast<std::ptrdiff_t>(keep));
    return {};
  }
  reload();
  const auto before = seen_size_;
  std::string why = append_timeline(path_, t);
  if (!why.empty()) {
    entries_.push_back(t);
    return why;
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path_, ec);
  if (!ec && loaded_ && size == before + decision::to_json(t).dump().size() + 1) {
    entries_.push_back(t);  // only this line was added: no need to read the file again
    if (entries_.size() > keep) entries_.erase(entries_.begin());
    ++lines_;
    seen_size_ = size;
  } else {
    reload();
  }
  if (lines_ > 2 * keep) compact();
  return {};
}

std::size_t timeline_store::merge(const std::vector<decision::recorded_timeline>& others) {
  std::set<std::pair<std::string, std::string>> known;
  const auto key = [](const decision::recorded_timeline& t) {
    return std::make_pair(t.id, t.plan_finished ? decision::format_time(*t.plan_finished) : std::string{});
  };
  for (const auto& t : entries())
    known.insert(key(t));
  std::size_t added = 0;
  for (const auto& t : others) {
    if (!known.insert(key(t)).second) continue;
    (void)append(t);
    ++added;
  }
  return added;
}

const std::vector<decision::recorded_timeline>& timeline_store::entries() {
  reload();
  return entries_;
}

void timeline_store::reload() {
  if (path_.empty()) return;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path_, ec);
  if (ec) return;  // not written yet
  if (loaded_ && size == seen_size_) return;
  std::ifstream in(path_);
  std::vector<decision::recorded_timeline> fresh;
  std::size_t lines = 0;
  std::size_t bad = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    try {
      fresh.push_back(decision::timeline_from_json(json::parse(line)));
    } catch (const std::exception& e) {
      ++bad;
      if (bad == 1) common::logger("objectives")->warn("{}: line {} skipped: {}", path_, lines, e.what());
    }
  }
  if (fresh.size() > keep) fresh.erase(fresh.begin(), fresh.end() - static_cast<std::ptrdiff_t>(keep));
  entries_ = std::move(fresh);
  lines_ = lines;
  skipped_ = bad;
  seen_size_ = size;
  loaded_ = true;
}

/// The newest `keep` entries replace the file: a temporary file (0600),
/// fsync'd, renamed over it. A line another process appends between the
/// read and the rename is lost (compaction runs once per `keep` appends).
void timeline_store::compact() {
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    common::logger("objectives")->warn("{}: not compacted: cannot create {}", path_, tmp);
    return;
  }
  std::string text;
  for (const auto& t : entries_)
    text += decision::to_json(t).dump() + "\n";
  bool ok = true;
  for (std::size_t off = 0; ok && off < text.size();) {
    const auto n = ::write(fd, text.data() + off, text.size() - off);
    ok = n > 0;
    if (ok) off += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path_, ec);
  if (!ok || ec) {
    common::logger("objectives")->warn("{}: not compacted (write or rename failed)", path_);
    std::filesystem::remove(tmp, ec);
    return;
  }
  loaded_ = false;
  reload();
}

}  // namespace vigil::app
