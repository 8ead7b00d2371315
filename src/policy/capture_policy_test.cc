#include "policy/capture_policy.h"

#include <gtest/gtest.h>

namespace abis::policy {
namespace {

FaceCaptureMeasures GoodFace() { return {1.2, 45.0, 5.0, 2.0, 60.0}; }

TEST(CapturePolicyTest, AcceptsAGoodFace) {
  EXPECT_TRUE(CheckFaceCapture(GoodFace(), DefaultEnrolmentGate()).ok());
}

TEST(CapturePolicyTest, NamesEachFailedCriterion) {
  FaceCaptureMeasures small = GoodFace();
  small.inter_eye_px = 12;
  Status status = CheckFaceCapture(small, DefaultEnrolmentGate());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("face too small"), std::string::npos);

  FaceCaptureMeasures badge = GoodFace();
  badge.detection_score = 0.005;
  badge.yaw_deg = -70;
  status = CheckFaceCapture(badge, DefaultEnrolmentGate());
  EXPECT_NE(status.message().find("not a face"), std::string::npos);
  EXPECT_NE(status.message().find("yaw"), std::string::npos);
}

TEST(CapturePolicyTest, ProbeGateIsLooserThanEnrolment) {
  FaceCaptureMeasures turned = GoodFace();
  turned.yaw_deg = 50;
  EXPECT_FALSE(CheckFaceCapture(turned, DefaultEnrolmentGate()).ok());
  EXPECT_TRUE(CheckFaceCapture(turned, DefaultProbeGate()).ok());
}

TEST(FingerCapturePolicyTest, NamesEachFailedCriterionAndProbesAreLooser) {
  FingerCaptureMeasures good{55.0, 40, 0.6};
  EXPECT_TRUE(CheckFingerCapture(good, DefaultFingerEnrolmentGate()).ok());

  FingerCaptureMeasures poor{12.0, 9, 0.2};
  Status enrol = CheckFingerCapture(poor, DefaultFingerEnrolmentGate());
  EXPECT_EQ(enrol.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(enrol.message().find("too few minutiae: 9 < 12"), std::string::npos) << enrol.message();
  EXPECT_NE(enrol.message().find("fingerprint quality 12 < 20"), std::string::npos)
      << enrol.message();
  EXPECT_TRUE(CheckFingerCapture(poor, DefaultFingerProbeGate()).ok());

  FingerCaptureMeasures blank{0.0, 0, 0.0};
  EXPECT_FALSE(CheckFingerCapture(blank, DefaultFingerProbeGate()).ok());
}

}  // namespace
}  // namespace abis::policy
