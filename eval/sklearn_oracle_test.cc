// Compares our verification metrics with scikit-learn's, computed by
// eval/testdata/sklearn_oracle.py on the same scores. Skips when
// /usr/bin/python3 or scikit-learn is not installed.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "eval/metrics.h"

namespace abis::eval {
namespace {

using nlohmann::json;

constexpr std::string_view kPython = "/usr/bin/python3";
constexpr int kOracleUnavailable = 77;  // The script's exit status without sklearn.
constexpr double kTolerance = 1e-9;

// Normal genuine and impostor scores; with `step` > 0 they are rounded to
// multiples of it, which makes many genuine/impostor ties.
ScoreSet NormalScores(std::uint64_t seed, double step) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> genuine(2.0, 1.0);
  std::normal_distribution<double> impostor(0.0, 1.0);
  auto quantise = [step](double score) {
    return step > 0 ? std::round(score / step) * step : score;
  };
  ScoreSet scores;
  for (int idx = 0; idx < 3000; ++idx) scores.genuine.push_back(quantise(genuine(rng)));
  for (int idx = 0; idx < 5000; ++idx) scores.impostor.push_back(quantise(impostor(rng)));
  return scores;
}

class SklearnOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " not found";
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("abis_sklearn_oracle_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs the oracle; empty (and the test marked skipped) when scikit-learn
  // is missing.
  std::optional<json> RunOracle(const ScoreSet& scores, const std::vector<double>& thresholds,
                                const std::vector<double>& target_fmrs) {
    const std::filesystem::path scores_path = dir_ / "scores.txt";
    const std::filesystem::path query_path = dir_ / "query.json";
    const std::filesystem::path output_path = dir_ / "oracle.json";
    {
      std::ofstream file(scores_path);
      file.precision(17);  // Round-trips every double.
      for (double score : scores.genuine) file << "1 " << score << "\n";
      for (double score : scores.impostor) file << "0 " << score << "\n";
      EXPECT_TRUE(file.good());
      std::ofstream(query_path) << json{{"thresholds", thresholds}, {"target_fmrs", target_fmrs}};
    }
    const std::string command = std::string(kPython) + " '" + ABIS_SOURCE_DIR +
                                "/eval/testdata/sklearn_oracle.py' '" + scores_path.string() +
                                "' '" + query_path.string() + "' '" + output_path.string() + "'";
    const int status = std::system(command.c_str());
    if (WIFEXITED(status) && WEXITSTATUS(status) == kOracleUnavailable) return std::nullopt;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
    std::ifstream output(output_path);
    if (!output) return std::nullopt;
    return json::parse(output);
  }

  void Track(double ours, double theirs) {
    max_difference_ = std::max(max_difference_, std::abs(ours - theirs));
  }

  void CompareWithOracle(const ScoreSet& scores) {
    const DetCurve det = *ComputeDetCurve(scores);
    std::vector<double> thresholds = {-10.0,
                                      -1.0,
                                      0.0,
                                      0.5,
                                      1.0,
                                      1.2345,
                                      2.0,
                                      3.5,
                                      10.0,
                                      scores.genuine[0],
                                      scores.impostor[0],
                                      scores.impostor[1]};
    const std::vector<double> targets = {1e-1, 1e-2, 1e-3, 1e-4};
    const std::optional<json> oracle = RunOracle(scores, thresholds, targets);
    if (!oracle.has_value()) {
      if (!HasFailure()) GTEST_SKIP() << "scikit-learn is not installed for " << kPython;
      return;
    }

    // Every point of the DET curve: same thresholds, same rates.
    const json& curve = (*oracle)["curve"];
    ASSERT_EQ(curve["threshold"].size(), det.points.size());
    for (std::size_t point_idx = 0; point_idx < det.points.size(); ++point_idx) {
      const DetPoint& point = det.points[point_idx];
      ASSERT_EQ(point.threshold, curve["threshold"][point_idx].get<double>()) << point_idx;
      EXPECT_NEAR(point.fmr, curve["fmr"][point_idx].get<double>(), kTolerance) << point_idx;
      EXPECT_NEAR(point.fnmr, curve["fnmr"][point_idx].get<double>(), kTolerance) << point_idx;
      Track(point.fmr, curve["fmr"][point_idx].get<double>());
      Track(point.fnmr, curve["fnmr"][point_idx].get<double>());
    }

    // det_curve computes FNMR from false-negative counts directly.
    const json& trimmed = (*oracle)["det_curve"];
    ASSERT_GT(trimmed["threshold"].size(), 0u);
    for (std::size_t point_idx = 0; point_idx < trimmed["threshold"].size(); ++point_idx) {
      const double threshold = trimmed["threshold"][point_idx].get<double>();
      auto it = std::lower_bound(
          det.points.begin(), det.points.end(), threshold,
          [](const DetPoint& point, double value) { return point.threshold < value; });
      ASSERT_NE(it, det.points.end());
      ASSERT_EQ(it->threshold, threshold);
      EXPECT_NEAR(it->fmr, trimmed["fmr"][point_idx].get<double>(), kTolerance);
      EXPECT_NEAR(it->fnmr, trimmed["fnmr"][point_idx].get<double>(), kTolerance);
      Track(it->fmr, trimmed["fmr"][point_idx].get<double>());
      Track(it->fnmr, trimmed["fnmr"][point_idx].get<double>());
    }

    for (std::size_t query_idx = 0; query_idx < thresholds.size(); ++query_idx) {
      const double fmr = *ComputeFmr(scores.impostor, thresholds[query_idx]);
      const double fnmr = *ComputeFnmr(scores.genuine, thresholds[query_idx]);
      const double oracle_fmr = (*oracle)["at_thresholds"]["fmr"][query_idx].get<double>();
      const double oracle_fnmr = (*oracle)["at_thresholds"]["fnmr"][query_idx].get<double>();
      EXPECT_NEAR(fmr, oracle_fmr, kTolerance) << "threshold " << thresholds[query_idx];
      EXPECT_NEAR(fnmr, oracle_fnmr, kTolerance) << "threshold " << thresholds[query_idx];
      Track(fmr, oracle_fmr);
      Track(fnmr, oracle_fnmr);
    }

    const Eer eer = *ComputeEer(det);
    const json& oracle_eer = (*oracle)["eer"];
    EXPECT_NEAR(eer.eer, oracle_eer["eer"].get<double>(), kTolerance);
    EXPECT_EQ(eer.threshold, oracle_eer["threshold"].get<double>());
    Track(eer.eer, oracle_eer["eer"].get<double>());

    for (std::size_t target_idx = 0; target_idx < targets.size(); ++target_idx) {
      const FnmrAtFmr ours = *ComputeFnmrAtFmr(det, targets[target_idx], /*min_expected_errors=*/0);
      const json& theirs = (*oracle)["fnmr_at_fmr"][target_idx];
      ASSERT_TRUE(ours.operating_point.has_value());
      EXPECT_EQ(ours.operating_point->threshold, theirs["threshold"].get<double>());
      EXPECT_NEAR(ours.operating_point->fmr, theirs["fmr"].get<double>(), kTolerance);
      EXPECT_NEAR(ours.operating_point->fnmr, theirs["fnmr"].get<double>(), kTolerance);
      Track(ours.operating_point->fnmr, theirs["fnmr"].get<double>());
    }

    RecordProperty("max_abs_difference", std::to_string(max_difference_));
    std::cout << "max |difference| vs scikit-learn over " << det.points.size()
              << " DET points, queries, EER and FNMR@FMR: " << max_difference_ << "\n";
  }

  std::filesystem::path dir_;
  double max_difference_ = 0.0;
};

TEST_F(SklearnOracleTest, ContinuousScoresAgree) { CompareWithOracle(NormalScores(20240601, 0.0)); }

TEST_F(SklearnOracleTest, ScoresWithManyTiesAgree) { CompareWithOracle(NormalScores(7, 0.05)); }

}  // namespace
}  // namespace abis::eval
