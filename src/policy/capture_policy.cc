#include "policy/capture_policy.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace abis::policy {
namespace {

std::string Format(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

void Append(std::string& reasons, const std::string& reason) {
  if (!reasons.empty()) reasons += "; ";
  reasons += reason;
}

}  // namespace

FaceCaptureGate DefaultEnrolmentGate() { return FaceCaptureGate{}; }

FaceCaptureGate DefaultProbeGate() {
  FaceCaptureGate gate;
  gate.min_detection_score = 0.05;
  gate.min_inter_eye_px = 16.0;
  gate.max_abs_yaw_deg = 60.0;
  gate.max_abs_roll_deg = 45.0;
  return gate;
}

Status CheckFaceCapture(const FaceCaptureMeasures& m, const FaceCaptureGate& gate) {
  std::string reasons;
  if (m.detection_score < gate.min_detection_score) {
    Append(reasons, "detection score " + Format(m.detection_score) + " < " +
                        Format(gate.min_detection_score) + " (probably not a face)");
  }
  if (m.inter_eye_px < gate.min_inter_eye_px) {
    Append(reasons, "face too small: inter-eye distance " + Format(m.inter_eye_px) + " px < " +
                        Format(gate.min_inter_eye_px) + " px");
  }
  if (std::abs(m.yaw_deg) > gate.max_abs_yaw_deg) {
    Append(reasons,
           "head turned: yaw " + Format(m.yaw_deg) + " deg beyond " + Format(gate.max_abs_yaw_deg));
  }
  if (std::abs(m.roll_deg) > gate.max_abs_roll_deg) {
    Append(reasons, "head tilted: roll " + Format(m.roll_deg) + " deg beyond " +
                        Format(gate.max_abs_roll_deg));
  }
  if (m.quality_score < gate.min_quality_score) {
    Append(reasons, "quality " + Format(m.quality_score) + " < " + Format(gate.min_quality_score));
  }
  if (reasons.empty()) return Status::Ok();
  return FailedPreconditionError("capture rejected: " + reasons);
}

FingerCaptureGate DefaultFingerEnrolmentGate() { return FingerCaptureGate{}; }

FingerCaptureGate DefaultFingerProbeGate() {
  // Latent-like partial probes are still worth a candidate list for a human;
  // the score's FMR says how little they prove.
  FingerCaptureGate gate;
  gate.min_minutiae = 8;
  gate.min_quality_score = 10.0;
  return gate;
}

Status CheckFingerCapture(const FingerCaptureMeasures& m, const FingerCaptureGate& gate) {
  std::string reasons;
  if (m.minutiae < gate.min_minutiae) {
    Append(reasons, "too few minutiae: " + std::to_string(m.minutiae) + " < " +
                        std::to_string(gate.min_minutiae));
  }
  if (m.quality_score < gate.min_quality_score) {
    Append(reasons, "fingerprint quality " + Format(m.quality_score) + " < " +
                        Format(gate.min_quality_score));
  }
  if (reasons.empty()) return Status::Ok();
  return FailedPreconditionError("capture rejected: " + reasons);
}

}  // namespace abis::policy
