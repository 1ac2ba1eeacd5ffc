#pragma once
// vigil's configuration as typed structs (docs/configuration.md lists every key).
//
// Produced by common::load_config() (config_load.cpp) from YAML, after
// ${ENV_VAR} substitution, *_file secret resolution, defaulting and validation.
// A config that came back from load_config() is valid: every cross reference
// (regions, vantages, checks) resolves and every number is in range. Every
// value remembers where it came from (source_pos) so later stages (plan
// steps, expect expressions) can report errors against the file too.
//
// Durations are std::chrono::milliseconds throughout.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "decision/vocabulary.hpp"

namespace vigil::common {

using duration = std::chrono::milliseconds;

/// Where a value was written: file, 1-based line and column, key path
/// (e.g. "services[0].checks[1].http.url").
struct source_pos {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key_path;
};

/// Defined once in the decision core; named here so configuration code reads naturally.
using region_role = decision::region_role;

struct region_config {
  std::string name;
  region_role role = region_role::primary;
  source_pos pos;
};

/// decision: every key optional; defaults in docs/design.md, "Decision defaults".
struct decision_config {
  duration tick{1000};
  int quorum = 0;  ///< 0 in the file means "not set"; load_config() fills in the strict majority
  int fall = 3;
  int rise = 3;
  duration stale_after{0};  ///< 0 = not set; load_config() fills 3 x probe_defaults.interval
  double impaired_fraction = 0.5;
  std::optional<duration> impaired_after;  ///< not set: load_config() fills probe_defaults.interval + tick
  duration partition_after{60000};
  double regional_fraction = 0.5;
  duration confirm_for{2000};
  duration clear_for{30000};
  duration service_page_grace{10000};
  duration max_lag{5000};
  duration lag_max_age{30000};
  duration cooldown{3600000};
  duration recommendation_ttl{1800000};
};

struct probe_defaults_config {
  duration interval{2000};
  duration timeout{2000};
  double jitter = 0.1;         ///< fraction of the interval, spread randomly
  duration degraded_after{0};  ///< 0 = off; latency above it counts as degraded, not failed
  /// Suspicion mode: while a check's verdict is in doubt, re-probe at this
  /// cadence (decision/suspicion.hpp). 0 = off (the default).
  duration fast_interval{0};
};

using check_role = decision::check_role;

struct http_check_config {
  std::string url;
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<std::string> expect;     ///< expressions, parsed by detector/expect
  std::vector<source_pos> expect_pos;  ///< one per expect entry
  bool follow_redirects = false;
  int max_redirects = 0;    ///< bound when follow_redirects (default 5 then)
  std::string ca_file;      ///< extra CA bundle; TLS verification is always on
  bool keep_alive = false;  ///< default: a new connection per probe, as Route 53 does
  std::size_t body_limit = std::size_t{64} * 1024;
  duration connect_timeout{0};       ///< 0 = the check's timeout
  std::int64_t low_speed_limit = 1;  ///< bytes/s below which...
  duration low_speed_time{0};        ///< ...for this long the probe times out (0 = timeout)
};

/// A TCP check: connect (optionally TLS), optionally send a payload and wait
/// for a reply containing `expect`.
struct tcp_check_config {
  std::string address;  ///< host:port
  bool tls = false;
  std::string server_name;  ///< TLS SNI and name verified; default the host of `address`
  std::string ca_file;      ///< extra CA bundle; verification is always on
  std::string send;         ///< bytes written after connecting (YAML "\r\n" escapes apply)
  std::string expect;       ///< the reply must contain it; empty = connecting is enough
  std::size_t read_limit = std::size_t{64} * 1024;
  duration connect_timeout{0};  ///< 0 = the check's timeout
};

/// A DNS check: one query to a chosen resolver; the answers must contain
/// every `expect` value.
struct dns_check_config {
  std::string name;                 ///< the name queried
  std::string type = "A";           ///< A, AAAA, CNAME, TXT, MX, NS
  std::string resolver;             ///< host:port of the resolver (an IP literal)
  std::vector<std::string> expect;  ///< each must equal one answer (A/AAAA/CNAME...) or be contained in it (TXT)
};

/// A PostgreSQL check: connect with a libpq DSN, run `query`, compare the
/// first column of the first row with `expect`.
struct postgres_check_config {
  std::string dsn;  ///< secret
  std::string query = "SELECT 1";
  std::optional<std::string> expect;  ///< nullopt: the query succeeding is enough
};

/// A gRPC health check: grpc.health.v1.Health/Check over HTTP/2.
struct grpc_check_config {
  std::string address;  ///< host:port
  std::string service;  ///< HealthCheckRequest.service; empty = the whole server
  bool tls = false;     ///< false: h2c with prior knowledge
  std::string ca_file;
};

enum class missing_data : std::uint8_t { ok, fail, ignore };

struct cloudwatch_check_config {
  std::string namespace_;
  std::string metric;
  std::map<std::string, std::string> dimensions;
  std::string stat = "Average";
  duration period{60000};
  std::string condition;  ///< e.g. "< 50"
  missing_data on_missing = missing_data::ignore;
  std::string aws_region;  ///< region to call; default the check's region
};

/// One check: an HTTP deep health check, a TCP, DNS, PostgreSQL or gRPC health
/// probe, or a CloudWatch metric condition.
/// id = <service>@<region> for service checks, <name>@<region> for region checks.
struct check_config {
  std::string id;
  std::string region;
  std::string service;        ///< service name, or the region check's name when region_scope
  bool region_scope = false;  ///< a `region_checks` entry: scope: region
  check_role role = check_role::classify;
  duration interval{2000};
  duration timeout{2000};
  duration degraded_after{0};
  duration fast_interval{0};  ///< suspicion mode re-probe cadence; 0 = off
  std::optional<http_check_config> http;
  std::optional<cloudwatch_check_config> cloudwatch;
  std::optional<tcp_check_config> tcp;
  std::optional<dns_check_config> dns;
  std::optional<postgres_check_config> postgres;
  std::optional<grpc_check_config> grpc;
  source_pos pos;

