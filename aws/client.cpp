#include "aws/client.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <random>
#include <thread>

namespace vigil::aws {
namespace {

constexpr std::array<std::string_view, 16> throttling_codes{"Throttling",
                                                            "ThrottlingException",
                                                            "ThrottledException",
                                                            "RequestThrottledException",
                                                            "TooManyRequestsException",
                                                            "ProvisionedThroughputExceededException",
                                                            "TransactionInProgressException",
                                                            "RequestLimitExceeded",
                                                            "BandwidthLimitExceeded",
                                                            "LimitExceededException",
                                                            "RequestThrottled",
                                                            "SlowDown",
                                                            "PriorRequestNotComplete",
                                                            "EC2ThrottledException",
                                                            "Throttled",
                                                            "ThrottlingError"};

constexpr std::array<std::string_view, 5> transient_codes{"RequestTimeout", "RequestTimeoutException",
                                                          "IDPCommunicationError", "TransportError", "InternalError"};

std::string status_code_name(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 429:
      return "TooManyRequestsException";
    case 500:
      return "InternalError";
    case 502:
      return "BadGateway";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "GatewayTimeout";
    default:
      return "HTTP" + std::to_string(status);
  }
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

}  // namespace

sleep_fn real_sleep() {
  return [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

random_fn default_random(std::uint64_t seed) {
  struct state {
    std::mutex mu;
    std::mt19937_64 rng;
  };
  auto st = std::make_shared<state>();
  st->rng.seed(seed != 0 ? seed : (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  return [st]() {
    std::lock_guard lock(st->mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(st->rng);
  };
}

bool is_throttling(const aws_error& e) {
  return std::find(throttling_codes.begin(), throttling_codes.end(), e.code) != throttling_codes.end() ||
         (e.http_status == 429);
}

bool is_retryable(const aws_error& e) {
  if (is_throttling(e)) return true;
  if (std::find(transient_codes.begin(), transient_codes.end(), e.code) != transient_codes.end()) return true;
  return e.http_status == 500 || e.http_status == 502 || e.http_status == 503 || e.http_status == 504;
}

aws_error parse_error(const http_response& resp) {
  aws_error e;
  e.http_status = resp.status;
  if (resp.status == 0) {
    e.code = resp.timed_out ? "RequestTimeout" : "TransportError";
    e.message = resp.transport_error;
    e.retryable = true;
    return e;
  }
  for (const char* h : {"x-amzn-RequestId", "x-amz-request-id"}) {
    if (const auto* v = resp.header(h)) {
      e.request_id = *v;
      break;
    }
  }
  if (const auto* t = resp.header("x-amzn-errortype")) e.code = t->substr(0, t->find(':'));
  const auto body = trim_view(resp.body);
  if (!body.empty() && body.front() == '{') {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
      if (e.code.empty()) {
        std::string type = j.value("__type", j.value("code", j.value("Code", std::string{})));
        if (const auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
        e.code = type.substr(0, type.find(':'));
      }
      e.message = j.value("message", j.value("Message", std::string{}));
    }
  } else if (!body.empty() && body.front() == '<') {
    if (auto doc = parse_xml(body)) {
      const xml_node* err = doc->name == "Error" ? &*doc : doc->descendant("Error");
      if (err != nullptr) {
        if (e.code.empty()) e.code = err->text_at("Code");
        e.message = err->text_at("Message");
      }
      if (e.request_id.empty()) {
        for (const char* n : {"RequestId", "RequestID"}) {
          if (const auto* r = doc->name == n ? &*doc : doc->descendant(n)) {
            e.request_id = r->text;
            break;
          }
        }
      }
    }
  }
  if (e.code.empty()) {
    e.code = status_code_name(resp.status);
    if (e.message.empty()) e.message = std::string(body.substr(0, 200));
  }
  e.retryable = is_retryable(e);
  return e;
}

bool retry_budget::acquire(int cost) {
  std::lock_guard lock(mu_);
  if (tokens_ < cost) return false;
  tokens_ -= cost;
  return true;
}

void retry_budget::release(int amount) {
  std::lock_guard lock(mu_);
  tokens_ = std::min(capacity, tokens_ + amount);
}

int retry_budget::available() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

client::client(client_options options, credentials_provider& creds, http_transport& http, const common::clock& clock)
    : options_(std::move(options)), creds_(creds), http_(http), clock_(clock) {}

result<resolved_endpoint> client::endpoint(service s, const std::string& region) const {
  return resolve_endpoint(s, region, options_.aws, options_.env, options_.profile);
}

call_stats client::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

result<http_response> client::send(service s, const std::string& region, http_request req, const call_options& opts) {
  const auto& si = info(s);
  resolved_endpoint ep;
  if (opts.endpoint) {
    if (!parse_endpoint_url(*opts.endpoint, ep.url)) {
      return make_error("InvalidEndpoint", "'" + *opts.endpoint + "' is not an http(s) URL");
    }
    ep.signing_region = region;
  } else {
    auto r = endpoint(s, region);
    if (!r) return r.error();
    ep = r.value();
  }
  req.scheme = ep.url.scheme;
  req.host = ep.url.host;
  req.path = ep.url.base_path + (req.path.empty() ? "/" : req.path);
  if (req.header("user-agent") == nullptr) req.headers.emplace_back("User-Agent", options_.user_agent);

  const auto timeout = opts.timeout.value_or(options_.aws.call_timeout);
  const auto deadline = clock_.monotonic() + timeout;
  const int max_attempts = std::max(1, opts.max_attempts.value_or(options_.aws.max_attempts));
  int attempt = 0;
  int retry_tokens = 0;
  bool skew_corrected = false;
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.calls;
  }
  const auto fail = [&](aws_error e) -> result<http_response> {
    std::lock_guard lock(stats_mu_);
    ++stats_.failures;
    return e;
  };
  while (true) {
    ++attempt;
    auto creds = creds_.get();
    if (!creds) return fail(creds.error());
    http_request signed_req = req;
    sign(signed_req, creds.value(), {std::string(si.signing_name), ep.signing_region, skew_.corrected(clock_.wall())});
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.monotonic());
    if (remaining.count() <= 0) {
      return fail(make_error("RequestTimeout", "call deadline of " + std::to_string(timeout.count()) +
                                                   " ms passed after " + std::to_string(attempt - 1) + " attempts"));
    }
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.attempts;
    }
    auto resp = http_.send(signed_req, remaining);
    if (resp.status >= 200 && resp.status < 300) {
      budget_.release(retry_tokens > 0 ? retry_tokens : retry_budget::no_retry_refund);
      return resp;
    }
    auto err = parse_error(resp);
    if (is_throttling(err)) {
      std::lock_guard lock(stats_mu_);
      ++stats_.throttled;
    }
    const auto* date = resp.header("date");
    if (!skew_corrected && date != nullptr && skew_.learn(err, *date, clock_.wall())) {
      skew_corrected = true;  // re-sign with AWS's time, once, without using an attempt
      --attempt;
      continue;
    }
    if (!err.retryable || attempt >= max_attempts) return fail(err);
    // Full jitter over a capped exponential: attempt 1 -> [0,1) s, 2 -> [0,2) s, ... cap 20 s.
    const double cap_s = std::min(std::pow(2.0, attempt - 1), 20.0);
    const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(options_.random() * cap_s * 1000.0));
    if (clock_.monotonic() + delay >= deadline) return fail(err);  // no time left: keep the tokens
    const int cost = resp.status == 0 ? retry_budget::timeout_cost : retry_budget::retry_cost;
    if (!budget_.acquire(cost)) {
      err.message += " (retry budget exhausted)";
      return fail(err);
    }
    retry_tokens += cost;
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.retries;
    }
    options_.sleep(delay);
  }
}

result<xml_node> client::query(service s, const std::string& region, std::string_view action, std::string_view version,
                               const std::vector<std::pair<std::string, std::string>>& params,
                               const call_options& opts) {
  http_request req;
  req.method = "POST";
  req.path = "/";
  req.body = "Action=" + uri_encode(action) + "&Version=" + uri_encode(version);
  for (const auto& [k, v] : params)
    req.body += "&" + uri_encode(k) + "=" + uri_encode(v);
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  auto resp = send(s, region, std::move(req), opts);
  if (!resp) return resp.error();
  std::string why;
  auto doc = parse_xml(resp->body, &why);
  if (!doc) return make_error("MalformedResponse", std::string(action) + ": " + why, resp->status);
  return std::move(*doc);
}

result<nlohmann::json> client::json(service s, const std::string& region, std::string_view target,
                                    std::string_view json_version, const nlohmann::json& body,
                                    const call_options& opts) {
  http_request req;
  req.method = "POST";
  req.path = "/";
  req.body = body.dump();
  req.headers.emplace_back("Content-Type", "application/x-amz-json-" + std::string(json_version));
  req.headers.emplace_back("X-Amz-Target", std::string(target));
  auto resp = send(s, region, std::move(req), opts);
  if (!resp) return resp.error();
  if (trim_view(resp->body).empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded()) {
    return make_error("MalformedResponse", std::string(target) + ": answer is not JSON", resp->status);
  }
  return j;
}

result<xml_node> client::rest_xml(service s, const std::string& region, std::string method, std::string path,
                                  std::vector<std::pair<std::string, std::string>> query, std::string body,
                                  const call_options& opts) {
  http_request req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.query = std::move(query);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/xml");
  // A body-less request (GET) signs its payload hash as a header too: AWS
  // takes it as the hash it computes itself (SHA-256 of nothing), and moto's
  // signature check, which otherwise hashes the parsed parameters of a GET
  // instead of its empty body, takes the header (docs/aws-notes.md, Route 53).
  if (body.empty()) req.headers.emplace_back("x-amz-content-sha256", sha256_hex(""));
  req.body = std::move(body);
  auto resp = send(s, region, std::move(req), opts);
  if (!resp) return resp.error();
  if (trim_view(resp->body).empty()) return xml_node{};
  std::string why;
  auto doc = parse_xml(resp->body, &why);
  if (!doc) return make_error("MalformedResponse", why, resp->status);
  return std::move(*doc);
}

}  // namespace vigil::aws
