#include "finger/mcc.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "finger/mcc_evaluation.h"
#include "finger/synthetic_minutiae.h"

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

PreparedFinger Prepare(const FingerFeatures& f) {
  Result<PreparedFinger> prepared = PrepareFinger(f);
  EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
  return std::move(prepared).value();
}

// Rotates by `angle` (counter-clockwise on screen) about the image centre
// and shifts; the canvas grows so nothing falls off.
FingerFeatures Rotated(const FingerFeatures& f, float angle, float dx, float dy) {
  FingerFeatures out = f;
  out.width = out.height = 800;
  const float c = std::cos(angle), s = std::sin(angle);
  for (Minutia& m : out.minutiae) {
    const float u = m.x - f.width / 2.0f, v = m.y - f.height / 2.0f;
    m.x = static_cast<int>(std::lround(400 + dx + c * u + s * v));
    m.y = static_cast<int>(std::lround(400 + dy - s * u + c * v));
    m.angle = std::fmod(m.angle + angle + 2 * kPi, 2 * kPi);
  }
  return out;
}

TEST(MccTest, CylinderGeometry) {
  EXPECT_GT(MccCellsInDisc(), 0);
  EXPECT_LE(MccCellsInDisc() * kMccDirectionCells, kMccWordsPerCylinder * 64);
  for (int c = 0; c < MccCellsInDisc(); ++c) EXPECT_LE(MccDiscCellDistance(c), kMccRadius);
}

TEST(MccTest, CylinderSimilarityCountsAgreeingBits) {
  std::vector<std::uint64_t> all(kMccWordsPerCylinder, ~0ull), none(kMccWordsPerCylinder, 0);
  std::vector<std::uint64_t> half(kMccWordsPerCylinder, 0x00000000FFFFFFFFull);
  EXPECT_FLOAT_EQ(CylinderSimilarity(half.data(), all.data(), half.data(), all.data()), 1.0f);
  std::vector<std::uint64_t> other(kMccWordsPerCylinder, 0xFFFFFFFF00000000ull);
  EXPECT_FLOAT_EQ(CylinderSimilarity(half.data(), all.data(), other.data(), all.data()), 0.0f);
  // Too few cells valid in both: not matchable.
  EXPECT_FLOAT_EQ(CylinderSimilarity(half.data(), all.data(), half.data(), none.data()), 0.0f);
}

