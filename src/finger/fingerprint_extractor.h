// fingerprint_extractor.h
//
// FingerprintExtractor: an 8-bit grey fingerprint image and its resolution in,
// FingerFeatures (minutiae, singular points, ridge period, quality) out.
// Pipeline (docs/fingerprint-extraction.md): rescale to 500 ppi, segment,
// local normalisation, orientation field, ridge period, contextual Gabor
// enhancement, binarise, thin, crossing-number minutiae, false-minutia
// removal, per-minutia quality, singular points, image quality.
//
// Resolution is explicit: ppi <= 0 is an invalid_argument error unless the
// caller set ExtractorOptions::assumed_ppi (it then stands for "unknown,
// treat as that").
//
// Thread safety: Extract is const and keeps no scratch state; one extractor
// may serve many threads. Construction builds the Gabor filter bank (a few ms).

#ifndef ABIS_FINGER_FINGERPRINT_EXTRACTOR_H_
#define ABIS_FINGER_FINGERPRINT_EXTRACTOR_H_

#include <vector>

#include <opencv2/core.hpp>

#include "abis/status.h"

#include "finger/finger_features.h"
#include "finger/fingerprint_quality.h"

namespace abis::finger {

struct ExtractorOptions {
  // Keep at most this many minutiae, the best quality first.
  int max_minutiae = 100;
  // Resolution to use when Extract is called with ppi <= 0; 0 = refuse.
  double assumed_ppi = 0;
};

// Intermediate results, for tests, tools and the contactless preprocessor.
// Block maps are per 8 x 8 block of the (padded) 500 ppi image.
struct ExtractionMaps {
  cv::Mat image;        // CV_8U, the 500 ppi input, padded to a multiple of 16
  cv::Mat mask;         // CV_8U 0/255 foreground, pixel resolution
  cv::Mat block_mask;   // CV_8U 0/1
  cv::Mat orientation;  // CV_32F radians [0, pi), image coordinates
  cv::Mat coherence;    // CV_32F [0, 1]
  cv::Mat period;       // CV_32F pixels
  cv::Mat enhanced;     // CV_32F Gabor output (ridges negative)
  cv::Mat skeleton;     // CV_8U 0/1
  QualityBreakdown quality;
};

class FingerprintExtractor {
 public:
  // Accepted input resolution range (ppi) and size limits. The normalised
  // 500 ppi image must have sides in [kMinSide, kMaxSide]: larger than a
  // rolled thumb (about 4 cm) is not a single finger.
  static constexpr double kMinPpi = 200;
  static constexpr double kMaxPpi = 2000;
  static constexpr int kMinSide = 64;
  static constexpr int kMaxSide = 2000;

  explicit FingerprintExtractor(ExtractorOptions options = {});

  // `gray` must be CV_8UC1. Errors: invalid_argument (empty, wrong type,
  // missing or out-of-range ppi, too small or too large).
  Result<FingerFeatures> Extract(const cv::Mat& gray, double ppi,
                                 CaptureType capture = CaptureType::kContact,
                                 FingerPosition position = FingerPosition::kUnknown) const;

  // Same, also filling `maps` (must not be null).
  Result<FingerFeatures> ExtractWithMaps(const cv::Mat& gray, double ppi, CaptureType capture,
                                         FingerPosition position, ExtractionMaps* maps) const;

 private:
  struct GaborKernel {
    cv::Mat weights;  // CV_32F, odd square
    int radius = 0;
  };
  const GaborKernel& Kernel(float orientation, float period) const;
  cv::Mat Enhance(const cv::Mat& image, const cv::Mat& orientation, const cv::Mat& period,
                  const cv::Mat& block_mask) const;

  ExtractorOptions options_;
  std::vector<GaborKernel> bank_;  // [period bin][orientation bin]
};

}  // namespace abis::finger

#endif  // ABIS_FINGER_FINGERPRINT_EXTRACTOR_H_
