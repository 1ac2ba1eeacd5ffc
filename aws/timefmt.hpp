#pragma once
// Time formats AWS uses: the SigV4 basic ISO 8601 stamp (20150830T123600Z),
// extended ISO 8601 in payloads (2015-08-30T12:36:00Z, optional fraction and
// offset), and the HTTP Date header (IMF-fixdate, "Sun, 30 Aug 2015 12:36:00 GMT").
// All UTC; parsers return nullopt on anything malformed.

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace vigil::aws {

[[nodiscard]] std::string format_amz_date(common::wall_time t);  ///< 20150830T123600Z
[[nodiscard]] std::string format_iso8601(common::wall_time t);   ///< 2015-08-30T12:36:00Z
[[nodiscard]] std::optional<common::wall_time> parse_iso8601(std::string_view s);
[[nodiscard]] std::optional<common::wall_time> parse_http_date(std::string_view s);
[[nodiscard]] std::string format_http_date(common::wall_time t);  ///< Sun, 30 Aug 2015 12:36:00 GMT

}  // namespace vigil::aws
