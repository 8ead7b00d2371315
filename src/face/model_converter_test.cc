#include "face/model_converter.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/file_io.h"
#include "face/face_embedder.h"
#include "testing/scratch_dir.h"

namespace abis::face {
namespace {

using ::testing::HasSubstr;

TfjsTensor MakeTensor(std::string name, std::vector<std::int64_t> shape) {
  std::int64_t count = 1;
  for (std::int64_t dim : shape) count *= dim;
  std::vector<float> values(static_cast<std::size_t>(count));
  // Small, varied values keep activations finite and non-trivial.
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * ((i * 7919) % 13) - 0.06f;
  return {std::move(name), std::move(shape), std::move(values)};
}

void AddConv(std::vector<TfjsTensor>& tensors, const std::string& prefix, std::int64_t kernel,
             std::int64_t inputs, std::int64_t filters) {
  tensors.push_back(MakeTensor(prefix + "conv/filters", {kernel, kernel, inputs, filters}));
  tensors.push_back(MakeTensor(prefix + "conv/bias", {filters}));
  tensors.push_back(MakeTensor(prefix + "scale/weights", {filters}));
  tensors.push_back(MakeTensor(prefix + "scale/biases", {filters}));
}

// The 117 tensors of face-api.js's face_recognition_model, with synthetic values.
std::vector<TfjsTensor> FaceApiShapedTensors() {
  std::vector<TfjsTensor> tensors;
  AddConv(tensors, "conv32_down/", 7, 3, 32);
  struct Stage {
    const char* name;
    std::int64_t filters;
    int blocks;
  };
  std::int64_t channels = 32;
  for (const Stage& stage : {Stage{"conv32", 32, 3}, Stage{"conv64", 64, 3},
                             Stage{"conv128", 128, 2}, Stage{"conv256", 256, 2}}) {
    std::string name = stage.name;
    if (stage.filters != 32) {
      AddConv(tensors, name + "_down/conv1/", 3, channels, stage.filters);
      AddConv(tensors, name + "_down/conv2/", 3, stage.filters, stage.filters);
    }
    for (int block = 1; block <= stage.blocks; ++block) {
      AddConv(tensors, name + "_" + std::to_string(block) + "/conv1/", 3, stage.filters,
              stage.filters);
      AddConv(tensors, name + "_" + std::to_string(block) + "/conv2/", 3, stage.filters,
              stage.filters);
    }
    channels = stage.filters;
  }
  AddConv(tensors, "conv256_down_out/conv1/", 3, 256, 256);
  AddConv(tensors, "conv256_down_out/conv2/", 3, 256, 256);
  tensors.push_back(MakeTensor("fc", {256, 128}));
  return tensors;
}

Status ConvertStatus(const std::vector<TfjsTensor>& tensors) {
  return ConvertFaceApiRecognitionTensors(tensors).status();
}

TEST(ModelConverterTest, ConvertsCompleteTensorSetIntoLoadableModel) {
  std::vector<TfjsTensor> tensors = FaceApiShapedTensors();
  ASSERT_EQ(tensors.size(), 117u);
  Result<std::string> dat = ConvertFaceApiRecognitionTensors(tensors);
  ASSERT_TRUE(dat.ok()) << dat.status().ToString();

  abis::testing::ScratchDir scratch("converter");
  std::string path = scratch.File("synthetic_face_model.dat");
  ASSERT_TRUE(WriteFileAtomically(path, *dat).ok());
  Result<std::unique_ptr<FaceEmbedder>> embedder = FaceEmbedder::Load(path);
  ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
  dlib::matrix<dlib::rgb_pixel> chip(150, 150);
  chip = dlib::rgb_pixel(90, 120, 150);
  Result<std::vector<std::vector<float>>> descriptors = (*embedder)->Embed({chip});
  ASSERT_TRUE(descriptors.ok()) << descriptors.status().ToString();
  EXPECT_EQ((*descriptors)[0].size(), 128u);
}

TEST(ModelConverterTest, RejectsMissingTensor) {
  std::vector<TfjsTensor> tensors = FaceApiShapedTensors();
  tensors.erase(tensors.begin() + 5);  // conv32_1/conv1/conv/bias.
  Status status = ConvertStatus(tensors);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("missing tensor conv32_1/conv1/conv/bias"));
}

TEST(ModelConverterTest, RejectsUnusedTensor) {
  std::vector<TfjsTensor> tensors = FaceApiShapedTensors();
  tensors.push_back(MakeTensor("conv512_1/conv1/conv/bias", {512}));
  Status status = ConvertStatus(tensors);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("conv512_1/conv1/conv/bias"));
}

TEST(ModelConverterTest, RejectsDuplicateTensor) {
  std::vector<TfjsTensor> tensors = FaceApiShapedTensors();
  tensors.push_back(tensors.back());
  EXPECT_EQ(ConvertStatus(tensors).code(), StatusCode::kInvalidArgument);
}

TEST(ModelConverterTest, RejectsWrongShapes) {
  std::vector<TfjsTensor> transposed_fc = FaceApiShapedTensors();
  transposed_fc.back().shape = {128, 256};
  Status status = ConvertStatus(transposed_fc);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("fc has shape [128,256], expected [256,128]"));

  // OIHW instead of HWIO for the stem filters.
  std::vector<TfjsTensor> oihw_stem = FaceApiShapedTensors();
  oihw_stem.front().shape = {32, 3, 7, 7};
  EXPECT_EQ(ConvertStatus(oihw_stem).code(), StatusCode::kInvalidArgument);
}

TEST(ModelConverterTest, ReportsUnreadableInputs) {
  abis::testing::ScratchDir scratch("converter");
  const std::string& dir = scratch.path();
  EXPECT_EQ(
      ConvertFaceApiRecognitionModel(dir + "/no_manifest.json", dir + "/no.bin", dir + "/out.dat")
          .code(),
      StatusCode::kNotFound);

  std::string manifest = dir + "/bad_manifest.json";
  std::string weights = dir + "/empty.bin";
  ASSERT_TRUE(WriteFileAtomically(manifest, "{not json").ok());
  ASSERT_TRUE(WriteFileAtomically(weights, "").ok());
  Status status = ConvertFaceApiRecognitionModel(manifest, weights, dir + "/out.dat");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(manifest));
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.dat"));
}

}  // namespace
}  // namespace abis::face
