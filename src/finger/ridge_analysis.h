// ridge_analysis.h
//
// The local ridge-flow measurements the extractor builds on: foreground
// segmentation, the block orientation field (gradient structure tensor) with
// its coherence, the ridge period per block (x-signature) and singular points
// (Poincare index). Separate from the extractor so each step can be tested on
// synthetic ridges of known angle and period.
//
// Conventions: images are CV_32F, zero-mean/unit-variance ridge images at
// 500 ppi; orientations are ridge directions in *image* coordinates
// (atan2(dy, dx) with y downward), in [0, pi). Block maps have one value per
// kBlockSize x kBlockSize block; block (r, c) covers pixels
// [c*B, (c+1)*B) x [r*B, (r+1)*B).
//
// Thread safety: free functions on values; safe to call concurrently.

#ifndef ABIS_FINGER_RIDGE_ANALYSIS_H_
#define ABIS_FINGER_RIDGE_ANALYSIS_H_

#include <vector>

#include <opencv2/core.hpp>

#include "finger/finger_features.h"

namespace abis::finger {

inline constexpr int kBlockSize = 8;

// Ridge periods outside this range (pixels at 500 ppi) are not fingerprint
// ridges (Hong, Wan, Jain 1998 use 3..25; adult prints are 7..12).
inline constexpr float kMinRidgePeriod = 4.5f;
inline constexpr float kMaxRidgePeriod = 16.0f;

// Zero-mean, unit-variance version of an 8-bit image (global statistics).
cv::Mat NormalizeGlobally(const cv::Mat& gray8);

// Foreground mask (CV_8U, 0/255, same size as `image`): local grey-level
// standard deviation thresholded (Otsu, with a floor relative to the
// strongest region), closed/opened, the largest component kept and its holes
// filled. `image` is the output of NormalizeGlobally.
cv::Mat SegmentForeground(const cv::Mat& image);

struct OrientationField {
  // Ridge direction per block, radians in [0, pi), image coordinates.
  cv::Mat orientation;  // CV_32F
  // Coherence per block in [0, 1]: 1 = perfectly parallel ridges.
  cv::Mat coherence;  // CV_32F
  // Mean gradient energy per block (contrast), arbitrary units.
  cv::Mat energy;  // CV_32F
};

// Gradient structure tensor averaged per block, then smoothed as the
// doubled-angle vector field with a Gaussian of `smoothing_blocks` blocks.
// Image sides must be multiples of kBlockSize.
OrientationField EstimateOrientation(const cv::Mat& image, double smoothing_blocks);

// Ridge period per block in pixels from the x-signature: grey levels sampled
// across the ridges in a 36 x 16 window aligned with the local orientation,
// period = mean spacing of its extrema. Blocks where it fails (or outside
// `block_mask`, CV_8U per block, may be empty) are filled from valid
// neighbours; the result is smoothed and clamped to the valid range.
// `valid_fraction` (optional) receives the share of masked blocks measured
// directly.
cv::Mat EstimateRidgePeriod(const cv::Mat& image, const cv::Mat& orientation,
                            const cv::Mat& block_mask, float* valid_fraction = nullptr);

// Cores (Poincare index +1/2) and deltas (-1/2) of a smoothed orientation
// field, restricted to `block_mask` (CV_8U per block) at least two blocks from
// its edge. Coordinates are pixels (block centres); angles follow the
// ISO 19794-2 convention of finger_features.h.
std::vector<SingularPoint> FindSingularPoints(const cv::Mat& orientation,
                                              const cv::Mat& block_mask);

}  // namespace abis::finger

#endif  // ABIS_FINGER_RIDGE_ANALYSIS_H_
