// contactless.h
//
// ContactlessPreprocessor: turns a phone photo of one fingertip (BGR) into a
// contact-like 500 ppi grey print and runs the contact extractor on it.
// Steps (docs/fingerprint-extraction.md): skin segmentation (YCrCb range,
// largest component, morphology), finger axis turned tip-up (the base is
// where the finger leaves the frame) and fingertip crop, green channel,
// illumination flattening, CLAHE, ridge polarity (photos show ridges
// bright; we make them dark), scale so the measured ridge period becomes
// 9 px (spectral peak, then up to 3 x-signature corrections), optional
// mirroring (a camera sees the pad the mirror way round of an impression),
// and a stricter mask that drops the foreshortened rim of the finger.
// Templates come out flagged CaptureType::kContactless.
//
// Thread safety: const methods, no scratch state; safe to share.

#ifndef ABIS_FINGER_CONTACTLESS_H_
#define ABIS_FINGER_CONTACTLESS_H_

#include <opencv2/core.hpp>

#include "abis/status.h"

#include "finger/finger_features.h"
#include "finger/fingerprint_extractor.h"

namespace abis::finger {

struct ContactlessOptions {
  bool mirror = true;          // flip left-right to match contact impressions
  bool ridges_bright = true;   // polarity of the photo; output ridges are dark
  float target_period = 9.0f;  // ridge period of the output, px (500 ppi adults)
  // Share of the finger's half-width dropped at its sides (foreshortening).
  float rim_fraction = 0.15f;
};

struct PreprocessedFinger {
  cv::Mat gray;               // CV_8U contact-like print, ridges dark, ~500 ppi
  cv::Mat mask;               // CV_8U 0/255 usable finger area of `gray`
  float measured_period = 0;  // ridge period found in the photo, photo px
  double scale = 1;           // output px per photo px
  cv::Mat photo_to_output;    // 3x3 CV_64F (rotation, crop, scale, mirror)
};

class ContactlessPreprocessor {
 public:
  static constexpr int kMaxPixels = 40'000'000;

  explicit ContactlessPreprocessor(ContactlessOptions options = {});

  // Errors: invalid_argument (empty, not CV_8UC3, too small/large),
  // not_found (no finger-sized skin region), failed_precondition (no
  // measurable ridge period: out of focus or too far away).
  Result<PreprocessedFinger> Preprocess(const cv::Mat& bgr) const;

  // Preprocess, then the contact extractor; the result is flagged kContactless.
  Result<FingerFeatures> Extract(const cv::Mat& bgr, const FingerprintExtractor& extractor,
                                 FingerPosition position = FingerPosition::kUnknown) const;

 private:
  ContactlessOptions options_;
};

}  // namespace abis::finger

#endif  // ABIS_FINGER_CONTACTLESS_H_
