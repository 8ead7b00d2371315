// finger_template_fuzzer.cc
//
// Feeds arbitrary bytes to DecodeFingerTemplate. Decoding must never crash;
// errors are InvalidArgument or DataLoss only; an accepted record must
// re-encode to exactly the input bytes (version 1 has one encoding per
// template) and be preparable by the matcher.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "finger/finger_template.h"
#include "finger/mcc.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = abis::finger::DecodeFingerTemplate(std::span<const std::uint8_t>(data, size));
  if (!decoded.ok()) {
    const abis::StatusCode code = decoded.status().code();
    if (code != abis::StatusCode::kInvalidArgument && code != abis::StatusCode::kDataLoss) {
      std::abort();
    }
    return 0;
  }
  const std::string encoded = abis::finger::EncodeFingerTemplate(*decoded);
  if (encoded.size() != size || std::memcmp(encoded.data(), data, size) != 0) std::abort();
  auto prepared = abis::finger::PrepareFinger(*decoded);
  if (!prepared.ok()) std::abort();
  abis::finger::MatchPrepared(*prepared, *prepared);
  return 0;
}
