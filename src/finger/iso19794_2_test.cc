#include "finger/iso19794_2.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "finger/ansi378.h"

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// A hand-built record: 300x400 at 197 px/cm, one right-index view of
// quality 80 with an ending at (100, 200) pointing up (90 degrees = 64/256
// turn) of quality 50 and a bifurcation at (10, 20) at 0 degrees.
MinutiaeRecord HandBuiltRecord() {
  MinutiaeRecord record;
  record.width = 300;
  record.height = 400;
  MinutiaeView view;
  view.position = FingerPosition::kRightIndex;
  view.quality = 80;
  view.minutiae.push_back({100, 200, kPi / 2, MinutiaType::kEnding, 50});
  view.minutiae.push_back({10, 20, 0.0f, MinutiaType::kBifurcation, 0});
  record.views.push_back(view);
  return record;
}

const std::string kGoldenIso = Bytes({
    'F',  'M',  'R',  0,    ' ',  '2',  '0', 0,  // format identifier, version
    0x00, 0x00, 0x00, 0x2A,                      // record length 42
    0x00, 0x00,                                  // capture equipment
    0x01, 0x2C, 0x01, 0x90,                      // 300 x 400
    0x00, 0xC5, 0x00, 0xC5,                      // 197 px/cm each way
    0x01, 0x00,                                  // one view, reserved
    0x02, 0x00, 0x50, 0x02,              // right index, view 0 / live plain, quality 80, 2 minutiae
    0x40, 0x64, 0x00, 0xC8, 0x40, 0x32,  // ending (100, 200), 64/256 turn, quality 50
    0x80, 0x0A, 0x00, 0x14, 0x00, 0x00,  // bifurcation (10, 20), 0, quality 0
    0x00, 0x00,                          // no extended data
});

TEST(Iso19794_2Test, EncodesTheGoldenBytes) {
  Result<std::string> encoded = EncodeIso19794_2(HandBuiltRecord());
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(*encoded, kGoldenIso);
}

TEST(Iso19794_2Test, DecodesTheGoldenBytes) {
  Result<MinutiaeRecord> decoded = DecodeIso19794_2(kGoldenIso);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->width, 300);
  EXPECT_EQ(decoded->height, 400);
  EXPECT_EQ(decoded->x_resolution, 197);
  ASSERT_EQ(decoded->views.size(), 1u);
  const MinutiaeView& view = decoded->views[0];
  EXPECT_EQ(view.position, FingerPosition::kRightIndex);
  EXPECT_EQ(view.quality, 80);
  ASSERT_EQ(view.minutiae.size(), 2u);
  EXPECT_EQ(view.minutiae[0].x, 100);
  EXPECT_EQ(view.minutiae[0].y, 200);
  EXPECT_NEAR(view.minutiae[0].angle, kPi / 2, 1e-6);
  EXPECT_EQ(view.minutiae[0].type, MinutiaType::kEnding);
  EXPECT_EQ(view.minutiae[0].quality, 50);
  EXPECT_EQ(view.minutiae[1].type, MinutiaType::kBifurcation);
  Result<std::string> again = EncodeIso19794_2(*decoded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, kGoldenIso);
}

TEST(Iso19794_2Test, RoundTripsExtendedDataAndManyViews) {
  MinutiaeRecord record = HandBuiltRecord();
  // A core/delta area (type 2) of 4 data bytes, carried opaquely.
  record.views[0].extended_data = {0x00, 0x02, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44};
  MinutiaeView second = record.views[0];
  second.position = FingerPosition::kLeftThumb;
  second.view_number = 1;
  second.impression_type = 1;
  second.extended_data.clear();
  record.views.push_back(second);
  Result<std::string> encoded = EncodeIso19794_2(record);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  Result<MinutiaeRecord> decoded = DecodeIso19794_2(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->views.size(), 2u);
  EXPECT_EQ(decoded->views[0].extended_data, record.views[0].extended_data);
  EXPECT_EQ(decoded->views[1].position, FingerPosition::kLeftThumb);
  EXPECT_EQ(decoded->views[1].view_number, 1);
  EXPECT_EQ(decoded->views[1].impression_type, 1);
  EXPECT_EQ(*EncodeIso19794_2(*decoded), *encoded);
}

