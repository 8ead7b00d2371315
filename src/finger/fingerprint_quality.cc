#include "finger/fingerprint_quality.h"

#include <algorithm>
#include <cmath>

namespace abis::finger {
namespace {

// Linear ramp: 0 at or below `low`, 1 at or above `high`.
double Ramp(double value, double low, double high) {
  return std::clamp((value - low) / (high - low), 0.0, 1.0);
}

}  // namespace

QualityBreakdown ScoreFingerprintQuality(const QualityMeasurements& m) {
  QualityBreakdown b;
  // Breakpoints: the "low" ends are what pure noise or a blank pad gives,
  // the "high" ends what clean FVC plain impressions reach.
  b.coherence = Ramp(m.mean_coherence, 0.3, 0.85);
  b.clarity = Ramp(m.mean_clarity, 0.4, 0.92);
  b.contrast = Ramp(m.ridge_contrast, 0.03, 0.2);
  b.period = Ramp(m.period_valid_fraction, 0.3, 0.9);
  // A plain impression covers roughly 250 x 300 px at 500 ppi; half of
  // that is still a usable print, below a sixth it is a fragment.
  b.area = Ramp(m.foreground_pixels, 12000.0, 40000.0);
  b.minutiae = 0.7 * Ramp(m.minutiae_count, 10, 45) + 0.3 * Ramp(m.mean_minutia_quality, 20, 70);
  // Contrast, periods and minutiae only count where there is ridge structure:
  // noise has plenty of all three.
  const double structure = std::min(1.0, b.coherence + b.clarity);
  const double local = 0.25 * b.coherence + 0.25 * b.clarity +
                       structure * (0.2 * b.contrast + 0.1 * b.period + 0.2 * b.minutiae);
  const double score = 100.0 * local * (0.3 + 0.7 * b.area);
  b.score = static_cast<std::uint8_t>(std::clamp(std::lround(score), 0L, 100L));
  return b;
}

}  // namespace abis::finger
