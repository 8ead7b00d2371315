#include "imaging/image_quality.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace abis::imaging {
namespace {

cv::Mat Checkerboard(int size, int cell) {
  cv::Mat image(size, size, CV_8UC1);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      image.at<std::uint8_t>(y, x) = ((x / cell + y / cell) % 2) ? 220 : 30;
  return image;
}

TEST(ImageQualityTest, BlurLowersSharpness) {
  cv::Mat sharp = Checkerboard(150, 10);
  cv::Mat blurred;
  cv::GaussianBlur(sharp, blurred, cv::Size(0, 0), 3.0);
  EXPECT_GT(LaplacianVariance(sharp), 10 * LaplacianVariance(blurred));
}

TEST(ImageQualityTest, ExposureSeesClipping) {
  cv::Mat dark(50, 50, CV_8UC1, cv::Scalar(3));
  Exposure exposure = MeasureExposure(dark);
  EXPECT_NEAR(exposure.mean, 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(exposure.dark_fraction, 1.0);
  EXPECT_DOUBLE_EQ(exposure.bright_fraction, 0.0);
  cv::Mat half = Checkerboard(50, 25);
  EXPECT_NEAR(MeasureExposure(half).mean, 125.0, 1.0);
}

}  // namespace
}  // namespace abis::imaging
