#pragma once
// The credential chain, in the SDKs' order (docs/aws-notes.md, "Credential chain"):
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. shared files: the profile (aws.profile, else AWS_PROFILE, else "default")
//      in AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
//      (~/.aws/config): static keys, or role_arn + source_profile (STS
//      AssumeRole, chained), or role_arn + web_identity_token_file
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      (AWS_ROLE_SESSION_NAME optional); the token file is re-read on every refresh
//   4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on 169.254.170.2, or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback/ECS/EKS
//      address), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN
//   5. EC2 IMDSv2: PUT /latest/api/token (TTL header), then the role and its
//      credentials; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address,
//      AWS_EC2_METADATA_DISABLED=true skips it.
// A provider that is not configured answers "CredentialsNotFound" and the
// chain moves on; a configured provider that fails stops the chain with its
// error (as botocore), so a broken role is reported rather than masked.
// The first provider that answers is kept. Temporary credentials are
// refreshed 5 minutes before they expire; if a refresh fails while the old
// ones are still valid, the old ones are used.
//
// Secrets never reach a log: use credentials::redacted(). Everything that
// touches the process is injected (environment, files, clock, HTTP, STS) so
// tests are hermetic. Thread safety: get() may be called from any thread.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/error.hpp"
#include "aws/http.hpp"
#include "aws/sigv4.hpp"
#include "common/clock.hpp"

namespace vigil::aws {

using env_fn = std::function<std::optional<std::string>(const std::string& name)>;
using read_file_fn = std::function<std::optional<std::string>(const std::string& path)>;

[[nodiscard]] env_fn process_env();                                     ///< getenv
[[nodiscard]] read_file_fn real_files();                                ///< whole file, nullopt when unreadable
[[nodiscard]] env_fn map_env(std::map<std::string, std::string> vars);  ///< for tests

inline constexpr std::chrono::minutes refresh_margin{5};

struct assume_role_request {
  std::string role_arn;
  std::string session_name = "vigil";
  std::string external_id;
  int duration_seconds = 3600;
  std::string region;  ///< STS region; empty: us-east-1
};

struct web_identity_request {
  std::string role_arn;
  std::string session_name = "vigil";
  std::string token;
  int duration_seconds = 3600;
  std::string region;
};

/// What the providers need from STS (implemented over the client in sts.cpp).
class sts_api {
 public:
  virtual ~sts_api() = default;
  virtual result<credentials> assume_role(const credentials& source, const assume_role_request& r) = 0;
  virtual result<credentials> assume_role_with_web_identity(const web_identity_request& r) = 0;
};

class credentials_provider {
 public:
  virtual ~credentials_provider() = default;
  [[nodiscard]] virtual result<credentials> get() = 0;
  [[nodiscard]] virtual std::string name() const = 0;
};

struct provider_context {
  env_fn env = process_env();
  read_file_fn read_file = real_files();
  const common::clock* clock = nullptr;          ///< required
  http_transport* http = nullptr;                ///< container and IMDS; required for them
  sts_api* sts = nullptr;                        ///< role providers; required for them
  std::string profile;                           ///< explicit profile (config aws.profile); empty: env/default
  std::string container_host = "169.254.170.2";  ///< for the relative URI
  std::chrono::milliseconds metadata_timeout{1000};
};

/// One profile's settings merged from the config and credentials files
/// (credentials file wins). Keys lowercased.
using profile_settings = std::map<std::string, std::string>;
/// Loads `name` (empty: AWS_PROFILE or "default"); nullopt when absent in both files.
[[nodiscard]] std::optional<profile_settings> load_profile(const provider_context& ctx, std::string name = {});
/// The profile name in effect.
[[nodiscard]] std::string profile_name(const provider_context& ctx);
/// INI parser for the shared files: section -> key -> value ("profile x" sections kept as written).
[[nodiscard]] std::map<std::string, std::map<std::string, std::string>> parse_ini(std::string_view text);

/// Static credentials (tests, and the source of an AssumeRole).
[[nodiscard]] std::unique_ptr<credentials_provider> make_static_provider(credentials c);
[[nodiscard]] std::unique_ptr<credentials_provider> make_environment_provider(provider_context ctx);
[[nodiscard]] std::unique_ptr<credentials_provider> make_profile_provider(provider_context ctx);
[[nodiscard]] std::unique_ptr<credentials_provider> make_web_identity_provider(provider_context ctx);
[[nodiscard]] std::unique_ptr<credentials_provider> make_container_provider(provider_context ctx);
[[nodiscard]] std::unique_ptr<credentials_provider> make_imds_provider(provider_context ctx);

/// The five above, in order.
[[nodiscard]] std::unique_ptr<credentials_provider> make_default_chain(const provider_context& ctx);

/// Keeps the first provider that answers; see the header comment.
class chain_provider final : public credentials_provider {
 public:
  explicit chain_provider(std::vector<std::unique_ptr<credentials_provider>> providers);
  [[nodiscard]] result<credentials> get() override;
  [[nodiscard]] std::string name() const override;

 private:
  std::vector<std::unique_ptr<credentials_provider>> providers_;
  mutable std::mutex mu_;
  credentials_provider* chosen_ = nullptr;
};

/// Caches what `fetch` returns and calls it again 5 minutes before expiry.
class refreshing_provider final : public credentials_provider {
 public:
  refreshing_provider(std::string name, const common::clock& clock, std::function<result<credentials>()> fetch);
  [[nodiscard]] result<credentials> get() override;
  [[nodiscard]] std::string name() const override { return name_; }

 private:
  std::string name_;
  const common::clock& clock_;
  std::function<result<credentials>()> fetch_;
  std::mutex mu_;
  std::optional<credentials> cached_;
};

/// Parses the container/IMDS credential JSON ({AccessKeyId, SecretAccessKey,
/// Token, Expiration}).
[[nodiscard]] result<credentials> parse_credentials_json(std::string_view body, std::string source);

}  // namespace vigil::aws
