#include "templates/template_codec.h"

#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include "templates/crc32.h"

namespace abis {
namespace {

// Features are stored as IEEE-754 binary32 bit patterns.
static_assert(std::numeric_limits<float>::is_iec559);
static_assert(sizeof(float) == sizeof(std::uint32_t));

constexpr char kMagic[4] = {'A', 'B', 'T', 'P'};
constexpr std::size_t kCrcBytes = 4;

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7E) return false;
  }
  return true;
}

bool IsKnownModality(std::uint8_t value) {
  return value == static_cast<std::uint8_t>(Modality::kFace) ||
         value == static_cast<std::uint8_t>(Modality::kFinger);
}

bool IsValidQuality(float quality) {
  return std::isfinite(quality) && quality >= kMinTemplateQuality && quality <= kMaxTemplateQuality;
}

// Appends little-endian fields; byte shifts keep the layout independent of
// the host's byte order.
class Writer {
 public:
  explicit Writer(std::size_t capacity) { out_.reserve(capacity); }

  void U8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void U16(std::uint16_t value) {
    U8(static_cast<std::uint8_t>(value));
    U8(static_cast<std::uint8_t>(value >> 8));
  }
  void U32(std::uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) U8(static_cast<std::uint8_t>(value >> shift));
  }
  void F32(float value) { U32(std::bit_cast<std::uint32_t>(value)); }
  void Bytes(std::string_view bytes) { out_.append(bytes); }

  std::span<const std::uint8_t> written() const {
    return {reinterpret_cast<const std::uint8_t*>(out_.data()), out_.size()};
  }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

// Bounds-checked little-endian reads; each returns false, consuming nothing,
// when fewer bytes remain than it needs.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t remaining() const { return bytes_.size() - position_; }

  bool U8(std::uint8_t& value) {
    if (remaining() < 1) return false;
    value = bytes_[position_++];
    return true;
  }
  bool U16(std::uint16_t& value) {
    if (remaining() < 2) return false;
    value = static_cast<std::uint16_t>(bytes_[position_] | (bytes_[position_ + 1] << 8));
    position_ += 2;
    return true;
  }
  bool U32(std::uint32_t& value) {
    if (remaining() < 4) return false;
    value = 0;
    for (int index = 3; index >= 0; --index) {
      value = (value << 8) | bytes_[position_ + static_cast<std::size_t>(index)];
    }
    position_ += 4;
    return true;
  }
  bool F32(float& value) {
    std::uint32_t bits = 0;
    if (!U32(bits)) return false;
    value = std::bit_cast<float>(bits);
    return true;
  }
  bool String(std::size_t length, std::string& value) {
    if (remaining() < length) return false;
    value.assign(reinterpret_cast<const char*>(bytes_.data() + position_), length);
    position_ += length;
    return true;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

std::uint32_t LoadU32(const std::uint8_t* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) | (static_cast<std::uint32_t>(bytes[1]) << 8) |
         (static_cast<std::uint32_t>(bytes[2]) << 16) |
         (static_cast<std::uint32_t>(bytes[3]) << 24);
}

Status Truncated(std::string_view field) {
  return DataLossError("template record truncated in " + std::string(field));
}

