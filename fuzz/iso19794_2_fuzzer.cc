// iso19794_2_fuzzer.cc
//
// Feeds arbitrary bytes to DecodeIso19794_2. Decoding must never crash or
// read out of bounds; errors are InvalidArgument or DataLoss only; a record
// it accepts must re-encode, and the re-encoding must decode to the same
// record and re-encode to identical bytes (reserved bits are the only input
// the codec drops).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "finger/iso19794_2.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = abis::finger::DecodeIso19794_2(std::span<const std::uint8_t>(data, size));
  if (!decoded.ok()) {
    const abis::StatusCode code = decoded.status().code();
    if (code != abis::StatusCode::kInvalidArgument && code != abis::StatusCode::kDataLoss) {
      std::abort();
    }
    return 0;
  }
  if (!abis::finger::ValidateMinutiaeRecord(*decoded).ok()) std::abort();
  auto encoded = abis::finger::EncodeIso19794_2(*decoded);
  if (!encoded.ok() || encoded->size() != size) std::abort();
  auto again = abis::finger::DecodeIso19794_2(*encoded);
  if (!again.ok()) std::abort();
  auto twice = abis::finger::EncodeIso19794_2(*again);
  if (!twice.ok() || *twice != *encoded) std::abort();
  return 0;
}
