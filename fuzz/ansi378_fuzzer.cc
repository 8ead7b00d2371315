// ansi378_fuzzer.cc
//
// Feeds arbitrary bytes to DecodeAnsi378. Decoding must never crash or
// read out of bounds; errors are InvalidArgument or DataLoss only; a record
// it accepts must re-encode, and the re-encoding must decode to the same
// record and re-encode to identical bytes (reserved bits are the only input
// the codec drops).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "finger/ansi378.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = abis::finger::DecodeAnsi378(std::span<const std::uint8_t>(data, size));
  if (!decoded.ok()) {
    const abis::StatusCode code = decoded.status().code();
    if (code != abis::StatusCode::kInvalidArgument && code != abis::StatusCode::kDataLoss) {
      std::abort();
    }
    return 0;
  }
  if (!abis::finger::ValidateMinutiaeRecord(*decoded).ok()) std::abort();
  auto encoded = abis::finger::EncodeAnsi378(*decoded);
  if (!encoded.ok() || encoded->size() != size) std::abort();
  auto again = abis::finger::DecodeAnsi378(*encoded);
  if (!again.ok()) std::abort();
  auto twice = abis::finger::EncodeAnsi378(*again);
  if (!twice.ok() || *twice != *encoded) std::abort();
  return 0;
}
