// synthetic_minutiae.h
//
// Synthetic minutiae templates for matcher and 1:N tests at scale (10^5-10^6
// fingers), in the spirit of SFinGe's orientation model but without images:
//   master finger: a finger-shaped ellipse, a pattern class (arch, tented
//     arch, left/right loop, whorl) with its cores and deltas, the
//     Sherlock-Monro zero-pole orientation field
//       theta(z) = theta0 + 1/2 sum arg(z - core) - 1/2 sum arg(z - delta),
//     and minutiae placed by dart throwing (a hard-core process with about
//     1.5 ridge periods between minutiae), directed along the local ridge
//     orientation with a random polarity, half endings, half bifurcations;
//   impression: a partial contact ellipse, a smooth elastic displacement
//     (a sum of Gaussian bumps), a rigid rotation and translation, position
//     and angle jitter, dropout, spurious minutiae and type flips.
// Everything is a pure function of (seed, finger id, impression id): no
// global state, the same numbers on every platform (own SplitMix64 and
// Box-Muller, no std:: distributions), so fingers can be generated in
// parallel and tests are reproducible.
//
// Thread safety: const methods, safe to call concurrently.

#ifndef ABIS_FINGER_SYNTHETIC_MINUTIAE_H_
#define ABIS_FINGER_SYNTHETIC_MINUTIAE_H_

#include <cstdint>
#include <vector>

#include "finger/finger_features.h"

namespace abis::finger {

enum class PatternClass : std::uint8_t { kArch, kTentedArch, kLeftLoop, kRightLoop, kWhorl };

struct MasterFinger {
  std::uint64_t id = 0;
  PatternClass pattern = PatternClass::kArch;
  FingerPosition position = FingerPosition::kUnknown;
  float centre_x = 0, centre_y = 0, semi_axis_x = 0, semi_axis_y = 0;  // finger ellipse
  std::vector<Minutia> minutiae;                                       // master canvas pixels
  std::vector<SingularPoint> singular_points;
};

struct ImpressionOptions {
  int width = 300;  // output image, 500 ppi
  int height = 400;
  float max_rotation = 0.35f;     // radians, uniform +-
  float max_translation = 30.0f;  // pixels, uniform +- in x and y
  float distortion = 6.0f;        // peak elastic displacement, pixels
  float contact_min = 0.70f;      // contact ellipse, fraction of the finger's
  float contact_max = 0.95f;
  float dropout = 0.15f;         // probability a true minutia is missed
  float spurious = 0.10f;        // spurious minutiae, fraction of the kept ones
  float position_jitter = 2.5f;  // pixels, standard deviation
  float angle_jitter = 0.12f;    // radians, standard deviation
  float type_flip = 0.10f;       // probability an ending reads as a bifurcation or back
};

class SyntheticFingerGenerator {
 public:
  explicit SyntheticFingerGenerator(std::uint64_t seed) : seed_(seed) {}

  // Master canvas: 360 x 460 pixels at 500 ppi. 40-70 minutiae.
  MasterFinger Master(std::uint64_t finger_id,
                      FingerPosition position = FingerPosition::kUnknown) const;
  // One impression of `master`; different impression ids give independent
  // distortions and noise.
  FingerFeatures Impression(const MasterFinger& master, std::uint64_t impression_id,
                            const ImpressionOptions& options = {}) const;

  // The orientation model (radians, mod pi; math orientation, y up) of a
  // master at canvas point (x, y). Exposed for tests.
  static float RidgeOrientation(const MasterFinger& master, float x, float y);

 private:
  std::uint64_t seed_;
};

}  // namespace abis::finger

#endif  // ABIS_FINGER_SYNTHETIC_MINUTIAE_H_
