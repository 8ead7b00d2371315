#include "finger/fingerprint_extractor.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "finger/fvc_test_support.h"

namespace abis::finger {
namespace {

namespace fs = std::filesystem;
constexpr double kPi = std::numbers::pi;

// A grey print of horizontal ridges (period 10) with one fringe dislocation
// at (128, 128): intensity cos(2 pi y / 10 + phi + phase), phi the polar angle
// around the point. Right of it there is one ridge and one valley more than on
// the left, so the minutia there points right (ISO angle 0); `phase` decides
// whether the extra ridge starts there (an ending) or the extra valley does
// (a bifurcation of the dark ridges).
cv::Mat SyntheticPrint(double phase) {
  cv::Mat img(256, 256, CV_8U);
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) {
      const double phi = std::atan2(y - 128.0, x - 128.0);
      img.at<uchar>(y, x) =
          cv::saturate_cast<uchar>(128 + 90 * std::cos(2 * kPi * y / 10 + phi + phase));
    }
  }
  return img;
}

cv::Mat SyntheticPrintWithEnding() { return SyntheticPrint(0); }

const Minutia* Nearest(const FingerFeatures& f, int x, int y, double max_distance) {
  const Minutia* best = nullptr;
  for (const Minutia& m : f.minutiae) {
    const double d = std::hypot(m.x - x, m.y - y);
    if (d <= max_distance) {
      max_distance = d;
      best = &m;
    }
  }
  return best;
}

