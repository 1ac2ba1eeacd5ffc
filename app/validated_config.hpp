#pragma once
// The one way every command loads a configuration: common::load_config plus
// the checks common/ cannot make (expect expressions are compiled by
// detector/). `vigil check-config`, `vigil engine`, `vigil agent`, `vigil run`
// and the engine's SIGHUP reload all use it, so a config check-config rejects
// never starts a process.

#include <string>

#include "common/config_load.hpp"

namespace vigil::app {

/// load_config(path), then every http check's expect expressions parsed;
/// an error there clears `value` like any other config error.
[[nodiscard]] common::config_load_result load_validated_config(const std::string& path);

}  // namespace vigil::app
