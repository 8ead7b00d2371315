#include "templates/template_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "templates/crc32.h"

namespace abis {
namespace {

// Offsets of the version-1 fields in kGoldenHex's record
// (docs/formats/template.md).
constexpr std::size_t kVersionOffset = 4;
constexpr std::size_t kModalityOffset = 6;
constexpr std::size_t kAlgorithmLengthOffset = 7;
constexpr std::size_t kAlgorithmOffset = 9;  // "face/test-v1", 12 bytes.
constexpr std::size_t kDigestLengthOffset = 21;
constexpr std::size_t kQualityOffset = 29;  // After "abc123".
constexpr std::size_t kCountOffset = 33;
constexpr std::size_t kFeaturesOffset = 37;

// The golden record, computed independently of this codec (Python struct +
// zlib.crc32). If this test fails, version 1 has drifted: do not update the
// bytes, add a version 2 instead.
constexpr char kGoldenHex[] =
    "41425450"  // "ABTP"
    "0100"      // format version 1
    "01"        // modality: face
    "0c00"
    "666163652f746573742d7631"  // "face/test-v1"
    "0600"
    "616263313233"  // "abc123"
    "0000af42"      // quality 87.5
    "03000000"      // 3 features
    "0000803f"
    "000000bf"
    "0000803e"   // 1.0, -0.5, 0.25
    "a48897ad";  // CRC-32

// A version-2 record (finger: data block, no features), computed the same
// independent way. Frozen like version 1.
constexpr char kGoldenV2Hex[] =
    "41425450"                      // "ABTP"
    "0200"                          // format version 2
    "02"                            // modality: finger
    "0e00"                          // algorithm length 14
    "66696e6765722f746573742d7631"  // "finger/test-v1"
    "0000"                          // empty digest
    "00004842"                      // quality 50
    "00000000"                      // 0 features
    "05000000"                      // data length 5
    "0102030405"                    // data
    "9326be37";                     // CRC-32

Template GoldenV2Template() {
  Template tmpl;
  tmpl.header.modality = Modality::kFinger;
  tmpl.header.algorithm = "finger/test-v1";
  tmpl.header.quality = 50.0f;
  tmpl.data = {1, 2, 3, 4, 5};
  return tmpl;
}

Template GoldenTemplate() {
  Template tmpl;
  tmpl.header.modality = Modality::kFace;
  tmpl.header.algorithm = "face/test-v1";
  tmpl.header.model_digest = "abc123";
  tmpl.header.quality = 87.5f;
  tmpl.features = {1.0f, -0.5f, 0.25f};
  return tmpl;
}

std::string FromHex(std::string_view hex) {
  std::string bytes;
  for (std::size_t index = 0; index + 1 < hex.size(); index += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(index, 2)), nullptr, 16)));
  }
  return bytes;
}

std::span<const std::uint8_t> AsBytes(const std::string& bytes) {
  return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

// Rewrites the trailing CRC so a test reaches the field checks behind it.
void FixCrc(std::string& record) {
  ASSERT_GE(record.size(), 4u);
  const std::uint32_t crc = Crc32(AsBytes(record).first(record.size() - 4));
  for (int index = 0; index < 4; ++index) {
    record[record.size() - 4 + index] = static_cast<char>((crc >> (8 * index)) & 0xFF);
  }
}

void PutU16(std::string& record, std::size_t offset, std::uint16_t value) {
  record[offset] = static_cast<char>(value & 0xFF);
  record[offset + 1] = static_cast<char>(value >> 8);
}

void PutU32(std::string& record, std::size_t offset, std::uint32_t value) {
  for (int index = 0; index < 4; ++index) {
    record[offset + index] = static_cast<char>((value >> (8 * index)) & 0xFF);
  }
}

void PutF32(std::string& record, std::size_t offset, float value) {
  PutU32(record, offset, std::bit_cast<std::uint32_t>(value));
}

void ExpectSameTemplate(const Template& actual, const Template& expected) {
  EXPECT_EQ(actual.header.modality, expected.header.modality);
  EXPECT_EQ(actual.header.algorithm, expected.header.algorithm);
  EXPECT_EQ(actual.header.model_digest, expected.header.model_digest);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(actual.header.quality),
            std::bit_cast<std::uint32_t>(expected.header.quality));
  ASSERT_EQ(actual.features.size(), expected.features.size());
  for (std::size_t index = 0; index < actual.features.size(); ++index) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(actual.features[index]),
              std::bit_cast<std::uint32_t>(expected.features[index]))
        << "feature " << index;
  }
}

