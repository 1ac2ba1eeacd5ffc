#pragma once
// Builds the decision core's interned topology and parameters from a loaded
// config (common depends on decision, never the other way round).

#include "common/config.hpp"
#include "decision/types.hpp"

namespace vigil::common {

/// Regions with roles, vantages, every check (both roles) with its region,
/// service and interval, all `decision:` parameters, approvals.required and
/// whether a replication_lag source is configured. The config must come from
/// load_config() (valid); throws std::invalid_argument if the result does not
/// validate anyway.
[[nodiscard]] decision::topology make_topology(const config& cfg);

}  // namespace vigil::common