// Decodes the payload of a version-1 or version-2 record: everything between
// the version field and the CRC, which the caller has already checked.
Result<Template> DecodePayload(std::uint16_t version, std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  Template tmpl;

  std::uint8_t modality = 0;
  if (!reader.U8(modality)) return Truncated("modality");
  if (!IsKnownModality(modality)) {
    return InvalidArgumentError("template has unknown modality " + std::to_string(modality));
  }
  tmpl.header.modality = static_cast<Modality>(modality);

  std::uint16_t algorithm_length = 0;
  if (!reader.U16(algorithm_length)) return Truncated("algorithm length");
  if (algorithm_length == 0 || algorithm_length > kMaxTemplateAlgorithmBytes) {
    return InvalidArgumentError("template algorithm length " + std::to_string(algorithm_length) +
                                " outside 1.." + std::to_string(kMaxTemplateAlgorithmBytes));
  }
  if (!reader.String(algorithm_length, tmpl.header.algorithm)) return Truncated("algorithm");
  if (!IsPrintableAscii(tmpl.header.algorithm)) {
    return InvalidArgumentError("template algorithm is not printable ASCII");
  }

  std::uint16_t digest_length = 0;
  if (!reader.U16(digest_length)) return Truncated("model digest length");
  if (digest_length > kMaxTemplateModelDigestBytes) {
    return InvalidArgumentError("template model digest length " + std::to_string(digest_length) +
                                " exceeds " + std::to_string(kMaxTemplateModelDigestBytes));
  }
  if (!reader.String(digest_length, tmpl.header.model_digest)) return Truncated("model digest");
  if (!IsPrintableAscii(tmpl.header.model_digest)) {
    return InvalidArgumentError("template model digest is not printable ASCII");
  }

  if (!reader.F32(tmpl.header.quality)) return Truncated("quality");
  if (!IsValidQuality(tmpl.header.quality)) {
    return InvalidArgumentError("template quality is NaN, infinite or outside [0, 100]");
  }

  std::uint32_t feature_count = 0;
  if (!reader.U32(feature_count)) return Truncated("feature count");
  // Version 1 records always carry features; version 2 ones may carry only data.
  const std::uint32_t min_features = version == 1 ? 1 : 0;
  if (feature_count < min_features || feature_count > kMaxTemplateFeatures) {
    return InvalidArgumentError("template feature count " + std::to_string(feature_count) +
                                " outside " + std::to_string(min_features) + ".." +
                                std::to_string(kMaxTemplateFeatures));
  }
  // Checked before allocating, so a forged count cannot make us reserve
  // memory the record does not back.
  if (reader.remaining() < std::size_t{4} * feature_count) return Truncated("features");
  tmpl.features.resize(feature_count);
  for (std::uint32_t index = 0; index < feature_count; ++index) {
    float& feature = tmpl.features[index];
    if (!reader.F32(feature)) return Truncated("features");
    if (!std::isfinite(feature)) {
      return InvalidArgumentError("template feature " + std::to_string(index) +
                                  " is NaN or infinite");
    }
  }

  if (version >= 2) {
    std::uint32_t data_length = 0;
    if (!reader.U32(data_length)) return Truncated("data length");
    // Version 2 exists for the data block: an empty one would be a second
    // encoding of a version-1 record.
    if (data_length == 0 || data_length > kMaxTemplateDataBytes) {
      return InvalidArgumentError("template data length " + std::to_string(data_length) +
                                  " outside 1.." + std::to_string(kMaxTemplateDataBytes));
    }
    std::string data;
    if (!reader.String(data_length, data)) return Truncated("data");
    tmpl.data.assign(data.begin(), data.end());
  }

  if (reader.remaining() != 0) {
    return DataLossError("template record has " + std::to_string(reader.remaining()) +
                         " trailing bytes");
  }
  return tmpl;
}

}  // namespace

Status ValidateTemplate(const Template& tmpl) {
  const TemplateHeader& header = tmpl.header;
  if (!IsKnownModality(static_cast<std::uint8_t>(header.modality))) {
    return InvalidArgumentError("template has unknown modality " +
                                std::to_string(static_cast<int>(header.modality)));
  }
  if (header.algorithm.empty() || header.algorithm.size() > kMaxTemplateAlgorithmBytes) {
    return InvalidArgumentError("template algorithm must be 1.." +
                                std::to_string(kMaxTemplateAlgorithmBytes) + " bytes");
  }
  if (!IsPrintableAscii(header.algorithm)) {
    return InvalidArgumentError("template algorithm must be printable ASCII");
  }
  if (header.model_digest.size() > kMaxTemplateModelDigestBytes) {
    return InvalidArgumentError("template model digest must be at most " +
                                std::to_string(kMaxTemplateModelDigestBytes) + " bytes");
  }
  if (!IsPrintableAscii(header.model_digest)) {
    return InvalidArgumentError("template model digest must be printable ASCII");
  }
  if (!IsValidQuality(header.quality)) {
    return InvalidArgumentError("template quality must be finite and in [0, 100]");
  }
  if (tmpl.features.size() > kMaxTemplateFeatures) {
    return InvalidArgumentError("template must have at most " +
                                std::to_string(kMaxTemplateFeatures) + " features, has " +
                                std::to_string(tmpl.features.size()));
  }
  if (tmpl.data.size() > kMaxTemplateDataBytes) {
    return InvalidArgumentError("template data must be at most " +
                                std::to_string(kMaxTemplateDataBytes) + " bytes, has " +
                                std::to_string(tmpl.data.size()));
  }
  if (tmpl.features.empty() && tmpl.data.empty()) {
    return InvalidArgumentError("template has neither features nor data");
  }
  for (std::size_t index = 0; index < tmpl.features.size(); ++index) {
    if (!std::isfinite(tmpl.features[index])) {
      return InvalidArgumentError("template feature " + std::to_string(index) +
                                  " is NaN or infinite");
    }
  }
  return Status::Ok();
}

