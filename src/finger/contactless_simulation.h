// contactless_simulation.h
//
// SIMULATED contactless finger photos for tests and evaluation only: there is
// no public contactless data set here, so we turn a contact print into a
// "phone photo" (mirrored as a camera sees the finger pad, ridges bright,
// scaled 1.5-3x, blurred, unevenly lit, mildly perspective-warped, inside a
// skin-coloured finger (an ellipse round the print, tilted by up to 8
// degrees, whose body leaves the frame at the bottom, so the finger points
// up as for a contact impression) on a darker background, with sensor
// noise). Results on such images must be reported as simulated.
//
// Thread safety: pure function; deterministic for a given seed.

#ifndef ABIS_FINGER_CONTACTLESS_SIMULATION_H_
#define ABIS_FINGER_CONTACTLESS_SIMULATION_H_

#include <cstdint>

#include <opencv2/core.hpp>

#include "abis/status.h"

namespace abis::finger {

struct SimulatedContactlessPhoto {
  cv::Mat bgr;       // CV_8UC3 photo
  double scale = 1;  // photo pixels per contact (500 ppi) pixel
  // 3x3 CV_64F homography from contact 500 ppi pixels to photo pixels
  // (mirror, scale, placement and perspective), for scoring.
  cv::Mat contact_to_photo;
};

// `contact_gray` is an 8-bit grey contact print at 500 ppi (dark ridges).
// Errors: invalid_argument for an empty, non-8-bit-grey or tiny image.
Result<SimulatedContactlessPhoto> SimulateContactlessPhoto(const cv::Mat& contact_gray,
                                                           std::uint64_t seed);

}  // namespace abis::finger

#endif  // ABIS_FINGER_CONTACTLESS_SIMULATION_H_
