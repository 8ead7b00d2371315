// template_codec_fuzzer.cc
//
// Feeds arbitrary bytes to DecodeTemplate. Decoding must never crash, and any
// record it accepts must re-encode to exactly the input bytes (the version-1
// format has a single encoding per template) and decode again to the same
// template.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "abis/biometric_template.h"

#include "templates/template_codec.h"

namespace {

bool SameTemplate(const abis::Template& a, const abis::Template& b) {
  if (a.header.modality != b.header.modality || a.header.algorithm != b.header.algorithm ||
      a.header.model_digest != b.header.model_digest ||
      std::bit_cast<std::uint32_t>(a.header.quality) !=
          std::bit_cast<std::uint32_t>(b.header.quality) ||
      a.features.size() != b.features.size() || a.data != b.data) {
    return false;
  }
  // Bitwise, so -0.0 and 0.0 count as different.
  return a.features.empty() ||
         std::memcmp(a.features.data(), b.features.data(), a.features.size() * sizeof(float)) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  abis::Result<abis::Template> decoded = abis::DecodeTemplate(input);
  if (!decoded.ok()) {
    const abis::StatusCode code = decoded.status().code();
    if (code != abis::StatusCode::kInvalidArgument && code != abis::StatusCode::kDataLoss) {
      std::abort();
    }
    return 0;
  }
  if (!abis::ValidateTemplate(*decoded).ok()) std::abort();

  const std::string encoded = abis::EncodeTemplate(*decoded);
  if (encoded.size() != size || std::memcmp(encoded.data(), data, size) != 0) std::abort();

  abis::Result<abis::Template> again = abis::DecodeTemplate(encoded);
  if (!again.ok() || !SameTemplate(*decoded, *again)) std::abort();
  return 0;
}
