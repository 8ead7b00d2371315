// finger_features.h
//
// What the fingerprint extractor produces and the fingerprint matcher, the
// template codecs (ours, ISO/IEC 19794-2:2005, ANSI INCITS 378-2004) and the
// 1:N index consume. Shared vocabulary of the finger stage; no behaviour.
//
// Conventions (those of ISO/IEC 19794-2:2005, so codecs only rescale):
// - Coordinates are pixels of the image *after* normalisation to 500 ppi,
//   origin top-left, x to the right, y downward.
// - `angle` is in radians, [0, 2*pi), measured counter-clockwise from the
//   positive x axis as seen on screen (so a direction (dx, dy) in image
//   coordinates has angle atan2(-dy, dx)). For a ridge ending it points
//   along the ridge away from the ending, into the ridge; for a bifurcation
//   it points into the valley that ends at the fork (ISO 19794-2 4.4.2.1).
//
// Thread safety: plain values.

#ifndef ABIS_FINGER_FINGER_FEATURES_H_
#define ABIS_FINGER_FINGER_FEATURES_H_

#include <cstdint>
#include <vector>

namespace abis::finger {

// ISO/IEC 19794-2 minutia type codes.
enum class MinutiaType : std::uint8_t { kOther = 0, kEnding = 1, kBifurcation = 2 };

struct Minutia {
  int x = 0;
  int y = 0;
  float angle = 0.0f;  // radians, see the conventions above
  MinutiaType type = MinutiaType::kOther;
  std::uint8_t quality = 0;  // 0..100; 0 means "not reported"
};

enum class SingularPointType : std::uint8_t { kCore = 1, kDelta = 2 };

struct SingularPoint {
  SingularPointType type = SingularPointType::kCore;
  int x = 0;
  int y = 0;
  float angle = 0.0f;  // radians; the core's axis or the delta's first arm
};

// How the print was captured. Contactless records stay distinguishable
// (NIST SP 500-334): they are flagged in every template.
enum class CaptureType : std::uint8_t { kContact = 0, kContactless = 1 };

// ISO/IEC 19794-2 finger position codes (0 = unknown).
enum class FingerPosition : std::uint8_t {
  kUnknown = 0,
  kRightThumb = 1,
  kRightIndex = 2,
  kRightMiddle = 3,
  kRightRing = 4,
  kRightLittle = 5,
  kLeftThumb = 6,
  kLeftIndex = 7,
  kLeftMiddle = 8,
  kLeftRing = 9,
  kLeftLittle = 10,
};

struct FingerFeatures {
  // Size of the normalised (500 ppi) image the coordinates refer to.
  int width = 0;
  int height = 0;
  CaptureType capture = CaptureType::kContact;
  FingerPosition position = FingerPosition::kUnknown;
  // Our NFIQ-like quality in [0, 100]; higher is better.
  std::uint8_t quality = 0;
  // Mean ridge period in pixels at 500 ppi (about 9 for adults); 0 if unknown.
  float ridge_period = 0.0f;
  std::vector<Minutia> minutiae;
  std::vector<SingularPoint> singular_points;
};

}  // namespace abis::finger

#endif  // ABIS_FINGER_FINGER_FEATURES_H_
