#pragma once
// What `vigil approve` and the operator commands (`vigil silence|brake|plan`)
// share: the engine URL, durations on the command line and the operator's
// signing identity (--key, --approver).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "approvals/keys.hpp"

namespace vigil::app {

/// URL without trailing slashes.
[[nodiscard]] std::string trim_url(std::string url);

/// --NAME as a positive duration (or `fallback` when absent); nullopt after
/// printing "vigil CMD: --NAME ... is not a duration" to io.err.
[[nodiscard]] std::optional<std::chrono::milliseconds> duration_arg(const parsed_args& a, std::string_view name,
                                                                    std::chrono::milliseconds fallback,
                                                                    std::string_view cmd, command_io& io);

/// --engine-token, the option the commands that read the engine share.
[[nodiscard]] option_spec engine_token_spec();
/// --engine-token, else $VIGIL_ENGINE_TOKEN, else empty: the bearer token for
/// the engine's read routes (engine.read_tokens_file).
[[nodiscard]] std::string engine_token(const parsed_args& a);
/// Adds `Authorization: Bearer TOKEN` to `headers` when `token` is set.
void add_bearer(std::vector<std::pair<std::string, std::string>>& headers, const std::string& token);

struct signer {
  std::unique_ptr<approvals::ed25519_key> key;
  std::string id;  ///< --approver, default the key file's name without .key
};
/// --key FILE and --approver ID; nullopt after printing why to io.err.
[[nodiscard]] std::optional<signer> load_signer(const parsed_args& a, std::string_view cmd, command_io& io);

}  // namespace vigil::app
