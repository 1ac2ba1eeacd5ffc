#pragma once
// A small, strict command-line parser: every subcommand declares its options;
// an unknown option, a missing value or a missing required option is a usage
// error (exit 2) naming the option. `--help` is always accepted.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::app {

struct option_spec {
  std::string name;        ///< without dashes: "config"
  std::string value_name;  ///< empty: a flag without value; else e.g. "FILE"
  std::string help;
  bool required = false;
  bool repeatable = false;
};

struct parsed_args {
  std::map<std::string, std::vector<std::string>> values;  ///< option -> values given
  std::vector<std::string> positional;
  bool help = false;

  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;
  [[nodiscard]] std::string get_or(std::string_view name, std::string fallback) const;
  [[nodiscard]] std::vector<std::string> all(std::string_view name) const;
};

struct parse_result {
  std::optional<parsed_args> args;
  std::string error;  ///< set when args is empty
};

/// Parses argv after the subcommand name. Accepts "--name value", "--name=value"
/// and flags; "--" ends options. `max_positional` bounds positional arguments.
[[nodiscard]] parse_result parse_args(const std::vector<std::string>& argv, const std::vector<option_spec>& specs,
                                      std::size_t max_positional = 0);

/// "Options:" block for a subcommand's --help.
[[nodiscard]] std::string format_options(const std::vector<option_spec>& specs);

}  // namespace vigil::app
