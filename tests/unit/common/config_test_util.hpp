#pragma once
// Shared helpers for the config loader tests: an injected environment and file
// system, a small valid base config, and assertions on formatted diagnostics.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/config_load.hpp"

namespace vigil::common::test {

inline const std::string file_name = "conf/vigil.yaml";

/// A valid config of 12 lines: anything appended starts on line 13.
inline const std::string base_yaml =
    "deployment: t\n"                                  // 1
    "regions:\n"                                       // 2
    "  - {name: us-east-1, role: primary}\n"           // 3
    "  - {name: us-west-2, role: dr}\n"                // 4
    "vantages: [us-east-1, us-west-2, eu-west-1]\n"    // 5
    "services:\n"                                      // 6
    "  - name: api\n"                                  // 7
    "    checks:\n"                                    // 8
    "      - region: us-east-1\n"                      // 9
    "        http: {url: \"http://127.0.0.1:1/\"}\n"   // 10
    "      - region: us-west-2\n"                      // 11
    "        http: {url: \"http://127.0.0.1:2/\"}\n";  // 12

struct fake_world {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;

  [[nodiscard]] env_lookup env_fn() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      const auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }
  [[nodiscard]] file_reader files_fn() const {
    return [this](const std::string& path, std::string& error) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it == files.end()) {
        error = "No such file or directory";
        return std::nullopt;
      }
      return it->second;
    };
  }
  [[nodiscard]] config_load_result load(const std::string& yaml, const std::string& name = file_name) const {
    return load_config_text(yaml, name, env_fn(), files_fn());
  }
};

inline std::string all_diagnostics(const config_load_result& r) {
  std::string out;
  for (const auto& d : r.diagnostics)
    out += d.format() + "\n";
  return out;
}

/// Asserts that `r` failed with an error "conf/vigil.yaml:<at>: error: <path>: ...<text>...".
inline ::testing::AssertionResult has_error(const config_load_result& r, const std::string& at,
                                            const std::string& key_path, const std::string& text) {
  if (r.ok()) return ::testing::AssertionFailure() << "loaded without error; diagnostics:\n" << all_diagnostics(r);
  const std::string prefix = file_name + ":" + at + ": error: " + (key_path.empty() ? "" : key_path + ": ");
  for (const auto& d : r.diagnostics) {
    const std::string f = d.format();
    if (f.rfind(prefix, 0) == 0 && f.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error starting with \"" << prefix << "\" containing \"" << text
                                       << "\"; diagnostics:\n"
                                       << all_diagnostics(r);
}

inline std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/" + relative);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace vigil::common::test
