// Checks the converted model against an independent implementation:
// face-api.js's own FaceRecognitionNet running on the original TF.js weights
// in Node (tools/faceapi_reference.mjs). Skips when node or the model files
// are missing.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "face/face_embedder.h"
#include "face/test_chips.h"
#include "testing/scratch_dir.h"

namespace abis::face {
namespace {

using Chip = dlib::matrix<dlib::rgb_pixel>;
using Descriptors = std::vector<std::vector<float>>;

const std::string kNode = ABIS_NODE_EXECUTABLE;
const std::string kFaceApiDir = ABIS_MODEL_DIR "/face-api-1.7.15";
const std::string kModelPath = ABIS_MODEL_DIR "/face_recognition_resnet_v1.dat";
const std::string kScript = ABIS_SOURCE_DIR "/tools/faceapi_reference.mjs";

// Faces in face-api's demo/sample1.jpg (1920x1280) as dlib's HOG detector
// boxes them: left, top, side. The file is pinned by fetch_models.sh.
struct FaceBox {
  int left;
  int top;
  int side;
};
constexpr FaceBox kSample1Faces[] = {{376, 376, 216}, {1451, 233, 216}, {830, 472, 216}};

// Crops a square around each face with some margin, as an aligned chip would
// frame it, and scales it to 150x150. Alignment does not matter here: both
// implementations see the same pixels.
std::vector<Chip> Sample1FaceChips() {
  cv::Mat bgr = cv::imread(kFaceApiDir + "/demo/sample1.jpg", cv::IMREAD_COLOR);
  std::vector<Chip> chips;
  if (bgr.empty()) return chips;
  for (const FaceBox& box : kSample1Faces) {
    int margin = box.side / 4;
    cv::Rect square(box.left - margin, box.top - margin, box.side + 2 * margin,
                    box.side + 2 * margin);
    square &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    cv::Mat resized;
    cv::resize(bgr(square), resized, cv::Size(150, 150), 0, 0, cv::INTER_AREA);
    Chip chip(150, 150);
    for (int row = 0; row < 150; ++row) {
      for (int col = 0; col < 150; ++col) {
        const cv::Vec3b& pixel = resized.at<cv::Vec3b>(row, col);
        chip(row, col) = dlib::rgb_pixel(pixel[2], pixel[1], pixel[0]);  // BGR -> RGB.
      }
    }
    chips.push_back(chip);
  }
  return chips;
}

// Runs the Node reference and returns its descriptors, or an error text.
Descriptors RunReference(const std::vector<Chip>& chips, int input_scale, std::string& error) {
  // Private folder: the test cases run as parallel processes.
  abis::testing::ScratchDir scratch("faceapi_reference");
  std::string chips_path = scratch.File("chips.bin");
  {
    std::ofstream out(chips_path, std::ios::binary);
    for (const Chip& chip : chips) {
      for (long row = 0; row < chip.nr(); ++row) {
        for (long col = 0; col < chip.nc(); ++col) {
          const dlib::rgb_pixel& p = chip(row, col);
          out.put(static_cast<char>(p.red))
              .put(static_cast<char>(p.green))
              .put(static_cast<char>(p.blue));
        }
      }
    }
  }
  std::string command = "'" + kNode + "' '" + kScript + "' --model-dir '" + kFaceApiDir +
                        "' --chips '" + chips_path + "' --input-scale " +
                        std::to_string(input_scale);
  abis::testing::CommandRun run = abis::testing::RunCommand(command);
  const std::string& output = run.output;
  if (run.exit_code != 0) error = "reference exited with status " + std::to_string(run.exit_code);
  if (!error.empty()) return {};

  nlohmann::json json = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("descriptors")) {
    error = "unexpected reference output: " + output.substr(0, 200);
    return {};
  }
  return json["descriptors"].get<Descriptors>();
}

float MaxAbsDifference(const Descriptors& ours, const Descriptors& reference) {
  float max = 0;
  for (std::size_t chip = 0; chip < ours.size(); ++chip) {
    for (std::size_t i = 0; i < ours[chip].size(); ++i) {
      max = std::max(max, std::fabs(ours[chip][i] - reference[chip][i]));
    }
  }
  return max;
}

class FaceModelReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kNode.empty()) GTEST_SKIP() << "node not found at configure time";
    for (const std::string& path :
         {kModelPath, kFaceApiDir + "/dist/face-api.esm.js",
          kFaceApiDir + "/face_recognition_model.bin",
          kFaceApiDir + "/face_recognition_model-weights_manifest.json"}) {
      if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
    }
    Result<std::unique_ptr<FaceEmbedder>> embedder = FaceEmbedder::Load(kModelPath);
    ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();

    for (int variant = 0; variant < 3; ++variant) chips_.push_back(testing::SyntheticChip(variant));
    std::vector<Chip> faces = Sample1FaceChips();
    chips_.insert(chips_.end(), faces.begin(), faces.end());

    Result<Descriptors> ours = (*embedder)->Embed(chips_);
    ASSERT_TRUE(ours.ok()) << ours.status().ToString();
    ours_ = std::move(ours).value();
  }

  // Compares ours with the reference run at `input_scale` and returns the
  // largest per-component difference.
  float CompareWithReference(int input_scale) {
    std::string error;
    Descriptors reference = RunReference(chips_, input_scale, error);
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(reference.size(), ours_.size());
    if (reference.size() != ours_.size()) return INFINITY;
    for (const auto& descriptor : reference) EXPECT_EQ(descriptor.size(), 128u);
    float max = MaxAbsDifference(ours_, reference);
    std::cout << "max |ours - face-api.js| over " << chips_.size() << " chips, input /"
              << input_scale << ": " << max << "\n";
    return max;
  }

  std::vector<Chip> chips_;
  Descriptors ours_;
};

// face-api.js normalises by 255 where dlib uses 256 (face-pipeline.md §5.1);
// that alone moves components by about 5e-4.
TEST_F(FaceModelReferenceTest, AgreesWithFaceApiWithinOneThousandth) {
  float max = CompareWithReference(255);
  RecordProperty("max_abs_difference", std::to_string(max));
  EXPECT_LE(max, 1e-3f);
}

// With dlib's normalisation fed to face-api.js both compute the same
// function, so only float rounding separates them: a tight check of the
// weight mapping (any transposed or misplaced tensor is orders larger).
TEST_F(FaceModelReferenceTest, AgreesWithFaceApiToFloatRoundingOnSameInputScale) {
  float max = CompareWithReference(256);
  RecordProperty("max_abs_difference", std::to_string(max));
  EXPECT_LE(max, 1e-5f);
}

}  // namespace
}  // namespace abis::face
