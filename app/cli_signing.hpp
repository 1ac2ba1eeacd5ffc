#pragma once
// What `vigil approve` and the operator commands (`vigil silence|brake|plan`)
// share: the engine URL, durations on the command line and the operator's
// signing identity (--key, --approver).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

struct signer {
  std::unique_ptr<approvals::ed25519_key> key;
  std::string id;  ///< --approver, default the key file's name without .key
};
/// --key FILE and --approver ID; nullopt after printing why to io.err.
[[nodiscard]] std::optional<signer> load_signer(const parsed_args& a, std::string_view cmd, command_io& io);

}  // namespace vigil::app
