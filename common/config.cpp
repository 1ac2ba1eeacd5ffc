// The small accessors of common/config.hpp.
#include "common/config.hpp"

#include <algorithm>
#include <stdexcept>

namespace vigil::common {

namespace {

const region_config& region_with(const std::vector<region_config>& regions, region_role role) {
  const auto it = std::find_if(regions.begin(), regions.end(), [&](const region_config& r) { return r.role == role; });
  // A config from load_config() always has one primary and one dr.
  if (it == regions.end()) throw std::logic_error("config has no " + std::string(to_string(role)) + " region");
  return *it;
}

}  // namespace

const region_config& config::primary() const {
  return region_with(regions, region_role::primary);
}
const region_config& config::dr() const {
  return region_with(regions, region_role::dr);
}

const check_config* config::find_check(std::string_view id) const {
  const auto it = std::find_if(checks.begin(), checks.end(), [&](const check_config& c) { return c.id == id; });
  return it == checks.end() ? nullptr : &*it;
}

std::string_view check_config::kind() const {
  if (cloudwatch) return "cloudwatch";
  if (tcp) return "tcp";
  if (dns) return "dns";
  if (postgres) return "postgres";
  if (grpc) return "grpc";
  return "http";
}

std::optional<replication_lag_config> replication_lag_config::failback_source() const {
  if (!failback) return std::nullopt;
  replication_lag_config r = *this;
  r.failback.reset();
  r.region = failback->region;
  r.cluster = failback->cluster;
  r.metric = failback->metric;
  r.dsn = failback->dsn;
  return r;
}

std::string_view to_string(lag_source s) {
  switch (s) {
    case lag_source::none:
      return "none";
    case lag_source::cloudwatch:
      return "cloudwatch";
    case lag_source::aurora_sql:
      return "aurora_sql";
    case lag_source::postgres_standby:
      return "postgres_standby";
  }
  return "unknown";
}

std::string_view to_string(sink_kind k) {
  switch (k) {
    case sink_kind::pagerduty:
      return "pagerduty";
    case sink_kind::slack:
      return "slack";
    case sink_kind::alertmanager:
      return "alertmanager";
    case sink_kind::webhook:
      return "webhook";
    case sink_kind::log:
      return "log";
  }
  return "unknown";
}

std::string_view to_string(missing_data m) {
  switch (m) {
    case missing_data::ok:
      return "ok";
    case missing_data::fail:
      return "fail";
    case missing_data::ignore:
      return "ignore";
  }
  return "unknown";
}

}  // namespace vigil::common
