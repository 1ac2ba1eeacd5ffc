// Found by the scenario_yaml fuzzer: a scenario with a byte that is not UTF-8
// (here inside a recommendation_field value) parsed, and `vigil simulate`
// then died on an uncaught JSON exception while printing the expectation.
// It is malformed input: exit 2 with file:line:col.
#include <gtest/gtest.h>

#include <string>

#include "common/scenario_yaml.hpp"

namespace {

TEST(ScenarioYamlUtf8, RefusesInvalidUtf8WithItsPosition) {
  const std::string text =
      "duration: 3m\n"
      "expect:\n"
      "  - {recommendation_field: {blocked_by: \xAC"
      "ot_silenced}}\n";
  const auto r = vigil::common::parse_scenario_text(text, "s.yaml");
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.error, "s.yaml:3:41: not valid UTF-8");
}

TEST(ScenarioYamlUtf8, RefusesTruncatedOverlongAndSurrogateSequences) {
  for (const std::string bad : {"a: \xC3", "a: \xC0\xAF", "a: \xED\xA0\x80", "a: \xF4\x90\x80\x80", "a: \xFF"}) {
    const auto r = vigil::common::parse_scenario_text(bad, "s.yaml");
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error, "s.yaml:1:4: not valid UTF-8") << bad;
  }
}

TEST(ScenarioYamlUtf8, AcceptsUtf8Text) {
  const auto r = vigil::common::parse_scenario_text(
      "# caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x80\nduration: 1m\nevents:\n  - {at: 0s, noise: {probability: "
      "0.05}}\nexpect:\n  - {never: recommendation}\n",
      "s.yaml");
  EXPECT_TRUE(r.value) << r.error;
}

}  // namespace