TEST(FingerprintExtractorTest, RejectsBadInput) {
  const FingerprintExtractor extractor;
  const cv::Mat good = SyntheticPrintWithEnding();
  auto empty = extractor.Extract(cv::Mat(), 500);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
  cv::Mat colour;
  cv::cvtColor(good, colour, cv::COLOR_GRAY2BGR);
  EXPECT_EQ(extractor.Extract(colour, 500).status().code(), StatusCode::kInvalidArgument);
  cv::Mat wide;
  good.convertTo(wide, CV_16U);
  EXPECT_EQ(extractor.Extract(wide, 500).status().code(), StatusCode::kInvalidArgument);
  auto no_ppi = extractor.Extract(good, 0);
  EXPECT_EQ(no_ppi.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_ppi.status().message().find("ppi"), std::string::npos);
  EXPECT_EQ(extractor.Extract(good, -500).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(extractor.Extract(good, 50).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(extractor.Extract(good, 1e6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(extractor.Extract(good, std::nan("")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(extractor.Extract(cv::Mat(40, 40, CV_8U, cv::Scalar(128)), 500).status().code(),
            StatusCode::kInvalidArgument);
  const cv::Mat huge(5000, 5000, CV_8U, cv::Scalar(128));
  auto too_big = extractor.Extract(huge, 500);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  // Still 2500 px a side at 500 ppi.
  EXPECT_EQ(extractor.Extract(huge, 1000).status().code(), StatusCode::kInvalidArgument);
}

TEST(FingerprintExtractorTest, BlankAndNoiseImagesGiveNoPrint) {
  const FingerprintExtractor extractor;
  auto blank = extractor.Extract(cv::Mat(300, 300, CV_8U, cv::Scalar(200)), 500);
  ASSERT_TRUE(blank.ok()) << blank.status().ToString();
  EXPECT_TRUE(blank->minutiae.empty());
  EXPECT_LT(blank->quality, 20);
  cv::Mat noise(300, 300, CV_8U);
  cv::RNG rng(3);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  auto noisy = extractor.Extract(noise, 500);
  ASSERT_TRUE(noisy.ok()) << noisy.status().ToString();
  EXPECT_LT(noisy->quality, 40);
  auto print = extractor.Extract(SyntheticPrint(0), 500);
  ASSERT_TRUE(print.ok());
  EXPECT_GT(print->quality, noisy->quality + 20);
}

TEST(FingerprintExtractorTest, UnknownResolutionOnlyWhenTheCallerSaysSo) {
  ExtractorOptions options;
  options.assumed_ppi = 500;
  const FingerprintExtractor extractor(options);
  auto features = extractor.Extract(SyntheticPrintWithEnding(), 0);
  ASSERT_TRUE(features.ok()) << features.status().ToString();
  EXPECT_EQ(features->width, 256);
}

TEST(FingerprintExtractorTest, FindsTheMinutiaOfASyntheticDislocation) {
  const FingerprintExtractor extractor;
  std::vector<MinutiaType> types;
  for (const double phase : {0.0, kPi}) {
    auto features = extractor.Extract(SyntheticPrint(phase), 500, CaptureType::kContact,
                                      FingerPosition::kRightIndex);
    ASSERT_TRUE(features.ok()) << features.status().ToString();
    EXPECT_EQ(features->capture, CaptureType::kContact);
    EXPECT_EQ(features->position, FingerPosition::kRightIndex);
    EXPECT_NEAR(features->ridge_period, 10.0, 0.8);
    EXPECT_LE(features->minutiae.size(), 2u) << phase;  // parallel ridges elsewhere
    const Minutia* minutia = Nearest(*features, 128, 128, 8);
    ASSERT_NE(minutia, nullptr) << phase;
    EXPECT_NE(minutia->type, MinutiaType::kOther);
    types.push_back(minutia->type);
    const double d = std::min(minutia->angle, static_cast<float>(2 * kPi) - minutia->angle);
    EXPECT_LT(d, 20 * kPi / 180) << phase << " angle " << minutia->angle;
    EXPECT_GT(minutia->quality, 0);
  }
  EXPECT_NE(types[0], types[1]);  // inverting the phase swaps ending and fork
}

TEST(FingerprintExtractorTest, RescalesOtherResolutionsTo500Ppi) {
  const FingerprintExtractor extractor;
  cv::Mat at1000;
  cv::resize(SyntheticPrintWithEnding(), at1000, cv::Size(), 2.0, 2.0, cv::INTER_CUBIC);
  auto features = extractor.Extract(at1000, 1000);
  ASSERT_TRUE(features.ok()) << features.status().ToString();
  EXPECT_EQ(features->width, 256);
  EXPECT_EQ(features->height, 256);
  EXPECT_NEAR(features->ridge_period, 10.0, 0.8);
  EXPECT_NE(Nearest(*features, 128, 128, 8), nullptr);
}

// --- Real FVC prints (skipped when ../shared/data is absent) -------------

fs::path SharedData() { return fs::path(ABIS_SHARED_DATA_DIR); }

TEST(FingerprintExtractorFvcTest, AgreesWithTheShippedIsoTemplates) {
  if (!fs::exists(SharedData() / "fingerprints")) GTEST_SKIP() << "no shared FVC data";
  const FingerprintExtractor extractor;
  double paired_sum = 0;
  int images = 0, with_core = 0;
  for (const fvc::Database& db : fvc::kDatabases) {
    for (const char* finger : {"_102"}) {
      const std::string folder = std::string(db.prefix) + finger;
      const fs::path png = SharedData() / "fingerprints" / folder / "1.png";
      const fs::path iso = SharedData() / "fingerprint_templates" / folder / "1.iso";
      const cv::Mat img = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
      std::ifstream in(iso, std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      const auto record = fvc::ParseIsoMinimal(bytes);
      if (img.empty() || !record) continue;
      auto features = extractor.Extract(img, db.ppi);
      ASSERT_TRUE(features.ok()) << folder << ": " << features.status().ToString();
      EXPECT_GE(features->minutiae.size(), 12u) << folder;
      EXPECT_LE(features->minutiae.size(), 100u) << folder;
      EXPECT_GT(features->ridge_period, 5.5f) << folder;
      EXPECT_LT(features->ridge_period, 13.0f) << folder;
      EXPECT_GE(features->quality, 40) << folder;
      // A finger has at most two cores and two deltas (a whorl).
      int cores = 0, deltas = 0;
      for (const SingularPoint& p : features->singular_points) {
        (p.type == SingularPointType::kCore ? cores : deltas) += 1;
      }
      EXPECT_LE(cores, 2) << folder;
      EXPECT_LE(deltas, 2) << folder;
      with_core += cores > 0;
      const auto reference = fvc::MapIsoToImage500(*record, img.cols, img.rows, db.ppi);
      const double paired = fvc::PairedFraction(reference, features->minutiae, 12, kPi / 6);
      paired_sum += paired;
      ++images;
    }
  }
  if (images == 0) GTEST_SKIP() << "no FVC images found";
  const double mean = paired_sum / images;
  RecordProperty("mean_paired_fraction", std::to_string(mean));
  EXPECT_GE(mean, 0.6) << "our minutiae agree with too few of the ISO template's";
  EXPECT_GE(with_core, images / 2);  // most plain impressions show their core
}

TEST(FingerprintExtractorFvcTest, QualityDropsWhenThePrintIsDegraded) {
  const fs::path png = SharedData() / "fingerprints" / "fvc2002_db1_101" / "1.png";
  const cv::Mat img = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
  if (img.empty()) GTEST_SKIP() << "no shared FVC data";
  const FingerprintExtractor extractor;
  auto original = extractor.Extract(img, 500);
  ASSERT_TRUE(original.ok());
  cv::Mat blurred, noised;
  cv::GaussianBlur(img, blurred, cv::Size(), 3.0);
  cv::Mat noise(img.size(), CV_16S), img16;
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::NORMAL, 0, 60);
  img.convertTo(img16, CV_16S);
  cv::Mat(img16 + noise).convertTo(noised, CV_8U);
  const cv::Mat cropped =
      img(cv::Rect(img.cols * 3 / 8, img.rows * 3 / 8, img.cols / 3, img.rows / 3)).clone();
  for (const cv::Mat* degraded : std::vector<const cv::Mat*>{&blurred, &noised, &cropped}) {
    auto worse = extractor.Extract(*degraded, 500);
    ASSERT_TRUE(worse.ok()) << worse.status().ToString();
    EXPECT_LT(worse->quality + 10, original->quality);
  }
}

}  // namespace
}  // namespace abis::finger