  /// "http", "cloudwatch", "tcp", "dns", "postgres" or "grpc".
  [[nodiscard]] std::string_view kind() const;
};

struct service_config {
  std::string name;
  std::vector<std::string> check_ids;
  source_pos pos;
};

enum class lag_source : std::uint8_t { none, cloudwatch, aurora_sql, postgres_standby };

struct replication_lag_config {
  lag_source source = lag_source::none;
  std::string region;
  std::string cluster;                          ///< DBClusterIdentifier (cloudwatch) / region name filter (aurora_sql)
  std::string metric = "AuroraGlobalDBRPOLag";  ///< or AuroraGlobalDBReplicationLag
  std::string dsn;                              ///< libpq connection string (aurora_sql, postgres_standby); secret
  duration interval{5000};
  duration timeout{2000};
  std::string vantage;  ///< the vantage whose agent samples the lag; empty = every vantage

  /// replication_lag.failback: the source of the other direction, measuring the
  /// configured primary's cluster as a secondary (while the dr region is
  /// active). source, interval, timeout and vantage are inherited.
  struct direction {
    std::string region;  ///< the region whose cluster is measured; default: the primary
    std::string cluster;
    std::string metric;  ///< default: the main block's metric
    std::string dsn;
  };
  std::optional<direction> failback;

