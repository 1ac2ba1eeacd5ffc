#pragma once
// STS (query protocol, version 2011-06-15): GetCallerIdentity, AssumeRole,
// AssumeRoleWithWebIdentity; the sts_api the credential providers use; and
// describe_identities() for `vigil check-config --aws`.

#include <memory>
#include <string>
#include <vector>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "common/config.hpp"

namespace vigil::aws {

struct caller_identity {
  std::string account;
  std::string arn;
  std::string user_id;
};

[[nodiscard]] result<caller_identity> get_caller_identity(client& c, const std::string& region);
/// AssumeRole signed with the client's credentials.
[[nodiscard]] result<credentials> assume_role(client& c, const assume_role_request& r);
/// AssumeRoleWithWebIdentity: an unsigned call (the token is the proof).
[[nodiscard]] result<credentials> assume_role_with_web_identity(http_transport& http, const common::clock& clock,
                                                                const client_options& options,
                                                                const web_identity_request& r);

/// sts_api over real STS endpoints (endpoint resolution as the client's).
class client_sts final : public sts_api {
 public:
  client_sts(client_options options, http_transport& http, const common::clock& clock);
  result<credentials> assume_role(const credentials& source, const assume_role_request& r) override;
  result<credentials> assume_role_with_web_identity(const web_identity_request& r) override;

 private:
  client_options options_;
  http_transport& http_;
  const common::clock& clock_;
};

/// Everything a process needs to call AWS, wired from the config: transport,
/// STS for the providers, the default chain and the client. Not copyable.
struct aws_stack {
  std::unique_ptr<http_transport> http;
  std::unique_ptr<client_sts> sts;
  std::unique_ptr<credentials_provider> creds;
  std::unique_ptr<aws::client> client;
};
[[nodiscard]] aws_stack make_aws_stack(const common::aws_config& cfg, const common::clock& clock,
                                       const env_fn& env = process_env(), read_file_fn files = real_files());

struct region_identity {
  std::string region;
  std::string endpoint;  ///< the STS URL called
  std::string credentials_source;
  std::optional<caller_identity> identity;
  std::optional<aws_error> error;
};

/// For `vigil check-config --aws`: which identity and account each configured
/// region (cfg.regions) resolves to through STS GetCallerIdentity.
[[nodiscard]] std::vector<region_identity> describe_identities(const common::config& cfg);
[[nodiscard]] std::vector<region_identity> describe_identities(const common::config& cfg, aws_stack& stack);

}  // namespace vigil::aws