StatusCode DecodeCode(const std::string& record) {
  Result<Template> decoded = DecodeTemplate(record);
  return decoded.ok() ? StatusCode::kOk : decoded.status().code();
}

TEST(Crc32Test, MatchesStandardCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc32(AsBytes(check)), 0xCBF43926u);
  EXPECT_EQ(Crc32({}), 0u);
  EXPECT_EQ(Crc32Extend(Crc32(AsBytes(check).first(4)), AsBytes(check).subspan(4)), 0xCBF43926u);
}

TEST(TemplateCodecTest, GoldenVersion1Bytes) {
  const std::string golden = FromHex(kGoldenHex);
  ASSERT_EQ(golden.size(), 53u);
  EXPECT_EQ(EncodeTemplate(GoldenTemplate()), golden);

  Result<Template> decoded = DecodeTemplate(golden);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameTemplate(*decoded, GoldenTemplate());
}

TEST(TemplateCodecTest, EncodedSizeMatchesLayout) {
  Template tmpl = GoldenTemplate();
  tmpl.features.assign(128, 0.5f);
  EXPECT_EQ(EncodeTemplate(tmpl).size(), kTemplateFixedBytes + 12 + 6 + 4 * 128);
}

TEST(TemplateCodecTest, RoundTripsEdgeValues) {
  Template tmpl;
  tmpl.header.modality = Modality::kFinger;
  tmpl.header.algorithm = std::string(kMaxTemplateAlgorithmBytes, 'a');
  tmpl.header.model_digest = std::string(kMaxTemplateModelDigestBytes, '~');
  tmpl.header.quality = kMaxTemplateQuality;
  tmpl.features = {-0.0f, std::numeric_limits<float>::denorm_min(),
                   std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                   std::numeric_limits<float>::min()};
  const std::string encoded = EncodeTemplate(tmpl);
  ASSERT_EQ(encoded.size(), kTemplateFixedBytes + kMaxTemplateAlgorithmBytes +
                                kMaxTemplateModelDigestBytes + 4 * tmpl.features.size());
  Result<Template> decoded = DecodeTemplate(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameTemplate(*decoded, tmpl);
  EXPECT_EQ(EncodeTemplate(*decoded), encoded);
}

TEST(TemplateCodecTest, RoundTripsRandomTemplates) {
  std::mt19937 random(42);
  std::normal_distribution<float> feature(0.0f, 1.0f);
  std::uniform_real_distribution<float> quality(0.0f, 100.0f);
  for (std::size_t size :
       {std::size_t{1}, std::size_t{128}, std::size_t{513}, kMaxTemplateFeatures}) {
    Template tmpl;
    tmpl.header.modality = size % 2 ? Modality::kFinger : Modality::kFace;
    tmpl.header.algorithm = "face/dlib-resnet-v1";
    tmpl.header.model_digest = std::string(64, 'f');
    tmpl.header.quality = quality(random);
    for (std::size_t index = 0; index < size; ++index) tmpl.features.push_back(feature(random));

    const std::string encoded = EncodeTemplate(tmpl);
    // Through the span overload this time.
    Result<Template> decoded = DecodeTemplate(AsBytes(encoded));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ExpectSameTemplate(*decoded, tmpl);
  }
}

TEST(TemplateCodecTest, EmptyModelDigestRoundTrips) {
  Template tmpl = GoldenTemplate();
  tmpl.header.model_digest.clear();
  Result<Template> decoded = DecodeTemplate(EncodeTemplate(tmpl));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.model_digest, "");
}

