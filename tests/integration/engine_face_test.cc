// The face pipeline end to end through the public Engine API, on real
// photos: bad input is refused without partial state, group photos give
// every face, descriptors are deterministic, and same-person pairs score
// above different-person pairs.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include "abis/engine.h"

#include "testing/scratch_dir.h"
#include "tests/integration/test_photos.h"

namespace abis {
namespace {

using testing::CropAround;
using testing::ReadBytes;
using testing::SamplePhotoPath;

class EngineFaceTest : public ::testing::Test {
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
    if (engine_ == nullptr) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  }
  static Engine* engine_;
};

Engine* EngineFaceTest::engine_ = nullptr;

std::vector<std::uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

// The first `count` photos of an identity folder, in numeric order.
std::vector<std::string> FirstPhotos(const std::string& folder, std::size_t count) {
  std::vector<std::pair<int, std::string>> numbered;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    numbered.emplace_back(std::stoi(entry.path().stem().string()), entry.path().string());
  }
  std::sort(numbered.begin(), numbered.end());
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < numbered.size() && i < count; ++i)
    paths.push_back(numbered[i].second);
  return paths;
}

TEST_F(EngineFaceTest, RefusesBadInputWithClearErrorsAndNoPartialState) {
  auto enrol = [](std::vector<std::uint8_t> image) {
    return engine_->Enrol({"bad_input", "someone", std::move(image), Modality::kFace, true});
  };
  EXPECT_EQ(enrol({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(enrol(Bytes("GIF89a not supported and not a photo")).status().code(),
            StatusCode::kInvalidArgument);
  // A PNG header declaring 50000 x 50000 pixels: refused before decoding.
  std::vector<std::uint8_t> bomb = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0,    0, 0,
                                    13,   'I',  'H', 'D', 'R',  0,    0,    0xC3, 0x50, 0, 0,
                                    0xC3, 0x50, 8,   2,   0,    0,    0,    0,    0,    0, 0};
  EXPECT_EQ(enrol(bomb).status().code(), StatusCode::kResourceExhausted);
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(120, 130, 140));
  cv::circle(wall, {320, 240}, 100, cv::Scalar(20, 20, 200), -1);
  Result<EnrolmentResult> no_face = enrol(testing::EncodeJpeg(wall));
  EXPECT_EQ(no_face.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_face.status().message().find("no face"), std::string::npos);
  // Wrong modality: a fingerprint (concentric ridges, 9 px period) sent as a face.
  cv::Mat print(400, 300, CV_8UC1);
  for (int y = 0; y < print.rows; ++y) {
    for (int x = 0; x < print.cols; ++x) {
      double radius = std::hypot(x - 150.0, y - 220.0);
      print.at<std::uint8_t>(y, x) =
          static_cast<std::uint8_t>(128 + 100 * std::cos(2 * 3.14159265358979 * radius / 9.0));
    }
  }
  Result<EnrolmentResult> print_as_face = enrol(testing::EncodeJpeg(print));
  EXPECT_EQ(print_as_face.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(print_as_face.status().message().find("no face"), std::string::npos)
      << print_as_face.status().message();
  EXPECT_EQ(
      engine_->Enrol({"bad_input", "x", ReadBytes(SamplePhotoPath(1)), Modality::kFinger, true})
          .status()
          .code(),
      StatusCode::kInvalidArgument);  // A finger needs its resolution.
  if (std::filesystem::exists(SamplePhotoPath(6))) {
    Result<EnrolmentResult> group = enrol(ReadBytes(SamplePhotoPath(6)));
    EXPECT_EQ(group.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(group.status().message().find("faces found"), std::string::npos);
  }
  // Nothing above left a gallery, an identity or a reference behind.
  auto galleries = engine_->ListGalleries();
  ASSERT_TRUE(galleries.ok());
  for (const GalleryInfo& g : *galleries) EXPECT_NE(g.name, "bad_input");
}

TEST_F(EngineFaceTest, TooSmallFaceIsRejectedAtEnrolment) {
  if (!std::filesystem::exists(SamplePhotoPath(6))) GTEST_SKIP() << "sample photos missing";
  std::vector<std::uint8_t> photo = ReadBytes(SamplePhotoPath(6));
  auto faces = engine_->DetectFaces(photo);
  ASSERT_TRUE(faces.ok() && !faces->empty());
  const FaceBox& box = (*faces)[0].box;
  cv::Mat crop = testing::DecodeBgr(CropAround(photo, box.x, box.y, box.width, box.height));
  // The same face at two sizes: found at both, refused for its size only
  // at the smaller (inter-eye distance ~14 px against the 20 px floor).
  auto enrol_at_width = [&](int width, const std::string& identity) {
    cv::Mat resized;
    double scale = static_cast<double>(width) / crop.cols;
    cv::resize(crop, resized, cv::Size(), scale, scale, cv::INTER_AREA);
    return engine_->Enrol({"small", identity, testing::EncodeJpeg(resized), Modality::kFace, true});
  };
  Result<EnrolmentResult> tiny = enrol_at_width(56, "tiny");
  ASSERT_EQ(tiny.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(tiny.status().message().find("face too small: inter-eye distance"), std::string::npos)
      << tiny.status().message();
  Result<EnrolmentResult> large_enough = enrol_at_width(96, "large_enough");
  EXPECT_TRUE(large_enough.ok()) << large_enough.status().ToString();
}

TEST_F(EngineFaceTest, GroupPhotoProbeReturnsAllFacesForTheCallerToPick) {
  if (!std::filesystem::exists(SamplePhotoPath(3))) GTEST_SKIP() << "sample photos missing";
  std::vector<std::uint8_t> reference = ReadBytes(SamplePhotoPath(2));
  ASSERT_TRUE(engine_->Enrol({"group", "sample2", reference, Modality::kFace, true}).ok());
  IdentificationRequest request{"group", ReadBytes(SamplePhotoPath(3))};
  auto listed = engine_->Identify(request);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->faces.size(), 3u);
  EXPECT_EQ(listed->searched_face, -1);
  EXPECT_TRUE(listed->candidates.empty());
  request.face_index = 1;
  auto chosen = engine_->Identify(request);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->searched_face, 1);
  ASSERT_EQ(chosen->candidates.size(), 1u);
  EXPECT_EQ(chosen->candidates[0].rank, 1);
  request.face_index = 7;
  EXPECT_EQ(engine_->Identify(request).status().code(), StatusCode::kOutOfRange);
  ASSERT_TRUE(engine_->DeleteGallery("group").ok());
  request.face_index = 0;
  EXPECT_EQ(engine_->Identify(request).status().code(), StatusCode::kNotFound);
}

TEST_F(EngineFaceTest, DescriptorsAreDeterministicAndCarryTheirModel) {
  if (!std::filesystem::exists(SamplePhotoPath(2))) GTEST_SKIP() << "sample photos missing";
  std::vector<std::uint8_t> photo = ReadBytes(SamplePhotoPath(2));
  auto first = engine_->ExtractFace(photo, -1, false);
  auto second = engine_->ExtractFace(photo, -1, false);
  ASSERT_TRUE(first.ok() && second.ok()) << first.status().ToString();
  EXPECT_EQ(first->face_template.features, second->face_template.features);
  EXPECT_EQ(first->face_template.features.size(), 128u);
  EXPECT_EQ(first->face_template.header.algorithm, engine_->face_algorithm().algorithm);
  EXPECT_EQ(first->face_template.header.model_digest.size(), 64u);
  Template other_model = first->face_template;
  other_model.header.model_digest = std::string(64, '0');
  EXPECT_EQ(engine_->CompareTemplates(first->face_template, other_model).status().code(),
            StatusCode::kFailedPrecondition);
}

// The gallery files hold neither the enrolled photo nor its template in the
// clear: templates are sealed with per-record keys, images are never stored.
TEST_F(EngineFaceTest, GalleryFilesHoldNoPlaintextImageOrTemplate) {
  if (!std::filesystem::exists(SamplePhotoPath(2))) GTEST_SKIP() << "sample photos missing";
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("abis_plaintext_scan_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<std::uint8_t> photo = ReadBytes(SamplePhotoPath(2));
  auto extraction = engine_->ExtractFace(photo, -1, true);
  ASSERT_TRUE(extraction.ok());
  {
    EngineOptions options;
    options.database_path = (dir / "gallery.db").string();
    options.model_dir = testing::ModelDir();
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE((*engine)->Enrol({"scan", "alice", photo, Modality::kFace, true}).ok());
  }
  std::vector<std::uint8_t> stored;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string path = (dir / "gallery.db").string() + suffix;
    if (std::filesystem::exists(path)) {
      std::vector<std::uint8_t> bytes = ReadBytes(path);
      stored.insert(stored.end(), bytes.begin(), bytes.end());
    }
  }
  ASSERT_GT(stored.size(), 0u);
  auto contains = [&stored](const std::uint8_t* window) {
    return std::search(stored.begin(), stored.end(), window, window + 16) != stored.end();
  };
  for (std::size_t offset = 0; offset + 16 <= photo.size(); offset += 997) {
    EXPECT_FALSE(contains(photo.data() + offset)) << "photo bytes at offset " << offset;
  }
  const auto* features =
      reinterpret_cast<const std::uint8_t*>(extraction->face_template.features.data());
  for (std::size_t offset = 0; offset + 16 <= 128 * sizeof(float); offset += 4) {
    EXPECT_FALSE(contains(features + offset)) << "template bytes at offset " << offset;
  }
  std::filesystem::remove_all(dir);
}

// The CLI opens the engine with the face networks deferred: nothing but a
// hash of the weights at Open, the networks at the first face operation.
TEST_F(EngineFaceTest, FaceModelsLoadOnFirstUseWhenAsked) {
  if (!std::filesystem::exists(SamplePhotoPath(2))) GTEST_SKIP() << "sample photos missing";
  EngineOptions options;
  options.database_path = ":memory:";
  options.model_dir = testing::ModelDir();
  options.load_face_models_on_first_use = true;
  auto lazy = Engine::Open(options);
  ASSERT_TRUE(lazy.ok()) << lazy.status().ToString();
  EXPECT_EQ((*lazy)->face_algorithm().model_digest, engine_->face_algorithm().model_digest);
  std::vector<std::uint8_t> photo = ReadBytes(SamplePhotoPath(2));
  ASSERT_TRUE((*lazy)->Enrol({"lazy", "sample2", photo, Modality::kFace, true}).ok());
  auto found = (*lazy)->Identify({"lazy", photo});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_FALSE(found->candidates.empty());
  EXPECT_EQ(found->candidates[0].identity, "sample2");

  // Weights that are not a model: a deferred engine opens (it only hashed
  // them) and refuses the first face operation, leaving nothing behind; an
  // engine that loads at Open refuses to open.
  testing::ScratchDir dir("lazy_models");
  std::filesystem::create_directories(dir.File("models"));
  {
    std::ofstream garbage(dir.File("models/face_recognition_resnet_v1.dat"), std::ios::binary);
    garbage << "not a network";
  }
  options.model_dir = dir.File("models");
  auto broken = Engine::Open(options);
  ASSERT_TRUE(broken.ok()) << broken.status().ToString();
  auto refused = (*broken)->Enrol({"lazy", "sample2", photo, Modality::kFace, true});
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("not a face-recognition ResNet"), std::string::npos)
      << refused.status().message();
  auto galleries = (*broken)->ListGalleries();
  ASSERT_TRUE(galleries.ok());
  EXPECT_TRUE(galleries->empty());
  options.load_face_models_on_first_use = false;
  EXPECT_EQ(Engine::Open(options).status().code(), StatusCode::kDataLoss);

  // No weights at all: refused at Open either way, with the way to get them.
  options.model_dir = dir.File("nothing_here");
  for (bool deferred : {true, false}) {
    options.load_face_models_on_first_use = deferred;
    auto missing = Engine::Open(options);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("scripts/setup.sh"), std::string::npos)
        << missing.status().message();
  }
}

