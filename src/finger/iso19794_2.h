// iso19794_2.h
//
// ISO/IEC 19794-2:2005 finger minutiae records ("FMR\0", version " 20\0"):
// a 24-byte big-endian header (4-byte record length, capture equipment,
// image size, resolution in pixels/cm, view count), per view a 4-byte header
// (finger position, view number + impression type, quality, minutia count),
// 6 bytes per minutia (2-bit type + 14-bit x, 2 reserved bits + 14-bit y,
// angle in 256ths of a turn counter-clockwise, quality) and a 2-byte-length
// extended data block, which is structure-checked and carried opaquely.
//
// Decoding treats its input as untrusted and is strict: any error is a
// Status, never a crash or an out-of-bounds read.
//   InvalidArgument: too short to identify, wrong magic or version, an
//     impossible count (views or minutiae the record cannot hold), a
//     coordinate outside the declared image, an unknown finger position or
//     minutia type, a quality above 100, a malformed extended data block,
//     bytes after the last view.
//   DataLoss: the record length field disagrees with the byte count
//     (truncated or padded record), or a field is cut off.
// Thread safety: pure functions.

#ifndef ABIS_FINGER_ISO19794_2_H_
#define ABIS_FINGER_ISO19794_2_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "abis/status.h"

#include "finger/minutiae_record.h"

namespace abis::finger {

Result<MinutiaeRecord> DecodeIso19794_2(std::span<const std::uint8_t> bytes);
Result<MinutiaeRecord> DecodeIso19794_2(std::string_view bytes);

// Encodes `record` (ValidateMinutiaeRecord must pass, else its error).
// Angles are rounded to the nearest 1/256 turn; cbeff_product_id is not
// part of this format and is dropped.
Result<std::string> EncodeIso19794_2(const MinutiaeRecord& record);

}  // namespace abis::finger

#endif  // ABIS_FINGER_ISO19794_2_H_
