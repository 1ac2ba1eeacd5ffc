#include "aws/credentials.hpp"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "aws/timefmt.hpp"
#include "common/log.hpp"

namespace vigil::aws {
namespace {

constexpr std::string_view not_found = "CredentialsNotFound";

aws_error absent(std::string why) {
  return make_error(std::string(not_found), std::move(why));
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string home_file(const provider_context& ctx, const char* var, const char* rel) {
  if (auto v = ctx.env(var); v && !v->empty()) return *v;
  const auto home = ctx.env("HOME");
  return (home ? *home : std::string(".")) + "/" + rel;
}

class static_provider final : public credentials_provider {
 public:
  explicit static_provider(credentials c) : c_(std::move(c)) {}
  result<credentials> get() override { return c_; }
  std::string name() const override { return "static"; }

 private:
  credentials c_;
};

class environment_provider final : public credentials_provider {
 public:
  explicit environment_provider(provider_context ctx) : ctx_(std::move(ctx)) {}
  result<credentials> get() override {
    auto id = ctx_.env("AWS_ACCESS_KEY_ID");
    auto secret = ctx_.env("AWS_SECRET_ACCESS_KEY");
    if (!id || id->empty() || !secret || secret->empty()) {
      return absent("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set");
    }
    credentials c{*id, *secret, ctx_.env("AWS_SESSION_TOKEN").value_or(""), std::nullopt, "environment"};
    if (auto exp = ctx_.env("AWS_CREDENTIAL_EXPIRATION")) c.expiration = parse_iso8601(*exp);
    return c;
  }
  std::string name() const override { return "environment"; }

 private:
  provider_context ctx_;
};

}  // namespace

env_fn process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

read_file_fn real_files() {
  return [](const std::string& path) -> std::optional<std::string> {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
}

env_fn map_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::map<std::string, std::map<std::string, std::string>> parse_ini(std::string_view text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::map<std::string, std::string>* section = nullptr;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    const auto t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = &out[trim(std::string_view(t).substr(1, t.size() - 2))];
      continue;
    }
    // Indented lines continue a nested setting (e.g. "s3 =\n  max_concurrent_requests = 2"):
    // not credentials, skipped.
    if (indented || section == nullptr) continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    auto value = trim(std::string_view(t).substr(eq + 1));
    // An inline comment needs whitespace before it, as botocore.
    for (const char* c : {" #", " ;", "\t#", "\t;"}) {
      const auto p = value.find(c);
      if (p != std::string::npos) value = trim(std::string_view(value).substr(0, p));
    }
    std::string key = trim(std::string_view(t).substr(0, eq));
    for (auto& ch : key)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    (*section)[key] = value;
  }
  return out;
}

std::string profile_name(const provider_context& ctx) {
  if (!ctx.profile.empty()) return ctx.profile;
  if (auto p = ctx.env("AWS_PROFILE"); p && !p->empty()) return *p;
  if (auto p = ctx.env("AWS_DEFAULT_PROFILE"); p && !p->empty()) return *p;
  return "default";
}

std::optional<profile_settings> load_profile(const provider_context& ctx, std::string name) {
  if (name.empty()) name = profile_name(ctx);
  std::optional<profile_settings> merged;
  if (auto text = ctx.read_file(home_file(ctx, "AWS_CONFIG_FILE", ".aws/config"))) {
    auto ini = parse_ini(*text);
    const std::string section = name == "default" ? "default" : "profile " + name;
    auto it = ini.find(section);
    if (it == ini.end() && name == "default") it = ini.find("profile default");
    if (it != ini.end()) merged = it->second;
  }
  if (auto text = ctx.read_file(home_file(ctx, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"))) {
    auto ini = parse_ini(*text);
    if (auto it = ini.find(name); it != ini.end()) {
      if (!merged) merged.emplace();
      for (const auto& [k, v] : it->second)
        (*merged)[k] = v;
    }
  }
  return merged;
}

result<credentials> parse_credentials_json(std::string_view body, std::string source) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error("MalformedResponse", source + ": credentials answer is not a JSON object");
  }
  if (j.contains("Code") && j["Code"].is_string() && j["Code"] != "Success") {
    return make_error("CredentialsError",
                      source + ": " + j["Code"].get<std::string>() + " " + j.value("Message", std::string{}));
  }
  credentials c;
  c.access_key_id = j.value("AccessKeyId", std::string{});
  c.secret_access_key = j.value("SecretAccessKey", std::string{});
  c.session_token = j.value("Token", std::string{});
  c.source = std::move(source);
  if (j.contains("Expiration") && j["Expiration"].is_string()) {
    c.expiration = parse_iso8601(j["Expiration"].get<std::string>());
    if (!c.expiration) return make_error("MalformedResponse", c.source + ": bad Expiration");
  }
  if (c.empty()) return make_error("MalformedResponse", c.source + ": AccessKeyId/SecretAccessKey missing");
  return c;
}

std::unique_ptr<credentials_provider> make_static_provider(credentials c) {
  if (c.source.empty()) c.source = "static";
  return std::make_unique<static_provider>(std::move(c));
}

std::unique_ptr<credentials_provider> make_environment_provider(provider_context ctx) {
  return std::make_unique<environment_provider>(std::move(ctx));
}

std::unique_ptr<credentials_provider> make_default_chain(const provider_context& ctx) {
  std::vector<std::unique_ptr<credentials_provider>> ps;
  ps.push_back(make_environment_provider(ctx));
  ps.push_back(make_profile_provider(ctx));
  ps.push_back(make_web_identity_provider(ctx));
  ps.push_back(make_container_provider(ctx));
  ps.push_back(make_imds_provider(ctx));
  return std::make_unique<chain_provider>(std::move(ps));
}

chain_provider::chain_provider(std::vector<std::unique_ptr<credentials_provider>> providers)
    : providers_(std::move(providers)) {}

result<credentials> chain_provider::get() {
  std::lock_guard lock(mu_);
  if (chosen_ != nullptr) return chosen_->get();
  std::string tried;
  for (auto& p : providers_) {
    auto r = p->get();
    if (r) {
      chosen_ = p.get();
      common::logger("aws")->info("credentials from {}: {}", p->name(), r->redacted());
      return r;
    }
    if (r.error().code != not_found) return r;  // configured but broken: report it
    tried += (tried.empty() ? "" : "; ") + p->name() + ": " + r.error().message;
  }
  return make_error("NoCredentials", "no credential provider answered (" + tried + ")");
}

std::string chain_provider::name() const {
  std::lock_guard lock(mu_);
  return chosen_ != nullptr ? chosen_->name() : "chain";
}

refreshing_provider::refreshing_provider(std::string name, const common::clock& clock,
                                         std::function<result<credentials>()> fetch)
    : name_(std::move(name)), clock_(clock), fetch_(std::move(fetch)) {}

result<credentials> refreshing_provider::get() {
  std::lock_guard lock(mu_);
  const auto now = clock_.wall();
  if (cached_ && (!cached_->expiration || now < *cached_->expiration - refresh_margin)) return *cached_;
  auto fresh = fetch_();
  if (fresh) {
    cached_ = fresh.value();
    return fresh;
  }
  // Refresh failed: keep serving the old credentials until they really expire.
  if (cached_ && cached_->expiration && now < *cached_->expiration) {
    common::logger("aws")->warn("{}: refresh failed ({}), using credentials valid until {}", name_,
                                fresh.error().to_string(), format_iso8601(*cached_->expiration));
    return *cached_;
  }
  return fresh;
}

std::string aws_error::to_string() const {
  std::string s = code.empty() ? "Error" : code;
  if (!message.empty()) s += ": " + message;
  if (http_status != 0) s += " (HTTP " + std::to_string(http_status) + ")";
  if (!request_id.empty()) s += " [request " + request_id + "]";
  return s;
}

}  // namespace vigil::aws
