// The fingerprint path end to end through the public Engine API, on the FVC
// prints in ../shared/data (skipped when absent): bad input is refused with
// nothing stored, templates round-trip through the encrypted store, mates
// outrank other fingers in 1:N, the finger position filters, and face and
// finger references of one gallery stay apart.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "abis/engine.h"

#include "tests/integration/test_photos.h"

namespace abis {
namespace {

using testing::ReadBytes;

std::string FingerprintsDir() {
  const std::string dir = ABIS_SHARED_DATA_DIR "/fingerprints";
  return std::filesystem::exists(dir) ? dir : "";
}

// Impression `k` (1-based) of an FVC finger folder such as "fvc2002_db1_101".
std::vector<std::uint8_t> Print(const std::string& finger, int k) {
  return ReadBytes(FingerprintsDir() + "/" + finger + "/" + std::to_string(k) + ".png");
}

class EngineFingerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::FaceModelAvailable()) return;
    EngineOptions options;
    options.database_path = ":memory:";
    options.model_dir = testing::ModelDir();
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    if (engine_ == nullptr) GTEST_SKIP() << "models missing: run scripts/build.sh";
  }

  static EnrolmentRequest FingerEnrolment(const std::string& gallery, const std::string& identity,
                                          std::vector<std::uint8_t> image, double ppi,
                                          int position = 0) {
    EnrolmentRequest request{gallery, identity, std::move(image), Modality::kFinger, true};
    request.finger.ppi = ppi;
    request.finger.position = position;
    return request;
  }

  static Engine* engine_;
};

Engine* EngineFingerTest::engine_ = nullptr;

bool GalleryExists(Engine& engine, const std::string& name) {
  auto galleries = engine.ListGalleries();
  if (!galleries.ok()) return false;
  return std::any_of(galleries->begin(), galleries->end(),
                     [&](const GalleryInfo& g) { return g.name == name; });
}