TEST(Iso19794_2Test, AnglesRoundToTheNearest256thOfATurn) {
  MinutiaeRecord record = HandBuiltRecord();
  record.views[0].minutiae[0].angle = 2 * kPi * 100.4f / 256;
  record.views[0].minutiae[1].angle = -2 * kPi / 256;  // wraps to 255
  Result<MinutiaeRecord> decoded = DecodeIso19794_2(*EncodeIso19794_2(record));
  ASSERT_TRUE(decoded.ok());
  EXPECT_NEAR(decoded->views[0].minutiae[0].angle, 2 * kPi * 100 / 256, 1e-5);
  EXPECT_NEAR(decoded->views[0].minutiae[1].angle, 2 * kPi * 255 / 256, 1e-5);
}

TEST(Iso19794_2Test, EveryTruncationIsAnError) {
  for (std::size_t size = 0; size < kGoldenIso.size(); ++size) {
    Result<MinutiaeRecord> decoded = DecodeIso19794_2(kGoldenIso.substr(0, size));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << size << " bytes decoded";
  }
  EXPECT_EQ(DecodeIso19794_2(kGoldenIso.substr(0, 20)).status().code(), StatusCode::kDataLoss);
}

void ExpectError(std::string bytes, StatusCode code, const std::string& fragment) {
  Result<MinutiaeRecord> decoded = DecodeIso19794_2(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), code) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(fragment), std::string::npos)
      << decoded.status().ToString();
}

TEST(Iso19794_2Test, RejectsMalformedRecordsWithClearErrors) {
  std::string bytes = kGoldenIso;
  bytes[1] = 'X';
  ExpectError(bytes, StatusCode::kInvalidArgument, "wrong magic");
  bytes = kGoldenIso;
  bytes[5] = '1';
  ExpectError(bytes, StatusCode::kInvalidArgument, "version");
  bytes = kGoldenIso + std::string(1, '\0');
  ExpectError(bytes, StatusCode::kDataLoss, "length field says 42");
  bytes = kGoldenIso;
  bytes[27] = static_cast<char>(200);  // minutia count
  ExpectError(bytes, StatusCode::kInvalidArgument, "impossible minutia count 200");
  bytes = kGoldenIso;
  bytes[22] = 0;  // no views
  ExpectError(bytes, StatusCode::kInvalidArgument, "no finger views");
  bytes = kGoldenIso;
  bytes[22] = 100;  // more views than bytes
  ExpectError(bytes, StatusCode::kInvalidArgument, "impossible 100 finger views");
  bytes = kGoldenIso;
  bytes[28] = 0x41;  // x = 0x12C + ... -> x = 300 + ... outside
  bytes[29] = 0x2C;
  ExpectError(bytes, StatusCode::kInvalidArgument, "outside the 300x400 image");
  bytes = kGoldenIso;
  bytes[28] = static_cast<char>(0xC0);  // type bits 11
  ExpectError(bytes, StatusCode::kInvalidArgument, "reserved minutia type");
  bytes = kGoldenIso;
  bytes[33] = 101;
  ExpectError(bytes, StatusCode::kInvalidArgument, "quality 101");
  bytes = kGoldenIso;
  bytes[24] = 11;
  ExpectError(bytes, StatusCode::kInvalidArgument, "unknown finger position 11");
  bytes = kGoldenIso;
  bytes[14] = 0;
  bytes[15] = 0;
  ExpectError(bytes, StatusCode::kInvalidArgument, "image size 0x400");
  bytes = kGoldenIso;
  bytes[41] = 2;  // extended data length 2 with no bytes behind it
  ExpectError(bytes, StatusCode::kInvalidArgument, "extended data length 2");
}