  /// The main block with `failback`'s keys in place of its own (region, cluster,
  /// metric, dsn); failback unset: nullopt.
  [[nodiscard]] std::optional<replication_lag_config> failback_source() const;
};

struct engine_config {
  std::string listen = "127.0.0.1:9470";
  std::string metrics_listen;  ///< empty: /metrics on the main listener
  std::vector<std::string> endpoints{"http://127.0.0.1:9470"};
  std::string agent_key;  ///< HMAC key for agent batches (resolved secret)
  std::string state_dir = "/var/lib/vigil";
  std::string record;             ///< JSONL path of all observations; empty = off
  std::string public_url;         ///< used in page links; default http://<listen>
  std::string runbook_url;        ///< linked from pages and the status page; empty: no runbook link
  std::string dashboard_url;      ///< linked from pages and the status page; empty: no dashboard link
  duration batch_max_age{30000};  ///< X-Vigil-Timestamp window
  std::size_t max_batch_bytes = std::size_t{4} * 1024 * 1024;
  /// The API listener's caps and request-head deadline (the metrics listener has its own, fixed).
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 256;
  duration header_timeout{5000};
  /// Start with the actuation brake on (`vigil brake on|off` changes it at run time):
  /// no plan step runs while it is on.
  bool actuation_brake = false;
  /// The status page's uptime history (GET /v1/history): bucket width and how many buckets.
  duration history_bucket{300000};
  int history_buckets = 72;
  /// engine.read_tokens_file: when set, every GET /v1/* needs
  /// `Authorization: Bearer` one of read_tokens (resolved path; empty: open).
  std::string read_tokens_file;
  std::vector<std::string> read_tokens;
};

inline constexpr std::size_t max_read_tokens = 64;
inline constexpr std::size_t min_read_token_chars = 16;
inline constexpr std::size_t max_read_token_chars = 256;

/// A recurring maintenance window: a silence of `scope` during each occurrence.
struct maintenance_window_config {
  std::string name;
  std::string scope;     ///< region:NAME | service:NAME | check:ID | all
  std::string schedule;  ///< "Sun 02:00-04:00", "Mon,Thu 22:00-01:00"
  std::string timezone = "UTC";
  source_pos pos;
};

/// Operator silences (`vigil silence`) and maintenance windows.
struct silences_config {
  bool hold_pages = false;                         ///< pages: hold (not sent) | downgrade (severity info, the default)
  int max_active = 50;                             ///< operator silences active at once
  duration max_duration{604800000};                ///< longest silence accepted (7 days)
  std::vector<maintenance_window_config> windows;  ///< top-level maintenance_windows
};

enum class coordination_backend : std::uint8_t { file, etcd };

struct coordination_config {
  coordination_backend backend = coordination_backend::file;
  std::vector<std::string> endpoints;
  duration lease_ttl{10000};
  std::string prefix;  ///< default /vigil/<deployment>
  // TLS and etcd authentication (docs/ha.md, "etcd with TLS and auth"): paths
  // resolved against the config file; the files were readable at load time.
  std::string ca_file;    ///< PEM CA bundle that signs the etcd server certificates
  std::string cert_file;  ///< PEM client certificate (with key_file): mutual TLS
  std::string key_file;
  std::string username;  ///< etcd user (inline or username_file); empty: no auth
  std::string password;  ///< resolved secret (password_file or ${ENV})
};

enum class sink_kind : std::uint8_t { pagerduty, slack, alertmanager, webhook, log };

struct paging_sink_config {
  sink_kind kind = sink_kind::log;
  std::string name;         ///< default: the kind
  std::string routing_key;  ///< pagerduty (secret)
  std::string url;          ///< alertmanager base URL, webhook URL, pagerduty events URL override
  std::string webhook_url;  ///< slack (secret)
  std::string secret;       ///< webhook HMAC key (secret)
  duration timeout{5000};
  source_pos pos;
};

struct approver_config {
  std::string id;
  std::string public_key_file;
  std::string public_key_pem;  ///< read from public_key_file by load_config()
  source_pos pos;
};

struct approvals_config {
  int required = 1;
  duration max_ttl{900000};
  duration max_skew{60000};
  duration max_standing_ttl{30LL * 24 * 3600 * 1000};  ///< longest validity of a standing approval
  std::vector<approver_config> approvers;
};

enum class on_failure : std::uint8_t { abort, continue_ };

/// One plan step. `params` holds the kind-specific keys as written (already
/// checked against the kind's known keys and types by load_config()), after
/// ${ENV} substitution: strings, integers and booleans as JSON values, lists
/// and maps as arrays and objects, durations as integer milliseconds, `*_file`
/// secrets resolved into the key without `_file` (see docs/configuration.md).
struct plan_step_config {
  std::string name;
  std::string kind;
  nlohmann::json params = nlohmann::json::object();
  duration timeout{300000};
  int retries = 2;
  on_failure failure = on_failure::abort;
  source_pos pos;
};

struct plan_config {
  bool dry_run = true;
  std::vector<plan_step_config> steps;
};

struct aws_config {
  std::string profile;                           ///< default: AWS_PROFILE / "default"
  std::map<std::string, std::string> endpoints;  ///< service -> URL override (all regions)
  std::map<std::string, std::map<std::string, std::string>> region_endpoints;  ///< region -> service -> URL
  int max_attempts = 3;
  duration call_timeout{10000};
};

/// The readiness loop (docs/runbook.md, "Readiness"): on only when the section is present.
struct readiness_config {
  bool enabled = false;
  duration interval{300000};   ///< between runs, jittered by +-10%
  bool gate_blocking = false;  ///< the dr_ready gate blocks (default: advisory)
  int cert_min_days = 14;      ///< a dr check's certificate must stay valid longer than this
  duration timeout{10000};     ///< per read-only call
};

/// The recovery objectives the RTO estimate and the lag exposure are held against.
struct objectives_config {
  std::optional<duration> rto;
  std::optional<duration> rpo;
};

/// Scheduled dry-run drills (with pre-checks): none unless a schedule is set.
struct drill_config {
  std::optional<duration> schedule;
};

struct logging_config {
  std::string level = "info";   ///< trace|debug|info|warn|error
  std::string format = "text";  ///< text|json
};

struct config {
  std::string file;  ///< the path it was loaded from
  std::string deployment;
  std::vector<region_config> regions;
  std::vector<std::string> vantages;
  /// vantage -> the AWS region it runs in (`{name, region}` entries; a vantage
  /// named like a region runs there). Used for the quorum-alone warning.
  std::map<std::string, std::string> vantage_regions;
  decision_config decision;
  probe_defaults_config probe_defaults;
  std::vector<service_config> services;
  std::vector<check_config> checks;  ///< every check, services' first then region_checks, in file order
  replication_lag_config replication_lag;
  engine_config engine;
  coordination_config coordination;
  std::vector<paging_sink_config> paging;
  approvals_config approvals;
  silences_config silences;
  plan_config failover;
  plan_config failback;
  aws_config aws;
  logging_config logging;
  readiness_config readiness;
  objectives_config objectives;
  drill_config drill;

  [[nodiscard]] const region_config& primary() const;
  [[nodiscard]] const region_config& dr() const;
  [[nodiscard]] const check_config* find_check(std::string_view id) const;
};

[[nodiscard]] std::string_view to_string(lag_source s);
[[nodiscard]] std::string_view to_string(sink_kind k);
[[nodiscard]] std::string_view to_string(missing_data m);

}  // namespace vigil::common
