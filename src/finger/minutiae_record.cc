#include "finger/minutiae_record.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace abis::finger {
namespace {

std::string ViewContext(std::size_t view) { return "view " + std::to_string(view) + ": "; }

}  // namespace

Status ValidateExtendedData(const std::vector<std::uint8_t>& block) {
  std::size_t offset = 0;
  while (offset < block.size()) {
    if (block.size() - offset < 4) {
      return InvalidArgumentError("extended data area header truncated at byte " +
                                  std::to_string(offset));
    }
    const std::size_t length = (std::size_t{block[offset + 2]} << 8) | block[offset + 3];
    if (length < 4) {
      return InvalidArgumentError("extended data area length " + std::to_string(length) +
                                  " is shorter than its 4-byte header");
    }
    if (length > block.size() - offset) {
      return InvalidArgumentError("extended data area of " + std::to_string(length) +
                                  " bytes runs past its block");
    }
    offset += length;
  }
  return Status::Ok();
}

Status ValidateMinutiaeRecord(const MinutiaeRecord& record) {
  if (record.capture_equipment_compliance > 15) {
    return InvalidArgumentError("capture equipment compliance does not fit 4 bits");
  }
  if (record.capture_equipment_id > 0x0FFF) {
    return InvalidArgumentError("capture equipment id does not fit 12 bits");
  }
  if (record.width < 1 || record.width > kMaxRecordImageDimension || record.height < 1 ||
      record.height > kMaxRecordImageDimension) {
    return InvalidArgumentError("image size " + std::to_string(record.width) + "x" +
                                std::to_string(record.height) + " outside 1..16383");
  }
  if (record.x_resolution < 1 || record.x_resolution > 0xFFFF || record.y_resolution < 1 ||
      record.y_resolution > 0xFFFF) {
    return InvalidArgumentError("resolution must be 1..65535 pixels per centimetre");
  }
  if (record.views.empty() || record.views.size() > 255) {
    return InvalidArgumentError("record must have 1..255 finger views, has " +
                                std::to_string(record.views.size()));
  }
  for (std::size_t v = 0; v < record.views.size(); ++v) {
    const MinutiaeView& view = record.views[v];
    if (static_cast<int>(view.position) > static_cast<int>(FingerPosition::kLeftLittle)) {
      return InvalidArgumentError(ViewContext(v) + "unknown finger position " +
                                  std::to_string(static_cast<int>(view.position)));
    }
    if (view.view_number > 15 || view.impression_type > 15) {
      return InvalidArgumentError(ViewContext(v) + "view number or impression type above 15");
    }
    if (view.quality > 100) {
      return InvalidArgumentError(ViewContext(v) + "finger quality above 100");
    }
    if (view.minutiae.size() > kMaxRecordMinutiaePerView) {
      return InvalidArgumentError(ViewContext(v) + std::to_string(view.minutiae.size()) +
                                  " minutiae exceed 255");
    }
    for (std::size_t m = 0; m < view.minutiae.size(); ++m) {
      const Minutia& minutia = view.minutiae[m];
      const std::string where = ViewContext(v) + "minutia " + std::to_string(m) + ": ";
      if (minutia.x < 0 || minutia.x >= record.width || minutia.y < 0 ||
          minutia.y >= record.height) {
        return InvalidArgumentError(where + "(" + std::to_string(minutia.x) + ", " +
                                    std::to_string(minutia.y) + ") lies outside the image");
      }
      if (static_cast<int>(minutia.type) > static_cast<int>(MinutiaType::kBifurcation)) {
        return InvalidArgumentError(where + "unknown type");
      }
      if (!std::isfinite(minutia.angle)) return InvalidArgumentError(where + "angle not finite");
      if (minutia.quality > 100) return InvalidArgumentError(where + "quality above 100");
    }
    if (view.extended_data.size() > 0xFFFF) {
      return InvalidArgumentError(ViewContext(v) + "extended data exceeds 65535 bytes");
    }
    Status extended = ValidateExtendedData(view.extended_data);
    if (!extended.ok()) return extended.WithContext("view " + std::to_string(v));
  }
  return Status::Ok();
}

