#include "app/read_tokens.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/crypto.hpp"

namespace vigil::app {

namespace {

common::http_response refuse(const char* reason) {
  auto r = common::http_response::json(
      401, nlohmann::json{{"error", "unauthorized"},
                          {"reason", reason},
                          {"message",
                           "this engine's read routes need Authorization: Bearer TOKEN "
                           "(engine.read_tokens_file; vigil --engine-token, status page #token=)"}}
               .dump());
  r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

}  // namespace

read_token_gate::read_token_gate(prometheus::Registry& registry, const std::vector<std::string>& tokens) {
  auto& fam = prometheus::BuildCounter()
                  .Name("vigil_read_token_refusals_total")
                  .Help(
                      "GET requests refused for want of a read token (engine.read_tokens_file), by reason: "
                      "missing_token, bad_token")
                  .Register(registry);
  missing_ = &fam.Add({{"reason", "missing_token"}});
  bad_ = &fam.Add({{"reason", "bad_token"}});
  set(tokens);
}

void read_token_gate::set(const std::vector<std::string>& tokens) {
  digests_.clear();
  for (const auto& t : tokens)
    digests_.push_back(common::sha256(t));
}

bool read_token_gate::guarded(const common::http_request& r) {
  if (r.method != "GET" && r.method != "HEAD") return false;
  return r.path.starts_with("/v1/");
}

std::optional<common::http_response> read_token_gate::check(const common::http_request& r) {
  if (!required() || !guarded(r)) return std::nullopt;
  const std::string auth = r.header("authorization");
  constexpr std::string_view scheme = "bearer ";
  std::string_view presented;
  if (auth.size() > scheme.size()) {
    std::string head = auth.substr(0, scheme.size());
    for (auto& c : head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == scheme) presented = std::string_view(auth).substr(scheme.size());
  }
  while (!presented.empty() && presented.front() == ' ')
    presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ')
    presented.remove_suffix(1);
  if (presented.empty()) {
    missing_->Increment();
    return refuse("missing_token");
  }
  const std::string digest = common::sha256(presented);
  bool match = false;
  for (const auto& d : digests_)
    match = common::constant_time_equal(d, digest) || match;  // no early exit
  if (match) return std::nullopt;
  bad_->Increment();
  return refuse("bad_token");
}

}  // namespace vigil::app
