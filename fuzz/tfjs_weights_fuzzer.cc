// Fuzzes DecodeTfjsWeights. Input: the manifest JSON, one NUL byte, then the
// weight bytes (a NUL cannot occur in valid JSON, so the split is
// unambiguous; without one the weights are empty).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "face/tfjs_weights.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t split = input.find('\0');
  std::string_view manifest = input.substr(0, split);
  std::span<const std::uint8_t> weights;
  if (split != std::string_view::npos) weights = std::span(data + split + 1, size - split - 1);

  abis::Result<std::vector<abis::face::TfjsTensor>> tensors =
      abis::face::DecodeTfjsWeights(manifest, weights);
  if (!tensors.ok()) {
    abis::StatusCode code = tensors.status().code();
    if (code != abis::StatusCode::kInvalidArgument && code != abis::StatusCode::kDataLoss) {
      std::abort();
    }
    return 0;
  }
  // A decoded tensor always holds exactly prod(shape) values.
  for (const abis::face::TfjsTensor& tensor : *tensors) {
    std::size_t count = 1;
    for (std::int64_t dim : tensor.shape) count *= static_cast<std::size_t>(dim);
    if (count != tensor.values.size()) std::abort();
  }
  return 0;
}
