#pragma once
// Internal to the config loader (config_*.cpp): walking yaml-cpp nodes into
// typed values while collecting diagnostics. Not part of the public API; other
// folders include common/config_load.hpp only.
//
// Every read reports its own problems (wrong type, bad duration, out of range,
// unknown key with "did you mean") against the node's position and key path
// and leaves the output untouched, so a caller keeps the default and goes on:
// one pass finds every error in the file.
//
// Scalars go through ${ENV_VAR} substitution first (see substitute_env()).
// Values read with `secret` set never appear in a message.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/config_load.hpp"

namespace vigil::common::config_detail {

/// The state shared by one load: where the file is, how to resolve secrets,
/// and the diagnostics found so far.
struct load_context {
  std::string file;
  std::string dir;  ///< the file's directory: relative *_file paths resolve against it
  const env_lookup& env;
  const file_reader& files;
  const secret_mode_check& secret_modes;  ///< absent: modes not checked
  std::vector<config_diagnostic> diagnostics;
  /// Position of every key and list item seen, by key path: cross checks
  /// (config_validate.cpp) report against the value they are about.
  std::map<std::string, source_pos, std::less<>> seen;

  /// The recorded position of `key_path`, else of its nearest recorded parent.
  [[nodiscard]] source_pos at(std::string_view key_path) const;
  void record(const YAML::Node& n, const std::string& key_path);

  [[nodiscard]] source_pos pos(const YAML::Node& n, std::string key_path) const;
  void error(const YAML::Node& n, std::string key_path, std::string message);
  void warning(const YAML::Node& n, std::string key_path, std::string message);
  void error_at(source_pos pos, std::string message);
  void warning_at(source_pos pos, std::string message);
  [[nodiscard]] std::size_t error_count() const;
  /// `path` as written, or joined to the config file's directory when relative.
  [[nodiscard]] std::string resolve_path(const std::string& path) const;
  /// "PATH is readable by group/others (mode 0644); chmod 600 it" when the
  /// secret file at `path` (resolved) is exposed, else empty.
  [[nodiscard]] std::string exposed_secret(const std::string& path) const;
};

/// ${NAME} and ${NAME:-default} replaced from `env`; "$${" is a literal "${".
/// nullopt with `error` set on a missing variable or a malformed reference.
[[nodiscard]] std::optional<std::string> substitute_env(std::string_view text, const env_lookup& env,
                                                        std::string& error);

/// Levenshtein distance (insert, delete, substitute), for "did you mean".
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);
/// The nearest candidate within distance 2, or empty.
[[nodiscard]] std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates);
/// ` (did you mean "x"?)` or empty.
[[nodiscard]] std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

/// "map", "list", "string", "null" for messages.
[[nodiscard]] std::string_view node_kind(const YAML::Node& n);

/// http(s)://host[:port][/path...]; empty when fine, else what is wrong.
[[nodiscard]] std::string check_url(std::string_view url);
/// host:port with a port in 1..65535 ([v6]:port accepted); empty when fine.
[[nodiscard]] std::string check_listen(std::string_view addr);

/// A scalar read from the file: the value after substitution and the text as
/// written (safe to quote in messages unless secret).
struct scalar_value {
  std::string value;
  std::string written;
};

