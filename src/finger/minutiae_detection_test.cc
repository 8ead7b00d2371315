#include "finger/minutiae_detection.h"

#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace abis::finger {
namespace {

constexpr double kPi = std::numbers::pi;

double AngleDiff(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 2 * kPi);
  return std::min(d, 2 * kPi - d);
}

// Horizontal ridges 3 px thick every `spacing` px across a 200 x 200 field.
cv::Mat ParallelRidges(int spacing, int skip_y = -1) {
  cv::Mat ridges = cv::Mat::zeros(200, 200, CV_8U);
  for (int y = 16; y < 190; y += spacing) {
    if (y != skip_y) cv::line(ridges, {0, y}, {199, y}, cv::Scalar(255), 3);
  }
  return ridges;
}

std::vector<Minutia> Detect(const cv::Mat& ridges) {
  MinutiaeDetectionInput input;
  input.skeleton = ThinRidges(ridges);
  input.ridge_period = 10;
  return DetectMinutiae(input);
}

TEST(MinutiaeDetectionTest, ThinningGivesOnePixelWideLines) {
  const cv::Mat skeleton = ThinRidges(ParallelRidges(12));
  // Every column crosses each ridge exactly once.
  for (int x = 20; x < 180; x += 17) {
    int crossings = 0;
    for (int y = 1; y < 199; ++y) crossings += skeleton.at<uchar>(y, x);
    EXPECT_EQ(crossings, 15) << x;
  }
}

TEST(MinutiaeDetectionTest, ParallelRidgesHaveNoMinutiae) {
  EXPECT_TRUE(Detect(ParallelRidges(12)).empty());
}

TEST(MinutiaeDetectionTest, FindsRidgeEndingWithIsoDirection) {
  cv::Mat ridges = ParallelRidges(12, 100);
  cv::line(ridges, {0, 100}, {100, 100}, cv::Scalar(255), 3);  // ends at x = 100
  const std::vector<Minutia> found = Detect(ridges);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, MinutiaType::kEnding);
  EXPECT_NEAR(found[0].x, 100, 3);
  EXPECT_NEAR(found[0].y, 100, 2);
  // The ridge lies to the left of its end: ISO direction 180 degrees.
  EXPECT_LT(AngleDiff(found[0].angle, kPi), 10 * kPi / 180);
}

TEST(MinutiaeDetectionTest, FindsBifurcationPointingIntoTheValley) {
  cv::Mat ridges = cv::Mat::zeros(200, 200, CV_8U);
  for (int y = 16; y < 190; y += 14) {
    if (y != 100) cv::line(ridges, {0, y}, {199, y}, cv::Scalar(255), 3);
  }
  // A ridge at y = 100 that forks at x = 100 into y = 95 and y = 105.
  cv::line(ridges, {0, 100}, {100, 100}, cv::Scalar(255), 3);
  cv::line(ridges, {100, 100}, {110, 94}, cv::Scalar(255), 3);
  cv::line(ridges, {110, 94}, {199, 94}, cv::Scalar(255), 3);
  cv::line(ridges, {100, 100}, {110, 106}, cv::Scalar(255), 3);
  cv::line(ridges, {110, 106}, {199, 106}, cv::Scalar(255), 3);
  const std::vector<Minutia> found = Detect(ridges);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, MinutiaType::kBifurcation);
  EXPECT_NEAR(found[0].x, 100, 4);
  EXPECT_NEAR(found[0].y, 100, 3);
  // The valley between the arms opens to the right: ISO direction 0.
  EXPECT_LT(AngleDiff(found[0].angle, 0), 15 * kPi / 180);
}

TEST(MinutiaeDetectionTest, RemovesSpursShortFragmentsAndBrokenRidges) {
  cv::Mat ridges = ParallelRidges(14, 100);
  // A broken ridge: a gap of 8 px whose two ends face each other.
  cv::line(ridges, {0, 100}, {96, 100}, cv::Scalar(255), 3);
  cv::line(ridges, {104, 100}, {199, 100}, cv::Scalar(255), 3);
  // A short isolated fragment in a valley.
  cv::line(ridges, {60, 51}, {70, 51}, cv::Scalar(255), 1);
  // A 5 px spur on a ridge.
  cv::line(ridges, {150, 142}, {150, 137}, cv::Scalar(255), 1);
  EXPECT_TRUE(Detect(ridges).empty());
}

TEST(MinutiaeDetectionTest, DropsMinutiaeNearTheBorder) {
  cv::Mat ridges = ParallelRidges(12, 100);
  cv::line(ridges, {0, 100}, {100, 100}, cv::Scalar(255), 3);
  MinutiaeDetectionInput input;
  input.skeleton = ThinRidges(ridges);
  input.ridge_period = 10;
  input.distance_to_border = cv::Mat(ridges.size(), CV_32F, cv::Scalar(5.0f));  // all near an edge
  EXPECT_TRUE(DetectMinutiae(input).empty());
}

}  // namespace
}  // namespace abis::finger
