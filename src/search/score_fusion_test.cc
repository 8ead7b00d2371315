#include "search/score_fusion.h"

#include <cmath>

#include <gtest/gtest.h>

namespace abis::search {
namespace {

// FMR falls tenfold per 0.1 of score above 0.5 (a made-up but monotone curve).
double ToyFmr(double score) { return std::min(1.0, std::pow(10.0, -(score - 0.5) * 10.0)); }

TEST(ScoreFusionTest, SumsLogFmrEvidenceAcrossModalities) {
  ModalityCandidates face{"face", ToyFmr, {{1, 0.9}, {2, 0.7}, {3, 0.8}}};
  ModalityCandidates finger{"finger", ToyFmr, {{2, 0.95}, {3, 0.6}, {4, 0.85}}};
  auto fused = FuseByLogFmr({face, finger});
  ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  ASSERT_EQ(fused->size(), 4u);
  // Evidence: id2 = 2 + 4.5 = 6.5; id3 = 3 + 1 = 4; id1 = 4; id4 = 3.5.
  EXPECT_EQ((*fused)[0].identity_id, 2);
  EXPECT_NEAR((*fused)[0].evidence, 6.5, 1e-9);
  EXPECT_EQ((*fused)[1].identity_id, 1);  // Tie with id 3 (4.0 each): lower id first.
  EXPECT_EQ((*fused)[2].identity_id, 3);
  EXPECT_NEAR((*fused)[2].per_modality[1], 1.0, 1e-9);
  EXPECT_EQ((*fused)[3].identity_id, 4);
  EXPECT_DOUBLE_EQ((*fused)[3].per_modality[0], 0.0);  // Not listed by face: no evidence.
}

TEST(ScoreFusionTest, FloorCapsOverconfidentCalibration) {
  ModalityCandidates face{"face", [](double) { return 0.0; }, {{1, 1.0}}};
  auto fused = FuseByLogFmr({face}, 1e-6);
  ASSERT_TRUE(fused.ok());
  EXPECT_NEAR((*fused)[0].evidence, 6.0, 1e-12);
}

TEST(ScoreFusionTest, RejectsBadInput) {
  ModalityCandidates nan_score{"face", ToyFmr, {{1, NAN}}};
  EXPECT_EQ(FuseByLogFmr({nan_score}).status().code(), StatusCode::kInvalidArgument);
  ModalityCandidates bad_calibration{"face", [](double) { return 2.0; }, {{1, 0.5}}};
  EXPECT_EQ(FuseByLogFmr({bad_calibration}).status().code(), StatusCode::kInvalidArgument);
  ModalityCandidates no_calibration{"face", nullptr, {{1, 0.5}}};
  EXPECT_EQ(FuseByLogFmr({no_calibration}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FuseByLogFmr({}, 0.0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace abis::search
