#include "finger/ansi378.h"

#include <numbers>
#include <string>

#include <gtest/gtest.h>

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

MinutiaeRecord HandBuiltRecord() {
  MinutiaeRecord record;
  record.cbeff_product_id = 0x00330001;
  record.capture_equipment_compliance = 8;
  record.capture_equipment_id = 0x123;
  record.width = 500;
  record.height = 500;
  MinutiaeView view;
  view.position = FingerPosition::kLeftIndex;
  view.impression_type = 0;
  view.quality = 60;
  view.minutiae.push_back({250, 300, kPi, MinutiaType::kBifurcation, 70});  // 180 deg = 90 units
  record.views.push_back(view);
  return record;
}

const std::string kGoldenAnsi = Bytes({
    'F',  'M',  'R',  0,    ' ',  '2',  '0', 0,  // format identifier, version
    0x00, 0x26,                                  // record length 38 (2-byte form)
    0x00, 0x33, 0x00, 0x01,                      // CBEFF product identifier
    0x81, 0x23,                                  // compliance 8, equipment 0x123
    0x01, 0xF4, 0x01, 0xF4,                      // 500 x 500
    0x00, 0xC5, 0x00, 0xC5,                      // 197 px/cm
    0x01, 0x00,                                  // one view, reserved
    0x07, 0x00, 0x3C, 0x01,              // left index, view 0 / live plain, quality 60, 1 minutia
    0x80, 0xFA, 0x01, 0x2C, 0x5A, 0x46,  // bifurcation (250, 300), 90 x 2 degrees, quality 70
    0x00, 0x00,                          // no extended data
});

TEST(Ansi378Test, GoldenBytesBothWays) {
  Result<std::string> encoded = EncodeAnsi378(HandBuiltRecord());
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(*encoded, kGoldenAnsi);
  Result<MinutiaeRecord> decoded = DecodeAnsi378(kGoldenAnsi);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->cbeff_product_id, 0x00330001u);
  EXPECT_EQ(decoded->capture_equipment_compliance, 8);
  EXPECT_EQ(decoded->capture_equipment_id, 0x123);
  ASSERT_EQ(decoded->views.size(), 1u);
  EXPECT_EQ(decoded->views[0].position, FingerPosition::kLeftIndex);
  EXPECT_NEAR(decoded->views[0].minutiae[0].angle, kPi, 1e-6);
  EXPECT_EQ(*EncodeAnsi378(*decoded), kGoldenAnsi);
}

TEST(Ansi378Test, AnglesRoundToTwoDegrees) {
  MinutiaeRecord record = HandBuiltRecord();
  record.views[0].minutiae[0].angle = 2 * kPi - 0.001f;  // rounds to 360 -> wraps to 0
  Result<MinutiaeRecord> decoded = DecodeAnsi378(*EncodeAnsi378(record));
  ASSERT_TRUE(decoded.ok());
  EXPECT_NEAR(decoded->views[0].minutiae[0].angle, 0.0f, 1e-6);
  record.views[0].minutiae[0].angle = 3.0f * kPi / 180;  // 3 degrees -> 2 units (4 deg)
  decoded = DecodeAnsi378(*EncodeAnsi378(record));
  EXPECT_NEAR(decoded->views[0].minutiae[0].angle, 4.0f * kPi / 180, 1e-5);
}

TEST(Ansi378Test, BadAngleIsAnError) {
  std::string bytes = kGoldenAnsi;
  bytes[34] = static_cast<char>(180);
  Result<MinutiaeRecord> decoded = DecodeAnsi378(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("bad angle 180"), std::string::npos);
}

TEST(Ansi378Test, EveryTruncationIsAnError) {
  for (std::size_t size = 0; size < kGoldenAnsi.size(); ++size) {
    EXPECT_FALSE(DecodeAnsi378(kGoldenAnsi.substr(0, size)).ok()) << size;
  }
}

TEST(Ansi378Test, LongRecordsUseTheSixByteLength) {
  MinutiaeRecord record = HandBuiltRecord();
  record.views.clear();
  MinutiaeView view;
  for (int m = 0; m < 255; ++m) {
    view.minutiae.push_back({m, m, 0.0f, MinutiaType::kEnding, 10});
  }
  for (int v = 0; v < 50; ++v) {  // 50 x 1536 bytes > 65535
    view.view_number = static_cast<std::uint8_t>(v % 16);
    record.views.push_back(view);
  }
  Result<std::string> encoded = EncodeAnsi378(record);
  ASSERT_TRUE(encoded.ok());
  ASSERT_GT(encoded->size(), 65535u);
  EXPECT_EQ((*encoded)[8], 0);
  EXPECT_EQ((*encoded)[9], 0);
  Result<MinutiaeRecord> decoded = DecodeAnsi378(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->views.size(), 50u);
  EXPECT_EQ(*EncodeAnsi378(*decoded), *encoded);
  // A truncated long record fails like a short one.
  EXPECT_FALSE(DecodeAnsi378(encoded->substr(0, encoded->size() - 1)).ok());
}

TEST(Ansi378Test, RejectsLengthMismatchAndCoordinatesOutsideTheImage) {
  std::string bytes = kGoldenAnsi;
  bytes[9] = 0x27;
  EXPECT_EQ(DecodeAnsi378(bytes).status().code(), StatusCode::kDataLoss);
  bytes = kGoldenAnsi;
  bytes[32] = 0x01;  // y = 0x1F4 + ... = 500 -> outside
  bytes[33] = static_cast<char>(0xF4);
  Result<MinutiaeRecord> decoded = DecodeAnsi378(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("outside"), std::string::npos);
}

}  // namespace
}  // namespace abis::finger