/// Reads one YAML map: on construction reports a non-map, unknown keys (with
/// "did you mean") and duplicate keys; then each getter reads one key if
/// present. `required` getters report a missing key at the map's position.
class map_reader {
 public:
  /// `any_key`: every key is allowed (maps keyed by free-form names).
  map_reader(load_context& ctx, const YAML::Node& node, std::string path, std::vector<std::string_view> allowed,
             bool any_key = false);

  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] YAML::Node node() const { return node_; }
  [[nodiscard]] YAML::Node child(std::string_view key) const;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string key_path(std::string_view key) const;
  [[nodiscard]] source_pos pos() const;
  [[nodiscard]] source_pos pos_of(std::string_view key) const;
  [[nodiscard]] load_context& ctx() const { return ctx_; }
  /// The key names present, in file order.
  [[nodiscard]] std::vector<std::string> keys() const;

  /// Reports "missing required key" at the map when absent; returns presence.
  bool require(std::string_view key);
  /// Reports at the key's value (or at the key when the value is null).
  void error(std::string_view key, std::string message) const;
  /// Reports at the key itself: for keys that should not be there.
  void key_error(std::string_view key, std::string message) const;

  /// Each returns true when the key was present and valid (out set).
  bool string(std::string_view key, std::string& out, bool required = false, bool allow_empty = false);
  /// Accepts `key` or `key_file` (exactly one); the file's text with its
  /// trailing newline trimmed. Never quotes the value.
  bool secret(std::string_view key, std::string& out, bool required = false);
  bool url(std::string_view key, std::string& out, bool required = false, bool secret = false);
  bool duration(std::string_view key, common::duration& out, common::duration min, bool required = false);
  bool integer(std::string_view key, int& out, int lo, int hi, bool required = false);
  bool integer64(std::string_view key, std::int64_t& out, std::int64_t lo, std::int64_t hi);
  /// A number in (lo, hi] when lo_open, else [lo, hi].
  bool number(std::string_view key, double& out, double lo, double hi, bool lo_open);
  bool boolean(std::string_view key, bool& out);
  bool string_list(std::string_view key, std::vector<std::string>& out, bool required = false,
                   std::vector<source_pos>* positions = nullptr);
  /// `http_headers`: names must be HTTP tokens and values free of CR, LF
  /// and NUL (a value from ${ENV} could otherwise inject a header).
  bool string_map(std::string_view key, std::map<std::string, std::string>& out, bool http_headers = false);
  /// One of `choices` (with "did you mean"); returns the index.
  std::optional<std::size_t> choice(std::string_view key, const std::vector<std::string_view>& choices,
                                    bool required = false);
  /// A path (string), resolved against the config file's directory.
  bool file_path(std::string_view key, std::string& out);

 private:
  [[nodiscard]] YAML::Node key_node(std::string_view key) const;
  /// The scalar at `key` after substitution; reports a non-scalar or null.
  [[nodiscard]] std::optional<scalar_value> scalar(std::string_view key, std::string_view expected) const;

  load_context& ctx_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = false;
};

/// Letters, digits, '-', '_', '.': names of deployments, services, vantages,
/// steps (no '@': it joins a check's name and region in its id).
[[nodiscard]] bool is_name(std::string_view s);
/// Reads required `key` as such a name; reports otherwise.
bool read_name(map_reader& m, std::string_view key, std::string& out);
/// Reads optional `fast_interval` (suspicion mode): 0 (off) or 100ms..1h.
/// That it is shorter than the interval is checked once the check is whole.
void read_fast_interval(map_reader& m, common::duration& out);

/// Calls fn(item, "parent.key[i]") for each item of the list at `key`
/// (recording each item's position); reports a non-list.
template <typename Fn>
void for_each_item(map_reader& parent, std::string_view key, Fn&& fn) {
  const YAML::Node n = parent.child(key);
  if (!n.IsDefined()) return;
  if (!n.IsSequence()) {
    parent.error(key, "expected a list, got " + std::string(node_kind(n)));
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string path = parent.key_path(key) + "[" + std::to_string(i) + "]";
    parent.ctx().record(n[i], path);
    fn(n[i], path);
  }
}

/// A scalar value node (not a map key) read with substitution; reports a
/// non-scalar or a substitution error and returns nullopt.
[[nodiscard]] std::optional<scalar_value> read_scalar(load_context& ctx, const YAML::Node& n, const std::string& path,
                                                      std::string_view expected);
/// Parsers for the scalar kinds, used by map_reader and the plan step table.
[[nodiscard]] std::optional<std::int64_t> parse_integer(std::string_view s);
[[nodiscard]] std::optional<double> parse_number(std::string_view s);
[[nodiscard]] std::optional<bool> parse_bool(std::string_view s);
/// `"text"` truncated for messages.
[[nodiscard]] std::string quote_value(std::string_view s);

/// The keys allowed at the top level of a config file.
[[nodiscard]] const std::vector<std::string_view>& top_level_keys();

// Section parsers, in the order load_config_text() calls them (later ones use
// what earlier ones read): config_sections.cpp, config_checks.cpp, config_plan.cpp.
void read_sections(map_reader& top, config& cfg);
void read_paging(map_reader& top, config& cfg);
void read_checks(map_reader& top, config& cfg);
void read_plans(map_reader& top, config& cfg);
/// engine.read_tokens_file (config_read_tokens.cpp): the file read and parsed
/// into e.read_tokens; problems reported at the key.
void read_read_tokens(map_reader& m, engine_config& e);
/// One bearer token per line, blank lines and `#` comments ignored, each
/// min_read_token_chars..max_read_token_chars visible ASCII, at most
/// max_read_tokens; nullopt with `error` ("line N: ...", never the token).
[[nodiscard]] std::optional<std::vector<std::string>> parse_read_tokens(std::string_view text, std::string& error);
/// Cross checks over the whole config and the defaults that depend on other
/// keys (config_validate.cpp).
void validate(load_context& ctx, config& cfg);

}  // namespace vigil::common::config_detail
