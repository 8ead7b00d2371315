#include "eval/calibration.h"

#include <cmath>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <unistd.h>

namespace abis::eval {
namespace {

TEST(FmrCalibrationTest, KnotsAreTheEmpiricalTail) {
  // Impostor scores 0.1, 0.2, 0.2, 0.4: FMR(0.1) = 1, FMR(0.2) = 3/4, FMR(0.4) = 1/4.
  std::vector<double> impostor = {0.4, 0.2, 0.1, 0.2};
  auto calibration = FmrCalibration::Fit(impostor, 0.0);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  ASSERT_EQ(calibration->knots().size(), 3u);
  EXPECT_EQ(calibration->impostor_count(), 4);
  EXPECT_DOUBLE_EQ(calibration->FmrAt(0.1).fmr, 1.0);
  EXPECT_DOUBLE_EQ(calibration->FmrAt(0.2).fmr, 0.75);
  EXPECT_DOUBLE_EQ(calibration->FmrAt(0.4).fmr, 0.25);
  EXPECT_FALSE(calibration->FmrAt(0.4).is_upper_bound);
  EXPECT_DOUBLE_EQ(calibration->FmrAt(-5.0).fmr, 1.0);
}

TEST(FmrCalibrationTest, InterpolatesInLogFmrBetweenKnots) {
  auto calibration = FmrCalibration::FromKnots({{0.0, 1e-1}, {1.0, 1e-3}}, 1000);
  ASSERT_TRUE(calibration.ok());
  EXPECT_NEAR(calibration->FmrAt(0.5).fmr, 1e-2, 1e-15);
  EXPECT_NEAR(calibration->FmrAt(0.25).fmr, std::pow(10.0, -1.5), 1e-15);
  // Never below the empirical step value (the upper knot's FMR).
  EXPECT_GE(calibration->FmrAt(0.999).fmr, 1e-3);
}

TEST(FmrCalibrationTest, AboveEveryImpostorScoreIsAnUpperBoundNeverZero) {
  std::vector<double> impostor = {0.1, 0.2, 0.3, 0.4, 0.5};
  auto calibration = FmrCalibration::Fit(impostor);
  ASSERT_TRUE(calibration.ok());
  FmrEstimate above = calibration->FmrAt(0.9);
  EXPECT_TRUE(above.is_upper_bound);
  EXPECT_DOUBLE_EQ(above.fmr, 1.0 / 5.0);
  EXPECT_GT(above.fmr, 0.0);
  EXPECT_FALSE(calibration->FmrAt(0.5).is_upper_bound);
  EXPECT_DOUBLE_EQ(calibration->ExpectedFalseCandidates(0.9, 100), 100.0 / 5.0);
  EXPECT_DOUBLE_EQ(calibration->ExpectedFalseCandidates(0.3, 10), 10 * 0.6);
}

TEST(FmrCalibrationTest, IsMonotoneNonIncreasingAndThinned) {
  std::mt19937_64 generator(7);
  std::normal_distribution<double> normal(0.3, 0.1);
  std::vector<double> impostor(20000);
  for (double& score : impostor) score = std::round(normal(generator) * 1000) / 1000;
  auto calibration = FmrCalibration::Fit(impostor);
  ASSERT_TRUE(calibration.ok());
  EXPECT_LT(calibration->knots().size(), 700u);
  double previous = 2.0;
  for (double score = -0.5; score <= 1.2; score += 0.0007) {
    double fmr = calibration->FmrAt(score).fmr;
    EXPECT_LE(fmr, previous) << score;
    EXPECT_GT(fmr, 0.0);
    previous = fmr;
  }
  // At each knot the thinned table still gives the exact empirical tail.
  for (const CalibrationKnot& knot : calibration->knots()) {
    double at_or_above = 0;
    for (double score : impostor) at_or_above += score >= knot.score ? 1 : 0;
    EXPECT_DOUBLE_EQ(knot.fmr, at_or_above / impostor.size());
  }
}

TEST(FmrCalibrationTest, RejectsBadInputAndBadTables) {
  EXPECT_FALSE(FmrCalibration::Fit(std::vector<double>{}).ok());
  EXPECT_FALSE(FmrCalibration::Fit(std::vector<double>{0.1, NAN}).ok());
  EXPECT_FALSE(FmrCalibration::FromKnots({}, 10).ok());
  EXPECT_FALSE(FmrCalibration::FromKnots({{0.2, 0.5}, {0.1, 0.1}}, 10).ok());  // Score order.
  EXPECT_FALSE(FmrCalibration::FromKnots({{0.1, 0.1}, {0.2, 0.5}}, 10).ok());  // FMR rises.
  EXPECT_FALSE(FmrCalibration::FromKnots({{0.1, 0.0}}, 10).ok());              // Zero FMR.
  EXPECT_FALSE(FmrCalibration::FromKnots({{0.1, 0.01}}, 10).ok());             // Below 1/n.
  EXPECT_TRUE(FmrCalibration::FromKnots({{0.1, 0.1}}, 10).ok());
}

ModelCard SampleCard() {
  ModelCard card;
  card.modality = "face";
  card.algorithm = "face/dlib-resnet-v1";
  card.model_digest = std::string(64, 'a');
  card.created = "2026-11-27";
  card.command = "abis eval ...";
  card.dataset = {"faces", "three sources", 3, 9, 9, 27};
  card.protocol = "all pairs";
  card.metrics.eer = 0.01;
  card.metrics.eer_threshold = 0.5;
  card.metrics.rank1 = 1.0;
  card.metrics.fnmr_at_fmr = {{1e-2, 0.5, 0.009, 0.02},
                              {1e-3, std::nullopt, std::nullopt, std::nullopt}};
  card.calibration = *FmrCalibration::Fit(std::vector<double>{0.1, 0.25, 0.3, 0.3, 0.41});
  card.known_limits = {"small", "no demographic labels"};
  return card;
}

TEST(ModelCardTest, RoundTripsThroughJsonAndFile) {
  ModelCard card = SampleCard();
  std::string path = (std::filesystem::temp_directory_path() /
                      ("abis_model_card_" + std::to_string(::getpid()) + ".json"))
                         .string();
  ASSERT_TRUE(WriteModelCard(card, path).ok());
  auto read = ReadModelCard(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(ToJson(*read), ToJson(card));
  EXPECT_EQ(read->model_digest, card.model_digest);
  EXPECT_EQ(read->dataset.impostor_pairs, 27);
  ASSERT_EQ(read->calibration.knots().size(), card.calibration.knots().size());
  for (double score : {0.0, 0.1, 0.2, 0.3, 0.35, 0.41, 0.5}) {
    EXPECT_EQ(read->calibration.FmrAt(score).fmr, card.calibration.FmrAt(score).fmr);
  }
  EXPECT_FALSE(read->metrics.fnmr_at_fmr[1].fnmr.has_value());
}

TEST(ModelCardTest, RejectsMalformedCards) {
  nlohmann::json json = ToJson(SampleCard());
  nlohmann::json wrong_format = json;
  wrong_format["format"] = "something.else";
  EXPECT_EQ(ModelCardFromJson(wrong_format).status().code(), StatusCode::kInvalidArgument);
  nlohmann::json newer = json;
  newer["schema_version"] = kModelCardSchemaVersion + 1;
  EXPECT_EQ(ModelCardFromJson(newer).status().code(), StatusCode::kInvalidArgument);
  nlohmann::json missing = json;
  missing.erase("model_digest");
  auto result = ModelCardFromJson(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model_digest"), std::string::npos);
  nlohmann::json rising = json;
  rising["calibration"]["knots"]["fmr"][1] = 1.0;
  rising["calibration"]["knots"]["fmr"][0] = 0.5;
  EXPECT_FALSE(ModelCardFromJson(rising).ok());
  EXPECT_EQ(ReadModelCard("/nonexistent/card.json").status().code(), StatusCode::kNotFound);
}

TEST(ModelCardTest, RefusesACardForAnotherModel) {
  ModelCard card = SampleCard();
  EXPECT_TRUE(
      CheckModelCardMatches(card, "face", "face/dlib-resnet-v1", std::string(64, 'a')).ok());
  Status other_digest =
      CheckModelCardMatches(card, "face", "face/dlib-resnet-v1", std::string(64, 'b'));
  EXPECT_EQ(other_digest.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckModelCardMatches(card, "face", "face/other", card.model_digest).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckModelCardMatches(card, "finger", card.algorithm, card.model_digest).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace abis::eval