Result<FingerFeatures> ViewToFeatures(const MinutiaeRecord& record, std::size_t view_index) {
  if (view_index >= record.views.size()) {
    return OutOfRangeError("record has " + std::to_string(record.views.size()) + " views, view " +
                           std::to_string(view_index) + " requested");
  }
  if (record.x_resolution < 1 || record.y_resolution < 1) {
    return InvalidArgumentError("record resolution must be positive");
  }
  // 500 ppi = 196.85 px/cm; the standards round it to 197, which is treated
  // as exactly 500 ppi so common records are not resampled at all.
  const auto scale_for = [](int per_cm) {
    return per_cm == kResolution500PpiPerCm ? 1.0 : (500.0 / 2.54) / per_cm;
  };
  const double sx = scale_for(record.x_resolution);
  const double sy = scale_for(record.y_resolution);
  const MinutiaeView& view = record.views[view_index];
  FingerFeatures features;
  features.width = std::max(1, static_cast<int>(std::lround(record.width * sx)));
  features.height = std::max(1, static_cast<int>(std::lround(record.height * sy)));
  features.position = view.position;
  features.quality = view.quality;
  features.minutiae.reserve(view.minutiae.size());
  for (Minutia minutia : view.minutiae) {
    minutia.x = std::clamp(static_cast<int>(std::lround(minutia.x * sx)), 0, features.width - 1);
    minutia.y = std::clamp(static_cast<int>(std::lround(minutia.y * sy)), 0, features.height - 1);
    if (sx != sy) {
      // Anisotropic resolution also turns directions: scale the direction
      // vector (screen y is up for angles, down for coordinates; a common
      // factor, so only the ratio matters).
      const double angle = std::atan2(std::sin(minutia.angle) * sy, std::cos(minutia.angle) * sx);
      minutia.angle = static_cast<float>(angle < 0 ? angle + 2 * std::numbers::pi : angle);
    }
    features.minutiae.push_back(minutia);
  }
  return features;
}

MinutiaeRecord RecordFromFeatures(const FingerFeatures& features, std::uint8_t impression_type) {
  MinutiaeRecord record;
  record.width = features.width;
  record.height = features.height;
  MinutiaeView view;
  view.position = features.position;
  view.impression_type = impression_type;
  view.quality = features.quality;
  const std::size_t count = std::min(features.minutiae.size(), kMaxRecordMinutiaePerView);
  view.minutiae.assign(features.minutiae.begin(),
                       features.minutiae.begin() + static_cast<std::ptrdiff_t>(count));
  record.views.push_back(std::move(view));
  return record;
}

}  // namespace abis::finger

