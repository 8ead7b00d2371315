// tfjs_weights.h
//
// Decodes TF.js "weights" files: a JSON manifest naming each tensor's name,
// shape and dtype, plus the raw bytes of the weight shards. We use it to read
// face-api.js's face-recognition weights (face-pipeline.md §3.2); the input
// is treated as untrusted, so every malformation is a Status, never a crash.
//
// Supported encodings (what face-api.js ships):
//   - dtype "float32" without "quantization": 4 bytes, little-endian IEEE 754;
//   - dtype "float32" with quantization {dtype: "uint8", scale, min}: 1 byte
//     per value, decoded as q * scale + min (computed in double, as TF.js does).
//
// Thread safety: a pure function.

#ifndef ABIS_FACE_TFJS_WEIGHTS_H_
#define ABIS_FACE_TFJS_WEIGHTS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

namespace abis::face {

struct TfjsTensor {
  std::string name;                 // E.g. "conv32_down/conv/filters".
  std::vector<std::int64_t> shape;  // TF layout, e.g. [kh, kw, in, out].
  std::vector<float> values;        // Row-major; size is the product of shape.
};

// Decodes every tensor of `manifest_json`, in manifest order. `weights` is the
// concatenation of all shards the manifest lists, in manifest order (for
// face-api.js models: the one .bin file).
//
// Returns InvalidArgument for a manifest that is not valid JSON, does not
// follow the format, repeats a tensor name, uses an unsupported dtype, or has
// a negative or overflowing shape; DataLoss when `weights` is shorter or
// longer than the manifest says, or holds a non-finite value.
Result<std::vector<TfjsTensor>> DecodeTfjsWeights(std::string_view manifest_json,
                                                  std::span<const std::uint8_t> weights);

}  // namespace abis::face

#endif  // ABIS_FACE_TFJS_WEIGHTS_H_
