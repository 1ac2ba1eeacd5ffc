#include "coordination/coordination.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/crypto.hpp"

namespace vigil::coordination {

namespace {

// One file per key: every byte outside [A-Za-z0-9_-] becomes %XX, so "/" and
// "." never reach the file system as path syntax and names map back exactly.
std::string encode_name(std::string_view key) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4U];
      out += hex[u & 0xFU];
    }
  }
  return out;
}

std::optional<std::string> decode_name(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    unsigned v = 0;
    for (std::size_t k = 1; k <= 2; ++k) {
      const char c = name[i + k];
      v <<= 4U;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

[[noreturn]] void io_fail(const std::filesystem::path& p, std::string_view what) {
  throw std::runtime_error(p.string() + ": " + std::string(what) + ": " + std::strerror(errno));
}

void fsync_path(const std::filesystem::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) io_fail(p, "open");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) io_fail(p, "fsync");
}

/// Durable replace: write a temporary file, fsync it, rename it over `target`,
/// fsync the directory (a crash leaves the old or the new value, never half).
void write_atomically(const std::filesystem::path& target, std::string_view value) {
  const auto tmp = target.parent_path() / (".tmp-" + target.filename().string());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) io_fail(tmp, "create");
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    if (!out) io_fail(tmp, "write");
  }
  fsync_path(tmp, O_RDONLY);
  if (::rename(tmp.c_str(), target.c_str()) != 0) io_fail(target, "rename");
  fsync_path(target.parent_path(), O_RDONLY | O_DIRECTORY);
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(p)) return std::nullopt;
    throw coordination_unavailable(p.string() + ": cannot read");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string_view to_string(coordination_health h) {
  switch (h) {
    case coordination_health::healthy:
      return "healthy";
    case coordination_health::degraded:
      return "degraded";
    case coordination_health::lost:
      return "lost";
  }
  return "unknown";
}

std::string_view to_string(write_result r) {
  switch (r) {
    case write_result::ok:
      return "ok";
    case write_result::exists:
      return "exists";
    case write_result::fenced:
      return "fenced";
    case write_result::unavailable:
      return "unavailable";
  }
  return "unknown";
}

namespace coordination_keys {
std::string plan_step(std::string_view recommendation_id, std::size_t step_index) {
  // Zero-padded so that list("plan/<id>/") returns the steps in order.
  std::string idx = std::to_string(step_index);
  if (idx.size() < 4) idx.insert(0, 4 - idx.size(), '0');
  return std::string(plan_prefix) + std::string(recommendation_id) + "/" + idx;
}
std::string outbox(std::string_view dedup_key) {
  return std::string(outbox_prefix) + std::string(dedup_key);
}
}  // namespace coordination_keys

write_result coordinator::put_json_guarded(std::string_view key, const nlohmann::json& value, bool only_if_absent) {
  return put_guarded(key, value.dump(), only_if_absent);
}

std::optional<nlohmann::json> coordinator::get_json(std::string_view key) {
  auto raw = get(key);
  if (!raw) return std::nullopt;
  try {
    return nlohmann::json::parse(*raw);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("coordination key '" + std::string(key) + "' does not hold JSON: " + e.what());
  }
}

nlohmann::json coordinator::status_json() const {
  const coordination_status s = status();
  return {{"leader", s.leader},
          {"fencing_token", s.fencing_token},
          {"coordination",
           {{"backend", s.backend},
            {"health", std::string(to_string(s.health))},
            {"replica_id", s.replica_id},
            {"leader_id", s.leader_id},
            {"endpoints_down", s.endpoints_down},
            {"detail", s.detail},
            {"last_transition", s.last_transition}}}};
}

file_coordinator::file_coordinator(std::filesystem::path dir, std::filesystem::path ledger_file, std::string replica_id)
    : dir_(std::move(dir)), ledger_file_(std::move(ledger_file)), replica_id_(std::move(replica_id)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error(dir_.string() + ": cannot create: " + ec.message());
}

coordination_status file_coordinator::status() const {
  coordination_status s;
  s.backend = "file";
  s.replica_id = replica_id_;
  s.leader = true;
  s.fencing_token = 1;
  s.leader_id = replica_id_;
  return s;
}

std::filesystem::path file_coordinator::path_of(std::string_view key) const {
  return dir_ / encode_name(key);
}

write_result file_coordinator::put_guarded(std::string_view key, std::string_view value, bool only_if_absent) {
  const std::lock_guard lock(mu_);
  const auto p = path_of(key);
  if (only_if_absent && std::filesystem::exists(p)) return write_result::exists;
  try {
    write_atomically(p, value);
  } catch (const std::runtime_error&) {
    return write_result::unavailable;
  }
  return write_result::ok;
}

write_result file_coordinator::erase_guarded(std::string_view key) {
  const std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::remove(path_of(key), ec);
  return ec ? write_result::unavailable : write_result::ok;
}

std::optional<std::string> file_coordinator::get(std::string_view key) {
  const std::lock_guard lock(mu_);
  return read_file(path_of(key));
}

std::map<std::string, std::string> file_coordinator::list(std::string_view prefix) {
  const std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.') continue;  // temporary files
    auto key = decode_name(name);
    if (!key || !key->starts_with(prefix)) continue;
    if (auto v = read_file(entry.path())) out.emplace(std::move(*key), std::move(*v));
  }
  if (ec) throw coordination_unavailable(dir_.string() + ": cannot list: " + ec.message());
  return out;
}

approvals::jti_ledger& file_coordinator::ledger() {
  const std::lock_guard lock(mu_);
  if (!ledger_) ledger_ = std::make_unique<approvals::file_jti_ledger>(ledger_file_);
  return *ledger_;
}

}  // namespace vigil::coordination
