#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "eval/metrics.h"

namespace abis::eval {
namespace {

MatedSearch Mate(int rank, double score) { return MatedSearch{rank, score}; }
MatedSearch MateNotOnList() { return MatedSearch{std::nullopt, 0.0}; }

TEST(CmcTest, CountsMatesAtOrAboveEachRank) {
  const std::vector<MatedSearch> mated = {Mate(1, 0.9),    Mate(2, 0.8), Mate(1, 0.7),
                                          MateNotOnList(), Mate(5, 0.6), Mate(21, 0.5)};
  Result<CmcCurve> cmc = ComputeCmc(mated, 20);
  ASSERT_TRUE(cmc.ok()) << cmc.status().ToString();
  EXPECT_EQ(cmc->search_count, 6);
  ASSERT_EQ(cmc->rates.size(), 20u);
  EXPECT_DOUBLE_EQ(cmc->rates[0], 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(cmc->rates[1], 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(cmc->rates[3], 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(cmc->rates[4], 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(cmc->rates[19], 4.0 / 6.0);  // Rank 21 and "not on list" never count.
}

TEST(CmcTest, RejectsBadInput) {
  EXPECT_EQ(ComputeCmc({}, 20).status().code(), StatusCode::kInvalidArgument);
  const std::vector<MatedSearch> rank_zero = {Mate(0, 0.5)};
  EXPECT_EQ(ComputeCmc(rank_zero, 20).status().code(), StatusCode::kInvalidArgument);
  const std::vector<MatedSearch> fine = {Mate(1, 0.5)};
  EXPECT_EQ(ComputeCmc(fine, 0).status().code(), StatusCode::kInvalidArgument);
}

// Mated: rank 1 at 0.9, rank 1 at 0.6, rank 2 at 0.95, not on list.
// Non-mated top scores: 0.7, 0.3, empty list, 0.6.
SearchSet SmallSearchSet() {
  SearchSet searches;
  searches.mated = {Mate(1, 0.9), Mate(1, 0.6), Mate(2, 0.95), MateNotOnList()};
  searches.non_mated = {NonMatedSearch{0.7}, NonMatedSearch{0.3}, NonMatedSearch{std::nullopt},
                        NonMatedSearch{0.6}};
  return searches;
}

void ExpectPoint(const OpenSetPoint& point, double threshold, double fpir, double fnir) {
  EXPECT_DOUBLE_EQ(point.threshold, threshold);
  EXPECT_DOUBLE_EQ(point.fpir, fpir);
  EXPECT_DOUBLE_EQ(point.fnir, fnir);
}

TEST(OpenSetTest, CurveAtRankOneCountsTiesAsCandidatesAboveThreshold) {
  Result<OpenSetCurve> curve = ComputeOpenSetCurve(SmallSearchSet(), 1);
  ASSERT_TRUE(curve.ok()) << curve.status().ToString();
  EXPECT_EQ(curve->max_rank, 1);
  EXPECT_EQ(curve->mated_count, 4);
  EXPECT_EQ(curve->non_mated_count, 4);
  ASSERT_EQ(curve->points.size(), 4u);
  // The rank-2 mate and the missing mate are misses at every threshold.
  ExpectPoint(curve->points[0], 0.3, 0.75, 0.5);
  ExpectPoint(curve->points[1], 0.6, 0.5, 0.5);
  ExpectPoint(curve->points[2], 0.7, 0.25, 0.75);
  ExpectPoint(curve->points[3], 0.9, 0.0, 0.75);
}

TEST(OpenSetTest, LargerRankLetsLowerRankedMatesCount) {
  Result<OpenSetCurve> curve = ComputeOpenSetCurve(SmallSearchSet(), 2);
  ASSERT_TRUE(curve.ok());
  ASSERT_EQ(curve->points.size(), 5u);
  ExpectPoint(curve->points[0], 0.3, 0.75, 0.25);
  ExpectPoint(curve->points[3], 0.9, 0.0, 0.5);
  ExpectPoint(curve->points[4], 0.95, 0.0, 0.75);
}

TEST(OpenSetTest, RatesAtAChosenThreshold) {
  Result<OpenSetPoint> point = ComputeOpenSetRates(SmallSearchSet(), 1, 0.65);
  ASSERT_TRUE(point.ok());
  ExpectPoint(*point, 0.65, 0.25, 0.75);
  Result<OpenSetPoint> at_tie = ComputeOpenSetRates(SmallSearchSet(), 1, 0.6);
  ExpectPoint(*at_tie, 0.6, 0.5, 0.5);
}

TEST(OpenSetTest, FnirAtFpirUsesTheSmallestThresholdAndTheSupportRule) {
  const OpenSetCurve curve = *ComputeOpenSetCurve(SmallSearchSet(), 1);
  Result<FnirAtFpir> unsupported = ComputeFnirAtFpir(curve, 0.25);  // 4 * 0.25 < 3.
  ASSERT_TRUE(unsupported.ok());
  EXPECT_FALSE(unsupported->operating_point.has_value());

  Result<FnirAtFpir> at_quarter = ComputeFnirAtFpir(curve, 0.25, /*min_expected_errors=*/1.0);
  ASSERT_TRUE(at_quarter->operating_point.has_value());
  ExpectPoint(*at_quarter->operating_point, 0.7, 0.25, 0.75);

  Result<FnirAtFpir> at_half = ComputeFnirAtFpir(curve, 0.5, /*min_expected_errors=*/0.0);
  ExpectPoint(*at_half->operating_point, 0.6, 0.5, 0.5);
}

TEST(OpenSetTest, RejectsMissingSearchClasses) {
  SearchSet no_non_mated = SmallSearchSet();
  no_non_mated.non_mated.clear();
  EXPECT_EQ(ComputeOpenSetCurve(no_non_mated, 1).status().code(), StatusCode::kInvalidArgument);
  SearchSet bad_score = SmallSearchSet();
  bad_score.non_mated[0].top_score = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(ComputeOpenSetCurve(bad_score, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(ExtrapolateFpirTest, FollowsIndependentImpostorModel) {
  EXPECT_NEAR(ExtrapolateFpir(1e-6, 1'000'000), -std::expm1(-1.0), 1e-6);
  EXPECT_NEAR(ExtrapolateFpir(1e-3, 10), 1.0 - std::pow(1.0 - 1e-3, 10), 1e-15);
  EXPECT_DOUBLE_EQ(ExtrapolateFpir(0.0, 1000), 0.0);
  EXPECT_DOUBLE_EQ(ExtrapolateFpir(1.0, 5), 1.0);
  EXPECT_DOUBLE_EQ(ExtrapolateFpir(0.2, 1), 0.2);
}

TEST(ExtrapolateToGallerySizesTest, UsesTheMeasuredFmrOfTheOperatingPoint) {
  // 2000 impostors 0 .. 1999 and genuine scores above: FMR 1e-2 is met
  // first at threshold 1980 (20 impostors at or above).
  ScoreSet scores;
  for (int k = 0; k < 2000; ++k) scores.impostor.push_back(k);
  scores.genuine = {3000.0, 3001.0};
  const DetCurve det = *ComputeDetCurve(scores);
  const std::vector<std::int64_t> sizes = {1, 100, 10'000};
  Result<GallerySizeExtrapolation> at_1e2 = ExtrapolateToGallerySizes(det, 1e-2, sizes);
  ASSERT_TRUE(at_1e2.ok()) << at_1e2.status().ToString();
  ASSERT_TRUE(at_1e2->operating_point.has_value());
  EXPECT_DOUBLE_EQ(at_1e2->operating_point->threshold, 1980.0);
  EXPECT_DOUBLE_EQ(at_1e2->operating_point->fmr, 0.01);
  ASSERT_EQ(at_1e2->rows.size(), 3u);
  EXPECT_EQ(at_1e2->rows[0].gallery_size, 1);
  EXPECT_DOUBLE_EQ(at_1e2->rows[0].expected_fpir, 0.01);
  EXPECT_DOUBLE_EQ(at_1e2->rows[0].expected_false_candidates, 0.01);
  // 1 - 0.99^100 = 0.63396765872677...
  EXPECT_NEAR(at_1e2->rows[1].expected_fpir, 0.6339676587267709, 1e-14);
  EXPECT_DOUBLE_EQ(at_1e2->rows[1].expected_false_candidates, 1.0);
  EXPECT_DOUBLE_EQ(at_1e2->rows[2].expected_fpir, 1.0);
  EXPECT_DOUBLE_EQ(at_1e2->rows[2].expected_false_candidates, 100.0);

  // 2000 * 1e-3 < 3: unsupported, so nothing is extrapolated.
  Result<GallerySizeExtrapolation> at_1e3 = ExtrapolateToGallerySizes(det, 1e-3, sizes);
  ASSERT_TRUE(at_1e3.ok());
  EXPECT_FALSE(at_1e3->operating_point.has_value());
  EXPECT_TRUE(at_1e3->rows.empty());

  const std::vector<std::int64_t> bad = {0};
  EXPECT_EQ(ExtrapolateToGallerySizes(det, 1e-2, bad).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ExtrapolateToGallerySizes(det, 0.0, sizes).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SampleDistinctIndicesTest, DrawsSortedDistinctIndicesDeterministically) {
  const std::vector<std::uint64_t> sample = SampleDistinctIndices(1'000'000, 5'000, 7);
  ASSERT_EQ(sample.size(), 5'000u);
  EXPECT_TRUE(std::is_sorted(sample.begin(), sample.end()));
  EXPECT_EQ(std::adjacent_find(sample.begin(), sample.end()), sample.end());
  EXPECT_LT(sample.back(), 1'000'000u);
  EXPECT_EQ(SampleDistinctIndices(1'000'000, 5'000, 7), sample);
  EXPECT_NE(SampleDistinctIndices(1'000'000, 5'000, 8), sample);

  // More than half: drawn by leaving indices out, still exact and distinct.
  const std::vector<std::uint64_t> most = SampleDistinctIndices(1'000, 900, 7);
  ASSERT_EQ(most.size(), 900u);
  EXPECT_TRUE(std::is_sorted(most.begin(), most.end()));
  EXPECT_EQ(std::adjacent_find(most.begin(), most.end()), most.end());
  EXPECT_LT(most.back(), 1'000u);

  EXPECT_EQ(SampleDistinctIndices(4, 10, 1), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(SampleDistinctIndices(4, 4, 1), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(SampleDistinctIndices(4, 0, 1).empty());
}

TEST(SampleDistinctIndicesTest, GivesEveryIndexTheSameChance) {
  // 3 of 10 (direct draws) and 8 of 10 (complement): each index is drawn
  // with probability k / 10; over 4000 seeds the count is within 5 sigma.
  for (std::uint64_t count : {3u, 8u}) {
    std::vector<int> hits(10, 0);
    const int runs = 4000;
    for (int seed = 0; seed < runs; ++seed) {
      for (std::uint64_t index : SampleDistinctIndices(10, count, seed)) ++hits[index];
    }
    const double p = static_cast<double>(count) / 10.0;
    const double sigma = std::sqrt(runs * p * (1 - p));
    for (int index = 0; index < 10; ++index) {
      EXPECT_NEAR(hits[index], runs * p, 5 * sigma) << "count " << count << " index " << index;
    }
  }
}

TEST(EvaluateIdentificationTest, ReportsCmcAndOpenSetRates) {
  IdentificationOptions options;
  options.cmc_max_rank = 3;
  options.thresholds = {0.65};
  options.target_fpirs = {0.5, 0.25};
  options.min_expected_errors = 1.0;
  Result<IdentificationResult> result = EvaluateIdentification(SmallSearchSet(), options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->cmc.rates, (std::vector<double>{0.5, 0.75, 0.75}));
  ASSERT_TRUE(result->open_set.has_value());
  ASSERT_EQ(result->at_thresholds.size(), 1u);
  ExpectPoint(result->at_thresholds[0], 0.65, 0.25, 0.75);
  ASSERT_EQ(result->fnir_at_fpir.size(), 2u);
  EXPECT_TRUE(result->fnir_at_fpir[0].operating_point.has_value());
  EXPECT_TRUE(result->fnir_at_fpir[1].operating_point.has_value());
}

TEST(EvaluateIdentificationTest, ClosedSetOnlyWithoutNonMatedSearches) {
  SearchSet searches = SmallSearchSet();
  searches.non_mated.clear();
  Result<IdentificationResult> result = EvaluateIdentification(searches, IdentificationOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->cmc.rates.size(), 20u);
  EXPECT_FALSE(result->open_set.has_value());
  EXPECT_TRUE(result->fnir_at_fpir.empty());
}

}  // namespace
}  // namespace abis::eval
