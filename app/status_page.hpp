#pragma once
// The engine's status page (GET /): one self-contained HTML document with its
// CSS and script embedded in the binary (no external fetch). It polls
// /v1/status, /v1/events and /v1/history and renders region cards, the
// vantage x check grid, uptime history bars, gates, the recommendation,
// approvals, plan progress, silences, the brake and a timeline, with a
// client-side filter of checks (docs/design.md, "GET /v1/history").

#include <string_view>

namespace vigil::app {

[[nodiscard]] std::string_view status_page_html();

}  // namespace vigil::app