TEST(TemplateCodecTest, ValidateRejectsBadTemplatesAndEncodeWritesNothing) {
  std::vector<Template> bad;
  auto with = [&](auto mutate) {
    Template tmpl = GoldenTemplate();
    mutate(tmpl);
    bad.push_back(tmpl);
  };
  with([](Template& t) { t.header.modality = static_cast<Modality>(0); });
  with([](Template& t) { t.header.modality = static_cast<Modality>(7); });
  with([](Template& t) { t.header.algorithm.clear(); });
  with([](Template& t) { t.header.algorithm.assign(kMaxTemplateAlgorithmBytes + 1, 'a'); });
  with([](Template& t) { t.header.algorithm = "face\nx"; });
  with([](Template& t) { t.header.model_digest.assign(kMaxTemplateModelDigestBytes + 1, 'a'); });
  with([](Template& t) { t.header.model_digest = std::string("ab\0c", 4); });
  with([](Template& t) { t.header.model_digest = "\xc3\xa9"; });
  with([](Template& t) { t.header.quality = std::nanf(""); });
  with([](Template& t) { t.header.quality = -0.5f; });
  with([](Template& t) { t.header.quality = 100.5f; });
  with([](Template& t) { t.features.clear(); });
  with([](Template& t) { t.features.assign(kMaxTemplateFeatures + 1, 0.0f); });
  with([](Template& t) { t.features[1] = std::numeric_limits<float>::quiet_NaN(); });
  with([](Template& t) { t.features[2] = std::numeric_limits<float>::infinity(); });
  with([](Template& t) { t.features[0] = -std::numeric_limits<float>::infinity(); });
  with([](Template& t) { t.data.assign(kMaxTemplateDataBytes + 1, 0); });
  for (std::size_t index = 0; index < bad.size(); ++index) {
    Status status = ValidateTemplate(bad[index]);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "case " << index;
    EXPECT_EQ(EncodeTemplate(bad[index]), "") << "case " << index;
  }
  EXPECT_TRUE(ValidateTemplate(GoldenTemplate()).ok());
}

TEST(TemplateCodecTest, GoldenVersion2Bytes) {
  const std::string golden = FromHex(kGoldenV2Hex);
  EXPECT_EQ(EncodeTemplate(GoldenV2Template()), golden);
  Result<Template> decoded = DecodeTemplate(golden);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.modality, Modality::kFinger);
  EXPECT_EQ(decoded->header.algorithm, "finger/test-v1");
  EXPECT_TRUE(decoded->features.empty());
  EXPECT_EQ(decoded->data, GoldenV2Template().data);
}

TEST(TemplateCodecTest, TemplatesWithFeaturesAndDataRoundTripAsVersion2) {
  Template tmpl = GoldenTemplate();
  tmpl.data.assign(kMaxTemplateDataBytes, 0xA5);
  const std::string record = EncodeTemplate(tmpl);
  ASSERT_EQ(record.size(), kMaxEncodedTemplateBytes - 4 * (kMaxTemplateFeatures - 3) -
                               (kMaxTemplateAlgorithmBytes - 12) -
                               (kMaxTemplateModelDigestBytes - 6));
  EXPECT_EQ(record[kVersionOffset], 2);
  Result<Template> decoded = DecodeTemplate(record);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameTemplate(*decoded, tmpl);
  EXPECT_EQ(decoded->data, tmpl.data);
}

