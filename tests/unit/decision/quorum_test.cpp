#include "decision/quorum.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "decision/classifier.hpp"

namespace vigil::decision {

TEST(Quorum, ThreeAnswers) {
  EXPECT_EQ(quorum_verdict({.up = 0, .down = 2, .unknown = 1}, 2), verdict::down);
  EXPECT_EQ(quorum_verdict({.up = 2, .down = 1, .unknown = 0}, 2), verdict::up);
  EXPECT_EQ(quorum_verdict({.up = 1, .down = 1, .unknown = 1}, 2), verdict::unknown);
  EXPECT_EQ(quorum_verdict({.up = 1, .down = 0, .unknown = 2}, 2), verdict::unknown);
  // quorum below a majority: down wins
  EXPECT_EQ(quorum_verdict({.up = 2, .down = 1, .unknown = 0}, 1), verdict::down);
}

namespace {
struct impairment_case {
  std::vector<verdict> verdicts;  // 3 vantages x 4 checks; checks 0,1 in region 0; 2,3 in region 1
  std::vector<std::uint8_t> present{1, 1, 1};
};

std::vector<std::uint8_t> run(const impairment_case& c, double fraction = 0.5) {
  const std::vector<region_index> regions{0, 0, 1, 1};
  std::vector<int> up(4), down(4);
  std::vector<agreement> agree(6);
  std::vector<std::uint8_t> impaired(3);
  find_impaired({c.verdicts, c.present, regions, 3, 4, 2, fraction}, up, down, agree, impaired);
  return impaired;
}
constexpr auto u = verdict::up;
constexpr auto d = verdict::down;
constexpr auto x = verdict::unknown;
}  // namespace

TEST(Impairment, IsolatedVantageSeesEverythingFail) {
  EXPECT_EQ(run({{u, u, u, u, /**/ u, u, u, u, /**/ d, d, d, d}}), (std::vector<std::uint8_t>{0, 0, 1}));
}

TEST(Impairment, ASingleVantageWitnessingOneRegionIsNotImpaired) {
  EXPECT_EQ(run({{u, u, u, u, /**/ u, u, u, u, /**/ d, d, u, u}}), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(Impairment, RealRegionalOutageNobodyImpaired) {
  EXPECT_EQ(run({{d, d, u, u, /**/ d, d, u, u, /**/ d, d, u, u}}), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(Impairment, VantageInsideFailedRegionSeeingItUpAndDrDown) {
  // vantage 0 lives in region 0: sees its own region up (internal path) and
  // region 1 down (cross-region links cut) while the others see the opposite.
  EXPECT_EQ(run({{u, u, d, d, /**/ d, d, u, u, /**/ d, d, u, u}}), (std::vector<std::uint8_t>{1, 0, 0}));
}

TEST(Impairment, AbsentVantagesNeitherVoteNorGetJudged) {
  impairment_case c{{u, u, u, u, /**/ d, d, d, d, /**/ d, d, d, d}, {1, 0, 1}};
  // with vantage 1 absent, vantage 0 and 2 are each other's only comparison:
  // one other vantage is no majority, so nobody is impaired.
  EXPECT_EQ(run(c), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(Impairment, UnknownVerdictsAreNotCompared) {
  EXPECT_EQ(run({{u, u, u, u, /**/ u, u, u, u, /**/ d, d, x, x}}), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(Impairment, FractionThreshold) {
  // disagrees on 1 of 2 checks in each region: 50% >= 0.5 -> impaired; not at 0.6
  const impairment_case c{{u, u, u, u, /**/ u, u, u, u, /**/ d, u, d, u}};
  EXPECT_EQ(run(c, 0.5), (std::vector<std::uint8_t>{0, 0, 1}));
  EXPECT_EQ(run(c, 0.6), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(Classifier, Regions) {
  const double rf = 0.5;
  const region_counts healthy{4, 0, 0, 0, 0};
  EXPECT_EQ(classify_region(healthy, healthy, rf), classification::healthy);
  EXPECT_EQ(classify_region({4, 1, 0, 0, 0}, healthy, rf), classification::service_degraded);
  EXPECT_EQ(classify_region({4, 2, 0, 0, 0}, healthy, rf), classification::regional_outage);
  EXPECT_EQ(classify_region({4, 4, 0, 0, 0}, {4, 3, 0, 0, 0}, rf), classification::global_outage);
  EXPECT_EQ(classify_region({4, 0, 0, 1, 0}, healthy, rf), classification::regional_outage);  // region check
  EXPECT_EQ(classify_region({4, 0, 4, 0, 0}, healthy, rf), classification::unknown);
  EXPECT_EQ(classify_region({4, 1, 1, 0, 0}, healthy, rf), classification::unknown);           // could be regional
  EXPECT_EQ(classify_region({6, 1, 1, 0, 0}, healthy, rf), classification::service_degraded);  // 2/6 < 0.5
  EXPECT_EQ(classify_region(healthy, {4, 0, 0, 0, 1}, rf), classification::healthy);
  EXPECT_EQ(classify_region({4, 0, 0, 0, 1}, healthy, rf), classification::unknown);
}

TEST(Classifier, ThinOutageHasNoServiceToSpare) {
  const double rf = 0.5;
  EXPECT_FALSE(thin_outage({4, 1, 0, 0, 0}, rf));  // no outage at all
  EXPECT_TRUE(thin_outage({4, 2, 0, 0, 0}, rf));   // 1 of 4 would not be one
  EXPECT_FALSE(thin_outage({4, 3, 0, 0, 0}, rf));
  EXPECT_FALSE(thin_outage({4, 4, 0, 0, 0}, rf));
  EXPECT_TRUE(thin_outage({3, 2, 0, 0, 0}, rf));
  EXPECT_TRUE(thin_outage({2, 1, 0, 0, 0}, rf));
  EXPECT_FALSE(thin_outage({2, 2, 0, 0, 0}, rf));
  EXPECT_TRUE(thin_outage({1, 1, 0, 0, 0}, rf));
  EXPECT_FALSE(thin_outage({4, 2, 0, 1, 0}, rf));  // a region check is down: region-wide evidence
  EXPECT_FALSE(thin_outage({4, 0, 0, 1, 0}, rf));
  EXPECT_TRUE(thin_outage({4, 3, 0, 0, 0}, 0.75));  // 2 of 4 would not reach 0.75
  EXPECT_FALSE(thin_outage({6, 3, 0, 0, 0}, 0.25));
}

TEST(Classifier, ServiceCombination) {
  EXPECT_EQ(combine_service(verdict::up, verdict::down), verdict::down);
  EXPECT_EQ(combine_service(verdict::unknown, verdict::down), verdict::down);
  EXPECT_EQ(combine_service(verdict::up, verdict::unknown), verdict::unknown);
  EXPECT_EQ(combine_service(verdict::up, verdict::up), verdict::up);
}

}  // namespace vigil::decision
