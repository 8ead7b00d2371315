#include "imaging/image_quality.h"

#include <opencv2/imgproc.hpp>

namespace abis::imaging {

double LaplacianVariance(const cv::Mat& gray) {
  if (gray.empty()) return 0.0;
  cv::Mat laplacian;
  cv::Laplacian(gray, laplacian, CV_64F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  return stddev[0] * stddev[0];
}

Exposure MeasureExposure(const cv::Mat& gray) {
  Exposure exposure;
  if (gray.empty()) return exposure;
  double total = static_cast<double>(gray.total());
  exposure.mean = cv::mean(gray)[0];
  exposure.dark_fraction = cv::countNonZero(gray <= 10) / total;
  exposure.bright_fraction = cv::countNonZero(gray >= 245) / total;
  return exposure;
}

}  // namespace abis::imaging
