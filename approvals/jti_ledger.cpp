#include "approvals/jti_ledger.hpp"

#include <charconv>
#include <stdexcept>

namespace vigil::approvals {

namespace {

constexpr std::size_t max_jti = 128;
constexpr std::string_view release_prefix = "release ";

std::int64_t to_ms(common::wall_time t) {
  return t.time_since_epoch().count();
}

}  // namespace

bool valid_jti(std::string_view jti) {
  if (jti.empty() || jti.size() > max_jti) return false;
  for (const char c : jti) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

common::wall_time forget_before_for(common::wall_time now, std::chrono::milliseconds max_skew) {
  return now - max_skew - std::chrono::hours(1);
}

file_jti_ledger::file_jti_ledger(std::filesystem::path file, std::optional<common::wall_time> forget_before)
    : journal_(std::move(file)) {
  for (const auto& line : journal_.initial_lines()) {
    if (line.starts_with(release_prefix) && valid_jti(std::string_view(line).substr(release_prefix.size()))) {
      seen_.erase(line.substr(release_prefix.size()));
      continue;
    }
    const auto sp = line.find(' ');
    std::int64_t exp = 0;
    const auto* end = line.data() + (sp == std::string::npos ? 0 : sp);
    const auto [ptr, ec] = std::from_chars(line.data(), end, exp);
    const std::string_view jti = sp == std::string::npos ? std::string_view{} : std::string_view(line).substr(sp + 1);
    if (sp == std::string::npos || ec != std::errc{} || ptr != end || !valid_jti(jti)) {
      // A line we did not write: refuse to guess what it meant; an operator
      // must look at the file (losing entries would re-open replays).
      throw std::runtime_error(journal_.path().string() + ": malformed ledger line '" + line.substr(0, 80) + "'");
    }
    seen_[std::string(jti)] = exp;
  }
  if (forget_before) compact(*forget_before);
}

bool file_jti_ledger::try_consume(std::string_view jti, common::wall_time expires_at) {
  if (!valid_jti(jti)) throw std::invalid_argument("invalid jti");
  std::lock_guard lock(mu_);
  if (seen_.contains(std::string(jti))) return false;
  journal_.append(std::to_string(to_ms(expires_at)) + " " + std::string(jti));
  seen_.emplace(std::string(jti), to_ms(expires_at));
  return true;
}

void file_jti_ledger::release(std::string_view jti, common::wall_time /*expires_at*/) {
  if (!valid_jti(jti)) throw std::invalid_argument("invalid jti");
  std::lock_guard lock(mu_);
  const auto it = seen_.find(std::string(jti));
  if (it == seen_.end()) return;
  journal_.append(std::string(release_prefix) + std::string(jti));
  seen_.erase(it);
}

void file_jti_ledger::compact(common::wall_time forget_before) {
  std::lock_guard lock(mu_);
  const auto cutoff = to_ms(forget_before);
  std::vector<std::string> keep;
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (it->second < cutoff) {
      it = seen_.erase(it);
    } else {
      keep.push_back(std::to_string(it->second) + " " + it->first);
      ++it;
    }
  }
  journal_.rewrite(keep);
}

std::size_t file_jti_ledger::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

}  // namespace vigil::approvals
