// libFuzzer target: the agent batch parser (common/batch.cpp) and the replay
// record parser (decision/record.cpp). The first byte picks the parser.
//  - batch: any input gives a value or a rejection with a message, never an
//    exception; an accepted batch serialises and re-parses to the same batch.
//  - record: every line gives a value, an error or nothing (blank/comment),
//    never an exception; an accepted line serialises and re-parses to the
//    same record.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "common/batch.hpp"
#include "decision/record.hpp"

namespace {

using namespace vigil;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "batch_record_fuzz: %s\n", what.c_str());
  std::abort();
}

bool same_double(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

void batch_case(std::string_view body) {
  const auto r = common::parse_batch(body);
  if (!r.value) {
    if (r.message.empty()) fail("batch rejected without a message");
    return;
  }
  const std::string again_text = common::serialize_batch(*r.value);
  const auto again = common::parse_batch(again_text);
  if (!again.value) fail("serialised batch does not re-parse: " + again.message + "\n" + again_text);
  const auto& a = *r.value;
  const auto& b = *again.value;
  if (a.vantage != b.vantage || a.seq != b.seq || a.sent_at_ms != b.sent_at_ms ||
      a.observations.size() != b.observations.size() || a.lag.size() != b.lag.size()) {
    fail("batch round trip changed the header or counts\n" + again_text);
  }
  for (std::size_t i = 0; i < a.observations.size(); ++i) {
    const auto& x = a.observations[i];
    const auto& y = b.observations[i];
    if (x.check != y.check || x.at_ms != y.at_ms || x.result != y.result || !same_double(x.latency_ms, y.latency_ms) ||
        x.http_status != y.http_status || x.value.has_value() != y.value.has_value() ||
        (x.value && !same_double(*x.value, *y.value)) || x.detail != y.detail) {
      fail("batch round trip changed observation " + std::to_string(i) + "\n" + again_text);
    }
  }
  for (std::size_t i = 0; i < a.lag.size(); ++i) {
    if (a.lag[i].at_ms != b.lag[i].at_ms || a.lag[i].lag_ms != b.lag[i].lag_ms || a.lag[i].error != b.lag[i].error) {
      fail("batch round trip changed lag " + std::to_string(i) + "\n" + again_text);
    }
  }
}

decision::topology make_topology() {
  decision::topology t;
  t.deployment = "fuzz";
  t.regions = {{"us-east-1", decision::region_role::primary, {}, {}}, {"us-west-2", decision::region_role::dr, {}, {}}};
  t.vantages = {"us-east-1", "us-west-2", "eu-west-1"};
  for (decision::region_index r = 0; r < 2; ++r) {
    for (const char* s : {"api-web", "checkout", "search", "auth"}) {
      std::string id = s;
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(
          decision::check_info{id, r, s, 0, false, decision::check_role::classify, decision::duration{2000}});
    }
  }
  t.index();
  return t;
}

bool same_record(const decision::record& a, const decision::record& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<decision::observation>(&a)) {
    const auto& y = std::get<decision::observation>(b);
    return x->vantage == y.vantage && x->check == y.check && x->at == y.at && x->result == y.result &&
           same_double(static_cast<double>(x->latency_ms), static_cast<double>(y.latency_ms)) &&
           same_double(x->value, y.value);
  }
  if (const auto* x = std::get_if<decision::report_record>(&a)) {
    const auto& y = std::get<decision::report_record>(b);
    return x->vantage == y.vantage && x->at == y.at;
  }
  const auto& x = std::get<decision::lag_sample>(a);
  const auto& y = std::get<decision::lag_sample>(b);
  return x.at == y.at && x.lag == y.lag && x.region == y.region;
}

void record_case(std::string_view text) {
  static const decision::topology topo = make_topology();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    const auto r = decision::parse_record_line(line, topo);
    if (r.value) {
      std::string again_text;
      if (const auto* o = std::get_if<decision::observation>(&*r.value)) {
        again_text = decision::to_record_line(*o, topo);
      } else if (const auto* rep = std::get_if<decision::report_record>(&*r.value)) {
        again_text = decision::to_record_line(*rep, topo);
      } else {
        again_text = decision::to_record_line(std::get<decision::lag_sample>(*r.value), topo);
      }
      const auto again = decision::parse_record_line(again_text, topo);
      if (!again.value) fail("serialised record does not re-parse: " + again.error + "\n" + again_text);
      if (!same_record(*r.value, *again.value)) fail("record round trip changed the record\n" + again_text);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming) // libFuzzer's entry point: the name is its ABI
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 65536) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if ((data[0] & 1U) == 0) {
      batch_case(text);
    } else {
      record_case(text);
    }
  } catch (const std::exception& e) {
    fail(std::string("a parser threw: ") + e.what());
  }
  return 0;
}
