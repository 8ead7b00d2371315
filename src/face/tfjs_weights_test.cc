#include "face/tfjs_weights.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace abis::face {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::uint8_t> Float32Bytes(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes;
  for (float value : values) {
    auto bits = std::bit_cast<std::uint32_t>(value);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back((bits >> shift) & 0xFF);
  }
  return bytes;
}

StatusCode CodeOf(std::string_view manifest, const std::vector<std::uint8_t>& weights) {
  Result<std::vector<TfjsTensor>> tensors = DecodeTfjsWeights(manifest, weights);
  return tensors.ok() ? StatusCode::kOk : tensors.status().code();
}

TEST(TfjsWeightsTest, DequantisesUint8AsScaleTimesQPlusMin) {
  std::string manifest = R"([{"paths": ["a.bin"], "weights": [
      {"name": "q", "shape": [2, 2], "dtype": "float32",
       "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}}]}])";
  Result<std::vector<TfjsTensor>> tensors =
      DecodeTfjsWeights(manifest, std::vector<std::uint8_t>{0, 1, 128, 255});
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ASSERT_EQ(tensors->size(), 1u);
  EXPECT_EQ((*tensors)[0].name, "q");
  EXPECT_THAT((*tensors)[0].shape, ElementsAre(2, 2));
  EXPECT_THAT((*tensors)[0].values, ElementsAre(-1.0f, -0.5f, 63.0f, 126.5f));
}

TEST(TfjsWeightsTest, RoundsDequantisedValueOnceToFloat) {
  // TF.js computes q * scale + min in double and stores a float32.
  const double scale = 0.0005260649557207145;
  const double min = -0.07101876902229645;
  std::string manifest = R"([{"weights": [{"name": "q", "shape": [1], "dtype": "float32",
      "quantization": {"dtype": "uint8", "scale": 0.0005260649557207145,
                       "min": -0.07101876902229645}}]}])";
  Result<std::vector<TfjsTensor>> tensors =
      DecodeTfjsWeights(manifest, std::vector<std::uint8_t>{200});
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  EXPECT_EQ((*tensors)[0].values[0], static_cast<float>(200 * scale + min));
}

TEST(TfjsWeightsTest, ReadsLittleEndianFloat32InManifestOrder) {
  std::string manifest = R"([
      {"weights": [{"name": "a", "shape": [3], "dtype": "float32"},
                   {"name": "b", "shape": [], "dtype": "float32",
                    "quantization": {"dtype": "uint8", "scale": 2, "min": 1}}]},
      {"weights": [{"name": "c", "shape": [1, 0, 4], "dtype": "float32"},
                   {"name": "d", "shape": [1], "dtype": "float32"}]}])";
  std::vector<std::uint8_t> weights = Float32Bytes({1.5f, -2.25f, 3.0e-7f});
  weights.push_back(7);  // b: 7 * 2 + 1.
  std::vector<std::uint8_t> d = Float32Bytes({-0.0f});
  weights.insert(weights.end(), d.begin(), d.end());

  Result<std::vector<TfjsTensor>> tensors = DecodeTfjsWeights(manifest, weights);
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ASSERT_EQ(tensors->size(), 4u);
  EXPECT_THAT((*tensors)[0].values, ElementsAre(1.5f, -2.25f, 3.0e-7f));
  EXPECT_THAT((*tensors)[1].shape, IsEmpty());
  EXPECT_THAT((*tensors)[1].values, ElementsAre(15.0f));
  EXPECT_THAT((*tensors)[2].values, IsEmpty());
  EXPECT_EQ((*tensors)[3].name, "d");
  EXPECT_TRUE(std::signbit((*tensors)[3].values[0]));
}

TEST(TfjsWeightsTest, EmptyManifestWithNoBytesIsEmpty) {
  Result<std::vector<TfjsTensor>> tensors = DecodeTfjsWeights("[]", std::vector<std::uint8_t>{});
  ASSERT_TRUE(tensors.ok());
  EXPECT_THAT(*tensors, IsEmpty());
}

