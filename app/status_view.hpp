#pragma once
// GET /v1/status for large deployments (docs/design.md, "GET /v1/status"):
// the query parameters and the document's check part.
//
//   ?region=R       only region R's checks (R must be a configured region)
//   ?check=SUBSTR   only checks whose id contains SUBSTR (1..256 bytes of
//                   letters, digits, '-', '_', '.', '@': what an id is made of)
//   ?summary=1      no `checks` list at all: the regions, vantages, incident,
//                   recommendation and `check_counts` (per region: total, up,
//                   down, unknown) of the selected checks
//
// An empty value is the same as the parameter absent; any other parameter is
// refused (400 bad_query), so a misspelt filter does not silently return the
// whole document. `check_counts`, `checks_total` and `query` (the filter as
// understood) are in every answer.
//
// The check list is written straight into the answer, check by check, not
// built as one JSON document first: with 10,000 checks x 5 vantages the
// document is ~3 MB and the DOM of it cost the engine's only thread ~1 s
// (bench/RESULTS.md, "Scale of one engine").

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "decision/core.hpp"

namespace vigil::app {

struct status_query {
  decision::check_selection checks;  ///< none stays false: summary is a separate flag
  std::string region;                ///< as asked (empty: every region)
  bool summary = false;
};

struct status_query_result {
  std::optional<status_query> value;
  std::string message;  ///< why refused (400 bad_query)
};

/// Longest `check` value accepted.
inline constexpr std::size_t max_status_check_filter = 256;

[[nodiscard]] status_query_result parse_status_query(const std::map<std::string, std::string>& query,
                                                     const decision::topology& topo);

/// The /v1/status body: `head` (the document without its check list, as the
/// engine builds it) with check_counts, checks_total, query and, unless
/// q.summary, the selected checks, each with its `last_failure` from
/// `last_failures` (check id -> vantage -> {outcome, detail, at}).
/// `last_warnings` (check id -> vantage -> reason) gives each check's `warn`.
[[nodiscard]] std::string render_status(nlohmann::json head, const decision::core& core,
                                        const std::map<std::string, nlohmann::json>& last_failures,
                                        const std::map<std::string, std::map<std::string, std::string>>& last_warnings,
                                        const status_query& q);

}  // namespace vigil::app
