// engine.read_tokens_file: the bearer tokens the engine's read routes accept
// (docs/configuration.md, "engine"; docs/design.md, "HTTP API").
#include <string>
#include <string_view>

#include "common/config_reader.hpp"

namespace vigil::common::config_detail {

namespace {

std::string_view strip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool visible_ascii(std::string_view s) {
  for (const char c : s) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> parse_read_tokens(std::string_view text, std::string& error) {
  std::vector<std::string> tokens;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    const std::string_view line = strip(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string at = "line " + std::to_string(line_no) + ": ";
    if (!visible_ascii(line)) {
      error = at + "a token is printable ASCII without spaces (value not shown)";
      return std::nullopt;
    }
    if (line.size() < min_read_token_chars || line.size() > max_read_token_chars) {
      error = at + "a token of " + std::to_string(line.size()) + " characters; expected " +
              std::to_string(min_read_token_chars) + ".." + std::to_string(max_read_token_chars);
      return std::nullopt;
    }
    if (tokens.size() == max_read_tokens) {
      error = at + "more than " + std::to_string(max_read_tokens) + " tokens";
      return std::nullopt;
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    error = "holds no token (one per line; blank lines and # comments are ignored)";
    return std::nullopt;
  }
  return tokens;
}

void read_read_tokens(map_reader& m, engine_config& e) {
  if (!m.file_path("read_tokens_file", e.read_tokens_file)) return;
  if (const std::string exposed = m.ctx().exposed_secret(e.read_tokens_file); !exposed.empty()) {
    m.error("read_tokens_file", exposed);
    return;
  }
  std::string err;
  const auto text = m.ctx().files ? m.ctx().files(e.read_tokens_file, err) : std::nullopt;
  if (!text) {
    m.error("read_tokens_file",
            "cannot read token file " + quote_value(e.read_tokens_file) + (err.empty() ? "" : ": " + err));
    return;
  }
  auto tokens = parse_read_tokens(*text, err);
  if (!tokens) {
    m.error("read_tokens_file", quote_value(e.read_tokens_file) + ": " + err);
    return;
  }
  e.read_tokens = std::move(*tokens);
}

}  // namespace vigil::common::config_detail
