#pragma once
// The engine's status page (GET /): one self-contained HTML document with its
// CSS and script embedded in the binary (no external fetch). It polls
// /v1/status and /v1/events and renders region cards, the vantage x check
// grid, gates, the recommendation, approvals, plan progress and a timeline.

#include <string_view>

namespace vigil::app {

[[nodiscard]] std::string_view status_page_html();

}  // namespace vigil::app
