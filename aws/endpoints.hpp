#pragma once
// Which URL and signing scope a call to a service in a region goes to.
//
// Order (first match wins), as the SDKs and the AWS CLI plus vigil's config:
//   1. config aws.region_endpoints[<region>][<service key>]
//   2. config aws.endpoints[<service key>]
//   3. env AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_CLOUDWATCH)
//   4. env AWS_ENDPOINT_URL
//   5. endpoint_url in the active profile of the shared config file
//   6. the default https://<prefix>.<region>.amazonaws.com (.com.cn in China;
//      Route 53 is global: route53.amazonaws.com signed for us-east-1)
// 3-5 are skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. ARC cluster
// endpoints have no default: they are always given explicitly.
// Service keys accepted in config: the `key` below or the endpoint prefix
// ("cloudwatch" or "monitoring").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "aws/error.hpp"
#include "common/config.hpp"

namespace vigil::aws {

enum class service : std::uint8_t {
  cloudwatch,
  rds,
  ecs,
  route53,
  ssm,
  sts,
  arc_cluster,
  application_autoscaling,
  iam
};

struct service_info {
  service id;
  std::string_view key;           ///< config key: "cloudwatch"
  std::string_view prefix;        ///< hostname prefix: "monitoring"
  std::string_view signing_name;  ///< SigV4 service: "monitoring"
  std::string_view env_suffix;    ///< AWS_ENDPOINT_URL_<this>: "CLOUDWATCH"
  bool global = false;            ///< one endpoint for every region (Route 53)
};

[[nodiscard]] const service_info& info(service s);

struct resolved_endpoint {
  endpoint_url url;
  std::string signing_region;
  std::string source;  ///< "config", "env AWS_ENDPOINT_URL_STS", "profile", "default"
};

[[nodiscard]] result<resolved_endpoint> resolve_endpoint(service s, const std::string& region,
                                                         const common::aws_config& cfg, const env_fn& env,
                                                         const std::optional<profile_settings>& profile);

}  // namespace vigil::aws
