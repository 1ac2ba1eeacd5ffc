// Node walking for the config loader: typed reads with diagnostics.
#include "common/config_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include "common/duration.hpp"

namespace vigil::common::config_detail {

namespace {

std::string join_choices(const std::vector<std::string_view>& choices) {
  std::string out;
  for (const auto& c : choices)
    out += (out.empty() ? "" : "|") + std::string(c);
  return out;
}

std::string format_number(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool is_var_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_var_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

}  // namespace

// --- load_context -----------------------------------------------------------

source_pos load_context::pos(const YAML::Node& n, std::string key_path) const {
  source_pos p{file, 0, 0, std::move(key_path)};
  if (n.IsDefined()) {
    const YAML::Mark m = n.Mark();
    if (!m.is_null()) {
      p.line = m.line + 1;
      p.column = m.column + 1;
    }
  }
  return p;
}

void load_context::error(const YAML::Node& n, std::string key_path, std::string message) {
  error_at(pos(n, std::move(key_path)), std::move(message));
}

void load_context::warning(const YAML::Node& n, std::string key_path, std::string message) {
  warning_at(pos(n, std::move(key_path)), std::move(message));
}

void load_context::error_at(source_pos p, std::string message) {
  diagnostics.push_back({config_diagnostic::level::error, std::move(p), std::move(message)});
}

void load_context::warning_at(source_pos p, std::string message) {
  diagnostics.push_back({config_diagnostic::level::warning, std::move(p), std::move(message)});
}

source_pos load_context::at(std::string_view key_path) const {
  std::string_view p = key_path;
  while (!p.empty()) {
    if (const auto it = seen.find(p); it != seen.end()) {
      source_pos out = it->second;
      out.key_path = std::string(key_path);
      return out;
    }
    const auto cut = p.find_last_of(".[");
    p = cut == std::string_view::npos ? std::string_view{} : p.substr(0, cut);
  }
  return source_pos{file, 1, 1, std::string(key_path)};
}

void load_context::record(const YAML::Node& n, const std::string& key_path) {
  seen[key_path] = pos(n, key_path);
}

std::size_t load_context::error_count() const {
  return static_cast<std::size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const auto& d) {
    return d.severity == config_diagnostic::level::error;
  }));
}

std::string load_context::resolve_path(const std::string& path) const {
  const std::filesystem::path p(path);
  if (p.is_absolute() || dir.empty()) return path;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}

std::string load_context::exposed_secret(const std::string& path) const {
  if (!secret_modes) return {};
  const std::string why = secret_modes(path);
  return why.empty() ? std::string{} : path + " " + why + "; chmod 600 it";
}

// --- helpers ----------------------------------------------------------------

std::optional<std::string> substitute_env(std::string_view text, const env_lookup& env, std::string& error) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (text.substr(i, 3) == "$${") {  // escaped: a literal "${"
      out += "${";
      i += 2;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += '$';
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = "unterminated ${ (write $${ for a literal ${)";
      return std::nullopt;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (const auto dash = inner.find(":-"); dash != std::string_view::npos) {
      name = inner.substr(0, dash);
      fallback = inner.substr(dash + 2);
    }
    if (name.empty() || !is_var_start(name.front()) ||
        !std::all_of(name.begin(), name.end(), [](char c) { return is_var_char(c); })) {
      error = "bad environment reference ${" + std::string(inner) +
              "}: expected ${NAME} or ${NAME:-default} with NAME of letters, digits and _";
      return std::nullopt;
    }
    if (auto v = env ? env(name) : std::nullopt) {
      out += *v;
    } else if (fallback) {
      out += *fallback;
    } else {
      error = "environment variable " + std::string(name) + " is not set (referenced as ${" + std::string(name) +
              "}; use ${" + std::string(name) + ":-default} for a default)";
      return std::nullopt;
    }
    i = close;
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  const std::string n = nearest(word, candidates);
  return n.empty() ? std::string{} : " (did you mean \"" + n + "\"?)";
}

std::string_view node_kind(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return n.size() == 0 ? "an empty list" : "a list";
  return "a string";
}

