// The paging sinks: PagerDuty Events v2, Slack webhook, Alertmanager v2,
// HMAC-signed JSON webhook, and the log.
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/utf8.hpp"
#include "paging/pager.hpp"

namespace vigil::paging {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view pagerduty_default_url = "https://events.pagerduty.com/v2/enqueue";
constexpr std::size_t pagerduty_max_dedup_key = 255;
// Alertmanager resolves an alert by itself at endsAt. vigil sends each page
// once (the outbox, not a periodic re-send, makes delivery reliable), so a
// firing alert carries an explicit end a day ahead and is ended by vigil's
// resolve; an engine that dies mid-incident leaves it firing, as it should.
constexpr auto alertmanager_firing_for = 24h;

std::string_view kind_name(common::sink_kind k) {
  switch (k) {
    case common::sink_kind::pagerduty:
      return "pagerduty";
    case common::sink_kind::slack:
      return "slack";
    case common::sink_kind::alertmanager:
      return "alertmanager";
    case common::sink_kind::webhook:
      return "webhook";
    case common::sink_kind::log:
      return "log";
  }
  return "log";
}

std::string sink_name(const common::paging_sink_config& cfg) {
  return cfg.name.empty() ? std::string(kind_name(cfg.kind)) : cfg.name;
}

void require(const std::string& value, const common::paging_sink_config& cfg, std::string_view key) {
  if (value.empty()) {
    throw std::invalid_argument("paging sink '" + sink_name(cfg) + "' (" + std::string(kind_name(cfg.kind)) +
                                ") needs '" + std::string(key) + "'");
  }
}

delivery_result post_json(const std::string& url, const json& body, std::chrono::milliseconds timeout,
                          std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
  common::http_call call;
  call.method = "POST";
  call.url = url;
  call.body = body.dump();
  call.timeout = timeout;
  call.connect_timeout = std::min<std::chrono::milliseconds>(timeout, 3s);
  call.max_response_bytes = std::size_t{64} * 1024;
  call.headers = {{"Content-Type", "application/json"}};
  for (auto& h : extra_headers)
    call.headers.push_back(std::move(h));
  const auto reply = common::http_perform(call);
  return classify_http(reply.status, reply.error, reply.body);
}

std::string dedup_key(const page& p) {
  if (p.incident_id.size() <= pagerduty_max_dedup_key) return p.incident_id;
  return "vigil-sha256-" + common::sha256_hex(p.incident_id);
}

json links_json(const page& p) {
  json out = json::array();
  for (const auto& l : p.links)
    out.push_back({{"href", l.href}, {"text", l.text.empty() ? l.href : l.text}});
  return out;
}

class pagerduty_sink final : public page_sink {
 public:
  explicit pagerduty_sink(const common::paging_sink_config& cfg)
      : name_(sink_name(cfg)),
        url_(cfg.url.empty() ? std::string(pagerduty_default_url) : cfg.url),
        routing_key_(cfg.routing_key),
        timeout_(cfg.timeout) {
    require(routing_key_, cfg, "routing_key");
  }
  const std::string& name() const override { return name_; }
  delivery_result deliver(const page& p) override {
    return post_json(url_, pagerduty_event(p, routing_key_), timeout_);
  }

 private:
  std::string name_, url_, routing_key_;
  std::chrono::milliseconds timeout_;
};

class slack_sink final : public page_sink {
 public:
  explicit slack_sink(const common::paging_sink_config& cfg)
      : name_(sink_name(cfg)), url_(cfg.webhook_url), timeout_(cfg.timeout) {
    require(url_, cfg, "webhook_url");
  }
  const std::string& name() const override { return name_; }
  delivery_result deliver(const page& p) override { return post_json(url_, slack_message(p), timeout_); }

