// image_quality.h
//
// Capture-quality measures shared by the face and finger pipelines. They
// describe the pixels only; what counts as good enough is policy/'s call.

#ifndef ABIS_IMAGING_IMAGE_QUALITY_H_
#define ABIS_IMAGING_IMAGE_QUALITY_H_

#include <opencv2/core.hpp>

namespace abis::imaging {

// Variance of the Laplacian of an 8-bit grey image: higher is sharper.
// Compare only between images of the same size (e.g. aligned face chips).
double LaplacianVariance(const cv::Mat& gray);

struct Exposure {
  double mean = 0;             // Mean grey level, 0..255.
  double dark_fraction = 0;    // Share of pixels <= 10.
  double bright_fraction = 0;  // Share of pixels >= 245.
};

Exposure MeasureExposure(const cv::Mat& gray);

}  // namespace abis::imaging

#endif  // ABIS_IMAGING_IMAGE_QUALITY_H_