std::string check_url(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return "no scheme (expected http:// or https://)";
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (scheme != "http" && scheme != "https") return "scheme \"" + scheme + "\" (expected http or https)";
  if (std::any_of(url.begin(), url.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
    return "contains whitespace";
  }
  std::string_view authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return "no host";
  const bool has_port =
      authority.front() == '[' ? authority.back() != ']' : authority.find(':') != std::string_view::npos;
  // Without a port only the host needs checking: give it a placeholder port.
  return has_port ? check_listen(authority) : check_listen(std::string(authority) + ":1");
}

std::string check_listen(std::string_view addr) {
  std::string_view host;
  std::string_view port;
  if (!addr.empty() && addr.front() == '[') {
    const auto close = addr.find(']');
    if (close == std::string_view::npos) return "unterminated [ in the host";
    host = addr.substr(1, close - 1);
    const std::string_view rest = addr.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return "expected [address]:port";
    port = rest.substr(1);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) return "no port (expected host:port)";
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (host.empty()) return "no host";
  const bool bracketed = addr.front() == '[';
  if (!std::all_of(host.begin(), host.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
               (bracketed && c == ':');
      })) {
    return "bad character in host \"" + std::string(host) + "\"";
  }
  const auto p = parse_integer(port);
  if (!p || *p < 1 || *p > 65535) return "port \"" + std::string(port) + "\" (expected 1..65535)";
  return {};
}

bool is_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

