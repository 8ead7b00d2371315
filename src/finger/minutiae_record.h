// minutiae_record.h
//
// The in-memory form of an interchange minutiae record (ISO/IEC 19794-2:2005
// or ANSI INCITS 378-2004): header fields, finger views, minutiae in the
// record's own pixel grid, and each view's extended data kept as opaque,
// structure-checked bytes (ridge counts, cores/deltas, vendor blocks) so a
// record can be re-exported unchanged. The codecs (iso19794_2.h, ansi378.h)
// read and write it; the helpers below convert a view to and from the
// matcher's FingerFeatures (500 ppi coordinates).
//
// Thread safety: plain values and pure functions.

#ifndef ABIS_FINGER_MINUTIAE_RECORD_H_
#define ABIS_FINGER_MINUTIAE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "abis/status.h"

#include "finger/finger_features.h"

namespace abis::finger {

// 500 ppi expressed in pixels per centimetre, as both standards store it.
inline constexpr int kResolution500PpiPerCm = 197;
// Coordinates are 14-bit fields in both standards.
inline constexpr int kMaxRecordImageDimension = 16383;
// The minutia count of a view is one byte.
inline constexpr std::size_t kMaxRecordMinutiaePerView = 255;

struct MinutiaeView {
  FingerPosition position = FingerPosition::kUnknown;
  std::uint8_t view_number = 0;      // 0..15
  std::uint8_t impression_type = 0;  // 0 live plain, 1 live rolled, 2/3 non-live, 8 swipe
  std::uint8_t quality = 0;          // 0..100
  // x, y in record pixels (0 <= x < width, 0 <= y < height); angle in
  // radians as in finger_features.h; quality 0..100.
  std::vector<Minutia> minutiae;
  // The view's extended data block without its 2-byte length: a sequence of
  // areas (type u16, length u16 including these 4 bytes, data). Empty when
  // the record has none.
  std::vector<std::uint8_t> extended_data;
};

struct MinutiaeRecord {
  std::uint8_t capture_equipment_compliance = 0;  // 4 bits
  std::uint16_t capture_equipment_id = 0;         // 12 bits
  std::uint32_t cbeff_product_id = 0;             // ANSI 378 only; ISO has no such field
  int width = 0;                                  // 1..16383 pixels
  int height = 0;
  int x_resolution = kResolution500PpiPerCm;  // pixels per centimetre, >= 1
  int y_resolution = kResolution500PpiPerCm;
  std::vector<MinutiaeView> views;
};

// OK when the record can be encoded by either codec: image size and
// resolutions in range, 1..255 views, each with a known finger position,
// view number and impression type below 16, quality <= 100, at most 255
// minutiae lying inside the image with a known type, a finite angle and
// quality <= 100, and a well-formed extended data block. InvalidArgument
// naming the first offending field otherwise.
Status ValidateMinutiaeRecord(const MinutiaeRecord& record);

// Checks that `block` is a sequence of extended data areas that fills it
// exactly (each area length >= 4). InvalidArgument otherwise.
Status ValidateExtendedData(const std::vector<std::uint8_t>& block);

// The view's minutiae in the matcher's convention: coordinates rescaled from
// the record resolution to 500 ppi, image size rescaled likewise, finger
// position copied, quality from the view. OutOfRange for a bad index.
Result<FingerFeatures> ViewToFeatures(const MinutiaeRecord& record, std::size_t view_index);

// A single-view record at 500 ppi (197 px/cm) holding `features`; minutiae
// beyond 255 are dropped (lowest quality first is not attempted: the first
// 255 are kept) and singular points are not exported. The result passes
// ValidateMinutiaeRecord when `features` has a size within 1..16383 and its
// minutiae lie inside it.
MinutiaeRecord RecordFromFeatures(const FingerFeatures& features, std::uint8_t impression_type = 0);

namespace internal {

// The two interchange formats differ only in the header (ANSI adds a CBEFF
// product id and a 2-or-6-byte length) and the angle unit; iso19794_2.cc and
// ansi378.cc are thin wrappers over these.
enum class RecordDialect { kIso19794_2_2005, kAnsi378_2004 };
Result<MinutiaeRecord> DecodeMinutiaeRecord(const std::uint8_t* data, std::size_t size,
                                            RecordDialect dialect);
Result<std::string> EncodeMinutiaeRecord(const MinutiaeRecord& record, RecordDialect dialect);

}  // namespace internal
}  // namespace abis::finger

#endif  // ABIS_FINGER_MINUTIAE_RECORD_H_
