// Capture bytes are the most exposed input: header probing and decoding must
// return a Status for anything, never crash or allocate past the limits.
#include <cstddef>
#include <cstdint>
#include <span>

#include "imaging/image_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  abis::imaging::DecodeLimits limits;
  limits.max_pixels = 4'000'000;  // Keeps each fuzz iteration fast.
  auto probed = abis::imaging::ProbeImage(bytes);
  auto decoded = abis::imaging::DecodeImage(bytes, limits);
  if (decoded.ok() && (!probed.ok() || decoded->bgr.cols != probed->width)) __builtin_trap();
  return 0;
}