bool read_name(map_reader& m, std::string_view key, std::string& out) {
  std::string v;
  if (!m.string(key, v, true)) return false;
  if (!is_name(v)) {
    m.error(key, "expected a name of letters, digits, '-', '_' or '.', got " + quote_value(v));
    return false;
  }
  out = std::move(v);
  return true;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::string quote_value(std::string_view s) {
  constexpr std::size_t max_len = 80;
  if (s.size() > max_len) return "\"" + std::string(s.substr(0, max_len)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

std::optional<scalar_value> read_scalar(load_context& ctx, const YAML::Node& n, const std::string& path,
                                        std::string_view expected) {
  if (!n.IsDefined() || !n.IsScalar()) {
    ctx.error(n, path, "expected " + std::string(expected) + ", got " + std::string(node_kind(n)));
    return std::nullopt;
  }
  std::string err;
  auto v = substitute_env(n.Scalar(), ctx.env, err);
  if (!v) {
    ctx.error(n, path, err);
    return std::nullopt;
  }
  return scalar_value{std::move(*v), n.Scalar()};
}

namespace {

/// ", got "x"" for messages: the value (and what was written when it differs);
/// nothing for secrets.
std::string got(const scalar_value& s, bool secret = false) {
  if (secret) return {};
  std::string out = ", got " + quote_value(s.value);
  if (s.written != s.value) out += " (from " + quote_value(s.written) + ")";
  return out;
}

}  // namespace

// --- map_reader -------------------------------------------------------------

map_reader::map_reader(load_context& ctx, const YAML::Node& node, std::string path,
                       std::vector<std::string_view> allowed, bool any_key)
    : ctx_(ctx), node_(node), path_(std::move(path)) {
  if (!node_.IsMap()) {
    ctx_.error(node_, path_.empty() ? "(top level)" : path_,
               "expected a map (key: value pairs), got " + std::string(node_kind(node_)));
    return;
  }
  valid_ = true;
  std::unordered_set<std::string> seen;  // a vector's find made 100k keys quadratic
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      ctx_.error(kv.first, path_, "expected a key name, got " + std::string(node_kind(kv.first)));
      continue;
    }
    const std::string key = kv.first.Scalar();
    const std::string kp = key_path(key);
    if (!seen.insert(key).second) {
      ctx_.error(kv.first, kp, "duplicate key");
      continue;
    }
    // A null value ("key:" and nothing) has no useful mark of its own.
    ctx_.record(kv.second.IsNull() ? kv.first : kv.second, kp);
    if (!any_key && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      ctx_.error(kv.first, kp, "unknown key" + did_you_mean(key, allowed));
    }
  }
}

std::string map_reader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool map_reader::has(std::string_view key) const {
  return child(key).IsDefined();
}

YAML::Node map_reader::child(std::string_view key) const {
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::vector<std::string> map_reader::keys() const {
  std::vector<std::string> out;
  if (!valid_) return out;
  for (const auto& kv : node_) {
    if (kv.first.IsScalar()) out.push_back(kv.first.Scalar());
  }
  return out;
}

source_pos map_reader::pos() const {
  return ctx_.pos(node_, path_);
}

source_pos map_reader::pos_of(std::string_view key) const {
  const YAML::Node c = child(key);
  return c.IsDefined() ? ctx_.pos(c, key_path(key)) : pos();
}

bool map_reader::require(std::string_view key) {
  if (has(key)) return true;
  if (valid_) ctx_.error(node_, key_path(key), "missing required key");
  return false;
}

YAML::Node map_reader::key_node(std::string_view key) const {
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void map_reader::error(std::string_view key, std::string message) const {
  const YAML::Node c = child(key);
  ctx_.error(!c.IsDefined() ? node_ : c.IsNull() ? key_node(key) : c, key_path(key), std::move(message));
}

void map_reader::key_error(std::string_view key, std::string message) const {
  ctx_.error(key_node(key), key_path(key), std::move(message));
}

std::optional<scalar_value> map_reader::scalar(std::string_view key, std::string_view expected) const {
  const YAML::Node c = child(key);
  if (c.IsNull()) {
    ctx_.error(key_node(key), key_path(key), "expected " + std::string(expected) + ", got nothing");
    return std::nullopt;
  }
  return read_scalar(ctx_, c, key_path(key), expected);
}

bool map_reader::string(std::string_view key, std::string& out, bool required, bool allow_empty) {
  if (!(required ? require(key) : has(key))) return false;
  auto v = scalar(key, "a string");
  if (!v) return false;
  if (v->value.empty() && !allow_empty) {
    error(key, "expected a non-empty string");
    return false;
  }
  out = std::move(v->value);
  return true;
}

bool map_reader::secret(std::string_view key, std::string& out, bool required) {
  const std::string file_key = std::string(key) + "_file";
  const bool inline_given = has(key);
  const bool file_given = has(file_key);
  if (inline_given && file_given) {
    error(file_key, "set either " + std::string(key) + " or " + file_key + ", not both");
    return false;
  }
  if (!inline_given && !file_given) {
    if (required && valid_) {
      ctx_.error(node_, key_path(key), "missing required key (or " + file_key + ")");
    }
    return false;
  }
  if (inline_given) {
    auto v = scalar(key, "a string");
    if (!v) return false;
    if (v->value.empty()) {
      error(key, "expected a non-empty secret");
      return false;
    }
    if (v->written.find("${") == std::string::npos) {
      ctx_.warning(child(key), key_path(key),
                   "secret written inline; use ${ENV_VAR} or " + file_key + " so it stays out of the config file");
    }
    out = std::move(v->value);
    return true;
  }
  std::string path;
  if (!string(file_key, path)) return false;
  const std::string resolved = ctx_.resolve_path(path);
  if (const std::string exposed = ctx_.exposed_secret(resolved); !exposed.empty()) {
    error(file_key, exposed);
    return false;
  }
  std::string err;
  auto text = ctx_.files ? ctx_.files(resolved, err) : std::nullopt;
  if (!text) {
    error(file_key, "cannot read secret file " + quote_value(resolved) + (err.empty() ? "" : ": " + err));
    return false;
  }
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
    text->pop_back();
  if (text->empty()) {
    error(file_key, "secret file " + quote_value(resolved) + " is empty");
    return false;
  }
  out = std::move(*text);
  return true;
}

bool map_reader::url(std::string_view key, std::string& out, bool required, bool secret_value) {
  if (!(required ? require(key) : has(key))) return false;
  auto v = scalar(key, "a URL");
  if (!v) return false;
  if (const std::string why = check_url(v->value); !why.empty()) {
    error(key, "expected an http:// or https:// URL with a host: " + (secret_value ? std::string("malformed") : why) +
                   got(*v, secret_value));
    return false;
  }
  out = std::move(v->value);
  return true;
}

bool map_reader::duration(std::string_view key, common::duration& out, common::duration min, bool required) {
  if (!(required ? require(key) : has(key))) return false;
  auto v = scalar(key, "a duration (500ms, 2s, 5m, 1h)");
  if (!v) return false;
  const auto d = parse_duration(v->value);
  if (!d) {
    error(key, "expected a duration such as 500ms, 2s, 5m, 1h" + got(*v));
    return false;
  }
  if (*d < min) {
    error(key, "expected a duration of at least " + format_duration(min) + got(*v));
    return false;
  }
  out = *d;
  return true;
}

bool map_reader::integer(std::string_view key, int& out, int lo, int hi, bool required) {
  std::int64_t v = out;
  if (!(required ? require(key) : has(key))) return false;
  if (!integer64(key, v, lo, hi)) return false;
  out = static_cast<int>(v);
  return true;
}

bool map_reader::integer64(std::string_view key, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
  if (!has(key)) return false;
  const std::string expected = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  auto v = scalar(key, expected);
  if (!v) return false;
  const auto n = parse_integer(v->value);
  if (!n || *n < lo || *n > hi) {
    error(key, "expected " + expected + got(*v));
    return false;
  }
  out = *n;
  return true;
}

bool map_reader::number(std::string_view key, double& out, double lo, double hi, bool lo_open) {
  if (!has(key)) return false;
  const std::string expected =
      "a number in " + std::string(lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) + "]";
  auto v = scalar(key, expected);
  if (!v) return false;
  const auto n = parse_number(v->value);
  if (!n || *n > hi || *n < lo || (lo_open && *n <= lo)) {
    error(key, "expected " + expected + got(*v));
    return false;
  }
  out = *n;
  return true;
}

bool map_reader::boolean(std::string_view key, bool& out) {
  if (!has(key)) return false;
  auto v = scalar(key, "true or false");
  if (!v) return false;
  const auto b = parse_bool(v->value);
  if (!b) {
    error(key, "expected true or false" + got(*v));
    return false;
  }
  out = *b;
  return true;
}

bool map_reader::string_list(std::string_view key, std::vector<std::string>& out, bool required,
                             std::vector<source_pos>* positions) {
  if (!(required ? require(key) : has(key))) return false;
  const YAML::Node n = child(key);
  const std::string kp = key_path(key);
  if (!n.IsSequence()) {
    error(key, "expected a list of strings, got " + std::string(node_kind(n)));
    return false;
  }
  std::vector<std::string> items;
  std::vector<source_pos> item_pos;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string ip = kp + "[" + std::to_string(i) + "]";
    auto v = read_scalar(ctx_, n[i], ip, "a string");
    if (!v) {
      ok = false;
      continue;
    }
    items.push_back(std::move(v->value));
    item_pos.push_back(ctx_.pos(n[i], ip));
    ctx_.record(n[i], ip);
  }
  if (!ok) return false;
  out = std::move(items);
  if (positions != nullptr) *positions = std::move(item_pos);
  return true;
}

namespace {

bool http_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace

bool map_reader::string_map(std::string_view key, std::map<std::string, std::string>& out, bool http_headers) {
  if (!has(key)) return false;
  const YAML::Node n = child(key);
  const std::string kp = key_path(key);
  if (!n.IsMap()) {
    error(key, "expected a map of strings, got " + std::string(node_kind(n)));
    return false;
  }
  std::map<std::string, std::string> items;
  bool ok = true;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      ctx_.error(kv.first, kp, "expected a key name, got " + std::string(node_kind(kv.first)));
      ok = false;
      continue;
    }
    auto v = read_scalar(ctx_, kv.second, kp + "." + kv.first.Scalar(), "a string");
    if (!v) {
      ok = false;
      continue;
    }
    if (http_headers && !http_token(kv.first.Scalar())) {
      ctx_.error(kv.first, kp + "." + kv.first.Scalar(),
                 "not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)");
      ok = false;
      continue;
    }
    if (http_headers && v->value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      ctx_.error(kv.second, kp + "." + kv.first.Scalar(),
                 "header value contains CR, LF or NUL (it would split or end the request's headers)");
      ok = false;
      continue;
    }
    items[kv.first.Scalar()] = std::move(v->value);
  }
  if (!ok) return false;
  out = std::move(items);
  return true;
}

std::optional<std::size_t> map_reader::choice(std::string_view key, const std::vector<std::string_view>& choices,
                                              bool required) {
  if (!(required ? require(key) : has(key))) return std::nullopt;
  const std::string expected = "one of " + join_choices(choices);
  auto v = scalar(key, expected);
  if (!v) return std::nullopt;
  const auto it = std::find(choices.begin(), choices.end(), v->value);
  if (it == choices.end()) {
    error(key, "expected " + expected + got(*v) + did_you_mean(v->value, choices));
    return std::nullopt;
  }
  return static_cast<std::size_t>(it - choices.begin());
}

bool map_reader::file_path(std::string_view key, std::string& out) {
  std::string p;
  if (!string(key, p)) return false;
  out = ctx_.resolve_path(p);
  return true;
}

}  // namespace vigil::common::config_detail
