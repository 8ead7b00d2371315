// minutiae_detection.h
//
// From a binary ridge image to minutiae: thinning (Zhang-Suen), crossing
// number on the skeleton, ridge tracing for directions, and removal of the
// usual false minutiae (border, spurs, short fragments, bridges and holes,
// broken ridges whose two ends face each other, clouds). Kept apart from the
// extractor so it can be tested on drawn ridges with a known ending or fork.
//
// Thread safety: free functions on values; safe to call concurrently.

#ifndef ABIS_FINGER_MINUTIAE_DETECTION_H_
#define ABIS_FINGER_MINUTIAE_DETECTION_H_

#include <vector>

#include <opencv2/core.hpp>

#include "finger/finger_features.h"

namespace abis::finger {

// One-pixel-wide 8-connected skeleton (CV_8U, 0/1) of `ridges` (CV_8U,
// nonzero = ridge pixel). The outermost rows/columns of the result are 0.
cv::Mat ThinRidges(const cv::Mat& ridges);

struct MinutiaeDetectionInput {
  cv::Mat skeleton;  // CV_8U 0/1, from ThinRidges
  // Pixel distance to the edge of the usable area (CV_32F, same size); may be
  // empty, then only the image border counts.
  cv::Mat distance_to_border;
  // Block orientation field (kBlockSize blocks, see ridge_analysis.h); may be
  // empty, then the traced skeleton direction is used as is.
  cv::Mat orientation;
  float ridge_period = 9.0f;  // pixels; scales every length below
};

// Endings and bifurcations with ISO 19794-2 angles (finger_features.h);
// quality is left 0 for the caller to fill.
std::vector<Minutia> DetectMinutiae(const MinutiaeDetectionInput& input);

}  // namespace abis::finger

#endif  // ABIS_FINGER_MINUTIAE_DETECTION_H_