std::string EncodeTemplate(const Template& tmpl) {
  if (!ValidateTemplate(tmpl).ok()) return std::string();
  const TemplateHeader& header = tmpl.header;
  // One encoding per template: version 1 unless there is a data block.
  const std::uint16_t version = tmpl.data.empty() ? 1 : 2;
  Writer writer(kTemplateFixedBytes + header.algorithm.size() + header.model_digest.size() +
                4 * tmpl.features.size() + 4 + tmpl.data.size());
  writer.Bytes(std::string_view(kMagic, sizeof(kMagic)));
  writer.U16(version);
  writer.U8(static_cast<std::uint8_t>(header.modality));
  writer.U16(static_cast<std::uint16_t>(header.algorithm.size()));
  writer.Bytes(header.algorithm);
  writer.U16(static_cast<std::uint16_t>(header.model_digest.size()));
  writer.Bytes(header.model_digest);
  writer.F32(header.quality);
  writer.U32(static_cast<std::uint32_t>(tmpl.features.size()));
  for (float feature : tmpl.features) writer.F32(feature);
  if (version >= 2) {
    writer.U32(static_cast<std::uint32_t>(tmpl.data.size()));
    writer.Bytes(
        std::string_view(reinterpret_cast<const char*>(tmpl.data.data()), tmpl.data.size()));
  }
  writer.U32(Crc32(writer.written()));
  return writer.Release();
}

Result<Template> DecodeTemplate(std::span<const std::uint8_t> bytes) {
  constexpr std::size_t kPrefixBytes = sizeof(kMagic) + 2;  // Magic and version.
  if (bytes.size() < kPrefixBytes) {
    return InvalidArgumentError("not a template record: " + std::to_string(bytes.size()) +
                                " bytes is shorter than the magic and version");
  }
  for (std::size_t index = 0; index < sizeof(kMagic); ++index) {
    if (bytes[index] != static_cast<std::uint8_t>(kMagic[index])) {
      return InvalidArgumentError("not a template record: wrong magic");
    }
  }
  const auto version = static_cast<std::uint16_t>(bytes[4] | (bytes[5] << 8));
  if (version < 1 || version > kTemplateFormatVersion) {
    return InvalidArgumentError("unsupported template format version " + std::to_string(version) +
                                " (this build reads versions 1.." +
                                std::to_string(kTemplateFormatVersion) + ")");
  }
  const std::size_t max_bytes =
      version == 1 ? kMaxEncodedTemplateV1Bytes : kMaxEncodedTemplateBytes;
  if (bytes.size() > max_bytes) {
    return InvalidArgumentError("template record of " + std::to_string(bytes.size()) +
                                " bytes exceeds the version-" + std::to_string(version) +
                                " maximum of " + std::to_string(max_bytes));
  }
  if (bytes.size() < kTemplateFixedBytes) {
    return DataLossError("template record truncated: " + std::to_string(bytes.size()) +
                         " bytes is shorter than the fixed fields");
  }
  const std::size_t payload_end = bytes.size() - kCrcBytes;
  const std::uint32_t stored_crc = LoadU32(bytes.data() + payload_end);
  if (Crc32(bytes.first(payload_end)) != stored_crc) {
    return DataLossError("template record CRC mismatch");
  }
  return DecodePayload(version, bytes.subspan(kPrefixBytes, payload_end - kPrefixBytes));
}

Result<Template> DecodeTemplate(std::string_view bytes) {
  return DecodeTemplate(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace abis
