#include "finger/ridge_analysis.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace abis::finger {
namespace {

constexpr double kPi = std::numbers::pi;

// Sinusoidal ridges running along `theta` (image coordinates) with `period`.
cv::Mat SinusoidRidges(int size, double theta, double period) {
  cv::Mat img(size, size, CV_8U);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double across = -x * std::sin(theta) + y * std::cos(theta);
      img.at<uchar>(y, x) =
          cv::saturate_cast<uchar>(128 + 100 * std::cos(2 * kPi * across / period));
    }
  }
  return img;
}

double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

TEST(RidgeAnalysisTest, OrientationOfSinusoidMatchesItsAngle) {
  for (const double degrees : {0.0, 30.0, 75.0, 90.0, 120.0, 161.0}) {
    const double theta = degrees * kPi / 180;
    const OrientationField field =
        EstimateOrientation(NormalizeGlobally(SinusoidRidges(256, theta, 9.0)), 1.5);
    std::vector<double> errors;
    for (int r = 4; r < field.orientation.rows - 4; ++r) {
      for (int c = 4; c < field.orientation.cols - 4; ++c) {
        double d = std::abs(field.orientation.at<float>(r, c) - theta);
        d = std::min(d, kPi - d);
        errors.push_back(d * 180 / kPi);
        EXPECT_GT(field.coherence.at<float>(r, c), 0.8f);
      }
    }
    EXPECT_LT(Median(errors), 2.0) << degrees;
    EXPECT_LT(*std::max_element(errors.begin(), errors.end()), 5.0) << degrees;
  }
}

TEST(RidgeAnalysisTest, PeriodOfSinusoidMatchesItsPeriod) {
  for (const double period : {6.0, 8.0, 9.0, 12.0, 14.0}) {
    const cv::Mat image = NormalizeGlobally(SinusoidRidges(256, 0.6, period));
    const OrientationField field = EstimateOrientation(image, 1.5);
    float valid = 0;
    const cv::Mat map = EstimateRidgePeriod(image, field.orientation, cv::Mat(), &valid);
    std::vector<double> values;
    for (int r = 4; r < map.rows - 4; ++r) {
      for (int c = 4; c < map.cols - 4; ++c) values.push_back(map.at<float>(r, c));
    }
    EXPECT_NEAR(Median(values), period, 0.35) << period;
    EXPECT_GT(valid, 0.8f) << period;
  }
}

TEST(RidgeAnalysisTest, SegmentationKeepsRidgesAndDropsFlatBackground) {
  cv::Mat image = SinusoidRidges(256, 0.3, 9.0);
  cv::Mat outside = cv::Mat::ones(image.size(), CV_8U) * 255;
  cv::circle(outside, {128, 128}, 80, cv::Scalar(0), cv::FILLED);
  image.setTo(200, outside);
  const cv::Mat mask = SegmentForeground(NormalizeGlobally(image));
  EXPECT_EQ(mask.at<uchar>(128, 128), 255);
  EXPECT_EQ(mask.at<uchar>(128, 70), 255);
  EXPECT_EQ(mask.at<uchar>(10, 10), 0);
  EXPECT_EQ(mask.at<uchar>(245, 245), 0);
  const double area = cv::countNonZero(mask);
  // The mask may run a few pixels past the print (minutiae keep their own
  // margin from its edge) but not much further.
  EXPECT_GT(area, 0.9 * kPi * 80 * 80);
  EXPECT_LT(area, 1.3 * kPi * 80 * 80);
}

TEST(RidgeAnalysisTest, PoincareFindsCoreAndDelta) {
  // theta = phi/2 + k around a core, -phi/2 + k around a delta.
  for (const bool core : {true, false}) {
    cv::Mat orientation(40, 40, CV_32F);
    for (int r = 0; r < 40; ++r) {
      for (int c = 0; c < 40; ++c) {
        const double phi = std::atan2(r - 19.5, c - 19.5);
        double theta = (core ? 0.5 : -0.5) * phi + kPi / 4;
        theta = std::fmod(theta + 2 * kPi, kPi);
        orientation.at<float>(r, c) = static_cast<float>(theta);
      }
    }
    const cv::Mat mask = cv::Mat::ones(orientation.size(), CV_8U);
    const std::vector<SingularPoint> points = FindSingularPoints(orientation, mask);
    ASSERT_EQ(points.size(), 1u) << core;
    EXPECT_EQ(points[0].type, core ? SingularPointType::kCore : SingularPointType::kDelta);
    EXPECT_NEAR(points[0].x, 20 * kBlockSize, kBlockSize);
    EXPECT_NEAR(points[0].y, 20 * kBlockSize, kBlockSize);
    if (core) {
      // k = pi/4: the loop opens towards phi = pi/2, i.e. down on screen,
      // which is 270 degrees in the ISO (counter-clockwise, y up) convention.
      EXPECT_NEAR(points[0].angle, 1.5 * kPi, 0.1);
    }
  }
}

TEST(RidgeAnalysisTest, NoSingularPointsInParallelRidges) {
  const cv::Mat image = NormalizeGlobally(SinusoidRidges(256, 0.4, 9.0));
  const OrientationField field = EstimateOrientation(image, 3.0);
  const cv::Mat mask = cv::Mat::ones(field.orientation.size(), CV_8U);
  EXPECT_TRUE(FindSingularPoints(field.orientation, mask).empty());
}

}  // namespace
}  // namespace abis::finger