// On ../shared/data/faces: every genuine pair should outscore nearly every
// impostor pair, and each identity's second photo should find its first.
TEST_F(EngineFaceTest, SamePersonScoresAboveDifferentPeopleOnRealPhotos) {
  std::string faces_dir = testing::SharedFacesDir();
  if (faces_dir.empty()) GTEST_SKIP() << "../shared/data/faces not present";
  std::vector<std::string> identities = {"att_s01",        "att_s05",        "att_s12",
                                         "yale_subject02", "yale_subject04", "yale_subject07",
                                         "bbt_amy",        "bbt_sheldon"};
  std::vector<std::pair<std::string, Template>> templates;
  for (const std::string& identity : identities) {
    for (const std::string& path : FirstPhotos(faces_dir + "/" + identity, 3)) {
      auto extraction = engine_->ExtractFace(ReadBytes(path), 0, false);
      ASSERT_TRUE(extraction.ok()) << path << ": " << extraction.status().ToString();
      templates.emplace_back(identity, std::move(extraction->face_template));
    }
  }
  std::vector<double> genuine, impostor;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    for (std::size_t j = i + 1; j < templates.size(); ++j) {
      auto score = engine_->CompareTemplates(templates[i].second, templates[j].second);
      ASSERT_TRUE(score.ok());
      (templates[i].first == templates[j].first ? genuine : impostor).push_back(*score);
    }
  }
  std::int64_t ordered = 0;
  for (double g : genuine)
    for (double i : impostor) ordered += g > i;
  double auc = static_cast<double>(ordered) / (genuine.size() * impostor.size());
  EXPECT_GT(auc, 0.98);
  double mean_genuine = 0, mean_impostor = 0;
  for (double g : genuine) mean_genuine += g / genuine.size();
  for (double i : impostor) mean_impostor += i / impostor.size();
  EXPECT_GT(mean_genuine, mean_impostor + 0.1);

  for (const std::string& identity : identities) {
    auto enrolled = engine_->Enrol({"shared", identity,
                                    ReadBytes(FirstPhotos(faces_dir + "/" + identity, 1)[0]),
                                    Modality::kFace, true});
    ASSERT_TRUE(enrolled.ok()) << identity << ": " << enrolled.status().ToString();
  }
  int rank_one = 0;
  for (const std::string& identity : identities) {
    auto result =
        engine_->Identify({"shared", ReadBytes(FirstPhotos(faces_dir + "/" + identity, 2)[1]),
                           Modality::kFace, 5, 0.0, 0});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_FALSE(result->candidates.empty());
    rank_one += result->candidates[0].identity == identity;
    for (std::size_t r = 1; r < result->candidates.size(); ++r) {
      EXPECT_LE(result->candidates[r].score, result->candidates[r - 1].score);
    }
  }
  EXPECT_GE(rank_one, 7);
  auto same = engine_->Verify(
      {"shared", "yale_subject02", ReadBytes(faces_dir + "/yale_subject02/3.png"), -1});
  auto other = engine_->Verify(
      {"shared", "yale_subject02", ReadBytes(faces_dir + "/yale_subject04/2.png"), -1});
  ASSERT_TRUE(same.ok() && other.ok());
  EXPECT_TRUE(same->meets_threshold);
  EXPECT_FALSE(other->meets_threshold);
  EXPECT_GT(same->score, other->score);
}

}  // namespace
}  // namespace abis
