// capture_policy.h
//
// Which captures are good enough for which use. Extractors measure, policy
// decides: the numbers below are deployment settings (and are logged with
// every decision), not facts about an image.
//
// Enrolment is stricter than search: a poor reference hurts every later
// search against it, while a poor probe only weakens its own search.

#ifndef ABIS_POLICY_CAPTURE_POLICY_H_
#define ABIS_POLICY_CAPTURE_POLICY_H_

#include "abis/status.h"

namespace abis::policy {

// What the face pipeline measured about one face; mirrors face::FaceQuality
// so policy/ needs no face/ dependency.
struct FaceCaptureMeasures {
  double detection_score = 0;
  double inter_eye_px = 0;
  double yaw_deg = 0;
  double roll_deg = 0;
  double quality_score = 0;  // 0..100.
};

struct FaceCaptureGate {
  // HOG margins below this are usually not faces (a badge scored 0.005).
  double min_detection_score = 0.1;
  // Below ~20 px between the eyes the embedding degrades sharply.
  double min_inter_eye_px = 20.0;
  double max_abs_yaw_deg = 45.0;
  double max_abs_roll_deg = 30.0;
  double min_quality_score = 0.0;  // Off by default; set per deployment.
};

// Defaults for enrolment and for probes.
FaceCaptureGate DefaultEnrolmentGate();
FaceCaptureGate DefaultProbeGate();

// OK, or FailedPrecondition naming every failed criterion with its value,
// e.g. "face too small: inter-eye distance 14.2 px < 20 px".
Status CheckFaceCapture(const FaceCaptureMeasures& measures, const FaceCaptureGate& gate);

// What the finger pipeline measured about one print; mirrors the finger
// stage's features so policy/ needs no finger/ dependency.
struct FingerCaptureMeasures {
  double quality_score = 0;  // 0..100, our NFIQ-like score.
  int minutiae = 0;
  double foreground_fraction = 0;  // Of the normalised image; 0 when unknown.
};

struct FingerCaptureGate {
  // Fewer minutiae than this leave too little for a minutiae matcher to
  // separate mates from impostors (the MCC consolidation needs pairs).
  int min_minutiae = 12;
  double min_quality_score = 20.0;
};

FingerCaptureGate DefaultFingerEnrolmentGate();
FingerCaptureGate DefaultFingerProbeGate();

// OK, or FailedPrecondition naming every failed criterion with its value.
Status CheckFingerCapture(const FingerCaptureMeasures& measures, const FingerCaptureGate& gate);

}  // namespace abis::policy

#endif  // ABIS_POLICY_CAPTURE_POLICY_H_
