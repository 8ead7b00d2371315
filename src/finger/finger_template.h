// finger_template.h
//
// Our versioned binary record of one finger view (FingerFeatures): what the
// store persists for the finger modality and what the matcher prepares from.
// Byte layout: docs/formats/finger_template.md. Version 1 is frozen (golden
// bytes in finger_template_test.cc); a new layout means a new version that
// the decoder keeps reading alongside this one. Styled after
// templates/template_codec.h: magic, version, little-endian fields, CRC-32.
//
// Decoding treats its input as untrusted: anything truncated, corrupted or
// out of range is an error, never a crash. A decoded record re-encodes to
// the identical bytes (angles are stored in 65536ths of a turn, so an
// encoded FingerFeatures comes back with its angles rounded to that grid).
//
// Thread safety: pure functions.

#ifndef ABIS_FINGER_FINGER_TEMPLATE_H_
#define ABIS_FINGER_FINGER_TEMPLATE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "abis/status.h"

#include "finger/finger_features.h"

namespace abis::finger {

inline constexpr std::uint16_t kFingerTemplateVersion = 1;
// Coordinates are always at 500 ppi (finger_features.h); the field exists so
// a later version can carry another grid.
inline constexpr std::uint16_t kFingerTemplateResolutionPpi = 500;
inline constexpr int kMaxFingerTemplateDimension = 16383;
inline constexpr std::size_t kMaxFingerTemplateMinutiae = 512;
inline constexpr std::size_t kMaxFingerTemplateSingularPoints = 16;
inline constexpr float kMaxFingerTemplateRidgePeriod = 64.0f;
inline constexpr std::size_t kFingerTemplateFixedBytes = 26;
inline constexpr std::size_t kFingerTemplateMinutiaBytes = 8;
inline constexpr std::size_t kFingerTemplateSingularPointBytes = 7;
inline constexpr std::size_t kMaxEncodedFingerTemplateBytes =
    kFingerTemplateFixedBytes + kFingerTemplateMinutiaBytes * kMaxFingerTemplateMinutiae +
    kFingerTemplateSingularPointBytes * kMaxFingerTemplateSingularPoints;

// OK when `features` can be encoded: size 1..16383 each way, known capture
// type and finger position, quality <= 100, ridge period finite in [0, 64],
// at most 512 minutiae and 16 singular points, each inside the image with a
// known type, a finite angle and (minutiae) quality <= 100.
// InvalidArgument naming the first offending field otherwise.
Status ValidateFingerFeatures(const FingerFeatures& features);

// The version-1 record of `features`, or the empty string (which the decoder
// rejects) when ValidateFingerFeatures fails.
std::string EncodeFingerTemplate(const FingerFeatures& features);

// Returns:
//   InvalidArgument: not a finger template (too short, wrong magic), an
//     unsupported version, a record above the size limit, or a field out of
//     range (see ValidateFingerFeatures; also a resolution other than 500).
//   DataLoss: shorter than the fixed fields, CRC mismatch, or counts that
//     disagree with the record size.
Result<FingerFeatures> DecodeFingerTemplate(std::span<const std::uint8_t> bytes);
Result<FingerFeatures> DecodeFingerTemplate(std::string_view bytes);

}  // namespace abis::finger

#endif  // ABIS_FINGER_FINGER_TEMPLATE_H_
