#include "eval/metrics.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace abis::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void ExpectPoint(const DetPoint& point, double threshold, double fmr, double fnmr) {
  EXPECT_DOUBLE_EQ(point.threshold, threshold);
  EXPECT_DOUBLE_EQ(point.fmr, fmr);
  EXPECT_DOUBLE_EQ(point.fnmr, fnmr);
}

TEST(FmrFnmrTest, CountsScoresAtTheThresholdAsMatchDecisions) {
  const std::vector<double> genuine = {0.5, 0.6, 0.8, 0.9};
  const std::vector<double> impostor = {0.1, 0.3, 0.5, 0.7};
  // Impostor 0.5 is a false match at t = 0.5; genuine 0.5 is accepted.
  EXPECT_DOUBLE_EQ(*ComputeFmr(impostor, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(*ComputeFnmr(genuine, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(*ComputeFmr(impostor, 0.50001), 0.25);
  EXPECT_DOUBLE_EQ(*ComputeFnmr(genuine, 0.50001), 0.25);
  EXPECT_DOUBLE_EQ(*ComputeFmr(impostor, -kInf), 1.0);
  EXPECT_DOUBLE_EQ(*ComputeFnmr(genuine, kInf), 1.0);
}

TEST(FmrFnmrTest, RejectsEmptyAndNonFiniteInput) {
  const std::vector<double> empty;
  const std::vector<double> with_nan = {0.1, std::nan("")};
  EXPECT_EQ(ComputeFmr(empty, 0.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFnmr(empty, 0.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFmr(with_nan, 0.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFnmr(std::vector<double>{kInf}, 0.5).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFmr(std::vector<double>{0.1}, std::nan("")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DetCurveTest, HasOnePointPerDistinctScoreWithExactRates) {
  ScoreSet scores;
  scores.genuine = {0.6, 0.8, 0.9, 0.5};
  scores.impostor = {0.1, 0.5, 0.3, 0.7};
  Result<DetCurve> det = ComputeDetCurve(scores);
  ASSERT_TRUE(det.ok()) << det.status().ToString();
  EXPECT_EQ(det->genuine_count, 4);
  EXPECT_EQ(det->impostor_count, 4);
  ASSERT_EQ(det->points.size(), 7u);
  ExpectPoint(det->points[0], 0.1, 1.0, 0.0);
  ExpectPoint(det->points[1], 0.3, 0.75, 0.0);
  ExpectPoint(det->points[2], 0.5, 0.5, 0.0);  // The tie at 0.5.
  ExpectPoint(det->points[3], 0.6, 0.25, 0.25);
  ExpectPoint(det->points[4], 0.7, 0.25, 0.5);
  ExpectPoint(det->points[5], 0.8, 0.0, 0.5);
  ExpectPoint(det->points[6], 0.9, 0.0, 0.75);
}

TEST(DetCurveTest, RejectsMissingClassOrNonFiniteScore) {
  ScoreSet no_impostors;
  no_impostors.genuine = {0.5};
  EXPECT_EQ(ComputeDetCurve(no_impostors).status().code(), StatusCode::kInvalidArgument);
  ScoreSet with_inf;
  with_inf.genuine = {0.5};
  with_inf.impostor = {-kInf};
  EXPECT_EQ(ComputeDetCurve(with_inf).status().code(), StatusCode::kInvalidArgument);
}

TEST(EerTest, IsExactWhereFmrEqualsFnmrAtAPoint) {
  ScoreSet scores;
  scores.genuine = {0.6, 0.8, 0.9, 0.5};
  scores.impostor = {0.1, 0.5, 0.3, 0.7};
  Result<Eer> eer = ComputeEer(*ComputeDetCurve(scores));
  ASSERT_TRUE(eer.ok());
  EXPECT_DOUBLE_EQ(eer->eer, 0.25);
  EXPECT_DOUBLE_EQ(eer->threshold, 0.6);
  ExpectPoint(eer->bracket_low, 0.6, 0.25, 0.25);
  ExpectPoint(eer->bracket_high, 0.6, 0.25, 0.25);
}

TEST(EerTest, InterpolatesLinearlyBetweenNeighbouringPoints) {
  // Points: 0.2 (1, 0), 0.3 (3/4, 0), 0.5 (1/2, 0), 0.8 (1/4, 1/2), 0.9 (0, 1/2).
  // Crossing between 0.5 and 0.8 at 2/3 of the way: EER = 1/2 - (2/3)(1/4).
  ScoreSet scores;
  scores.genuine = {0.5, 0.8};
  scores.impostor = {0.5, 0.2, 0.3, 0.9};
  Result<Eer> eer = ComputeEer(*ComputeDetCurve(scores));
  ASSERT_TRUE(eer.ok());
  EXPECT_NEAR(eer->eer, 1.0 / 3.0, 1e-15);
  ExpectPoint(eer->bracket_low, 0.5, 0.5, 0.0);
  ExpectPoint(eer->bracket_high, 0.8, 0.25, 0.5);
  // |FMR - FNMR| is 0.25 at 0.8 and 0.5 at 0.5.
  EXPECT_DOUBLE_EQ(eer->threshold, 0.8);
}

TEST(EerTest, PicksTheCloserBracketPointAsThreshold) {
  // Points: 0.1 (1, 0), 0.4 (1/2, 0), 0.5 (1/2, 1/3), 0.6 (0, 1/3), 0.9 (0, 2/3).
  ScoreSet scores;
  scores.genuine = {0.4, 0.6, 0.9};
  scores.impostor = {0.1, 0.5};
  Result<Eer> eer = ComputeEer(*ComputeDetCurve(scores));
  ASSERT_TRUE(eer.ok());
  EXPECT_NEAR(eer->eer, 1.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(eer->threshold, 0.5);
}

TEST(EerTest, IsZeroForSeparatedScores) {
  ScoreSet scores;
  scores.genuine = {0.8, 0.9};
  scores.impostor = {0.1, 0.2};
  Result<Eer> eer = ComputeEer(*ComputeDetCurve(scores));
  ASSERT_TRUE(eer.ok());
  EXPECT_DOUBLE_EQ(eer->eer, 0.0);
  EXPECT_DOUBLE_EQ(eer->threshold, 0.8);
}

TEST(EerTest, UsesThePlusInfinityEndPointWhenAllScoresTie) {
  // One point (0.5: FMR 1, FNMR 0); the crossing is halfway to (+inf: 0, 1).
  ScoreSet scores;
  scores.genuine = {0.5};
  scores.impostor = {0.5};
  Result<Eer> eer = ComputeEer(*ComputeDetCurve(scores));
  ASSERT_TRUE(eer.ok());
  EXPECT_DOUBLE_EQ(eer->eer, 0.5);
  EXPECT_DOUBLE_EQ(eer->threshold, 0.5);  // The finite bracket point.
  EXPECT_EQ(eer->bracket_high.threshold, kInf);
}

TEST(EerTest, RejectsAnEmptyCurve) {
  EXPECT_EQ(ComputeEer(DetCurve{}).status().code(), StatusCode::kInvalidArgument);
}

// Impostor scores 0, 1, ..., 999; genuine scores between and above them.
ScoreSet IntegerImpostors() {
  ScoreSet scores;
  for (int score = 0; score < 1000; ++score) scores.impostor.push_back(score);
  scores.genuine = {989.5, 995, 1000, 2000};
  return scores;
}

TEST(FnmrAtFmrTest, ChoosesTheSmallestThresholdMeetingTheTarget) {
  const DetCurve det = *ComputeDetCurve(IntegerImpostors());
  // 989.5 (a genuine score) already has FMR 10/1000; 989 would have 11/1000.
  Result<FnmrAtFmr> at_1e2 = ComputeFnmrAtFmr(det, 1e-2);
  ASSERT_TRUE(at_1e2.ok());
  ASSERT_TRUE(at_1e2->operating_point.has_value());
  ExpectPoint(*at_1e2->operating_point, 989.5, 0.01, 0.0);

  Result<FnmrAtFmr> at_5e3 = ComputeFnmrAtFmr(det, 5e-3);
  ASSERT_TRUE(at_5e3->operating_point.has_value());
  ExpectPoint(*at_5e3->operating_point, 995, 0.005, 0.25);
}

TEST(FnmrAtFmrTest, ReportsUnsupportedTargetsAsEmpty) {
  const DetCurve det = *ComputeDetCurve(IntegerImpostors());
  // 1000 impostors * 1e-3 = 1 expected false match < 3.
  Result<FnmrAtFmr> at_1e3 = ComputeFnmrAtFmr(det, 1e-3);
  ASSERT_TRUE(at_1e3.ok());
  EXPECT_DOUBLE_EQ(at_1e3->target_fmr, 1e-3);
  EXPECT_FALSE(at_1e3->operating_point.has_value());

  Result<FnmrAtFmr> relaxed = ComputeFnmrAtFmr(det, 1e-3, /*min_expected_errors=*/1.0);
  ASSERT_TRUE(relaxed->operating_point.has_value());
  ExpectPoint(*relaxed->operating_point, 999, 0.001, 0.5);

  Result<FnmrAtFmr> beyond = ComputeFnmrAtFmr(det, 1e-4, /*min_expected_errors=*/0.0);
  ASSERT_TRUE(beyond->operating_point.has_value());
  ExpectPoint(*beyond->operating_point, 1000, 0.0, 0.5);
}

TEST(FnmrAtFmrTest, SupportRuleHoldsExactlyAtTheBoundary) {
  ScoreSet scores;
  scores.genuine = {1.0};
  scores.impostor.assign(3000, 0.0);
  const DetCurve det = *ComputeDetCurve(scores);
  EXPECT_TRUE(ComputeFnmrAtFmr(det, 1e-3)->operating_point.has_value());  // 3000 * 1e-3 = 3.
  EXPECT_FALSE(ComputeFnmrAtFmr(det, 9.99e-4)->operating_point.has_value());
}

TEST(FnmrAtFmrTest, FallsBackToRejectingEverything) {
  // Every score ties, so no finite threshold has FMR below 1.
  ScoreSet scores;
  scores.genuine = {0.5};
  scores.impostor.assign(100, 0.5);
  Result<FnmrAtFmr> at_target =
      ComputeFnmrAtFmr(*ComputeDetCurve(scores), 0.1, /*min_expected_errors=*/3.0);
  ASSERT_TRUE(at_target->operating_point.has_value());
  ExpectPoint(*at_target->operating_point, kInf, 0.0, 1.0);
}

TEST(FnmrAtFmrTest, RejectsBadParameters) {
  const DetCurve det = *ComputeDetCurve(IntegerImpostors());
  EXPECT_EQ(ComputeFnmrAtFmr(det, 0.0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFnmrAtFmr(det, 1.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeFnmrAtFmr(det, 0.1, -1.0).status().code(), StatusCode::kInvalidArgument);
}

TEST(ScoreHistogramTest, BinsAreHalfOpenWithTheMaximumInTheLastBin) {
  ScoreSet scores;
  scores.genuine = {6, 8, 10};
  scores.impostor = {0, 1, 2, 3.9};
  Result<ScoreHistogram> histogram = ComputeScoreHistogram(scores, 5);
  ASSERT_TRUE(histogram.ok());
  EXPECT_DOUBLE_EQ(histogram->lower, 0.0);
  EXPECT_DOUBLE_EQ(histogram->bin_width, 2.0);
  EXPECT_EQ(histogram->impostor, (std::vector<std::int64_t>{2, 2, 0, 0, 0}));
  EXPECT_EQ(histogram->genuine, (std::vector<std::int64_t>{0, 0, 0, 1, 2}));
}

TEST(ScoreHistogramTest, HandlesIdenticalScoresAndBadInput) {
  ScoreSet scores;
  scores.genuine = {0.7, 0.7};
  Result<ScoreHistogram> histogram = ComputeScoreHistogram(scores, 3);
  ASSERT_TRUE(histogram.ok());
  EXPECT_EQ(histogram->genuine, (std::vector<std::int64_t>{2, 0, 0}));
  EXPECT_EQ(ComputeScoreHistogram(scores, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeScoreHistogram(ScoreSet{}, 3).status().code(), StatusCode::kInvalidArgument);
}

// `subjects` subjects with `per_subject` genuine scores each, and one
// impostor score for every ordered pair of different subjects.
ScoreSet SyntheticLabelledScores(int subjects, int per_subject, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> genuine(2.5, 1.0);
  std::normal_distribution<double> impostor(0.0, 1.0);
  ScoreSet scores;
  for (int subject = 0; subject < subjects; ++subject) {
    for (int sample = 0; sample < per_subject; ++sample) {
      scores.genuine.push_back(genuine(rng));
      scores.genuine_subject.push_back("s" + std::to_string(subject));
    }
  }
  for (int probe = 0; probe < subjects; ++probe) {
    for (int reference = 0; reference < subjects; ++reference) {
      if (probe == reference) continue;
      scores.impostor.push_back(impostor(rng));
      scores.impostor_probe_subject.push_back("s" + std::to_string(probe));
      scores.impostor_reference_subject.push_back("s" + std::to_string(reference));
    }
  }
  return scores;
}

TEST(BootstrapTest, IsDeterministicForAFixedSeed) {
  const ScoreSet scores = SyntheticLabelledScores(40, 3, 7);
  const std::vector<double> targets = {1e-1, 1e-2};
  BootstrapOptions options;
  options.resamples = 200;
  Result<BootstrapIntervals> first = BootstrapBySubject(scores, targets, options);
  Result<BootstrapIntervals> second = BootstrapBySubject(scores, targets, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(first->eer.has_value());
  EXPECT_EQ(first->eer->lower, second->eer->lower);
  EXPECT_EQ(first->eer->upper, second->eer->upper);
  ASSERT_EQ(first->fnmr_at_fmr.size(), 2u);
  for (std::size_t target_idx = 0; target_idx < targets.size(); ++target_idx) {
    ASSERT_TRUE(first->fnmr_at_fmr[target_idx].has_value());
    EXPECT_EQ(first->fnmr_at_fmr[target_idx]->lower, second->fnmr_at_fmr[target_idx]->lower);
    EXPECT_EQ(first->fnmr_at_fmr[target_idx]->upper, second->fnmr_at_fmr[target_idx]->upper);
  }
  EXPECT_EQ(first->seed, options.seed);

  options.seed += 1;
  Result<BootstrapIntervals> other = BootstrapBySubject(scores, targets, options);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->eer->lower != first->eer->lower || other->eer->upper != first->eer->upper);
}

TEST(BootstrapTest, IntervalsContainThePointEstimates) {
  const ScoreSet scores = SyntheticLabelledScores(100, 5, 11);  // 9900 impostor scores.
  const std::vector<double> targets = {1e-2, 1e-3, 1e-4};
  BootstrapOptions options;
  options.resamples = 300;
  Result<BootstrapIntervals> intervals = BootstrapBySubject(scores, targets, options);
  ASSERT_TRUE(intervals.ok()) << intervals.status().ToString();
  EXPECT_EQ(intervals->resamples, 300);
  EXPECT_EQ(intervals->used_resamples, 300);
  EXPECT_DOUBLE_EQ(intervals->confidence, 0.95);

  const DetCurve det = *ComputeDetCurve(scores);
  const Eer eer = *ComputeEer(det);
  ASSERT_TRUE(intervals->eer.has_value());
  EXPECT_LE(intervals->eer->lower, eer.eer);
  EXPECT_GE(intervals->eer->upper, eer.eer);
  EXPECT_LT(intervals->eer->lower, intervals->eer->upper);

  for (std::size_t target_idx = 0; target_idx < 2; ++target_idx) {
    const FnmrAtFmr point = *ComputeFnmrAtFmr(det, targets[target_idx]);
    ASSERT_TRUE(point.operating_point.has_value());
    ASSERT_TRUE(intervals->fnmr_at_fmr[target_idx].has_value());
    EXPECT_LE(intervals->fnmr_at_fmr[target_idx]->lower, point.operating_point->fnmr);
    EXPECT_GE(intervals->fnmr_at_fmr[target_idx]->upper, point.operating_point->fnmr);
  }
  // 9900 * 1e-4 < 3: no estimate, so no interval.
  EXPECT_FALSE(intervals->fnmr_at_fmr[2].has_value());
}

TEST(BootstrapTest, OneSubjectGivesADegenerateIntervalAtThePointEstimate) {
  // With a single subject every resample is the original data.
  ScoreSet scores;
  scores.genuine = {0.9, 0.4, 0.8};
  scores.genuine_subject = {"a", "a", "a"};
  scores.impostor = {0.1, 0.5, 0.3, 0.6, 0.2};
  scores.impostor_probe_subject.assign(5, "a");
  const Eer eer = *ComputeEer(*ComputeDetCurve(scores));
  BootstrapOptions options;
  options.resamples = 20;
  Result<BootstrapIntervals> intervals = BootstrapBySubject(scores, {}, options);
  ASSERT_TRUE(intervals.ok()) << intervals.status().ToString();
  EXPECT_EQ(intervals->eer->lower, eer.eer);
  EXPECT_EQ(intervals->eer->upper, eer.eer);
}

TEST(BootstrapTest, NeedsSubjectLabelsAndSaneOptions) {
  ScoreSet unlabelled;
  unlabelled.genuine = {0.9};
  unlabelled.impostor = {0.1};
  BootstrapOptions options;
  EXPECT_EQ(BootstrapBySubject(unlabelled, {}, options).status().code(),
            StatusCode::kInvalidArgument);

  ScoreSet labelled = SyntheticLabelledScores(5, 2, 3);
  labelled.impostor_reference_subject.pop_back();
  EXPECT_EQ(BootstrapBySubject(labelled, {}, options).status().code(),
            StatusCode::kInvalidArgument);

  labelled = SyntheticLabelledScores(5, 2, 3);
  options.resamples = 0;
  EXPECT_EQ(BootstrapBySubject(labelled, {}, options).status().code(),
            StatusCode::kInvalidArgument);
  options.resamples = 10;
  options.confidence = 1.0;
  EXPECT_EQ(BootstrapBySubject(labelled, {}, options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EvaluateVerificationTest, CombinesCurveRatesHistogramAndIntervals) {
  const ScoreSet scores = SyntheticLabelledScores(30, 4, 5);  // 870 impostor scores.
  VerificationOptions options;
  options.bootstrap.resamples = 50;
  Result<VerificationResult> result = EvaluateVerification(scores, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->det.impostor_count, 870);
  ASSERT_EQ(result->fnmr_at_fmr.size(), 5u);
  EXPECT_TRUE(result->fnmr_at_fmr[0].operating_point.has_value());   // 1e-2: 8.7 errors.
  EXPECT_FALSE(result->fnmr_at_fmr[1].operating_point.has_value());  // 1e-3: 0.87.
  EXPECT_EQ(result->histogram.genuine.size(), 50u);
  ASSERT_TRUE(result->bootstrap.has_value());
  EXPECT_EQ(result->bootstrap->fnmr_at_fmr.size(), 5u);
  EXPECT_TRUE(result->bootstrap_note.empty());
}

TEST(EvaluateVerificationTest, SkipsTheBootstrapWithoutLabelsAndSaysWhy) {
  ScoreSet scores;
  scores.genuine = {0.8, 0.9};
  scores.impostor = {0.1, 0.85};
  Result<VerificationResult> result = EvaluateVerification(scores, VerificationOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->bootstrap.has_value());
  EXPECT_FALSE(result->bootstrap_note.empty());
}

TEST(FailureRatesTest, CountsAttemptsAndFailures) {
  FailureCounter counter;
  EXPECT_FALSE(counter.Rate().has_value());
  counter.RecordSuccess();
  counter.RecordSuccess();
  counter.RecordSuccess();
  counter.RecordFailure();
  EXPECT_EQ(counter.attempts, 4);
  EXPECT_EQ(counter.failures, 1);
  EXPECT_DOUBLE_EQ(*counter.Rate(), 0.25);
}

TEST(FailureRatesTest, GeneralisedRatesFoldInFailureToAcquire) {
  EXPECT_DOUBLE_EQ(FalseAcceptRate(0.01, 0.1), 0.009);
  EXPECT_DOUBLE_EQ(FalseRejectRate(0.02, 0.1), 0.118);
  EXPECT_DOUBLE_EQ(FalseRejectRate(0.02, 0.0), 0.02);
}

// Subjects a, b in group F; c, d in group M; e has no label.
ScoreSet DemographicScores(bool with_references) {
  ScoreSet scores;
  scores.genuine = {0.9, 0.4, 0.8, 0.3, 0.2, 0.9, 0.1};
  scores.genuine_subject = {"a", "a", "b", "c", "c", "d", "e"};
  scores.impostor = {0.6, 0.1, 0.2, 0.4, 0.9, 0.9};
  scores.impostor_probe_subject = {"a", "b", "c", "d", "a", "e"};
  if (with_references) scores.impostor_reference_subject = {"b", "a", "d", "c", "c", "a"};
  return scores;
}

std::map<std::string, std::string> Groups() {
  return {{"a", "F"}, {"b", "F"}, {"c", "M"}, {"d", "M"}};
}

TEST(DemographicsTest, RatesPerGroupAtOneThresholdWithSameGroupImpostors) {
  Result<DemographicDifferentials> result =
      ComputeDemographicDifferentials(DemographicScores(true), Groups(), 0.5);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->groups.size(), 2u);
  const GroupRates& female = result->groups[0];
  const GroupRates& male = result->groups[1];
  EXPECT_EQ(female.group, "F");
  EXPECT_EQ(female.genuine_count, 3);
  EXPECT_DOUBLE_EQ(*female.fnmr, 1.0 / 3.0);
  EXPECT_EQ(female.impostor_count, 2);
  EXPECT_DOUBLE_EQ(*female.fmr, 0.5);
  EXPECT_EQ(male.group, "M");
  EXPECT_DOUBLE_EQ(*male.fnmr, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*male.fmr, 0.0);

  EXPECT_EQ(result->fnmr.max_group, "M");
  EXPECT_EQ(result->fnmr.min_group, "F");
  EXPECT_DOUBLE_EQ(*result->fnmr.max_min_ratio, 2.0);
  EXPECT_EQ(result->fmr.max_group, "F");
  EXPECT_FALSE(result->fmr.max_min_ratio.has_value());  // Lowest FMR is zero.

  EXPECT_EQ(result->unlabelled_genuine, 1);
  EXPECT_EQ(result->unlabelled_impostor, 1);
  EXPECT_EQ(result->cross_group_impostor, 1);
  EXPECT_TRUE(result->same_group_pairs);
}

TEST(DemographicsTest, WithoutReferencesImpostorsBelongToTheProbeGroup) {
  Result<DemographicDifferentials> result =
      ComputeDemographicDifferentials(DemographicScores(false), Groups(), 0.5);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->groups[0].impostor_count, 3);
  EXPECT_DOUBLE_EQ(*result->groups[0].fmr, 2.0 / 3.0);
  EXPECT_EQ(result->cross_group_impostor, 0);
  EXPECT_FALSE(result->same_group_pairs);
}

TEST(DemographicsTest, NeedsLabels) {
  ScoreSet scores = DemographicScores(true);
  scores.genuine_subject.clear();
  EXPECT_EQ(ComputeDemographicDifferentials(scores, Groups(), 0.5).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace abis::eval
