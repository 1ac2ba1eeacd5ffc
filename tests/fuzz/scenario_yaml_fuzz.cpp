// libFuzzer target: the scenario YAML parser (common/scenario_yaml.cpp), and
// the simulator on whatever parses (runs up to 6 minutes). Malformed input must
// give an error with file:line:col, never an exception or a crash; a parsed
// scenario naming unknown regions/vantages/checks is refused by simulate()
// with std::invalid_argument, which is its documented contract.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/scenario_yaml.hpp"
#include "decision/simulator.hpp"

namespace {

using namespace vigil::decision;

topology make_topology() {
  topology t;
  t.deployment = "fuzz";
  t.regions = {{"us-east-1", region_role::primary, {}, {}}, {"us-west-2", region_role::dr, {}, {}}};
  t.vantages = {"us-east-1", "us-west-2", "eu-west-1"};
  for (region_index r = 0; r < 2; ++r) {
    for (const char* s : {"api-web", "checkout", "search", "auth"}) {
      std::string id = s;
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(check_info{id, r, s, 0, false, check_role::classify, duration{2000}});
    }
  }
  t.index();
  return t;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming) // libFuzzer's entry point: the name is its ABI
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::common::scenario_parse_result r;
  try {
    r = vigil::common::parse_scenario_text(text, "fuzz.yaml");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scenario_yaml_fuzz: the parser threw: %s\n", e.what());
    std::abort();
  }
  if (!r.value) {
    if (r.error.rfind("fuzz.yaml:", 0) != 0) {
      std::fprintf(stderr, "scenario_yaml_fuzz: error without file name: %s\n", r.error.c_str());
      std::abort();
    }
    return 0;
  }
  if (r.value->length > duration{360000} || r.value->length.count() <= 0) return 0;
  static const topology topo = make_topology();
  static const sim_settings settings{};
  try {
    (void)simulate(topo, settings, *r.value);
  } catch (const std::invalid_argument&) {
    // unknown names: refused with their line, as documented
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scenario_yaml_fuzz: simulate threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
