#include "app/cli_signing.hpp"

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "common/duration.hpp"

namespace vigil::app {

std::string trim_url(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

std::optional<std::chrono::milliseconds> duration_arg(const parsed_args& a, std::string_view name,
                                                      std::chrono::milliseconds fallback, std::string_view cmd,
                                                      command_io& io) {
  const auto t = a.get(name);
  if (!t) return fallback;
  const auto d = common::parse_duration(*t);
  if (!d || d->count() <= 0) {
    io.err << "vigil " << cmd << ": --" << name << " '" << *t << "' is not a duration like 10m or 300s\n";
    return std::nullopt;
  }
  return *d;
}

option_spec engine_token_spec() {
  return {"engine-token", "TOKEN",
          "bearer token for the engine's read routes (engine.read_tokens_file; default $VIGIL_ENGINE_TOKEN)"};
}

std::string engine_token(const parsed_args& a) {
  if (const auto t = a.get("engine-token")) return *t;
  const char* env = std::getenv("VIGIL_ENGINE_TOKEN");  // NOLINT(concurrency-mt-unsafe): read once, at start
  return env != nullptr ? env : "";
}

void add_bearer(std::vector<std::pair<std::string, std::string>>& headers, const std::string& token) {
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
}

std::optional<signer> load_signer(const parsed_args& a, std::string_view cmd, command_io& io) {
  const std::filesystem::path key_file = a.get_or("key", "");
  auto key = approvals::load_private_key_file(key_file);
  if (!key.key) {
    io.err << "vigil " << cmd << ": " << key.error << "\n";
    return std::nullopt;
  }
  return signer{std::move(key.key), a.get_or("approver", key_file.stem().string())};
}

}  // namespace vigil::app