namespace abis::finger::internal {
namespace {

constexpr double kTwoPi = 2 * std::numbers::pi;

const char* DialectName(RecordDialect dialect) {
  return dialect == RecordDialect::kIso19794_2_2005 ? "ISO/IEC 19794-2:2005"
                                                    : "ANSI INCITS 378-2004";
}

// Big-endian reads with bounds checks; each returns false, consuming
// nothing, when too few bytes remain.
class BigEndianReader {
 public:
  BigEndianReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t position() const { return position_; }
  std::size_t remaining() const { return size_ - position_; }
  bool U8(std::uint8_t& value) {
    if (remaining() < 1) return false;
    value = data_[position_++];
    return true;
  }
  bool U16(std::uint16_t& value) {
    if (remaining() < 2) return false;
    value = static_cast<std::uint16_t>((data_[position_] << 8) | data_[position_ + 1]);
    position_ += 2;
    return true;
  }
  bool U32(std::uint32_t& value) {
    if (remaining() < 4) return false;
    value = (std::uint32_t{data_[position_]} << 24) | (std::uint32_t{data_[position_ + 1]} << 16) |
            (std::uint32_t{data_[position_ + 2]} << 8) | data_[position_ + 3];
    position_ += 4;
    return true;
  }
  bool Bytes(std::size_t count, std::vector<std::uint8_t>& out) {
    if (remaining() < count) return false;
    out.assign(data_ + position_, data_ + position_ + count);
    position_ += count;
    return true;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

class BigEndianWriter {
 public:
  void U8(std::uint32_t value) { out_.push_back(static_cast<char>(value & 0xFF)); }
  void U16(std::uint32_t value) {
    U8(value >> 8);
    U8(value);
  }
  void U32(std::uint32_t value) {
    U16(value >> 16);
    U16(value);
  }
  void Bytes(const std::vector<std::uint8_t>& bytes) { out_.append(bytes.begin(), bytes.end()); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

Status Truncated(RecordDialect dialect, const std::string& where) {
  return DataLossError(std::string(DialectName(dialect)) + " record truncated in " + where);
}

std::uint8_t AngleToUnits(float angle, RecordDialect dialect) {
  double turns = std::fmod(static_cast<double>(angle) / kTwoPi, 1.0);
  if (turns < 0) turns += 1.0;
  if (dialect == RecordDialect::kIso19794_2_2005) {
    return static_cast<std::uint8_t>(std::lround(turns * 256.0) % 256);
  }
  return static_cast<std::uint8_t>(std::lround(turns * 180.0) % 180);
}

float UnitsToAngle(std::uint8_t units, RecordDialect dialect) {
  const double per_turn = dialect == RecordDialect::kIso19794_2_2005 ? 256.0 : 180.0;
  return static_cast<float>(units * kTwoPi / per_turn);
}

}  // namespace

Result<MinutiaeRecord> DecodeMinutiaeRecord(const std::uint8_t* data, std::size_t size,
                                            RecordDialect dialect) {
  const std::string name = DialectName(dialect);
  if (size < 8) {
    return InvalidArgumentError("not an " + name + " record: " + std::to_string(size) +
                                " bytes is shorter than the format identifier and version");
  }
  if (data[0] != 'F' || data[1] != 'M' || data[2] != 'R' || data[3] != 0) {
    return InvalidArgumentError("not an " + name + " record: wrong magic (expected \"FMR\\0\")");
  }
  if (data[4] != ' ' || data[5] != '2' || data[6] != '0' || data[7] != 0) {
    return InvalidArgumentError("unsupported " + name + " version (expected \" 20\\0\")");
  }
  BigEndianReader reader(data + 8, size - 8);
  std::uint64_t declared_length = 0;
  if (dialect == RecordDialect::kIso19794_2_2005) {
    std::uint32_t length = 0;
    if (!reader.U32(length)) return Truncated(dialect, "record length");
    declared_length = length;
  } else {
    std::uint16_t short_length = 0;
    if (!reader.U16(short_length)) return Truncated(dialect, "record length");
    declared_length = short_length;
    if (short_length == 0) {
      std::uint32_t long_length = 0;
      if (!reader.U32(long_length)) return Truncated(dialect, "record length");
      declared_length = long_length;
    }
  }
  if (declared_length != size) {
    return DataLossError(name + " record length field says " + std::to_string(declared_length) +
                         " bytes but the record has " + std::to_string(size));
  }

  MinutiaeRecord record;
  if (dialect == RecordDialect::kAnsi378_2004 && !reader.U32(record.cbeff_product_id)) {
    return Truncated(dialect, "CBEFF product identifier");
  }
  std::uint16_t equipment = 0, width = 0, height = 0, x_resolution = 0, y_resolution = 0;
  std::uint8_t view_count = 0, reserved = 0;
  if (!reader.U16(equipment) || !reader.U16(width) || !reader.U16(height) ||
      !reader.U16(x_resolution) || !reader.U16(y_resolution) || !reader.U8(view_count) ||
      !reader.U8(reserved)) {
    return Truncated(dialect, "record header");
  }
  record.capture_equipment_compliance = static_cast<std::uint8_t>(equipment >> 12);
  record.capture_equipment_id = equipment & 0x0FFF;
  record.width = width;
  record.height = height;
  record.x_resolution = x_resolution;
  record.y_resolution = y_resolution;
  if (width == 0 || height == 0 || width > kMaxRecordImageDimension ||
      height > kMaxRecordImageDimension) {
    return InvalidArgumentError(name + " record image size " + std::to_string(width) + "x" +
                                std::to_string(height) + " outside 1..16383");
  }
  if (x_resolution == 0 || y_resolution == 0) {
    return InvalidArgumentError(name + " record resolution is zero");
  }
  if (view_count == 0) return InvalidArgumentError(name + " record has no finger views");
  // Each view needs at least its 4-byte header and 2-byte extended length.
  if (std::size_t{view_count} * 6 > reader.remaining()) {
    return InvalidArgumentError(name + " record declares an impossible " +
                                std::to_string(view_count) + " finger views in " +
                                std::to_string(reader.remaining()) + " bytes");
  }
  record.views.resize(view_count);
  for (std::size_t v = 0; v < view_count; ++v) {
    MinutiaeView& view = record.views[v];
    const std::string where = "view " + std::to_string(v);
    std::uint8_t position = 0, view_and_impression = 0, quality = 0, minutia_count = 0;
    if (!reader.U8(position) || !reader.U8(view_and_impression) || !reader.U8(quality) ||
        !reader.U8(minutia_count)) {
      return Truncated(dialect, where + " header");
    }
    if (position > static_cast<int>(FingerPosition::kLeftLittle)) {
      return InvalidArgumentError(name + " " + where + ": unknown finger position " +
                                  std::to_string(position));
    }
    if (quality > 100) {
      return InvalidArgumentError(name + " " + where + ": finger quality " +
                                  std::to_string(quality) + " above 100");
    }
    view.position = static_cast<FingerPosition>(position);
    view.view_number = view_and_impression >> 4;
    view.impression_type = view_and_impression & 0x0F;
    view.quality = quality;
    if (std::size_t{minutia_count} * 6 + 2 > reader.remaining()) {
      return InvalidArgumentError(name + " " + where + ": impossible minutia count " +
                                  std::to_string(minutia_count) + " (needs " +
                                  std::to_string(minutia_count * 6 + 2) + " bytes, " +
                                  std::to_string(reader.remaining()) + " remain)");
    }
    view.minutiae.resize(minutia_count);
    for (std::size_t m = 0; m < minutia_count; ++m) {
      std::uint16_t type_x = 0, y = 0;
      std::uint8_t angle = 0, minutia_quality = 0;
      reader.U16(type_x);
      reader.U16(y);
      reader.U8(angle);
      reader.U8(minutia_quality);  // Sizes were checked above.
      const std::string minutia = name + " " + where + " minutia " + std::to_string(m) + ": ";
      const int type = type_x >> 14;
      if (type == 3) return InvalidArgumentError(minutia + "reserved minutia type 3");
      Minutia& out = view.minutiae[m];
      out.type = static_cast<MinutiaType>(type);
      // The top two bits of y are reserved; they are ignored, not rejected,
      // because some writers fill them.
      out.x = type_x & 0x3FFF;
      out.y = y & 0x3FFF;
      if (out.x >= record.width || out.y >= record.height) {
        return InvalidArgumentError(minutia + "(" + std::to_string(out.x) + ", " +
                                    std::to_string(out.y) + ") lies outside the " +
                                    std::to_string(record.width) + "x" +
                                    std::to_string(record.height) + " image");
      }
      if (dialect == RecordDialect::kAnsi378_2004 && angle >= 180) {
        return InvalidArgumentError(minutia + "bad angle " + std::to_string(angle) +
                                    " (ANSI 378 angles are 0..179 in 2-degree units)");
      }
      out.angle = UnitsToAngle(angle, dialect);
      if (minutia_quality > 100) {
        return InvalidArgumentError(minutia + "quality " + std::to_string(minutia_quality) +
                                    " above 100");
      }
      out.quality = minutia_quality;
    }
    std::uint16_t extended_length = 0;
    reader.U16(extended_length);
    if (extended_length > reader.remaining()) {
      return InvalidArgumentError(name + " " + where + ": extended data length " +
                                  std::to_string(extended_length) + " exceeds the " +
                                  std::to_string(reader.remaining()) + " bytes left");
    }
    reader.Bytes(extended_length, view.extended_data);
    Status extended = ValidateExtendedData(view.extended_data);
    if (!extended.ok()) return extended.WithContext(name + " " + where);
  }
  if (reader.remaining() != 0) {
    return InvalidArgumentError(name + " record has " + std::to_string(reader.remaining()) +
                                " bytes after its last finger view");
  }
  return record;
}

Result<std::string> EncodeMinutiaeRecord(const MinutiaeRecord& record, RecordDialect dialect) {
  ABIS_RETURN_IF_ERROR(ValidateMinutiaeRecord(record));
  std::size_t body = 0;
  for (const MinutiaeView& view : record.views) {
    body += 4 + 6 * view.minutiae.size() + 2 + view.extended_data.size();
  }
  std::size_t total = 0;
  if (dialect == RecordDialect::kIso19794_2_2005) {
    total = 24 + body;
  } else {
    total = 26 + body;
    if (total > 0xFFFF) total += 4;
  }
  if (total > 0xFFFFFFFFu) return InvalidArgumentError("record too large");
  BigEndianWriter writer;
  writer.out().reserve(total);
  writer.U8('F');
  writer.U8('M');
  writer.U8('R');
  writer.U8(0);
  writer.U8(' ');
  writer.U8('2');
  writer.U8('0');
  writer.U8(0);
  if (dialect == RecordDialect::kIso19794_2_2005) {
    writer.U32(static_cast<std::uint32_t>(total));
  } else if (total <= 0xFFFF) {
    writer.U16(static_cast<std::uint32_t>(total));
  } else {
    writer.U16(0);
    writer.U32(static_cast<std::uint32_t>(total));
  }
  if (dialect == RecordDialect::kAnsi378_2004) writer.U32(record.cbeff_product_id);
  writer.U16((std::uint32_t{record.capture_equipment_compliance} << 12) |
             record.capture_equipment_id);
  writer.U16(static_cast<std::uint32_t>(record.width));
  writer.U16(static_cast<std::uint32_t>(record.height));
  writer.U16(static_cast<std::uint32_t>(record.x_resolution));
  writer.U16(static_cast<std::uint32_t>(record.y_resolution));
  writer.U8(static_cast<std::uint32_t>(record.views.size()));
  writer.U8(0);
  for (const MinutiaeView& view : record.views) {
    writer.U8(static_cast<std::uint32_t>(view.position));
    writer.U8((std::uint32_t{view.view_number} << 4) | view.impression_type);
    writer.U8(view.quality);
    writer.U8(static_cast<std::uint32_t>(view.minutiae.size()));
    for (const Minutia& minutia : view.minutiae) {
      writer.U16((static_cast<std::uint32_t>(minutia.type) << 14) |
                 static_cast<std::uint32_t>(minutia.x));
      writer.U16(static_cast<std::uint32_t>(minutia.y));
      writer.U8(AngleToUnits(minutia.angle, dialect));
      writer.U8(minutia.quality);
    }
    writer.U16(static_cast<std::uint32_t>(view.extended_data.size()));
    writer.Bytes(view.extended_data);
  }
  return std::move(writer.out());
}

}  // namespace abis::finger::internal
