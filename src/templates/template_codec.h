// template_codec.h
//
// The versioned binary record that persists a Template: the store seals these
// bytes with a per-record key (docs/store.md) and exports carry them. The byte layout is
// specified in docs/formats/template.md; version 1 is frozen (golden bytes in
// template_codec_test.cc), a change of layout means a new version that this
// decoder keeps reading alongside the old one.
//
// Decoding treats its input as untrusted: any truncated, oversized,
// corrupted or out-of-range record yields an error, never a crash or a read
// out of bounds. Decoding is strict, so a record that decodes re-encodes to
// exactly the same bytes.
//
// Thread safety: pure functions.

#ifndef ABIS_TEMPLATES_TEMPLATE_CODEC_H_
#define ABIS_TEMPLATES_TEMPLATE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "abis/biometric_template.h"
#include "abis/status.h"

namespace abis {

// The newest version; EncodeTemplate writes version 1 for a template without
// a data block (faces) and version 2 for one with it (fingers), so every
// template has exactly one encoding.
inline constexpr std::uint16_t kTemplateFormatVersion = 2;

// Limits; ValidateTemplate and DecodeTemplate enforce them.
inline constexpr std::size_t kMaxTemplateAlgorithmBytes = 256;    // >= 1 byte.
inline constexpr std::size_t kMaxTemplateModelDigestBytes = 128;  // May be empty.
inline constexpr std::size_t kMaxTemplateFeatures = 4096;         // >= 1 in version 1.
inline constexpr std::size_t kMaxTemplateDataBytes = 65536;       // Version 2: >= 1 byte.
inline constexpr float kMinTemplateQuality = 0.0f;
inline constexpr float kMaxTemplateQuality = 100.0f;

// Fixed part of a record: magic, version, modality, both length prefixes,
// quality, feature count and CRC (docs/formats/template.md).
inline constexpr std::size_t kTemplateFixedBytes = 4 + 2 + 1 + 2 + 2 + 4 + 4 + 4;
inline constexpr std::size_t kMaxEncodedTemplateV1Bytes =
    kTemplateFixedBytes + kMaxTemplateAlgorithmBytes + kMaxTemplateModelDigestBytes +
    4 * kMaxTemplateFeatures;
inline constexpr std::size_t kMaxEncodedTemplateBytes =
    kMaxEncodedTemplateV1Bytes + 4 + kMaxTemplateDataBytes;

// OK when `tmpl` can be encoded: a known modality; an algorithm of 1..256 and
// a model digest of 0..128 printable ASCII bytes (0x20..0x7E); a finite
// quality in [0, 100]; 0..4096 features, all finite (no NaN or infinity);
// 0..65536 data bytes; features or data (or both) non-empty.
// InvalidArgument naming the first offending field otherwise.
Status ValidateTemplate(const Template& tmpl);

// Encodes `tmpl` as a version-1 record, or version 2 when it has data.
// REQUIRES: ValidateTemplate(tmpl).ok(). An invalid template encodes to the
// empty string, which DecodeTemplate rejects, so a bad template can never be
// persisted as a record that looks valid.
std::string EncodeTemplate(const Template& tmpl);

// Decodes a record written by EncodeTemplate (any supported version).
// Returns:
//   InvalidArgument: not a template record (too short, wrong magic), an
//     unsupported format version, or a field that breaks the limits above
//     (unknown modality, oversized string or feature count, non-printable
//     string, NaN or infinite value, quality out of range).
//   DataLoss: the CRC does not match, or the declared lengths disagree with
//     the record size (truncated record or trailing bytes).
Result<Template> DecodeTemplate(std::span<const std::uint8_t> bytes);
Result<Template> DecodeTemplate(std::string_view bytes);

}  // namespace abis

#endif  // ABIS_TEMPLATES_TEMPLATE_CODEC_H_
