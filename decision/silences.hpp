#pragma once
// What a silence covers (docs/runbook.md, "Silence planned work"), and
// recurring maintenance windows. Pure: time is passed in.
//
// A silence's scope is one of
//   ""  or "all"        everything
//   "region:NAME" or "NAME"  the region NAME (its pages, and any action touching it)
//   "service:NAME"      the service NAME, in either region
//   "check:ID"          the check ID ("<service>@<region>")
// A region is covered by the active silences when one names it (or all), or
// when everything down in it is covered: each down check's id or service is
// named by some active silence, and at least one check is down. So planned
// work on one service holds its pages and blocks a failover it would
// otherwise trigger, while anything else going down in the same region pages
// and recommends as usual.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decision/events.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

/// A check that is down: its id and its service.
struct down_check {
  std::string id;
  std::string service;
};

/// True when `scope` is well formed (see above).
[[nodiscard]] bool valid_silence_scope(std::string_view scope);

/// The first active silence covering `region` given what is down there, or nullptr.
[[nodiscard]] const silence_spec* covering_silence(std::span<const silence_spec> silences, time_point now,
                                                   std::string_view region, std::span<const down_check> down);

/// What a silence does to the pages of the region it covers (silences.pages).
enum class silenced_pages : std::uint8_t { hold, downgrade };

/// `p` as the silences leave it: nullopt when held, severity info when
/// downgraded, unchanged when no silence covers its region (vantage pages,
/// which name no region, are never silenced).
[[nodiscard]] std::optional<page> apply_silences(page p, std::span<const silence_spec> silences, time_point now,
                                                 std::span<const down_check> down, silenced_pages mode);

/// A weekly maintenance window: "Sun 02:00-04:00" or "Mon,Wed 22:00-01:30"
/// (an end before the start runs into the next day) in a fixed UTC offset.
struct maintenance_window {
  std::string name;
  std::string scope;
  unsigned days = 0;  ///< bit d set: starts on weekday d (0 = Sunday)
  int start_min = 0;  ///< minutes after local midnight
  int length_min = 0;
  int offset_min = 0;  ///< local = UTC + offset
};

/// Parses `schedule` in `timezone` ("UTC", "UTC+02:00", "UTC-05:30");
/// nullopt with `error` set (what was expected) otherwise.
[[nodiscard]] std::optional<maintenance_window> parse_maintenance_window(std::string name, std::string scope,
                                                                         std::string_view schedule,
                                                                         std::string_view timezone, std::string& error);

/// When the occurrence of `w` that covers `now` ends; nullopt when none does.
[[nodiscard]] std::optional<time_point> window_active_until(const maintenance_window& w, time_point now);

/// The silences the windows active at `now` impose (id "window:<name>", by
/// "maintenance_window", until the end of the occurrence).
[[nodiscard]] std::vector<silence_spec> window_silences(std::span<const maintenance_window> windows, time_point now);

}  // namespace vigil::decision