 private:
  std::string name_, url_;
  std::chrono::milliseconds timeout_;
};

class alertmanager_sink final : public page_sink {
 public:
  explicit alertmanager_sink(const common::paging_sink_config& cfg)
      : name_(sink_name(cfg)), url_(cfg.url), timeout_(cfg.timeout) {
    require(url_, cfg, "url");
    while (!url_.empty() && url_.back() == '/')
      url_.pop_back();
    url_ += "/api/v2/alerts";
  }
  const std::string& name() const override { return name_; }
  delivery_result deliver(const page& p) override {
    json alerts = alertmanager_alerts(p);
    std::lock_guard lock(mu_);
    // Alertmanager identifies an alert by its label set. If an update changed
    // a label (severity, kind), end the alert sent before; a resolve ends the
    // label set last sent.
    const auto it = last_labels_.find(p.incident_id);
    if (it != last_labels_.end() && it->second != alerts[0]["labels"]) {
      json old = alerts[0];
      old["labels"] = it->second;
      old["endsAt"] = common::format_rfc3339(p.timestamp);
      alerts.push_back(old);
      if (p.action == page_action::resolve) alerts.erase(alerts.begin());
    }
    auto r = post_json(url_, alerts, timeout_);
    if (r.status == delivery_status::delivered) {
      if (p.action == page_action::resolve)
        last_labels_.erase(p.incident_id);
      else
        last_labels_[p.incident_id] = alerts[0]["labels"];
    }
    return r;
  }

 private:
  std::string name_, url_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::map<std::string, json> last_labels_;
};

class webhook_sink final : public page_sink {
 public:
  explicit webhook_sink(const common::paging_sink_config& cfg)
      : name_(sink_name(cfg)), url_(cfg.url), secret_(cfg.secret), timeout_(cfg.timeout) {
    require(url_, cfg, "url");
    require(secret_, cfg, "secret");
  }
  const std::string& name() const override { return name_; }
  delivery_result deliver(const page& p) override {
    const json body{{"version", 1}, {"idempotency_key", idempotency_key(p)}, {"page", to_json(p)}};
    // The timestamp is the page's (not the send time): a re-sent page keeps
    // its signature, and receivers bound freshness by their own policy.
    const std::string ts =
        std::to_string(std::chrono::floor<std::chrono::seconds>(p.timestamp).time_since_epoch().count());
    return post_json(url_, body, timeout_,
                     {{"X-Vigil-Timestamp", ts},
                      {"X-Vigil-Signature", common::webhook_signature(secret_, ts, body.dump())},
                      {"X-Vigil-Idempotency-Key", idempotency_key(p)}});
  }

 private:
  std::string name_, url_, secret_;
  std::chrono::milliseconds timeout_;
};

class log_sink final : public page_sink {
 public:
  log_sink(const common::paging_sink_config& cfg, std::shared_ptr<spdlog::logger> logger)
      : name_(sink_name(cfg)), logger_(logger ? std::move(logger) : spdlog::default_logger()) {}
  const std::string& name() const override { return name_; }
  delivery_result deliver(const page& p) override {
    spdlog::level::level_enum level = spdlog::level::info;
    if (p.action != page_action::resolve) {
      switch (p.severity) {
        case page_severity::critical:
          level = spdlog::level::critical;
          break;
        case page_severity::error:
          level = spdlog::level::err;
          break;
        case page_severity::warning:
          level = spdlog::level::warn;
          break;
        case page_severity::info:
          level = spdlog::level::info;
          break;
      }
    }
    logger_->log(level, "page {} incident={} seq={} kind={} severity={} region={}: {}", to_string(p.action),
                 p.incident_id, p.sequence, p.kind, to_string(p.severity), p.region, p.summary);
    return {delivery_status::delivered, 0, "logged"};
  }

