// load_config(): YAML text -> validated common::config, every problem collected.
#include "common/config_load.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config_reader.hpp"

namespace vigil::common {

std::string config_diagnostic::format() const {
  std::string out = pos.file.empty() ? std::string("<config>") : pos.file;
  if (pos.line > 0) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  out += severity == level::error ? ": error: " : ": warning: ";
  if (!pos.key_path.empty()) out += pos.key_path + ": ";
  return out + message;
}

std::size_t config_load_result::error_count() const {
  return static_cast<std::size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const auto& d) {
    return d.severity == config_diagnostic::level::error;
  }));
}

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe): read at start-up
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes, std::string& error) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
  } else if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
  } else if (!S_ISREG(st.st_mode)) {
    error = std::string("is not a regular file (") +
            (S_ISFIFO(st.st_mode)   ? "a FIFO"
             : S_ISSOCK(st.st_mode) ? "a socket"
                                    : "a device") +
            ")";
  } else if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = "larger than " + std::to_string(max_bytes / 1024) + " KiB (" + std::to_string(st.st_size) + " bytes)";
  } else {
    std::string data(max_bytes + 1, '\0');
    std::size_t got = 0;
    for (;;) {
      const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = std::string("read error: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        break;
      }
      if (n == 0) {
        data.resize(got);
        out = std::move(data);
        break;
      }
      got += static_cast<std::size_t>(n);
      if (got > max_bytes) {  // grew while we read
        error = "larger than " + std::to_string(max_bytes / 1024) + " KiB";
        break;
      }
    }
  }
  ::close(fd);
  return out;
}

file_reader real_files() {
  return [](const std::string& path, std::string& error) -> std::optional<std::string> {
    return read_regular_file(path, max_secret_file_bytes, error);
  };
}

std::string secret_file_exposure(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  const auto mode = static_cast<unsigned>(st.st_mode) & 0777U;
  const bool others = (mode & 007U) != 0;
  const bool group = (mode & 070U) != 0 && st.st_uid == ::geteuid();
  if (!others && !group) return {};
  std::array<char, 8> octal{};
  std::snprintf(octal.data(), octal.size(), "%04o", mode);
  return std::string("is readable by group/others (mode ") + octal.data() + ")";
}

secret_mode_check real_secret_modes() {
  return [](const std::string& path) { return secret_file_exposure(path); };
}

config_load_result load_config(const std::string& path) {
  std::string error;
  const auto text = read_regular_file(path, max_config_file_bytes, error);
  if (!text) {
    config_load_result r;
    r.diagnostics.push_back(
        {config_diagnostic::level::error, source_pos{path, 0, 0, {}}, "cannot read the configuration file: " + error});
    return r;
  }
  return load_config_text(*text, path, process_env(), real_files(), real_secret_modes());
}

config_load_result load_config_text(std::string_view yaml, const std::string& file_name, const env_lookup& env,
                                    const file_reader& files, const secret_mode_check& secret_modes) {
  using namespace config_detail;
  load_context ctx{file_name, std::filesystem::path(file_name).parent_path().string(), env, files, secret_modes, {},
                   {}};
  config_load_result result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based; ours are 1-based.
    source_pos p{file_name, e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1, {}};
    ctx.error_at(p, "YAML syntax error: " + e.msg);
    result.diagnostics = std::move(ctx.diagnostics);
    return result;
  }
  if (!root.IsDefined() || root.IsNull()) {
    ctx.error_at(source_pos{file_name, 1, 1, {}},
                 "the file is empty: expected a map with deployment, regions, vantages and services");
    result.diagnostics = std::move(ctx.diagnostics);
    return result;
  }
  config cfg;
  cfg.file = file_name;
  map_reader top(ctx, root, "", top_level_keys());
  if (top.valid()) {
    read_sections(top, cfg);
    read_paging(top, cfg);
    read_checks(top, cfg);
    read_plans(top, cfg);
    validate(ctx, cfg);
  }
  // Errors first (in file order), then warnings: the count line reads well.
  std::stable_sort(ctx.diagnostics.begin(), ctx.diagnostics.end(), [](const auto& a, const auto& b) {
    if (a.severity != b.severity) return a.severity == config_diagnostic::level::error;
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
  });
  if (ctx.error_count() == 0) result.value = std::move(cfg);
  result.diagnostics = std::move(ctx.diagnostics);
  return result;
}

}  // namespace vigil::common