TEST(TfjsWeightsTest, RejectsMalformedManifests) {
  struct Case {
    const char* label;
    std::string manifest;
  };
  // Each entry would otherwise describe one 4-byte float tensor.
  const std::vector<Case> cases = {
      {"not json", "[{"},
      {"empty text", ""},
      {"not an array", R"({"weights": []})"},
      {"group not an object", "[1]"},
      {"group without weights", R"([{"paths": []}])"},
      {"weights not an array", R"([{"weights": {}}])"},
      {"entry not an object", R"([{"weights": ["x"]}])"},
      {"missing name", R"([{"weights": [{"shape": [1], "dtype": "float32"}]}])"},
      {"empty name", R"([{"weights": [{"name": "", "shape": [1], "dtype": "float32"}]}])"},
      {"name not a string", R"([{"weights": [{"name": 3, "shape": [1], "dtype": "float32"}]}])"},
      {"missing shape", R"([{"weights": [{"name": "a", "dtype": "float32"}]}])"},
      {"shape not an array", R"([{"weights": [{"name": "a", "shape": 1, "dtype": "float32"}]}])"},
      {"negative dimension",
       R"([{"weights": [{"name": "a", "shape": [-1], "dtype": "float32"}]}])"},
      {"fractional dimension",
       R"([{"weights": [{"name": "a", "shape": [1.5], "dtype": "float32"}]}])"},
      {"string dimension", R"([{"weights": [{"name": "a", "shape": ["1"], "dtype": "float32"}]}])"},
      {"dimension above int64",
       R"([{"weights": [{"name": "a", "shape": [18446744073709551615], "dtype": "float32"}]}])"},
      {"element count overflows before a zero",
       R"([{"weights": [{"name": "a", "shape": [4294967296, 4294967296, 0],
                         "dtype": "float32"}]}])"},
      {"missing dtype", R"([{"weights": [{"name": "a", "shape": [1]}]}])"},
      {"unsupported dtype", R"([{"weights": [{"name": "a", "shape": [1], "dtype": "int32"}]}])"},
      {"quantization not an object",
       R"([{"weights": [{"name": "a", "shape": [4], "dtype": "float32", "quantization": 1}]}])"},
      {"unsupported quantization dtype",
       R"([{"weights": [{"name": "a", "shape": [2], "dtype": "float32",
           "quantization": {"dtype": "uint16", "scale": 1, "min": 0}}]}])"},
      {"quantization without scale",
       R"([{"weights": [{"name": "a", "shape": [4], "dtype": "float32",
           "quantization": {"dtype": "uint8", "min": 0}}]}])"},
      {"quantization scale not a number",
       R"([{"weights": [{"name": "a", "shape": [4], "dtype": "float32",
           "quantization": {"dtype": "uint8", "scale": "1", "min": 0}}]}])"},
      {"quantization beyond float range",
       R"([{"weights": [{"name": "a", "shape": [4], "dtype": "float32",
           "quantization": {"dtype": "uint8", "scale": 1e37, "min": 0}}]}])"},
      {"quantization min overflows double",
       R"([{"weights": [{"name": "a", "shape": [4], "dtype": "float32",
           "quantization": {"dtype": "uint8", "scale": 1, "min": -1e999}}]}])"},
      {"duplicate name",
       R"([{"weights": [{"name": "a", "shape": [], "dtype": "float32"}]},
           {"weights": [{"name": "a", "shape": [0], "dtype": "float32"}]}])"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(CodeOf(c.manifest, Float32Bytes({1.0f})), StatusCode::kInvalidArgument);
  }
}

TEST(TfjsWeightsTest, RejectsWeightsThatDoNotMatchTheManifest) {
  const std::string two_floats =
      R"([{"weights": [{"name": "a", "shape": [2], "dtype": "float32"}]}])";
  EXPECT_EQ(CodeOf(two_floats, Float32Bytes({1.0f})), StatusCode::kDataLoss);
  EXPECT_EQ(CodeOf(two_floats, {}), StatusCode::kDataLoss);
  std::vector<std::uint8_t> one_byte_short = Float32Bytes({1.0f, 2.0f});
  one_byte_short.pop_back();
  EXPECT_EQ(CodeOf(two_floats, one_byte_short), StatusCode::kDataLoss);
  std::vector<std::uint8_t> one_byte_long = Float32Bytes({1.0f, 2.0f});
  one_byte_long.push_back(0);
  EXPECT_EQ(CodeOf(two_floats, one_byte_long), StatusCode::kDataLoss);
  EXPECT_EQ(CodeOf("[]", {0}), StatusCode::kDataLoss);

  // A huge but non-overflowing shape must fail on size, not on allocation.
  EXPECT_EQ(CodeOf(R"([{"weights": [{"name": "a", "shape": [4611686018427387903],
                                     "dtype": "float32"}]}])",
                   Float32Bytes({1.0f})),
            StatusCode::kDataLoss);
}

TEST(TfjsWeightsTest, RejectsNonFiniteFloats) {
  const std::string one_float =
      R"([{"weights": [{"name": "a", "shape": [1], "dtype": "float32"}]}])";
  EXPECT_EQ(CodeOf(one_float, Float32Bytes({std::numeric_limits<float>::quiet_NaN()})),
            StatusCode::kDataLoss);
  EXPECT_EQ(CodeOf(one_float, Float32Bytes({-std::numeric_limits<float>::infinity()})),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace abis::face
