#include "paging/outbox.hpp"

#include <algorithm>
#include <stdexcept>

namespace vigil::paging {

namespace {

using nlohmann::json;

// Compact once this many "done" lines accumulated: a few hundred pages a
// year is typical, so this mainly bounds a journal flooded by a flapping
// incident (1000 lines of ~2 KiB = 2 MiB).
constexpr std::size_t compact_every = 1000;

}  // namespace

page_outbox::page_outbox(std::filesystem::path file, std::vector<std::string> sinks, std::chrono::hours retention)
    : journal_(std::move(file)), sinks_(std::move(sinks)), retention_(retention) {
  load();
}

void page_outbox::load() {
  std::size_t line_no = 0;
  for (const auto& line : journal_.initial_lines()) {
    ++line_no;
    const auto bad = [&](const std::string& why) {
      return std::runtime_error(journal_.path().string() + ":" + std::to_string(line_no) + ": " + why);
    };
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw bad("not a JSON object");
    try {
      const std::string op = j.at("op").get<std::string>();
      const auto seq = j.at("seq").get<std::uint64_t>();
      next_seq_ = std::max(next_seq_, seq + 1);
      if (op == "page") {
        record r{page_from_json(j.at("page")), j.at("key").get<std::string>(), {}};
        for (const auto& s : j.at("sinks"))
          r.pending.insert(s.get<std::string>());
        seen_[r.key] = {seq, r.p.timestamp.time_since_epoch().count()};
        track_incident(seq, r.p);
        if (!r.pending.empty()) open_[seq] = std::move(r);
      } else if (op == "done") {
        const auto it = open_.find(seq);
        if (it != open_.end()) {
          it->second.pending.erase(j.at("sink").get<std::string>());
          if (it->second.pending.empty()) open_.erase(it);
        }
      } else if (op == "seen") {
        seen_[j.at("key").get<std::string>()] = {seq, j.at("ts").get<std::int64_t>()};
      } else {
        throw bad("unknown op '" + op + "'");
      }
    } catch (const json::exception& e) {
      throw bad(e.what());
    } catch (const std::invalid_argument& e) {
      throw bad(e.what());
    }
  }
}

void page_outbox::track_incident(std::uint64_t seq, const page& p) {
  const auto it = incidents_.find(p.incident_id);
  if (it != incidents_.end() && it->second.first > seq) return;  // an older line (never written so, but be sure)
  if (p.action == page_action::resolve) {
    if (it != incidents_.end()) incidents_.erase(it);
    return;
  }
  incidents_[p.incident_id] = {seq, p};
}

std::vector<page> page_outbox::open_incidents() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::uint64_t, const page*>> by_seq;
  for (const auto& [id, last] : incidents_)
    by_seq.emplace_back(last.first, &last.second);
  std::sort(by_seq.begin(), by_seq.end());
  std::vector<page> out;
  out.reserve(by_seq.size());
  for (const auto& [seq, p] : by_seq)
    out.push_back(*p);
  return out;
}

bool page_outbox::enqueue(const page& p) {
  std::lock_guard lock(mu_);
  const std::string key = idempotency_key(p);
  if (seen_.contains(key)) return false;
  const std::uint64_t seq = next_seq_;
  const json line{{"op", "page"}, {"seq", seq}, {"key", key}, {"sinks", sinks_}, {"page", to_json(p)}};
  journal_.append(line.dump());
  ++next_seq_;
  seen_[key] = {seq, p.timestamp.time_since_epoch().count()};
  track_incident(seq, p);
  if (!sinks_.empty()) open_[seq] = {p, key, std::set<std::string>(sinks_.begin(), sinks_.end())};
  return true;
}

void page_outbox::mark_done(std::uint64_t seq, const std::string& sink, std::string_view result) {
  std::lock_guard lock(mu_);
  const auto it = open_.find(seq);
  if (it == open_.end() || !it->second.pending.contains(sink)) return;
  journal_.append(json{{"op", "done"}, {"seq", seq}, {"sink", sink}, {"result", result}}.dump());
  it->second.pending.erase(sink);
  if (it->second.pending.empty()) open_.erase(it);
  ++done_since_compaction_;
}

std::vector<outbox_entry> page_outbox::pending() const {
  std::lock_guard lock(mu_);
  std::vector<outbox_entry> out;
  for (const auto& [seq, r] : open_) {
    outbox_entry e{seq, r.p, {}};
    for (const auto& s : sinks_) {
      if (r.pending.contains(s)) e.pending.push_back(s);
    }
    if (!e.pending.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::size_t page_outbox::pending_count() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& entry : open_) {
    const auto& pend = entry.second.pending;
    n += static_cast<std::size_t>(
        std::count_if(sinks_.begin(), sinks_.end(), [&](const std::string& s) { return pend.contains(s); }));
  }
  return n;
}

bool page_outbox::needs_compaction() const {
  std::lock_guard lock(mu_);
  return done_since_compaction_ >= compact_every;
}

void page_outbox::compact(common::wall_time now) {
  std::lock_guard lock(mu_);
  const auto cutoff = (now - retention_).time_since_epoch().count();
  // Page lines in sequence order: pages still pending (only the sinks still
  // pending: the rewritten line needs no "done" lines), and the last page of
  // every open incident (no sink pending), so that it is known after a restart.
  std::map<std::uint64_t, std::string> pages;
  for (const auto& [seq, r] : open_) {
    const std::vector<std::string> pend(r.pending.begin(), r.pending.end());
    pages[seq] = json{{"op", "page"}, {"seq", seq}, {"key", r.key}, {"sinks", pend}, {"page", to_json(r.p)}}.dump();
  }
  for (const auto& [id, last] : incidents_) {
    const auto& [seq, p] = last;
    if (pages.contains(seq)) continue;
    pages[seq] =
        json{{"op", "page"}, {"seq", seq}, {"key", idempotency_key(p)}, {"sinks", json::array()}, {"page", to_json(p)}}
            .dump();
  }
  std::vector<std::string> lines;
  for (auto it = seen_.begin(); it != seen_.end();) {
    const auto [seq, ts] = it->second;
    const bool kept = pages.contains(seq);
    if (!kept && ts < cutoff) {
      it = seen_.erase(it);
      continue;
    }
    if (!kept) lines.push_back(json{{"op", "seen"}, {"seq", seq}, {"key", it->first}, {"ts", ts}}.dump());
    ++it;
  }
  for (auto& [seq, line] : pages)
    lines.push_back(std::move(line));
  // The highest sequence number must survive even when nothing else does.
  if (lines.empty() && next_seq_ > 1) {
    lines.push_back(json{{"op", "seen"}, {"seq", next_seq_ - 1}, {"key", ""}, {"ts", 0}}.dump());
  }
  journal_.rewrite(lines);
  done_since_compaction_ = 0;
}

}  // namespace vigil::paging