TEST(MccTest, IsolatedMinutiaeHaveNoValidCylinder) {
  FingerFeatures f;
  f.width = f.height = 1000;
  f.minutiae = {{100, 100, 0.0f, MinutiaType::kEnding, 50},
                {900, 900, 1.0f, MinutiaType::kEnding, 50}};
  PreparedFinger p = Prepare(f);
  EXPECT_EQ(p.cylinder_count(), 0u);
  EXPECT_EQ(MatchPrepared(p, p), 0.0f);
  FingerFeatures empty;
  EXPECT_EQ(MatchPrepared(Prepare(empty), p), 0.0f);
  FingerFeatures bad = f;
  bad.minutiae[0].angle = std::nanf("");
  EXPECT_EQ(PrepareFinger(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(MccTest, KeepsTheBestQualityMinutiaeWhenThereAreTooMany) {
  SyntheticFingerGenerator generator(3);
  FingerFeatures f = generator.Impression(generator.Master(1), 0);
  while (f.minutiae.size() <= kMccMaxMinutiae) {
    const std::size_t n = f.minutiae.size();
    for (std::size_t i = 0; i < n && f.minutiae.size() <= kMccMaxMinutiae + 5; ++i) {
      Minutia m = f.minutiae[i];
      m.quality = 1;
      f.minutiae.push_back(m);
    }
  }
  PreparedFinger p = Prepare(f);
  EXPECT_EQ(p.minutia_count(), kMccMaxMinutiae);
}

TEST(MccTest, SelfMatchIsHighAndInvariantToRotationAndTranslation) {
  SyntheticFingerGenerator generator(7);
  const FingerFeatures f = generator.Impression(generator.Master(11), 0);
  const PreparedFinger original = Prepare(f);
  ASSERT_GT(original.cylinder_count(), 20u);
  const float self = MatchPrepared(original, original);
  EXPECT_GT(self, 0.8f);
  MatchDetails details;
  const float moved = MatchPrepared(original, Prepare(Rotated(f, 0.7f, 40, -25)), &details);
  EXPECT_GT(moved, 0.85f * self);
  EXPECT_GT(details.consistent_pairs, 10);
  EXPECT_GT(details.lss_r, 0.5f);
}

// Mated impressions (distortion, dropout, spurious minutiae, jitter) score
// above non-mated ones; the EER on 60 synthetic fingers is small.
TEST(MccTest, SeparatesMatesFromNonMatesOnSyntheticFingers) {
  SyntheticFingerGenerator generator(2026);
  std::vector<PreparedFinger> first, second;
  for (std::uint64_t id = 0; id < 60; ++id) {
    const MasterFinger master = generator.Master(id);
    first.push_back(Prepare(generator.Impression(master, 0)));
    second.push_back(Prepare(generator.Impression(master, 1)));
  }
  std::vector<float> genuine, impostor;
  for (std::size_t i = 0; i < first.size(); ++i) {
    for (std::size_t j = 0; j < second.size(); ++j) {
      (i == j ? genuine : impostor).push_back(MatchPrepared(first[i], second[j]));
    }
  }
  const double eer = EqualErrorRate(genuine, impostor);
  EXPECT_LT(eer, 0.05);
  float mean_genuine = 0, mean_impostor = 0;
  for (float s : genuine) mean_genuine += s / genuine.size();
  for (float s : impostor) mean_impostor += s / impostor.size();
  EXPECT_GT(mean_genuine, 2 * mean_impostor);
}

// The run-time kernel (AVX-512 where available) agrees with the portable one.
TEST(MccTest, DispatchedKernelAgreesWithThePortableOne) {
  SyntheticFingerGenerator generator(21);
  const PreparedFinger a = Prepare(generator.Impression(generator.Master(1), 0));
  const PreparedFinger b = Prepare(generator.Impression(generator.Master(1), 1));
  int positive = 0;
  for (std::size_t i = 0; i < a.cylinder_count(); ++i) {
    for (std::size_t j = 0; j < b.cylinder_count(); ++j) {
      if (a.cylinder_cos[i] * b.cylinder_cos[j] + a.cylinder_sin[i] * b.cylinder_sin[j] < 0) {
        continue;
      }
      positive += CylinderSimilarity(a.cylinder_bits(i), a.cylinder_valid(i), b.cylinder_bits(j),
                                     b.cylinder_valid(j)) > 0;
    }
  }
  MatchDetails details;
  MatchPrepared(a, b, &details);
  EXPECT_GT(positive, 0);
  EXPECT_EQ(details.compared_cylinders, positive);
}

TEST(MccTest, MatchingIsNearlySymmetric) {
  SyntheticFingerGenerator generator(5);
  const MasterFinger master = generator.Master(3);
  const PreparedFinger a = Prepare(generator.Impression(master, 0));
  const PreparedFinger b = Prepare(generator.Impression(master, 1));
  EXPECT_NEAR(MatchPrepared(a, b), MatchPrepared(b, a), 0.15f);
}

TEST(ScoreCalibrationTest, FitsImpostorQuantiles) {
  std::vector<float> impostors;
  for (int i = 0; i < 10000; ++i) impostors.push_back(static_cast<float>(i) / 10000.0f * 0.5f);
  Result<ScoreCalibration> calibration = ScoreCalibration::FromImpostorScores(impostors);
  ASSERT_TRUE(calibration.ok());
  // 1% of impostors are >= 0.495.
  EXPECT_NEAR(calibration->Fmr(0.495f), 1e-2, 2e-3);
  EXPECT_NEAR(calibration->CalibratedScore(0.4995f), 30.0, 1.0);
  EXPECT_GE(calibration->Fmr(0.1f), calibration->Fmr(0.2f));
  EXPECT_LT(calibration->Fmr(0.9f), 1e-4);  // extrapolated beyond the highest impostor
  const float threshold = calibration->RawThresholdForFmr(1e-3);
  EXPECT_NEAR(threshold, 0.4995f, 0.001f);
  EXPECT_LE(calibration->Fmr(threshold), 1e-3 * 1.001);
  EXPECT_FALSE(ScoreCalibration::FromImpostorScores(std::vector<float>(5, 0.1f)).ok());
}

TEST(ScoreCalibrationTest, DefaultCalibrationIsMonotone) {
  const ScoreCalibration& calibration = ScoreCalibration::Default();
  double previous = -1.0;
  for (float raw = 0.0f; raw <= 1.0f; raw += 0.01f) {
    const double score = calibration.CalibratedScore(raw);
    EXPECT_GE(score, previous);
    previous = score;
  }
  EXPECT_EQ(calibration.CalibratedScore(0.0f), 0.0);
  EXPECT_GT(calibration.CalibratedScore(1.0f), 40.0);
}

}  // namespace
}  // namespace abis::finger
