// ansi378.h
//
// ANSI INCITS 378-2004 finger minutiae records ("FMR\0", version " 20\0").
// Same view and minutia layout as ISO/IEC 19794-2:2005 (iso19794_2.h) with
// two header differences: the record length is 2 bytes, or 0 followed by 4
// bytes when the record exceeds 65535 bytes, and a 4-byte CBEFF product
// identifier precedes the capture equipment field (26- or 30-byte header).
// Angles are in 2-degree units, 0..179, counter-clockwise; 180..255 is an
// error ("bad angle").
//
// Errors as in iso19794_2.h (InvalidArgument for content, DataLoss for a
// length that disagrees with the byte count). Thread safety: pure functions.

#ifndef ABIS_FINGER_ANSI378_H_
#define ABIS_FINGER_ANSI378_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "abis/status.h"

#include "finger/minutiae_record.h"

namespace abis::finger {

Result<MinutiaeRecord> DecodeAnsi378(std::span<const std::uint8_t> bytes);
Result<MinutiaeRecord> DecodeAnsi378(std::string_view bytes);

// Encodes `record` (ValidateMinutiaeRecord must pass, else its error);
// angles are rounded to the nearest 2 degrees.
Result<std::string> EncodeAnsi378(const MinutiaeRecord& record);

}  // namespace abis::finger

#endif  // ABIS_FINGER_ANSI378_H_
