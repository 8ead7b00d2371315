#include "finger/finger_template.h"

#include <cmath>
#include <numbers>
#include <string>

#include <gtest/gtest.h>

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

FingerFeatures HandBuilt() {
  FingerFeatures f;
  f.width = 300;
  f.height = 400;
  f.capture = CaptureType::kContactless;
  f.position = FingerPosition::kRightIndex;
  f.quality = 77;
  f.ridge_period = 9.25f;
  f.minutiae.push_back({100, 200, kPi / 2, MinutiaType::kEnding, 50});
  f.minutiae.push_back({10, 20, 0.0f, MinutiaType::kBifurcation, 0});
  f.singular_points.push_back({SingularPointType::kCore, 150, 180, kPi});
  return f;
}

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Layout in docs/formats/finger_template.md; the CRC was computed
// independently (Python zlib.crc32).
const std::string kGolden = Bytes({
    0x41, 0x42, 0x46, 0x50, 0x01, 0x00,              // "ABFP", version 1
    0x01, 0x02,                                      // contactless, right index
    0xF4, 0x01, 0x2C, 0x01, 0x90, 0x01,              // 500 ppi, 300 x 400
    0x4D,                                            // quality 77
    0x00, 0x00, 0x14, 0x41,                          // ridge period 9.25f
    0x02, 0x00,                                      // 2 minutiae
    0x64, 0x00, 0xC8, 0x00, 0x00, 0x40, 0x01, 0x32,  // (100, 200), 1/4 turn, ending, 50
    0x0A, 0x00, 0x14, 0x00, 0x00, 0x00, 0x02, 0x00,  // (10, 20), 0, bifurcation, 0
    0x01,                                            // 1 singular point
    0x01, 0x96, 0x00, 0xB4, 0x00, 0x00, 0x80,        // core (150, 180), 1/2 turn
    0x57, 0xF9, 0x40, 0xF3,                          // CRC-32
});

TEST(FingerTemplateTest, GoldenBytesBothWays) {
  EXPECT_EQ(EncodeFingerTemplate(HandBuilt()), kGolden);
  Result<FingerFeatures> decoded = DecodeFingerTemplate(kGolden);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->width, 300);
  EXPECT_EQ(decoded->height, 400);
  EXPECT_EQ(decoded->capture, CaptureType::kContactless);
  EXPECT_EQ(decoded->position, FingerPosition::kRightIndex);
  EXPECT_EQ(decoded->quality, 77);
  EXPECT_EQ(decoded->ridge_period, 9.25f);
  ASSERT_EQ(decoded->minutiae.size(), 2u);
  EXPECT_EQ(decoded->minutiae[0].x, 100);
  EXPECT_NEAR(decoded->minutiae[0].angle, kPi / 2, 1e-6);
  EXPECT_EQ(decoded->minutiae[1].type, MinutiaType::kBifurcation);
  ASSERT_EQ(decoded->singular_points.size(), 1u);
  EXPECT_EQ(decoded->singular_points[0].type, SingularPointType::kCore);
  EXPECT_NEAR(decoded->singular_points[0].angle, kPi, 1e-6);
}

TEST(FingerTemplateTest, RoundTripIsStableAndAnglesKeep16Bits) {
  FingerFeatures f = HandBuilt();
  f.minutiae[0].angle = 1.2345f;
  f.minutiae.push_back({299, 399, -0.5f, MinutiaType::kOther, 100});
  const std::string encoded = EncodeFingerTemplate(f);
  Result<FingerFeatures> decoded = DecodeFingerTemplate(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_NEAR(decoded->minutiae[0].angle, 1.2345f, 2 * kPi / 65536);
  EXPECT_NEAR(decoded->minutiae[2].angle, 2 * kPi - 0.5f, 2 * kPi / 65536);
  EXPECT_EQ(EncodeFingerTemplate(*decoded), encoded);
}

TEST(FingerTemplateTest, EveryTruncationAndEveryByteFlipIsAnError) {
  for (std::size_t size = 0; size < kGolden.size(); ++size) {
    EXPECT_FALSE(DecodeFingerTemplate(kGolden.substr(0, size)).ok()) << size;
  }
  for (std::size_t i = 0; i < kGolden.size(); ++i) {
    std::string corrupt = kGolden;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x10);
    EXPECT_FALSE(DecodeFingerTemplate(corrupt).ok()) << "flip at byte " << i;
  }
  EXPECT_EQ(DecodeFingerTemplate(kGolden + "x").status().code(), StatusCode::kDataLoss);
}

TEST(FingerTemplateTest, ClearErrors) {
  std::string bytes = kGolden;
  bytes[0] = 'X';
  EXPECT_EQ(DecodeFingerTemplate(bytes).status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(DecodeFingerTemplate(bytes).status().message().find("wrong magic"), std::string::npos);
  bytes = kGolden;
  bytes[4] = 2;
  EXPECT_NE(DecodeFingerTemplate(bytes).status().message().find("version 2"), std::string::npos);
  EXPECT_NE(DecodeFingerTemplate(kGolden.substr(0, 20)).status().message().find("truncated"),
            std::string::npos);
  bytes = kGolden;
  bytes[30] = 0x7F;  // corrupt a byte: the CRC catches it first
  EXPECT_NE(DecodeFingerTemplate(bytes).status().message().find("CRC"), std::string::npos);
}

TEST(FingerTemplateTest, ValidatesFieldsBeforeEncoding) {
  FingerFeatures f = HandBuilt();
  f.minutiae[0].x = 300;
  EXPECT_EQ(EncodeFingerTemplate(f), "");
  EXPECT_NE(ValidateFingerFeatures(f).message().find("outside the image"), std::string::npos);
  f = HandBuilt();
  f.ridge_period = std::nanf("");
  EXPECT_FALSE(ValidateFingerFeatures(f).ok());
  f = HandBuilt();
  f.minutiae.assign(513, {1, 1, 0.0f, MinutiaType::kEnding, 0});
  EXPECT_FALSE(ValidateFingerFeatures(f).ok());
  f = HandBuilt();
  f.quality = 101;
  EXPECT_FALSE(ValidateFingerFeatures(f).ok());
  f = HandBuilt();
  f.position = static_cast<FingerPosition>(11);
  EXPECT_FALSE(ValidateFingerFeatures(f).ok());
  f = HandBuilt();
  f.width = 0;
  EXPECT_FALSE(ValidateFingerFeatures(f).ok());
  EXPECT_TRUE(DecodeFingerTemplate(EncodeFingerTemplate(HandBuilt())).ok());
}

TEST(FingerTemplateTest, EmptyTemplateIsValid) {
  FingerFeatures f;
  f.width = 10;
  f.height = 10;
  const std::string encoded = EncodeFingerTemplate(f);
  EXPECT_EQ(encoded.size(), kFingerTemplateFixedBytes);
  Result<FingerFeatures> decoded = DecodeFingerTemplate(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->minutiae.empty());
}

}  // namespace
}  // namespace abis::finger
