#include "face/face_analyzer.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "core/file_io.h"
#include "imaging/image_decoder.h"

namespace abis::face {
namespace {

constexpr char kLandmarkModel[] = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

std::string SamplePhoto(int k) {
  return std::string(ABIS_MODEL_DIR) + "/face-api-1.7.15/demo/sample" + std::to_string(k) + ".jpg";
}

class FaceAnalyzerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kLandmarkModel)) return;
    auto loaded = FaceAnalyzer::Load(kLandmarkModel);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    analyzer_ = std::move(*loaded).release();
  }
  static void TearDownTestSuite() {
    delete analyzer_;
    analyzer_ = nullptr;
  }
  void SetUp() override {
    if (analyzer_ == nullptr) GTEST_SKIP() << "landmark model missing (libdlib-data)";
  }
  static cv::Mat Load(const std::string& path) {
    auto bytes = ReadFileBytes(path);
    if (!bytes.ok()) return {};
    auto decoded = imaging::DecodeImage(*bytes);
    return decoded.ok() ? decoded->bgr : cv::Mat();
  }
  static FaceAnalyzer* analyzer_;
};

FaceAnalyzer* FaceAnalyzerTest::analyzer_ = nullptr;

TEST_F(FaceAnalyzerTest, MissingModelIsNotFound) {
  EXPECT_EQ(FaceAnalyzer::Load("/nonexistent/sp68.dat").status().code(), StatusCode::kNotFound);
}

TEST_F(FaceAnalyzerTest, FindsNoFaceInPatterns) {
  cv::Mat gradient(400, 400, CV_8UC3);
  for (int y = 0; y < gradient.rows; ++y)
    for (int x = 0; x < gradient.cols; ++x)
      gradient.at<cv::Vec3b>(y, x) = cv::Vec3b(x / 2, y / 2, 90);
  auto faces = analyzer_->Analyze(gradient);
  ASSERT_TRUE(faces.ok());
  EXPECT_TRUE(faces->empty());
  EXPECT_EQ(analyzer_->Analyze(cv::Mat()).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FaceAnalyzerTest, GroupPhotoGivesEveryFaceWithPlausibleGeometry) {
  cv::Mat photo = Load(SamplePhoto(6));
  if (photo.empty()) GTEST_SKIP() << "sample photos missing (scripts/fetch_models.sh)";
  auto faces = analyzer_->Analyze(photo);
  ASSERT_TRUE(faces.ok());
  ASSERT_GE(faces->size(), 3u);
  for (std::size_t i = 0; i < faces->size(); ++i) {
    const AnalyzedFace& face = (*faces)[i];
    if (i > 0) EXPECT_LE(face.quality.detection_score, (*faces)[i - 1].quality.detection_score);
    EXPECT_GT(face.quality.detection_score, 0.0);
    EXPECT_EQ(face.chip.nr(), kChipSize);
    // Landmarks lie inside (or at the rim of) their box, in photo pixels.
    cv::Rect2d rim(face.box.x - face.box.width * 0.3, face.box.y - face.box.height * 0.3,
                   face.box.width * 1.6, face.box.height * 1.6);
    for (const cv::Point2d& p : face.landmarks) EXPECT_TRUE(rim.contains(p));
    EXPECT_GT(face.quality.inter_eye_px, 0.25 * face.box.width);
    EXPECT_LT(face.quality.inter_eye_px, 0.75 * face.box.width);
    EXPECT_GE(face.quality.score, 0.0);
    EXPECT_LE(face.quality.score, 100.0);
  }
}

TEST_F(FaceAnalyzerTest, SmallPhotoIsUpsampledAndCoordinatesMapBack) {
  cv::Mat photo = Load(SamplePhoto(6));
  if (photo.empty()) GTEST_SKIP() << "sample photos missing";
  auto full = analyzer_->Analyze(photo);
  ASSERT_TRUE(full.ok() && !full->empty());
  // Cut the best face with a margin and shrink it well below HOG's 80 px window.
  const cv::Rect2d& box = (*full)[0].box;
  cv::Rect crop = cv::Rect(cv::Rect2d(box.x - box.width * 0.4, box.y - box.height * 0.4,
                                      box.width * 1.8, box.height * 1.8)) &
                  cv::Rect(0, 0, photo.cols, photo.rows);
  cv::Mat small;
  double shrink = 70.0 / crop.width;
  cv::resize(photo(crop), small, cv::Size(), shrink, shrink, cv::INTER_AREA);
  auto faces = analyzer_->Analyze(small);
  ASSERT_TRUE(faces.ok());
  ASSERT_EQ(faces->size(), 1u);
  double expected_eyes = (*full)[0].quality.inter_eye_px * shrink;
  EXPECT_NEAR((*faces)[0].quality.inter_eye_px, expected_eyes, 0.2 * expected_eyes);
  EXPECT_LT((*faces)[0].box.width, small.cols * 1.2);
}

TEST(FaceQualityTest, RollAndYawFollowTheLandmarks) {
  std::array<cv::Point2d, kLandmarkCount> points{};
  // A frontal, level face: jaw from x=0 to x=100, eyes at y=40, nose on the midline.
  for (int i = 0; i <= 16; ++i) points[i] = {i * 100.0 / 16, 60.0 + std::abs(i - 8) * -2.0};
  for (int i = 36; i <= 41; ++i) points[i] = {30.0, 40.0};
  for (int i = 42; i <= 47; ++i) points[i] = {70.0, 40.0};
  points[30] = {50.0, 60.0};
  dlib::matrix<dlib::rgb_pixel> chip(kChipSize, kChipSize);
  for (long r = 0; r < chip.nr(); ++r)
    for (long c = 0; c < chip.nc(); ++c)
      chip(r, c) = dlib::rgb_pixel(128, (r * 7 + c * 3) % 256, 90);
  FaceQuality level = MeasureFaceQuality(points, chip, 1.0);
  EXPECT_NEAR(level.roll_deg, 0.0, 1e-9);
  EXPECT_NEAR(level.yaw_deg, 0.0, 1e-9);
  EXPECT_NEAR(level.inter_eye_px, 40.0, 1e-9);
  points[30] = {75.0, 60.0};  // Nose halfway to the jaw edge: sin(yaw) = 0.5.
  EXPECT_NEAR(MeasureFaceQuality(points, chip, 1.0).yaw_deg, 30.0, 1e-6);
  for (int i = 42; i <= 47; ++i) points[i] = {70.0, 80.0};  // Right eye 40 px lower.
  EXPECT_NEAR(MeasureFaceQuality(points, chip, 1.0).roll_deg, 45.0, 1e-6);
}

}  // namespace
}  // namespace abis::face
