#pragma once
// Pages and the sinks that deliver them (docs/aws-notes.md, "Paging services").
//
// A page is one step of an incident's lifecycle: trigger, update (same
// incident id, new content), resolve. The incident id is the dedup key every
// sink uses, so that a re-sent page merges with the first instead of opening a
// second incident. (incident_id, action, sequence) identifies one page for
// the outbox's idempotency.
//
// Sinks turn a page into one HTTP request (or a log line) and classify the
// answer: delivered, retry (transport error, 408, 429, 5xx) or rejected
// (other 4xx: retrying would not help). A sink never throws for a delivery
// failure. deliver() may be called from the delivery worker's thread only.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "decision/vocabulary.hpp"

namespace spdlog {
class logger;
}

namespace vigil::paging {

// Defined once in the decision core, which decides what to page; their names (to_string,
// from_string) are the wire strings of a page's JSON and of the pager metrics labels.
using page_action = decision::page_action;
using page_severity = decision::severity;

struct page_link {
  std::string href;
  std::string text;
};

inline constexpr std::size_t max_page_summary = 1024;

struct page {
  std::string incident_id;  ///< dedup key; stable for the incident's lifetime
  page_action action = page_action::trigger;
  std::uint64_t sequence = 0;  ///< per incident, increasing with each update
  std::string kind;            ///< regional_outage, service_degraded, vantage_impaired, ...
  page_severity severity = page_severity::critical;
  std::string summary;  ///< one line; sinks cut it to max_page_summary characters
  std::string region;
  std::string deployment;
  nlohmann::json details = nlohmann::json::object();  ///< votes, gates, lag, expected data loss
  std::vector<page_link> links;                       ///< status page, recommendation, runbook, `vigil approve` command
  common::wall_time timestamp{};
  common::wall_time incident_start{};  ///< when the incident opened (0: unknown; the outbox restores incidents with it)
  std::string content_key;             ///< the decision core's "what this page said", handed back after a restart
};

/// Severity by incident kind: regional_outage and global_outage
/// critical, service_degraded error, vantage_impaired and coordination
/// problems (and anything else) warning.
[[nodiscard]] page_severity default_severity(std::string_view kind);
/// The exact command a page shows on-call: "vigil approve --key ~/.vigil/$USER.key --engine URL".
[[nodiscard]] std::string approve_command(std::string_view engine_url);

/// "<incident>/<action>/<sequence>": the outbox's idempotency key.
[[nodiscard]] std::string idempotency_key(const page& p);
[[nodiscard]] nlohmann::json to_json(const page& p);
/// Throws nlohmann::json::exception or std::invalid_argument on a malformed page.
[[nodiscard]] page page_from_json(const nlohmann::json& j);

enum class delivery_status : std::uint8_t { delivered, retry, rejected };
[[nodiscard]] std::string_view to_string(delivery_status s);

struct delivery_result {
  delivery_status status = delivery_status::retry;
  long http_status = 0;
  std::string detail;  ///< the error or the receiver's answer (cut to 512 bytes)
};

/// Classifies an HTTP outcome: 2xx delivered; transport error, 408, 429 and 5xx retry; other 4xx rejected.
[[nodiscard]] delivery_result classify_http(long status, std::string_view transport_error, std::string_view body);

class page_sink {
 public:
  virtual ~page_sink() = default;
  [[nodiscard]] virtual const std::string& name() const = 0;  ///< unique; the metrics label and outbox key
  [[nodiscard]] virtual delivery_result deliver(const page& p) = 0;
};

/// One sink per paging config entry. `logger` is used by the log sink (null:
/// spdlog's default logger). Throws std::invalid_argument for a sink whose
/// required settings are missing (routing_key, url, webhook_url, secret).
[[nodiscard]] std::vector<std::unique_ptr<page_sink>> make_sinks(
    const std::vector<common::paging_sink_config>& cfg, const std::shared_ptr<spdlog::logger>& logger = nullptr);

// The individual sinks (exposed for tests and for the engine's `log` default).
[[nodiscard]] std::unique_ptr<page_sink> make_pagerduty_sink(const common::paging_sink_config& cfg);
[[nodiscard]] std::unique_ptr<page_sink> make_slack_sink(const common::paging_sink_config& cfg);
[[nodiscard]] std::unique_ptr<page_sink> make_alertmanager_sink(const common::paging_sink_config& cfg);
[[nodiscard]] std::unique_ptr<page_sink> make_webhook_sink(const common::paging_sink_config& cfg);
[[nodiscard]] std::unique_ptr<page_sink> make_log_sink(const common::paging_sink_config& cfg,
                                                       std::shared_ptr<spdlog::logger> logger);

/// Request bodies, exposed so tests can check them without a receiver.
[[nodiscard]] nlohmann::json pagerduty_event(const page& p, std::string_view routing_key);
[[nodiscard]] nlohmann::json slack_message(const page& p);
[[nodiscard]] nlohmann::json alertmanager_alerts(const page& p);

}  // namespace vigil::paging