TEST(Iso19794_2Test, RejectsMalformedExtendedDataArea) {
  MinutiaeRecord record = HandBuiltRecord();
  record.views[0].extended_data = {0x00, 0x02, 0x00, 0x02};  // area shorter than its header
  Result<std::string> encoded = EncodeIso19794_2(record);
  ASSERT_FALSE(encoded.ok());
  EXPECT_NE(encoded.status().message().find("shorter than its 4-byte header"), std::string::npos);
}

TEST(Iso19794_2Test, EncoderValidates) {
  MinutiaeRecord record = HandBuiltRecord();
  record.views[0].minutiae[0].x = 300;
  EXPECT_EQ(EncodeIso19794_2(record).status().code(), StatusCode::kInvalidArgument);
  record = HandBuiltRecord();
  record.views.clear();
  EXPECT_EQ(EncodeIso19794_2(record).status().code(), StatusCode::kInvalidArgument);
  record = HandBuiltRecord();
  record.views[0].minutiae[0].angle = std::nanf("");
  EXPECT_EQ(EncodeIso19794_2(record).status().code(), StatusCode::kInvalidArgument);
}

TEST(Iso19794_2Test, ViewToFeaturesRescalesTo500Ppi) {
  MinutiaeRecord record = HandBuiltRecord();
  record.x_resolution = record.y_resolution = 394;  // ~1000 ppi
  Result<FingerFeatures> features = ViewToFeatures(record, 0);
  ASSERT_TRUE(features.ok());
  EXPECT_EQ(features->width, 150);
  EXPECT_EQ(features->height, 200);
  EXPECT_EQ(features->minutiae[0].x, 50);
  EXPECT_EQ(features->minutiae[0].y, 100);
  EXPECT_NEAR(features->minutiae[0].angle, kPi / 2, 1e-5);
  EXPECT_EQ(features->position, FingerPosition::kRightIndex);
  EXPECT_EQ(ViewToFeatures(record, 1).status().code(), StatusCode::kOutOfRange);

  Result<FingerFeatures> native = ViewToFeatures(HandBuiltRecord(), 0);
  ASSERT_TRUE(native.ok());
  EXPECT_EQ(native->minutiae[0].x, 100);
  MinutiaeRecord back = RecordFromFeatures(*native);
  EXPECT_EQ(*EncodeIso19794_2(back), kGoldenIso);
}

TEST(Iso19794_2Test, ConvertsToAnsi378AndBack) {
  Result<std::string> ansi = EncodeAnsi378(*DecodeIso19794_2(kGoldenIso));
  ASSERT_TRUE(ansi.ok());
  Result<MinutiaeRecord> decoded = DecodeAnsi378(*ansi);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*EncodeIso19794_2(*decoded), kGoldenIso);  // 90 degrees is exact in both units
}

// Every ISO template shipped with the FVC data (made by another extractor)
// must decode and re-encode to its own bytes.
TEST(Iso19794_2Test, ParsesEverySharedTemplate) {
  const std::filesystem::path root =
      std::filesystem::path(ABIS_SHARED_DATA_DIR) / "fingerprint_templates";
  if (!std::filesystem::is_directory(root)) GTEST_SKIP() << "no shared data at " << root;
  int parsed = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".iso") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    Result<MinutiaeRecord> record = DecodeIso19794_2(bytes);
    ASSERT_TRUE(record.ok()) << entry.path() << ": " << record.status().ToString();
    ASSERT_EQ(record->views.size(), 1u);
    EXPECT_GT(record->views[0].minutiae.size(), 5u) << entry.path();
    Result<std::string> again = EncodeIso19794_2(*record);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, bytes) << entry.path();
    ++parsed;
  }
  EXPECT_EQ(parsed, 320);
}

}  // namespace
}  // namespace abis::finger