TEST_F(EngineFingerTest, RefusesBadInputWithClearErrorsAndNoPartialState) {
  cv::Mat blank(400, 400, CV_8UC1, cv::Scalar(200));
  std::vector<std::uint8_t> blank_png;
  cv::imencode(".png", blank, blank_png);

  // Resolution is required for contact prints.
  Result<EnrolmentResult> no_ppi = engine_->Enrol(FingerEnrolment("bad", "x", blank_png, 0));
  EXPECT_EQ(no_ppi.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_ppi.status().message().find("ppi"), std::string::npos);
  // Impossible position.
  EXPECT_EQ(engine_->Enrol(FingerEnrolment("bad", "x", blank_png, 500, 11)).status().code(),
            StatusCode::kInvalidArgument);
  // Not an image.
  std::vector<std::uint8_t> text = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  EXPECT_EQ(engine_->Enrol(FingerEnrolment("bad", "x", text, 500)).status().code(),
            StatusCode::kInvalidArgument);
  // A blank image has no ridges: refused by extraction or the capture gate.
  Result<EnrolmentResult> blank_result =
      engine_->Enrol(FingerEnrolment("bad", "x", blank_png, 500));
  EXPECT_FALSE(blank_result.ok());
  // Absurd resolution.
  EXPECT_EQ(engine_->Enrol(FingerEnrolment("bad", "x", blank_png, 5)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(GalleryExists(*engine_, "bad"));
}

TEST_F(EngineFingerTest, MatesOutrankOtherFingersAndScoresCarryFmr) {
  if (FingerprintsDir().empty()) GTEST_SKIP() << "../shared/data/fingerprints not found";
  const std::vector<std::string> fingers = {"fvc2002_db1_101", "fvc2002_db1_102", "fvc2002_db1_103",
                                            "fvc2002_db1_104", "fvc2002_db1_105"};
  for (const std::string& finger : fingers) {
    auto enrolled = engine_->Enrol(FingerEnrolment("fvc", finger, Print(finger, 1), 500));
    ASSERT_TRUE(enrolled.ok()) << finger << ": " << enrolled.status().ToString();
    ASSERT_TRUE(enrolled->finger.has_value());
    EXPECT_GE(enrolled->finger->minutiae, 12);
    EXPECT_EQ(enrolled->source_sha256.size(), 64u);
  }
  int mates_at_rank_one = 0;
  for (const std::string& finger : fingers) {
    IdentificationRequest request{"fvc", Print(finger, 3), Modality::kFinger, 5};
    request.finger.ppi = 500;
    auto result = engine_->Identify(request);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->modality, Modality::kFinger);
    EXPECT_EQ(result->gallery_identities, 5);
    ASSERT_EQ(result->candidates.size(), 5u);  // One candidate per identity.
    for (std::size_t i = 0; i < result->candidates.size(); ++i) {
      const Candidate& c = result->candidates[i];
      EXPECT_EQ(c.rank, static_cast<int>(i) + 1);
      ASSERT_TRUE(c.fmr.has_value());
      EXPECT_GT(*c.fmr, 0.0);
      EXPECT_LE(*c.fmr, 1.0);
      if (i > 0) {
        EXPECT_LE(c.score, result->candidates[i - 1].score);
        EXPECT_GE(*c.fmr, *result->candidates[i - 1].fmr);  // FMR falls as scores rise.
      }
    }
    if (result->candidates[0].identity == finger) ++mates_at_rank_one;
  }
  EXPECT_GE(mates_at_rank_one, 4) << "of 5 probes";
}

TEST_F(EngineFingerTest, VerificationHonoursPositionAndModelsStaySeparate) {
  if (FingerprintsDir().empty()) GTEST_SKIP() << "../shared/data/fingerprints not found";
  auto enrolled =
      engine_->Enrol(FingerEnrolment("mixed", "alice", Print("fvc2004_db1_101", 1), 500, 2));
  ASSERT_TRUE(enrolled.ok()) << enrolled.status().ToString();
  // A face reference in the same gallery lives beside the finger one.
  auto face = engine_->Enrol(
      {"mixed", "alice", ReadBytes(testing::SamplePhotoPath(2)), Modality::kFace, true});
  ASSERT_TRUE(face.ok()) << face.status().ToString();

  VerificationRequest same{"mixed", "alice", Print("fvc2004_db1_101", 2)};
  same.modality = Modality::kFinger;
  same.finger.ppi = 500;
  same.finger.position = 2;
  auto mate = engine_->Verify(same);
  ASSERT_TRUE(mate.ok()) << mate.status().ToString();
  EXPECT_EQ(mate->modality, Modality::kFinger);
  EXPECT_EQ(mate->reference_id, enrolled->reference_id);
  ASSERT_TRUE(mate->fmr.has_value());
  // The threshold in force is the shipped card's FMR 1e-4 operating point.
  EXPECT_LE(*mate->fmr, 1e-4) << "score " << mate->score << " threshold " << mate->threshold;
  EXPECT_TRUE(mate->meets_threshold) << mate->score << " < " << mate->threshold;

  VerificationRequest other = same;
  other.image = Print("fvc2004_db1_102", 2);
  auto impostor = engine_->Verify(other);
  ASSERT_TRUE(impostor.ok()) << impostor.status().ToString();
  EXPECT_GT(mate->score, impostor->score);
  EXPECT_LT(*mate->fmr, *impostor->fmr);

  // Another finger of the claimed person is not a comparison at all.
  VerificationRequest wrong_finger = same;
  wrong_finger.finger.position = 7;
  EXPECT_EQ(engine_->Verify(wrong_finger).status().code(), StatusCode::kNotFound);

  // Templates of different modalities never compare.
  auto finger_template = engine_->ExtractFinger(Print("fvc2004_db1_101", 3), same.finger, false);
  ASSERT_TRUE(finger_template.ok()) << finger_template.status().ToString();
  EXPECT_FALSE(finger_template->finger_template.data.empty());
  EXPECT_TRUE(finger_template->finger_template.features.empty());
  auto face_template = engine_->ExtractFace(ReadBytes(testing::SamplePhotoPath(2)), -1, false);
  ASSERT_TRUE(face_template.ok());
  EXPECT_EQ(
      engine_->CompareTemplates(finger_template->finger_template, face_template->face_template)
          .status()
          .code(),
      StatusCode::kFailedPrecondition);
  auto self =
      engine_->CompareTemplates(finger_template->finger_template, finger_template->finger_template);
  ASSERT_TRUE(self.ok());
  EXPECT_GT(*self, 0.5);
}

// A deleted identity's fingers leave the search at once (the engine drops
// them from its in-memory gallery, not only from the store).
TEST_F(EngineFingerTest, DeletedIdentityIsNoLongerACandidate) {
  if (FingerprintsDir().empty()) GTEST_SKIP() << "../shared/data/fingerprints not found";
  for (const std::string finger : {"fvc2002_db2_103", "fvc2002_db2_104"}) {
    ASSERT_TRUE(engine_->Enrol(FingerEnrolment("erase", finger, Print(finger, 1), 500)).ok());
  }
  IdentificationRequest request{"erase", Print("fvc2002_db2_103", 2), Modality::kFinger, 5};
  request.finger.ppi = 500;
  auto before = engine_->Identify(request);  // Builds the gallery's cache.
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->candidates.size(), 2u);
  EXPECT_EQ(before->candidates[0].identity, "fvc2002_db2_103");
  ASSERT_TRUE(engine_->DeleteIdentity("erase", "fvc2002_db2_103").ok());
  auto after = engine_->Identify(request);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->gallery_identities, 1);
  ASSERT_EQ(after->candidates.size(), 1u);
  EXPECT_EQ(after->candidates[0].identity, "fvc2002_db2_104");
}

