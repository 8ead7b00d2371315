// fingerprint_quality.h
//
// Our own NFIQ-like fingerprint quality in [0, 100] (higher is better),
// computed from measurements the extractor already makes. It is not NFIQ 2:
// NIST's trained model is not available to us, and NFIQ 2 is not meant for
// contactless captures anyway (NIST SP 500-334). Each term maps one NFIQ 2
// idea (orientation certainty, local clarity, ridge-frequency validity,
// foreground area, minutiae count and quality) to [0, 1] with fixed,
// documented breakpoints; the score is their weighted mean (contrast, period
// and minutiae terms scaled by the ridge-structure evidence, so noise cannot
// earn them) times an area factor, so a tiny print cannot score high however
// clean it is.
//
// Thread safety: pure functions.

#ifndef ABIS_FINGER_FINGERPRINT_QUALITY_H_
#define ABIS_FINGER_FINGERPRINT_QUALITY_H_

#include <cstdint>

namespace abis::finger {

struct QualityMeasurements {
  double foreground_pixels = 0;      // usable area at 500 ppi
  double mean_coherence = 0;         // orientation certainty over the foreground, [0, 1]
  double mean_clarity = 0;           // how well the Gabor ridge model explains the image, [0, 1]
  double ridge_contrast = 0;         // ridge-band deviation / image dynamic range, about 0..0.3
  double period_valid_fraction = 0;  // share of blocks with a measurable ridge period
  int minutiae_count = 0;
  double mean_minutia_quality = 0;  // 0..100
};

// The terms in [0, 1] and the final score; exposed for the docs and tests.
struct QualityBreakdown {
  double coherence = 0, clarity = 0, contrast = 0, period = 0, area = 0, minutiae = 0;
  std::uint8_t score = 0;
};

QualityBreakdown ScoreFingerprintQuality(const QualityMeasurements& m);

}  // namespace abis::finger

#endif  // ABIS_FINGER_FINGERPRINT_QUALITY_H_