 private:
  std::string name_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

json pagerduty_event(const page& p, std::string_view routing_key) {
  json ev{{"routing_key", routing_key},
          {"event_action", p.action == page_action::resolve ? "resolve" : "trigger"},
          {"dedup_key", dedup_key(p)}};
  if (p.action == page_action::resolve) return ev;
  json custom = p.details.is_object() ? p.details : json{{"details", p.details}};
  custom["incident_id"] = p.incident_id;
  custom["sequence"] = p.sequence;
  ev["payload"] = {{"summary", common::truncate_utf8(p.summary.empty() ? p.kind : p.summary, max_page_summary)},
                   {"source", p.deployment.empty() ? std::string("vigil") : "vigil/" + p.deployment},
                   {"severity", to_string(p.severity)},
                   {"timestamp", common::format_rfc3339(p.timestamp)},
                   {"component", p.region.empty() ? std::string("global") : p.region},
                   {"group", p.deployment.empty() ? std::string("vigil") : p.deployment},
                   {"class", p.kind},
                   {"custom_details", custom}};
  ev["links"] = links_json(p);
  ev["client"] = "vigil";
  if (!p.links.empty()) ev["client_url"] = p.links.front().href;
  return ev;
}

json slack_message(const page& p) {
  std::string tag = p.action == page_action::resolve ? "RESOLVED" : std::string(to_string(p.severity));
  for (auto& c : tag)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string text = common::truncate_utf8("[" + tag + "] " + p.summary, max_page_summary + 16);
  json blocks = json::array();
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}});
  blocks.push_back({{"type", "context"},
                    {"elements", json::array({{{"type", "mrkdwn"},
                                               {"text", "incident `" + p.incident_id + "` · " + p.kind + " · " +
                                                            (p.region.empty() ? std::string("global") : p.region) +
                                                            " · update " + std::to_string(p.sequence)}}})}});
  if (!p.links.empty()) {
    std::string links;
    for (const auto& l : p.links)
      links += (links.empty() ? "" : " · ") + ("<" + l.href + "|" + (l.text.empty() ? l.href : l.text) + ">");
    blocks.push_back(
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", common::truncate_utf8(links, 2900)}}}});
  }
  return {{"text", text}, {"blocks", blocks}};
}

json alertmanager_alerts(const page& p) {
  json labels{{"alertname", "VigilIncident"},
              {"incident", p.incident_id},
              {"kind", p.kind},
              {"severity", to_string(p.severity)}};
  if (!p.deployment.empty()) labels["deployment"] = p.deployment;
  if (!p.region.empty()) labels["region"] = p.region;
  std::string links;
  for (const auto& l : p.links)
    links += (links.empty() ? "" : "\n") + (l.text.empty() ? l.href : l.text + ": " + l.href);
  json alert{{"labels", labels},
             {"annotations",
              {{"summary", common::truncate_utf8(p.summary, max_page_summary)},
               {"description", common::truncate_utf8(p.details.dump(), 8192)},
               {"links", links},
               {"sequence", std::to_string(p.sequence)}}},
             {"startsAt", common::format_rfc3339(p.timestamp)},
             {"endsAt", common::format_rfc3339(
                            p.action == page_action::resolve ? p.timestamp : p.timestamp + alertmanager_firing_for)}};
  if (!p.links.empty() && p.links.front().href.starts_with("http")) alert["generatorURL"] = p.links.front().href;
  return json::array({alert});
}

std::unique_ptr<page_sink> make_pagerduty_sink(const common::paging_sink_config& cfg) {
  return std::make_unique<pagerduty_sink>(cfg);
}
std::unique_ptr<page_sink> make_slack_sink(const common::paging_sink_config& cfg) {
  return std::make_unique<slack_sink>(cfg);
}
std::unique_ptr<page_sink> make_alertmanager_sink(const common::paging_sink_config& cfg) {
  return std::make_unique<alertmanager_sink>(cfg);
}
std::unique_ptr<page_sink> make_webhook_sink(const common::paging_sink_config& cfg) {
  return std::make_unique<webhook_sink>(cfg);
}
std::unique_ptr<page_sink> make_log_sink(const common::paging_sink_config& cfg,
                                         std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<log_sink>(cfg, std::move(logger));
}

std::vector<std::unique_ptr<page_sink>> make_sinks(const std::vector<common::paging_sink_config>& cfg,
                                                   const std::shared_ptr<spdlog::logger>& logger) {
  std::vector<std::unique_ptr<page_sink>> out;
  std::set<std::string> names;
  for (const auto& c : cfg) {
    switch (c.kind) {
      case common::sink_kind::pagerduty:
        out.push_back(make_pagerduty_sink(c));
        break;
      case common::sink_kind::slack:
        out.push_back(make_slack_sink(c));
        break;
      case common::sink_kind::alertmanager:
        out.push_back(make_alertmanager_sink(c));
        break;
      case common::sink_kind::webhook:
        out.push_back(make_webhook_sink(c));
        break;
      case common::sink_kind::log:
        out.push_back(make_log_sink(c, logger));
        break;
    }
    if (!names.insert(out.back()->name()).second) {
      throw std::invalid_argument("two paging sinks are named '" + out.back()->name() + "'; give them distinct names");
    }
  }
  return out;
}

}  // namespace vigil::paging