// One person, a face and a finger: the two searches are fused per identity
// by the sum of -log10 FMR, and the fused list ranks each person first.
TEST_F(EngineFingerTest, FaceAndFingerProbesFusePerIdentity) {
  const std::string faces = ABIS_SHARED_DATA_DIR "/faces";
  if (FingerprintsDir().empty() || !std::filesystem::exists(faces)) {
    GTEST_SKIP() << "../shared/data missing";
  }
  if (engine_->face_algorithm().calibration_card.empty()) {
    GTEST_SKIP() << "no face model card for this model";
  }
  const std::vector<std::pair<std::string, std::string>> people = {{"att_s01", "fvc2002_db1_101"},
                                                                   {"att_s02", "fvc2002_db1_102"},
                                                                   {"att_s03", "fvc2002_db1_103"},
                                                                   {"att_s04", "fvc2002_db1_104"}};
  for (const auto& [face, finger] : people) {
    ASSERT_TRUE(engine_
                    ->Enrol({"fused", face, ReadBytes(faces + "/" + face + "/1.png"),
                             Modality::kFace, true})
                    .ok());
    ASSERT_TRUE(engine_->Enrol(FingerEnrolment("fused", face, Print(finger, 1), 500)).ok());
  }
  auto evidence_of = [](const std::optional<Candidate>& c) {
    return c ? -std::log10(std::max(*c->fmr, 1e-12)) : 0.0;
  };
  for (const auto& [face, finger] : people) {
    IdentificationRequest face_probe{"fused", ReadBytes(faces + "/" + face + "/2.png")};
    IdentificationRequest finger_probe{"fused", Print(finger, 2), Modality::kFinger};
    finger_probe.finger.ppi = 500;
    auto result = engine_->IdentifyMultimodal({face_probe, finger_probe}, 3);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->probes.size(), 2u);
    EXPECT_EQ(result->gallery_identities, 4);
    ASSERT_FALSE(result->candidates.empty());
    EXPECT_LE(result->candidates.size(), 3u);
    const MultimodalCandidate& first = result->candidates[0];
    EXPECT_EQ(first.identity, face);
    ASSERT_EQ(first.per_probe.size(), 2u);
    ASSERT_TRUE(first.per_probe[0].has_value() && first.per_probe[1].has_value());
    EXPECT_EQ(first.per_probe[0]->identity, face);
    EXPECT_NEAR(first.evidence, evidence_of(first.per_probe[0]) + evidence_of(first.per_probe[1]),
                1e-9);
    EXPECT_GT(first.evidence, evidence_of(first.per_probe[0]));
    EXPECT_GT(first.evidence, evidence_of(first.per_probe[1]));
    EXPECT_NEAR(first.fused_fmr, std::pow(10.0, -first.evidence), 1e-15);
    EXPECT_NEAR(first.expected_false_candidates, 4 * first.fused_fmr, 1e-12);
    for (std::size_t i = 1; i < result->candidates.size(); ++i) {
      EXPECT_EQ(result->candidates[i].rank, static_cast<int>(i) + 1);
      EXPECT_LE(result->candidates[i].evidence, result->candidates[i - 1].evidence);
    }
  }
  IdentificationRequest face_probe{"fused", ReadBytes(faces + "/att_s01/2.png")};
  EXPECT_EQ(engine_->IdentifyMultimodal({face_probe}, 3).status().code(),
            StatusCode::kInvalidArgument);
  IdentificationRequest elsewhere = face_probe;
  elsewhere.gallery = "other";
  EXPECT_EQ(engine_->IdentifyMultimodal({face_probe, elsewhere}, 3).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->IdentifyMultimodal({face_probe, face_probe}, 0).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace abis
