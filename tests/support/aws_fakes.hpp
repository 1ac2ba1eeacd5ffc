#pragma once
// Hermetic fakes for aws/ tests: a scripted HTTP transport that records what
// it was sent, and a scripted STS.

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/http.hpp"

namespace vigil::test_support {

class fake_transport final : public aws::http_transport {
 public:
  using handler = std::function<aws::http_response(const aws::http_request&)>;

  /// Answers in order; when the script is empty, `fallback` answers (default 500).
  void push(aws::http_response r) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(r));
  }
  void push(int status, std::string body, aws::header_list headers = {}) {
    aws::http_response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    push(std::move(r));
  }
  void set_handler(handler h) {
    std::lock_guard lock(mu_);
    handler_ = std::move(h);
  }

  aws::http_response send(const aws::http_request& req, std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mu_);
    sent_.push_back(req);
    timeouts_.push_back(timeout);
    if (handler_) return handler_(req);
    if (script_.empty()) {
      aws::http_response r;
      r.status = 500;
      r.body = "no scripted answer";
      return r;
    }
    auto r = script_.front();
    script_.pop_front();
    return r;
  }

  std::vector<aws::http_request> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::vector<std::chrono::milliseconds> timeouts() {
    std::lock_guard lock(mu_);
    return timeouts_;
  }

 private:
  std::mutex mu_;
  std::deque<aws::http_response> script_;
  handler handler_;
  std::vector<aws::http_request> sent_;
  std::vector<std::chrono::milliseconds> timeouts_;
};

class fake_sts final : public aws::sts_api {
 public:
  aws::result<aws::credentials> assume_role(const aws::credentials& source,
                                            const aws::assume_role_request& r) override {
    assume_calls.push_back({source, r});
    if (fail) return aws::make_error("AccessDenied", "not allowed", 403);
    return aws::credentials{"ASIAROLE" + std::to_string(assume_calls.size()), "rolesecret", "roletoken", expiry, ""};
  }
  aws::result<aws::credentials> assume_role_with_web_identity(const aws::web_identity_request& r) override {
    web_calls.push_back(r);
    if (fail) return aws::make_error("InvalidIdentityToken", "bad token", 400);
    return aws::credentials{"ASIAWEB" + std::to_string(web_calls.size()), "websecret", "webtoken", expiry, ""};
  }

  std::vector<std::pair<aws::credentials, aws::assume_role_request>> assume_calls;
  std::vector<aws::web_identity_request> web_calls;
  std::optional<common::wall_time> expiry;
  bool fail = false;
};

}  // namespace vigil::test_support
