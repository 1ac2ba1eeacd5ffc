#include "aws/cloudwatch.hpp"

#include <algorithm>
#include <charconv>

#include "aws/timefmt.hpp"

namespace vigil::aws {

result<std::vector<metric_result>> get_metric_data(client& c, const std::string& region,
                                                   const std::vector<metric_query>& queries, common::wall_time start,
                                                   common::wall_time end) {
  if (queries.empty()) return std::vector<metric_result>{};
  if (queries.size() > max_metric_queries) {
    return make_error("InvalidParameterValue",
                      "GetMetricData takes at most 500 queries, got " + std::to_string(queries.size()));
  }
  // The wire format has whole seconds: round the window outwards, or a
  // datapoint from the last fraction of a second falls outside it.
  const auto end_up = std::chrono::ceil<std::chrono::seconds>(end);
  std::vector<std::pair<std::string, std::string>> base{{"StartTime", format_iso8601(start)},
                                                        {"EndTime", format_iso8601(common::wall_time{end_up})},
                                                        {"ScanBy", "TimestampDescending"}};
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    const std::string m = "MetricDataQueries.member." + std::to_string(i + 1) + ".";
    base.emplace_back(m + "Id", q.id);
    base.emplace_back(m + "MetricStat.Metric.Namespace", q.namespace_);
    base.emplace_back(m + "MetricStat.Metric.MetricName", q.metric);
    int d = 0;
    for (const auto& [name, value] : q.dimensions) {
      const std::string dm = m + "MetricStat.Metric.Dimensions.member." + std::to_string(++d) + ".";
      base.emplace_back(dm + "Name", name);
      base.emplace_back(dm + "Value", value);
    }
    base.emplace_back(m + "MetricStat.Period", std::to_string(q.period_s));
    base.emplace_back(m + "MetricStat.Stat", q.stat);
    base.emplace_back(m + "ReturnData", "true");
  }
  std::vector<metric_result> out;
  std::string next;
  for (int page = 0; page < 20; ++page) {
    auto params = base;
    if (!next.empty()) params.emplace_back("NextToken", next);
    auto doc = c.query(service::cloudwatch, region, "GetMetricData", "2010-08-01", params);
    if (!doc) return doc.error();
    const auto* res = doc->descendant("GetMetricDataResult");
    if (res == nullptr) return make_error("MalformedResponse", "GetMetricData: no GetMetricDataResult");
    if (const auto* list = res->child("MetricDataResults")) {
      for (const auto* m : list->all("member")) {
        const auto id = m->text_at("Id");
        auto it = std::find_if(out.begin(), out.end(), [&](const auto& r) { return r.id == id; });
        if (it == out.end()) {
          out.push_back({id, m->text_at("Label"), m->text_at("StatusCode"), {}});
          it = out.end() - 1;
        }
        const auto* ts = m->child("Timestamps");
        const auto* vs = m->child("Values");
        if (ts == nullptr || vs == nullptr) continue;
        const auto times = ts->all("member");
        const auto values = vs->all("member");
        for (std::size_t i = 0; i < std::min(times.size(), values.size()); ++i) {
          const auto t = parse_iso8601(times[i]->text);
          double v = 0;
          const auto& vt = values[i]->text;
          const auto r = std::from_chars(vt.data(), vt.data() + vt.size(), v);
          if (t && r.ec == std::errc{}) it->points.push_back({*t, v});
        }
      }
    }
    next = res->text_at("NextToken");
    if (next.empty()) break;
  }
  for (auto& r : out) {
    std::sort(r.points.begin(), r.points.end(), [](const auto& a, const auto& b) { return a.at > b.at; });
  }
  return out;
}

}  // namespace vigil::aws
