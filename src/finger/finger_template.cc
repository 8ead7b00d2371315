#include "finger/finger_template.h"

#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "templates/crc32.h"

namespace abis::finger {
namespace {

static_assert(std::numeric_limits<float>::is_iec559);

constexpr char kMagic[4] = {'A', 'B', 'F', 'P'};
constexpr double kTwoPi = 2 * std::numbers::pi;

std::uint16_t AngleToUnits(float angle) {
  double turns = std::fmod(static_cast<double>(angle) / kTwoPi, 1.0);
  if (turns < 0) turns += 1.0;
  return static_cast<std::uint16_t>(std::lround(turns * 65536.0) & 0xFFFF);
}

float UnitsToAngle(std::uint16_t units) { return static_cast<float>(units * kTwoPi / 65536.0); }

bool InsideImage(int x, int y, int width, int height) {
  return x >= 0 && y >= 0 && x < width && y < height;
}

class Writer {
 public:
  void U8(std::uint32_t value) { out_.push_back(static_cast<char>(value & 0xFF)); }
  void U16(std::uint32_t value) {
    U8(value);
    U8(value >> 8);
  }
  void U32(std::uint32_t value) {
    U16(value);
    U16(value >> 16);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t remaining() const { return bytes_.size() - position_; }
  std::uint8_t U8() { return bytes_[position_++]; }
  std::uint16_t U16() {
    const auto value = static_cast<std::uint16_t>(bytes_[position_] | (bytes_[position_ + 1] << 8));
    position_ += 2;
    return value;
  }
  std::uint32_t U32() {
    const std::uint32_t low = U16();
    return low | (std::uint32_t{U16()} << 16);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

}  // namespace

Status ValidateFingerFeatures(const FingerFeatures& f) {
  if (f.width < 1 || f.height < 1 || f.width > kMaxFingerTemplateDimension ||
      f.height > kMaxFingerTemplateDimension) {
    return InvalidArgumentError("finger image size " + std::to_string(f.width) + "x" +
                                std::to_string(f.height) + " outside 1..16383");
  }
  if (f.capture != CaptureType::kContact && f.capture != CaptureType::kContactless) {
    return InvalidArgumentError("unknown capture type");
  }
  if (static_cast<int>(f.position) > static_cast<int>(FingerPosition::kLeftLittle)) {
    return InvalidArgumentError("unknown finger position " +
                                std::to_string(static_cast<int>(f.position)));
  }
  if (f.quality > 100) return InvalidArgumentError("finger quality above 100");
  if (!std::isfinite(f.ridge_period) || f.ridge_period < 0 ||
      f.ridge_period > kMaxFingerTemplateRidgePeriod) {
    return InvalidArgumentError("ridge period must be finite and in [0, 64]");
  }
  if (f.minutiae.size() > kMaxFingerTemplateMinutiae) {
    return InvalidArgumentError(std::to_string(f.minutiae.size()) + " minutiae exceed " +
                                std::to_string(kMaxFingerTemplateMinutiae));
  }
  for (std::size_t i = 0; i < f.minutiae.size(); ++i) {
    const Minutia& m = f.minutiae[i];
    const std::string where = "minutia " + std::to_string(i) + ": ";
    if (!InsideImage(m.x, m.y, f.width, f.height)) {
      return InvalidArgumentError(where + "lies outside the image");
    }
    if (static_cast<int>(m.type) > static_cast<int>(MinutiaType::kBifurcation)) {
      return InvalidArgumentError(where + "unknown type");
    }
    if (!std::isfinite(m.angle)) return InvalidArgumentError(where + "angle not finite");
    if (m.quality > 100) return InvalidArgumentError(where + "quality above 100");
  }
  if (f.singular_points.size() > kMaxFingerTemplateSingularPoints) {
    return InvalidArgumentError(std::to_string(f.singular_points.size()) +
                                " singular points exceed 16");
  }
  for (std::size_t i = 0; i < f.singular_points.size(); ++i) {
    const SingularPoint& p = f.singular_points[i];
    const std::string where = "singular point " + std::to_string(i) + ": ";
    if (p.type != SingularPointType::kCore && p.type != SingularPointType::kDelta) {
      return InvalidArgumentError(where + "unknown type");
    }
    if (!InsideImage(p.x, p.y, f.width, f.height)) {
      return InvalidArgumentError(where + "lies outside the image");
    }
    if (!std::isfinite(p.angle)) return InvalidArgumentError(where + "angle not finite");
  }
  return Status::Ok();
}

std::string EncodeFingerTemplate(const FingerFeatures& f) {
  if (!ValidateFingerFeatures(f).ok()) return std::string();
  Writer writer;
  writer.out().reserve(kFingerTemplateFixedBytes + kFingerTemplateMinutiaBytes * f.minutiae.size() +
                       kFingerTemplateSingularPointBytes * f.singular_points.size());
  for (char c : kMagic) writer.U8(static_cast<std::uint8_t>(c));
  writer.U16(kFingerTemplateVersion);
  writer.U8(static_cast<std::uint32_t>(f.capture));
  writer.U8(static_cast<std::uint32_t>(f.position));
  writer.U16(kFingerTemplateResolutionPpi);
  writer.U16(static_cast<std::uint32_t>(f.width));
  writer.U16(static_cast<std::uint32_t>(f.height));
  writer.U8(f.quality);
  writer.U32(std::bit_cast<std::uint32_t>(f.ridge_period));
  writer.U16(static_cast<std::uint32_t>(f.minutiae.size()));
  for (const Minutia& m : f.minutiae) {
    writer.U16(static_cast<std::uint32_t>(m.x));
    writer.U16(static_cast<std::uint32_t>(m.y));
    writer.U16(AngleToUnits(m.angle));
    writer.U8(static_cast<std::uint32_t>(m.type));
    writer.U8(m.quality);
  }
  writer.U8(static_cast<std::uint32_t>(f.singular_points.size()));
  for (const SingularPoint& p : f.singular_points) {
    writer.U8(static_cast<std::uint32_t>(p.type));
    writer.U16(static_cast<std::uint32_t>(p.x));
    writer.U16(static_cast<std::uint32_t>(p.y));
    writer.U16(AngleToUnits(p.angle));
  }
  const auto* data = reinterpret_cast<const std::uint8_t*>(writer.out().data());
  writer.U32(Crc32(std::span<const std::uint8_t>(data, writer.out().size())));
  return std::move(writer.out());
}

Result<FingerFeatures> DecodeFingerTemplate(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 6) {
    return InvalidArgumentError("not a finger template: " + std::to_string(bytes.size()) +
                                " bytes is shorter than the magic and version");
  }
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) {
    if (bytes[i] != static_cast<std::uint8_t>(kMagic[i])) {
      return InvalidArgumentError("not a finger template: wrong magic (expected \"ABFP\")");
    }
  }
  const auto version = static_cast<std::uint16_t>(bytes[4] | (bytes[5] << 8));
  if (version != kFingerTemplateVersion) {
    return InvalidArgumentError("unsupported finger template version " + std::to_string(version) +
                                " (this build reads version 1)");
  }
  if (bytes.size() > kMaxEncodedFingerTemplateBytes) {
    return InvalidArgumentError("finger template of " + std::to_string(bytes.size()) +
                                " bytes exceeds the version-1 maximum of " +
                                std::to_string(kMaxEncodedFingerTemplateBytes));
  }
  if (bytes.size() < kFingerTemplateFixedBytes) {
    return DataLossError("finger template truncated: " + std::to_string(bytes.size()) +
                         " bytes is shorter than the fixed fields");
  }
  const std::size_t payload_end = bytes.size() - 4;
  Reader crc_reader(bytes.subspan(payload_end));
  if (Crc32(bytes.first(payload_end)) != crc_reader.U32()) {
    return DataLossError("finger template CRC mismatch");
  }
  Reader reader(bytes.subspan(6, payload_end - 6));
  FingerFeatures f;
  const std::uint8_t capture = reader.U8();
  const std::uint8_t position = reader.U8();
  const std::uint16_t resolution = reader.U16();
  f.width = reader.U16();
  f.height = reader.U16();
  f.quality = reader.U8();
  f.ridge_period = std::bit_cast<float>(reader.U32());
  const std::uint16_t minutia_count = reader.U16();
  if (capture > static_cast<int>(CaptureType::kContactless)) {
    return InvalidArgumentError("finger template has unknown capture type " +
                                std::to_string(capture));
  }
  if (position > static_cast<int>(FingerPosition::kLeftLittle)) {
    return InvalidArgumentError("finger template has unknown finger position " +
                                std::to_string(position));
  }
  if (resolution != kFingerTemplateResolutionPpi) {
    return InvalidArgumentError("finger template resolution " + std::to_string(resolution) +
                                " ppi; version 1 stores 500 ppi coordinates only");
  }
  f.capture = static_cast<CaptureType>(capture);
  f.position = static_cast<FingerPosition>(position);
  if (minutia_count > kMaxFingerTemplateMinutiae) {
    return InvalidArgumentError("finger template minutia count " + std::to_string(minutia_count) +
                                " exceeds 512");
  }
  // The fixed fields end with the singular point count (1 byte) after the
  // minutiae; check before allocating.
  if (reader.remaining() < kFingerTemplateMinutiaBytes * minutia_count + 1) {
    return DataLossError("finger template truncated in minutiae: count " +
                         std::to_string(minutia_count) + " needs more bytes than the record has");
  }
  f.minutiae.resize(minutia_count);
  for (Minutia& m : f.minutiae) {
    m.x = reader.U16();
    m.y = reader.U16();
    m.angle = UnitsToAngle(reader.U16());
    const std::uint8_t type = reader.U8();
    m.quality = reader.U8();
    if (type > static_cast<int>(MinutiaType::kBifurcation)) {
      return InvalidArgumentError("finger template minutia has unknown type " +
                                  std::to_string(type));
    }
    m.type = static_cast<MinutiaType>(type);
  }
  const std::uint8_t singular_count = reader.U8();
  if (singular_count > kMaxFingerTemplateSingularPoints) {
    return InvalidArgumentError("finger template singular point count " +
                                std::to_string(singular_count) + " exceeds 16");
  }
  if (reader.remaining() != kFingerTemplateSingularPointBytes * singular_count) {
    return DataLossError("finger template size disagrees with its counts (" +
                         std::to_string(reader.remaining()) + " bytes left for " +
                         std::to_string(singular_count) + " singular points)");
  }
  f.singular_points.resize(singular_count);
  for (SingularPoint& p : f.singular_points) {
    const std::uint8_t type = reader.U8();
    if (type != static_cast<int>(SingularPointType::kCore) &&
        type != static_cast<int>(SingularPointType::kDelta)) {
      return InvalidArgumentError("finger template singular point has unknown type " +
                                  std::to_string(type));
    }
    p.type = static_cast<SingularPointType>(type);
    p.x = reader.U16();
    p.y = reader.U16();
    p.angle = UnitsToAngle(reader.U16());
  }
  // Remaining range rules (image size, coordinates inside it, quality,
  // ridge period) are the encoder's: one definition for both directions.
  Status valid = ValidateFingerFeatures(f);
  if (!valid.ok()) return valid.WithContext("finger template");
  return f;
}

Result<FingerFeatures> DecodeFingerTemplate(std::string_view bytes) {
  return DecodeFingerTemplate(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace abis::finger
