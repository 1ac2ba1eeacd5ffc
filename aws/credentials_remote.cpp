// The providers that fetch credentials from somewhere: shared-profile roles
// (STS AssumeRole / AssumeRoleWithWebIdentity), the web identity token file,
// the ECS/EKS container endpoint and EC2 IMDSv2.

#include <set>

#include "aws/credentials.hpp"

namespace vigil::aws {
namespace {

aws_error absent(std::string why) {
  return make_error("CredentialsNotFound", std::move(why));
}

std::string env_or(const provider_context& ctx, const char* name, std::string fallback = {}) {
  auto v = ctx.env(name);
  return v && !v->empty() ? *v : std::move(fallback);
}

std::string sts_region(const provider_context& ctx, const profile_settings* s) {
  if (s != nullptr) {
    if (auto it = s->find("region"); it != s->end() && !it->second.empty()) return it->second;
  }
  return env_or(ctx, "AWS_REGION", env_or(ctx, "AWS_DEFAULT_REGION", "us-east-1"));
}

std::string trim_token(std::string t) {
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
    t.pop_back();
  return t;
}

result<credentials> web_identity(const provider_context& ctx, const std::string& token_file,
                                 const std::string& role_arn, const std::string& session_name,
                                 const std::string& region, const std::string& source) {
  if (ctx.sts == nullptr) return make_error("CredentialsError", source + ": no STS client configured");
  // Re-read on every refresh: the orchestrator rotates the projected token.
  auto token = ctx.read_file(token_file);
  if (!token || trim_token(*token).empty()) {
    return make_error("CredentialsError", source + ": cannot read web identity token file " + token_file);
  }
  web_identity_request req;
  req.role_arn = role_arn;
  req.session_name = session_name.empty() ? "vigil" : session_name;
  req.token = trim_token(*token);
  req.region = region;
  auto r = ctx.sts->assume_role_with_web_identity(req);
  if (r) r->source = source;
  return r;
}

// Resolves a profile to credentials, following source_profile chains.
result<credentials> resolve_profile(const provider_context& ctx, const std::string& name,
                                    std::set<std::string>& visited) {
  auto s = load_profile(ctx, name);
  if (!s) return absent("profile " + name + " not found in the shared config/credentials files");
  if (!visited.insert(name).second) {
    return make_error("CredentialsError", "profile " + name + ": source_profile loop");
  }
  const auto get = [&](const char* k) {
    auto it = s->find(k);
    return it == s->end() ? std::string{} : it->second;
  };
  const std::string role_arn = get("role_arn");
  const std::string source = "profile:" + name;
  if (role_arn.empty()) {
    if (get("aws_access_key_id").empty() || get("aws_secret_access_key").empty()) {
      if (!get("sso_session").empty() || !get("sso_start_url").empty() || !get("credential_process").empty()) {
        return absent("profile " + name + " uses SSO or credential_process, which vigil does not support");
      }
      return absent("profile " + name + " has no keys and no role_arn");
    }
    return credentials{get("aws_access_key_id"), get("aws_secret_access_key"), get("aws_session_token"), std::nullopt,
                       source};
  }
  const std::string session = get("role_session_name").empty() ? "vigil" : get("role_session_name");
  if (!get("web_identity_token_file").empty()) {
    return web_identity(ctx, get("web_identity_token_file"), role_arn, session, sts_region(ctx, &*s), source);
  }
  credentials src;
  if (!get("source_profile").empty()) {
    const std::string sp = get("source_profile");
    if (sp == name) {  // a profile that is its own source uses its own static keys
      src = {get("aws_access_key_id"), get("aws_secret_access_key"), get("aws_session_token"), std::nullopt, source};
    } else {
      auto r = resolve_profile(ctx, sp, visited);
      if (!r) {
        auto e = r.error();
        e.code = "CredentialsError";
        e.message = "profile " + name + ": source_profile " + sp + ": " + e.message;
        return e;
      }
      src = r.value();
    }
  } else if (get("credential_source") == "Environment") {
    auto r = make_environment_provider(ctx)->get();
    if (!r)
      return make_error("CredentialsError",
                        "profile " + name + ": credential_source Environment: " + r.error().message);
    src = r.value();
  } else {
    return make_error("CredentialsError", "profile " + name +
                                              ": role_arn needs source_profile, web_identity_token_file or "
                                              "credential_source = Environment");
  }
  if (src.empty()) return make_error("CredentialsError", "profile " + name + ": source has no keys");
  if (ctx.sts == nullptr) return make_error("CredentialsError", source + ": no STS client configured");
  assume_role_request req;
  req.role_arn = role_arn;
  req.session_name = session;
  req.external_id = get("external_id");
  if (!get("duration_seconds").empty()) req.duration_seconds = std::stoi(get("duration_seconds"));
  req.region = sts_region(ctx, &*s);
  auto r = ctx.sts->assume_role(src, req);
  if (r) r->source = source + " (assumed " + role_arn + ")";
  return r;
}

bool loopback_or_ecs(std::string host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    const auto h = host.substr(0, close + 1);
    return h == "[::1]" || h == "[fd00:ec2::23]";
  }
  if (const auto colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "169.254.170.2" || host == "169.254.170.23";
}

http_request request_for(const endpoint_url& ep, std::string method, const std::string& path) {
  http_request r;
  r.method = std::move(method);
  r.scheme = ep.scheme;
  r.host = ep.host;
  r.path = ep.base_path + path;
  return r;
}

result<credentials> container_fetch(const provider_context& ctx, const endpoint_url& ep,
                                    const std::string& path_and_query) {
  const auto q = path_and_query.find('?');
  auto req = request_for(ep, "GET", path_and_query.substr(0, q));
  if (q != std::string::npos) req.query = parse_query(std::string_view(path_and_query).substr(q + 1));
  if (auto file = ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && !file->empty()) {
    auto tok = ctx.read_file(*file);  // re-read: EKS Pod Identity rotates it
    if (!tok) return make_error("CredentialsError", "container: cannot read " + *file);
    req.headers.emplace_back("Authorization", trim_token(*tok));
  } else if (auto tok = ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN"); tok && !tok->empty()) {
    req.headers.emplace_back("Authorization", *tok);
  }
  http_response resp;
  for (int attempt = 0; attempt < 2; ++attempt) {
    resp = ctx.http->send(req, ctx.metadata_timeout);
    if (resp.status == 200 || (resp.status >= 400 && resp.status < 500)) break;
  }
  if (resp.status != 200) {
    return make_error("CredentialsError",
                      "container endpoint " + ep.scheme + "://" + ep.host + ": " +
                          (resp.status == 0 ? resp.transport_error : "HTTP " + std::to_string(resp.status)),
                      resp.status);
  }
  return parse_credentials_json(resp.body, "container");
}

result<credentials> imds_fetch(const provider_context& ctx, const endpoint_url& ep) {
  auto token_req = request_for(ep, "PUT", "/latest/api/token");
  token_req.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  const auto tok = ctx.http->send(token_req, ctx.metadata_timeout);
  if (tok.status == 0) return absent("IMDS not reachable at " + ep.host + ": " + tok.transport_error);
  if (tok.status != 200) {
    return make_error("CredentialsError", "IMDSv2 token: HTTP " + std::to_string(tok.status), tok.status);
  }
  const auto get = [&](const std::string& path) {
    auto r = request_for(ep, "GET", path);
    r.headers.emplace_back("X-aws-ec2-metadata-token", tok.body);
    return ctx.http->send(r, ctx.metadata_timeout);
  };
  const std::string base = "/latest/meta-data/iam/security-credentials/";
  const auto role = get(base);
  if (role.status == 404) return absent("IMDS: no instance profile attached");
  if (role.status != 200) {
    return make_error("CredentialsError",
                      "IMDS role: " + (role.status == 0 ? role.transport_error : "HTTP " + std::to_string(role.status)),
                      role.status);
  }
  const std::string name = trim_token(role.body.substr(0, role.body.find('\n')));
  if (name.empty()) return absent("IMDS: no instance profile attached");
  const auto creds = get(base + name);
  if (creds.status != 200) {
    return make_error("CredentialsError",
                      "IMDS credentials for " + name + ": " +
                          (creds.status == 0 ? creds.transport_error : "HTTP " + std::to_string(creds.status)),
                      creds.status);
  }
  return parse_credentials_json(creds.body, "imds:" + name);
}

}  // namespace

std::unique_ptr<credentials_provider> make_profile_provider(provider_context ctx) {
  const std::string name = "profile:" + profile_name(ctx);
  const common::clock& clock = *ctx.clock;
  return std::make_unique<refreshing_provider>(name, clock, [ctx = std::move(ctx)]() {
    std::set<std::string> visited;
    return resolve_profile(ctx, profile_name(ctx), visited);
  });
}

std::unique_ptr<credentials_provider> make_web_identity_provider(provider_context ctx) {
  const common::clock& clock = *ctx.clock;
  return std::make_unique<refreshing_provider>("web_identity", clock, [ctx = std::move(ctx)]() -> result<credentials> {
    const auto file = env_or(ctx, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const auto role = env_or(ctx, "AWS_ROLE_ARN");
    if (file.empty() || role.empty()) return absent("AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set");
    return web_identity(ctx, file, role, env_or(ctx, "AWS_ROLE_SESSION_NAME", "vigil"), sts_region(ctx, nullptr),
                        "web_identity");
  });
}

std::unique_ptr<credentials_provider> make_container_provider(provider_context ctx) {
  const common::clock& clock = *ctx.clock;
  return std::make_unique<refreshing_provider>("container", clock, [ctx = std::move(ctx)]() -> result<credentials> {
    endpoint_url ep;
    std::string path;
    if (auto rel = env_or(ctx, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
      ep = {"http", ctx.container_host, ""};
      path = rel;
    } else if (auto full = env_or(ctx, "AWS_CONTAINER_CREDENTIALS_FULL_URI"); !full.empty()) {
      if (!parse_endpoint_url(full, ep)) {
        return make_error("CredentialsError", "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
      }
      // Plain http only to this host or the ECS/EKS agents: credentials must not cross a network.
      if (ep.scheme != "https" && !loopback_or_ecs(ep.host)) {
        return make_error("CredentialsError",
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback address, not " + ep.host);
      }
      const auto sep = full.find("://");
      const auto slash = full.find('/', sep + 3);
      path = slash == std::string::npos ? "/" : full.substr(slash);
      ep.base_path.clear();
    } else {
      return absent("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set");
    }
    if (ctx.http == nullptr) return make_error("CredentialsError", "container: no HTTP transport");
    return container_fetch(ctx, ep, path);
  });
}

std::unique_ptr<credentials_provider> make_imds_provider(provider_context ctx) {
  const common::clock& clock = *ctx.clock;
  return std::make_unique<refreshing_provider>("imds", clock, [ctx = std::move(ctx)]() -> result<credentials> {
    if (env_or(ctx, "AWS_EC2_METADATA_DISABLED") == "true") return absent("AWS_EC2_METADATA_DISABLED=true");
    endpoint_url ep;
    if (!parse_endpoint_url(env_or(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254"), ep)) {
      return make_error("CredentialsError", "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL");
    }
    if (ctx.http == nullptr) return make_error("CredentialsError", "imds: no HTTP transport");
    return imds_fetch(ctx, ep);
  });
}

}  // namespace vigil::aws
