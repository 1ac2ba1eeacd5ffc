#include "aws/endpoints.hpp"

#include <array>

namespace vigil::aws {
namespace {

constexpr std::array<service_info, 9> services{{
    {service::cloudwatch, "cloudwatch", "monitoring", "monitoring", "CLOUDWATCH", false},
    {service::rds, "rds", "rds", "rds", "RDS", false},
    {service::ecs, "ecs", "ecs", "ecs", "ECS", false},
    {service::route53, "route53", "route53", "route53", "ROUTE_53", true},
    {service::ssm, "ssm", "ssm", "ssm", "SSM", false},
    {service::sts, "sts", "sts", "sts", "STS", false},
    {service::arc_cluster, "route53-recovery-cluster", "route53-recovery-cluster", "route53-recovery-cluster",
     "ROUTE53_RECOVERY_CLUSTER", false},
    {service::application_autoscaling, "application-autoscaling", "application-autoscaling", "application-autoscaling",
     "APPLICATION_AUTO_SCALING", false},
    {service::iam, "iam", "iam", "iam", "IAM", true},
}};

const std::string* lookup(const std::map<std::string, std::string>& m, const service_info& si) {
  for (const auto k : {si.key, si.prefix}) {
    if (auto it = m.find(std::string(k)); it != m.end()) return &it->second;
  }
  return nullptr;
}

std::string global_signing_region(const std::string& region) {
  if (region.rfind("cn-", 0) == 0) return "cn-northwest-1";
  if (region.rfind("us-gov-", 0) == 0) return "us-gov-west-1";
  return "us-east-1";
}

}  // namespace

const service_info& info(service s) {
  return services[static_cast<std::size_t>(s)];
}

result<resolved_endpoint> resolve_endpoint(service s, const std::string& region, const common::aws_config& cfg,
                                           const env_fn& env, const std::optional<profile_settings>& profile) {
  const auto& si = info(s);
  resolved_endpoint out;
  out.signing_region = si.global ? global_signing_region(region) : region;
  const auto use = [&](const std::string& url, std::string source) -> result<resolved_endpoint> {
    if (!parse_endpoint_url(url, out.url)) {
      return make_error("InvalidEndpoint", source + ": '" + url + "' is not an http(s) URL");
    }
    out.source = std::move(source);
    return out;
  };
  if (auto r = cfg.region_endpoints.find(region); r != cfg.region_endpoints.end()) {
    if (const auto* u = lookup(r->second, si)) return use(*u, "config aws.region_endpoints");
  }
  if (const auto* u = lookup(cfg.endpoints, si)) return use(*u, "config aws.endpoints");
  const auto ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (!ignore || (*ignore != "true" && *ignore != "TRUE")) {
    const std::string var = "AWS_ENDPOINT_URL_" + std::string(si.env_suffix);
    if (auto u = env(var); u && !u->empty()) return use(*u, "env " + var);
    if (auto u = env("AWS_ENDPOINT_URL"); u && !u->empty()) return use(*u, "env AWS_ENDPOINT_URL");
    if (profile) {
      if (auto it = profile->find("endpoint_url"); it != profile->end() && !it->second.empty()) {
        return use(it->second, "profile endpoint_url");
      }
    }
  }
  if (s == service::arc_cluster) {
    return make_error("InvalidEndpoint", "ARC cluster endpoints must be configured explicitly");
  }
  if (region.empty() && !si.global) return make_error("InvalidEndpoint", "no region for " + std::string(si.key));
  const std::string suffix = region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  std::string host;
  if (si.global) {
    host = region.rfind("us-gov-", 0) == 0 ? std::string(si.prefix) + ".us-gov.amazonaws.com"
                                           : std::string(si.prefix) + "." + suffix;
  } else {
    host = std::string(si.prefix) + "." + region + "." + suffix;
  }
  return use("https://" + host, "default");
}

}  // namespace vigil::aws
