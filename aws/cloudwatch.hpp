#pragma once
// CloudWatch GetMetricData (query protocol, version 2010-08-01): up to 500
// metric queries per call; pages through NextToken.

#include <map>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

inline constexpr std::size_t max_metric_queries = 500;

struct metric_query {
  std::string id;  ///< [a-z][a-zA-Z0-9_]*, unique within the call
  std::string namespace_;
  std::string metric;
  std::map<std::string, std::string> dimensions;
  std::string stat = "Average";
  int period_s = 60;
};

struct metric_point {
  common::wall_time at;
  double value = 0;
};

struct metric_result {
  std::string id;
  std::string label;
  std::string status_code;           ///< Complete | PartialData | InternalError | Forbidden
  std::vector<metric_point> points;  ///< newest first
};

/// Returns one result per query (in answer order; match by id). More than
/// 500 queries is a caller error ("InvalidParameterValue").
[[nodiscard]] result<std::vector<metric_result>> get_metric_data(client& c, const std::string& region,
                                                                 const std::vector<metric_query>& queries,
                                                                 common::wall_time start, common::wall_time end);

}  // namespace vigil::aws