TEST(TemplateCodecTest, Version2WithoutDataIsNotACanonicalRecord) {
  // A version-1 record relabelled version 2 with an empty data block would be
  // a second encoding of the same template.
  std::string record = FromHex(kGoldenHex);
  PutU16(record, kVersionOffset, 2);
  record.insert(record.size() - 4, std::string(4, '\0'));
  FixCrc(record);
  EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument);

  std::string no_length = FromHex(kGoldenHex);
  PutU16(no_length, kVersionOffset, 2);
  FixCrc(no_length);
  EXPECT_EQ(DecodeCode(no_length), StatusCode::kDataLoss);
}

TEST(TemplateCodecTest, EveryTruncationOfVersion2Fails) {
  const std::string golden = FromHex(kGoldenV2Hex);
  for (std::size_t length = 0; length < golden.size(); ++length) {
    EXPECT_NE(DecodeCode(golden.substr(0, length)), StatusCode::kOk) << length;
  }
  std::string long_data = golden;
  PutU32(long_data, long_data.size() - 13, 6);  // Claims one byte more than it has.
  FixCrc(long_data);
  EXPECT_EQ(DecodeCode(long_data), StatusCode::kDataLoss);
}

TEST(TemplateCodecTest, RejectsInputsThatAreNotTemplates) {
  EXPECT_EQ(DecodeCode(""), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeCode("ABTP\x01"), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeCode("\x89PNG\r\n\x1a\n and more bytes than the header needs....."),
            StatusCode::kInvalidArgument);

  std::string wrong_magic = FromHex(kGoldenHex);
  wrong_magic[0] = 'X';
  FixCrc(wrong_magic);
  EXPECT_EQ(DecodeCode(wrong_magic), StatusCode::kInvalidArgument);
}

TEST(TemplateCodecTest, RejectsUnsupportedVersions) {
  for (std::uint16_t version : {0, 3, 0xFFFF}) {
    std::string record = FromHex(kGoldenHex);
    PutU16(record, kVersionOffset, version);
    FixCrc(record);
    Result<Template> decoded = DecodeTemplate(record);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find("version"), std::string::npos);
  }
}

TEST(TemplateCodecTest, EveryTruncationFails) {
  const std::string golden = FromHex(kGoldenHex);
  for (std::size_t length = 0; length < golden.size(); ++length) {
    const StatusCode code = DecodeCode(golden.substr(0, length));
    EXPECT_EQ(code, length < 6 ? StatusCode::kInvalidArgument : StatusCode::kDataLoss)
        << "length " << length;
  }
}

TEST(TemplateCodecTest, EverySingleBitFlipFails) {
  const std::string golden = FromHex(kGoldenHex);
  for (std::size_t bit = 0; bit < golden.size() * 8; ++bit) {
    std::string record = golden;
    record[bit / 8] = static_cast<char>(record[bit / 8] ^ (1 << (bit % 8)));
    const StatusCode code = DecodeCode(record);
    EXPECT_NE(code, StatusCode::kOk) << "bit " << bit;
    // The magic and version identify the record; past them only the CRC
    // can notice the flip.
    if (bit / 8 >= kModalityOffset) {
      EXPECT_EQ(code, StatusCode::kDataLoss) << "bit " << bit;
    }
  }
}

TEST(TemplateCodecTest, TrailingBytesAreDataLoss) {
  std::string record = FromHex(kGoldenHex);
  record.insert(record.size() - 4, "\0", 1);
  FixCrc(record);
  EXPECT_EQ(DecodeCode(record), StatusCode::kDataLoss);
}

TEST(TemplateCodecTest, OversizedInputIsRejectedBeforeParsing) {
  std::string record = FromHex(kGoldenHex);
  record.insert(record.size() - 4, std::string(kMaxEncodedTemplateBytes, '\0'));
  FixCrc(record);
  EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument);
}

TEST(TemplateCodecTest, RejectsUnknownModality) {
  for (std::uint8_t modality : {0, 3, 255}) {
    std::string record = FromHex(kGoldenHex);
    record[kModalityOffset] = static_cast<char>(modality);
    FixCrc(record);
    EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument) << int{modality};
  }
}

