#include "finger/contactless.h"

#include <cmath>
#include <filesystem>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "finger/contactless_simulation.h"
#include "finger/fvc_test_support.h"

namespace abis::finger {
namespace {

namespace fs = std::filesystem;
constexpr double kPi = std::numbers::pi;

// Curved synthetic ridges (period 10) with one dislocation at (150, 150).
cv::Mat SyntheticPrint() {
  cv::Mat img(300, 300, CV_8U);
  for (int y = 0; y < 300; ++y) {
    for (int x = 0; x < 300; ++x) {
      const double phi = std::atan2(y - 150.0, x - 150.0);
      const double bend = 0.0015 * (x - 150.0) * (x - 150.0);
      img.at<uchar>(y, x) =
          cv::saturate_cast<uchar>(128 + 90 * std::cos(2 * kPi * (y + bend) / 10 + phi));
    }
  }
  return img;
}

cv::Point2d Apply(const cv::Mat& h, double x, double y) {
  const double w = h.at<double>(2, 0) * x + h.at<double>(2, 1) * y + h.at<double>(2, 2);
  return {(h.at<double>(0, 0) * x + h.at<double>(0, 1) * y + h.at<double>(0, 2)) / w,
          (h.at<double>(1, 0) * x + h.at<double>(1, 1) * y + h.at<double>(1, 2)) / w};
}

// Contact minutiae carried into the preprocessed photo's frame.
std::vector<Minutia> MapMinutiae(const std::vector<Minutia>& in, const cv::Mat& h) {
  std::vector<Minutia> out;
  for (Minutia m : in) {
    const cv::Point2d p = Apply(h, m.x, m.y);
    const cv::Point2d q = Apply(h, m.x + 10 * std::cos(m.angle), m.y - 10 * std::sin(m.angle));
    m.x = static_cast<int>(std::lround(p.x));
    m.y = static_cast<int>(std::lround(p.y));
    double a = std::atan2(-(q.y - p.y), q.x - p.x);
    m.angle = static_cast<float>(a < 0 ? a + 2 * kPi : a);
    out.push_back(m);
  }
  return out;
}

TEST(ContactlessSimulationTest, IsDeterministicAndWithinItsRanges) {
  const cv::Mat print = SyntheticPrint();
  auto a = SimulateContactlessPhoto(print, 42);
  auto b = SimulateContactlessPhoto(print, 42);
  auto c = SimulateContactlessPhoto(print, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->bgr.type(), CV_8UC3);
  EXPECT_EQ(cv::norm(a->bgr, b->bgr, cv::NORM_INF), 0);
  EXPECT_NE(a->scale, c->scale);
  for (const auto* photo : {&*a, &*c}) {
    EXPECT_GE(photo->scale, 1.5);
    EXPECT_LE(photo->scale, 3.0);
  }
  EXPECT_EQ(SimulateContactlessPhoto(cv::Mat(), 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(ContactlessPreprocessorTest, RejectsBadInput) {
  const ContactlessPreprocessor pre;
  EXPECT_EQ(pre.Preprocess(cv::Mat()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pre.Preprocess(SyntheticPrint()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pre.Preprocess(cv::Mat(50, 50, CV_8UC3)).status().code(), StatusCode::kInvalidArgument);
  // A blue, skinless scene.
  const cv::Mat blue(400, 400, CV_8UC3, cv::Scalar(200, 80, 40));
  EXPECT_EQ(pre.Preprocess(blue).status().code(), StatusCode::kNotFound);
}

TEST(ContactlessPreprocessorTest, RecoversScaleAndMinutiaOfASimulatedPhoto) {
  const FingerprintExtractor extractor;
  const ContactlessPreprocessor pre;
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    auto photo = SimulateContactlessPhoto(SyntheticPrint(), seed);
    ASSERT_TRUE(photo.ok());
    auto prepared = pre.Preprocess(photo->bgr);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    // Period 10 in the print, times the simulated scale in the photo.
    EXPECT_NEAR(prepared->measured_period, 10 * photo->scale, 1.0 * photo->scale) << seed;
    auto features = extractor.Extract(prepared->gray, 500, CaptureType::kContactless);
    ASSERT_TRUE(features.ok()) << features.status().ToString();
    EXPECT_EQ(features->capture, CaptureType::kContactless);
    EXPECT_NEAR(features->ridge_period, 9.0, 0.9) << seed;
    // The dislocation, carried through simulation and preprocessing.
    const cv::Mat h = prepared->photo_to_output * photo->contact_to_photo;
    const cv::Point2d expected = Apply(h, 150, 150);
    bool found = false;
    for (const Minutia& m : features->minutiae) {
      found = found || std::hypot(m.x - expected.x, m.y - expected.y) < 12;
    }
    EXPECT_TRUE(found) << "seed " << seed << " expected near " << expected;
  }
}

// Rotation (degrees, counter-clockwise on screen) and orientation sign of
// `h` at `p`: how a contact print comes out of simulation + preprocessing.
// A contact impression is tip-up and the MCC matcher only pairs minutiae
// whose directions differ by <= 90 degrees, so the output must be upright
// (near 0) and not mirrored (positive determinant).
struct Pose {
  double rotation_degrees;
  double determinant;
};
Pose PoseAt(const cv::Mat& h, cv::Point2d p) {
  const cv::Point2d o = Apply(h, p.x, p.y), ex = Apply(h, p.x + 1, p.y) - o,
                    ey = Apply(h, p.x, p.y + 1) - o;
  return {std::atan2(-ex.y, ex.x) * 180 / kPi, ex.x * ey.y - ex.y * ey.x};
}

// The photo turned by a multiple of 90 degrees (the finger entering the
// frame from the top, left or right), with the mapping that turn applies.
cv::Mat Turned(const cv::Mat& bgr, int quarter_turns, cv::Mat* mapping) {
  const double w = bgr.cols - 1, h = bgr.rows - 1;
  cv::Mat out;
  switch (quarter_turns) {
    case 1:  // clockwise: (x, y) -> (h - y, x)
      cv::rotate(bgr, out, cv::ROTATE_90_CLOCKWISE);
      *mapping = (cv::Mat_<double>(3, 3) << 0, -1, h, 1, 0, 0, 0, 0, 1);
      return out;
    case 2:
      cv::rotate(bgr, out, cv::ROTATE_180);
      *mapping = (cv::Mat_<double>(3, 3) << -1, 0, w, 0, -1, h, 0, 0, 1);
      return out;
    case 3:  // counter-clockwise: (x, y) -> (y, w - x)
      cv::rotate(bgr, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      *mapping = (cv::Mat_<double>(3, 3) << 0, 1, 0, -1, 0, w, 0, 0, 1);
      return out;
    default:
      *mapping = cv::Mat::eye(3, 3, CV_64F);
      return bgr.clone();
  }
}

TEST(ContactlessPreprocessorTest, TurnsTheFingertipUpWhicheverWayThePhotoIsHeld) {
  const ContactlessPreprocessor pre;
  auto photo = SimulateContactlessPhoto(SyntheticPrint(), 5);
  ASSERT_TRUE(photo.ok());
  for (int turns = 0; turns < 4; ++turns) {
    cv::Mat turn;
    const cv::Mat turned = Turned(photo->bgr, turns, &turn);
    auto prepared = pre.Preprocess(turned);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    const Pose pose =
        PoseAt(prepared->photo_to_output * turn * photo->contact_to_photo, {150, 150});
    // The simulated finger is tilted by up to 8 degrees; the print is not.
    EXPECT_LT(std::abs(pose.rotation_degrees), 12) << turns << " quarter turns";
    EXPECT_GT(pose.determinant, 0) << turns << " quarter turns: mirrored";
  }
}

TEST(ContactlessPreprocessorFvcTest, SimulatedPhotosComeOutUprightAtTheTargetPeriod) {
  // One print of each kind (frame sizes 388x374 to 640x480, tall and wide,
  // ridge periods 8-10 px), each at a low and a high simulated scale.
  const std::vector<std::pair<std::string, double>> prints = {{"fvc2002_db1_101", 500},
                                                              {"fvc2002_db2_101", 569},
                                                              {"fvc2004_db1_101", 500},
                                                              {"fvc2004_db3_101", 512}};
  const FingerprintExtractor extractor;
  const ContactlessPreprocessor pre;
  int tested = 0;
  double low = 3, high = 1.5;
  for (std::size_t i = 0; i < prints.size(); ++i) {
    const auto& [folder, ppi] = prints[i];
    cv::Mat print =
        cv::imread((fs::path(ABIS_SHARED_DATA_DIR) / "fingerprints" / folder / "2.png").string(),
                   cv::IMREAD_GRAYSCALE);
    if (print.empty()) GTEST_SKIP() << "no shared FVC data";
    if (ppi != 500) cv::resize(print, print, cv::Size(), 500 / ppi, 500 / ppi, cv::INTER_AREA);
    auto contact = extractor.Extract(print, 500);
    ASSERT_TRUE(contact.ok());
    // Seeds 1023 and 1024 give the ends of the range: scales 1.53 and 2.99.
    for (const std::uint64_t seed : {1023u, 1024u}) {
      SCOPED_TRACE(folder + " seed " + std::to_string(seed));
      auto photo = SimulateContactlessPhoto(print, seed);
      ASSERT_TRUE(photo.ok());
      low = std::min(low, photo->scale);
      high = std::max(high, photo->scale);
      auto prepared = pre.Preprocess(photo->bgr);
      ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
      auto features = extractor.Extract(prepared->gray, 500, CaptureType::kContactless);
      ASSERT_TRUE(features.ok()) << features.status().ToString();
      EXPECT_NEAR(features->ridge_period, 9.0, 0.9);
      const cv::Mat h = prepared->photo_to_output * photo->contact_to_photo;
      const Pose pose = PoseAt(h, {print.cols / 2.0, print.rows / 2.0});
      EXPECT_LT(std::abs(pose.rotation_degrees), 12);
      EXPECT_GT(pose.determinant, 0) << "mirrored";
      // Output scale relative to the contact print: 9 px over the print's own
      // period, within 10 %.
      EXPECT_NEAR(std::sqrt(pose.determinant) * contact->ridge_period / 9.0, 1.0, 0.1);
      EXPECT_GE(
          fvc::PairedFraction(MapMinutiae(contact->minutiae, h), features->minutiae, 12, kPi / 6),
          0.6);
      ++tested;
    }
  }
  EXPECT_EQ(tested, 8);
  EXPECT_LT(low, 1.6);
  EXPECT_GT(high, 2.9);
}

TEST(ContactlessPreprocessorFvcTest, FindsMostContactMinutiaeAgain) {
  const fs::path png =
      fs::path(ABIS_SHARED_DATA_DIR) / "fingerprints" / "fvc2002_db1_101" / "1.png";
  const cv::Mat print = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
  if (print.empty()) GTEST_SKIP() << "no shared FVC data";
  const FingerprintExtractor extractor;
  const ContactlessPreprocessor pre;
  auto contact = extractor.Extract(print, 500);
  ASSERT_TRUE(contact.ok());
  auto photo = SimulateContactlessPhoto(print, 7);
  ASSERT_TRUE(photo.ok());
  auto prepared = pre.Preprocess(photo->bgr);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  auto features = extractor.Extract(prepared->gray, 500, CaptureType::kContactless);
  ASSERT_TRUE(features.ok());
  const auto mapped =
      MapMinutiae(contact->minutiae, prepared->photo_to_output * photo->contact_to_photo);
  EXPECT_GE(fvc::PairedFraction(mapped, features->minutiae, 12, kPi / 6), 0.5);
}

}  // namespace
}  // namespace abis::finger
