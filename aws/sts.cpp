#include "aws/sts.hpp"

#include "aws/timefmt.hpp"

namespace vigil::aws {
namespace {

constexpr std::string_view version = "2011-06-15";

result<credentials> parse_assumed(const xml_node& doc, std::string_view result_name, std::string source) {
  const auto* r = doc.descendant(result_name);
  const auto* c = r != nullptr ? r->child("Credentials") : nullptr;
  if (c == nullptr) return make_error("MalformedResponse", std::string(result_name) + ": no Credentials");
  credentials out{c->text_at("AccessKeyId"), c->text_at("SecretAccessKey"), c->text_at("SessionToken"),
                  parse_iso8601(c->text_at("Expiration")), std::move(source)};
  if (out.empty()) return make_error("MalformedResponse", std::string(result_name) + ": empty credentials");
  return out;
}

std::string region_or_default(const std::string& r) {
  return r.empty() ? "us-east-1" : r;
}

}  // namespace

result<caller_identity> get_caller_identity(client& c, const std::string& region) {
  auto doc = c.query(service::sts, region, "GetCallerIdentity", version, {});
  if (!doc) return doc.error();
  const auto* r = doc->descendant("GetCallerIdentityResult");
  if (r == nullptr) return make_error("MalformedResponse", "GetCallerIdentity: no result");
  return caller_identity{r->text_at("Account"), r->text_at("Arn"), r->text_at("UserId")};
}

result<credentials> assume_role(client& c, const assume_role_request& r) {
  std::vector<std::pair<std::string, std::string>> p{{"RoleArn", r.role_arn},
                                                     {"RoleSessionName", r.session_name},
                                                     {"DurationSeconds", std::to_string(r.duration_seconds)}};
  if (!r.external_id.empty()) p.emplace_back("ExternalId", r.external_id);
  auto doc = c.query(service::sts, region_or_default(r.region), "AssumeRole", version, p);
  if (!doc) return doc.error();
  return parse_assumed(*doc, "AssumeRoleResult", "assume_role");
}

result<credentials> assume_role_with_web_identity(http_transport& http, const common::clock& clock,
                                                  const client_options& options, const web_identity_request& r) {
  // Sent unsigned (the token is the proof, and no credentials exist yet), so
  // the request is built here rather than through client::send, which signs.
  auto ep = resolve_endpoint(service::sts, region_or_default(r.region), options.aws, options.env, options.profile);
  if (!ep) return ep.error();
  http_request req;
  req.method = "POST";
  req.scheme = ep->url.scheme;
  req.host = ep->url.host;
  req.path = ep->url.base_path + "/";
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  req.body = "Action=AssumeRoleWithWebIdentity&Version=" + std::string(version) + "&RoleArn=" + uri_encode(r.role_arn) +
             "&RoleSessionName=" + uri_encode(r.session_name) + "&WebIdentityToken=" + uri_encode(r.token) +
             "&DurationSeconds=" + std::to_string(r.duration_seconds);
  (void)clock;
  http_response resp;
  for (int attempt = 0; attempt < std::max(1, options.aws.max_attempts); ++attempt) {
    resp = http.send(req, options.aws.call_timeout);
    if (resp.status >= 200 && resp.status < 300) break;
    const auto e = parse_error(resp);
    if (!e.retryable) return e;
  }
  if (resp.status < 200 || resp.status >= 300) return parse_error(resp);
  std::string why;
  auto doc = parse_xml(resp.body, &why);
  if (!doc) return make_error("MalformedResponse", why, resp.status);
  return parse_assumed(*doc, "AssumeRoleWithWebIdentityResult", "web_identity");
}

client_sts::client_sts(client_options options, http_transport& http, const common::clock& clock)
    : options_(std::move(options)), http_(http), clock_(clock) {}

result<credentials> client_sts::assume_role(const credentials& source, const assume_role_request& r) {
  auto src = make_static_provider(source);
  client c(options_, *src, http_, clock_);
  return aws::assume_role(c, r);
}

result<credentials> client_sts::assume_role_with_web_identity(const web_identity_request& r) {
  return aws::assume_role_with_web_identity(http_, clock_, options_, r);
}

aws_stack make_aws_stack(const common::aws_config& cfg, const common::clock& clock, const env_fn& env,
                         read_file_fn files) {
  aws_stack st;
  st.http = make_curl_transport();
  provider_context ctx;
  ctx.env = env;
  ctx.read_file = std::move(files);
  ctx.clock = &clock;
  ctx.http = st.http.get();
  ctx.profile = cfg.profile;
  client_options opts;
  opts.aws = cfg;
  opts.env = env;
  opts.profile = load_profile(ctx);
  st.sts = std::make_unique<client_sts>(opts, *st.http, clock);
  ctx.sts = st.sts.get();
  st.creds = make_default_chain(ctx);
  st.client = std::make_unique<aws::client>(opts, *st.creds, *st.http, clock);
  return st;
}

std::vector<region_identity> describe_identities(const common::config& cfg, aws_stack& stack) {
  std::vector<region_identity> out;
  for (const auto& r : cfg.regions) {
    region_identity ri;
    ri.region = r.name;
    if (auto ep = stack.client->endpoint(service::sts, r.name)) {
      ri.endpoint = ep->url.scheme + "://" + ep->url.host + ep->url.base_path;
    }
    auto id = get_caller_identity(*stack.client, r.name);
    if (id) {
      ri.identity = id.value();
    } else {
      ri.error = id.error();
    }
    ri.credentials_source = stack.creds->name();
    out.push_back(std::move(ri));
  }
  return out;
}

std::vector<region_identity> describe_identities(const common::config& cfg) {
  common::real_clock clock;
  auto stack = make_aws_stack(cfg.aws, clock);
  return describe_identities(cfg, stack);
}

}  // namespace vigil::aws