TEST(TemplateCodecTest, RejectsBadAlgorithmLengths) {
  std::string empty = FromHex(kGoldenHex);
  PutU16(empty, kAlgorithmLengthOffset, 0);
  FixCrc(empty);
  EXPECT_EQ(DecodeCode(empty), StatusCode::kInvalidArgument);

  std::string oversized = FromHex(kGoldenHex);
  PutU16(oversized, kAlgorithmLengthOffset, kMaxTemplateAlgorithmBytes + 1);
  FixCrc(oversized);
  EXPECT_EQ(DecodeCode(oversized), StatusCode::kInvalidArgument);

  // Within the bound but longer than the record: the lengths disagree.
  std::string overrun = FromHex(kGoldenHex);
  PutU16(overrun, kAlgorithmLengthOffset, 200);
  FixCrc(overrun);
  EXPECT_EQ(DecodeCode(overrun), StatusCode::kDataLoss);

  // Shorter than written: the rest no longer parses as the fields that follow.
  std::string underrun = FromHex(kGoldenHex);
  PutU16(underrun, kAlgorithmLengthOffset, 11);
  FixCrc(underrun);
  EXPECT_NE(DecodeCode(underrun), StatusCode::kOk);
}

TEST(TemplateCodecTest, RejectsNonPrintableStrings) {
  std::string algorithm = FromHex(kGoldenHex);
  algorithm[kAlgorithmOffset + 4] = '\x01';
  FixCrc(algorithm);
  EXPECT_EQ(DecodeCode(algorithm), StatusCode::kInvalidArgument);

  std::string digest = FromHex(kGoldenHex);
  digest[kDigestLengthOffset + 2] = '\x80';
  FixCrc(digest);
  EXPECT_EQ(DecodeCode(digest), StatusCode::kInvalidArgument);
}

TEST(TemplateCodecTest, RejectsOversizedModelDigest) {
  std::string record = FromHex(kGoldenHex);
  PutU16(record, kDigestLengthOffset, kMaxTemplateModelDigestBytes + 1);
  FixCrc(record);
  EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument);
}

TEST(TemplateCodecTest, RejectsBadQuality) {
  for (float quality : {std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(), -1.0f, 100.25f}) {
    std::string record = FromHex(kGoldenHex);
    PutF32(record, kQualityOffset, quality);
    FixCrc(record);
    EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument) << quality;
  }
}

TEST(TemplateCodecTest, RejectsBadFeatureCounts) {
  for (std::uint32_t count :
       {0u, static_cast<std::uint32_t>(kMaxTemplateFeatures + 1), 0xFFFFFFFFu}) {
    std::string record = FromHex(kGoldenHex);
    PutU32(record, kCountOffset, count);
    FixCrc(record);
    EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument) << count;
  }
  // Within the bound, but the record holds 3 features.
  for (std::uint32_t count : {2u, 4u, static_cast<std::uint32_t>(kMaxTemplateFeatures)}) {
    std::string record = FromHex(kGoldenHex);
    PutU32(record, kCountOffset, count);
    FixCrc(record);
    EXPECT_EQ(DecodeCode(record), StatusCode::kDataLoss) << count;
  }
}

TEST(TemplateCodecTest, RejectsNonFiniteFeatures) {
  for (float value :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::signaling_NaN(),
        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    for (std::size_t feature = 0; feature < 3; ++feature) {
      std::string record = FromHex(kGoldenHex);
      PutF32(record, kFeaturesOffset + 4 * feature, value);
      FixCrc(record);
      EXPECT_EQ(DecodeCode(record), StatusCode::kInvalidArgument) << feature;
    }
  }
}

TEST(TemplateCodecTest, CrcMismatchIsDataLoss) {
  std::string record = FromHex(kGoldenHex);
  record.back() = static_cast<char>(record.back() ^ 0x01);
  Result<Template> decoded = DecodeTemplate(record);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("CRC"), std::string::npos);
}

}  // namespace
}  // namespace abis
