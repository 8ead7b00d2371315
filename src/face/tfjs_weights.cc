#include "face/tfjs_weights.h"

#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

namespace abis::face {
namespace {

using Json = nlohmann::json;

enum class Encoding { kFloat32, kUint8 };

struct TensorSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  std::size_t element_count = 0;
  Encoding encoding = Encoding::kFloat32;
  double scale = 0;  // kUint8 only.
  double min = 0;    // kUint8 only.

  std::size_t BytesPerValue() const { return encoding == Encoding::kUint8 ? 1 : 4; }
};

Status ManifestError(std::size_t tensor_index, std::string_view name, std::string_view problem) {
  std::string where = "tensor #" + std::to_string(tensor_index);
  if (!name.empty()) where += " (" + std::string(name) + ")";
  return InvalidArgumentError("TF.js manifest: " + where + ": " + std::string(problem));
}

// Returns the dimension, or nullopt unless `value` is a non-negative integer
// that fits int64 (JSON allows 1e400, -3 and 2.5 alike).
std::optional<std::int64_t> ParseDimension(const Json& value) {
  if (value.is_number_unsigned()) {
    std::uint64_t dim = value.get<std::uint64_t>();
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(dim);
  }
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return value.get<std::int64_t>();
  }
  return std::nullopt;
}

// Keeps q * scale + min inside float range for every q in [0, 255], so the
// narrowing to float below is always defined.
bool QuantizationInFloatRange(double scale, double min) {
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  double max = min + 255.0 * scale;
  return std::isfinite(scale) && std::isfinite(min) && std::isfinite(max) &&
         std::fabs(min) <= kFloatMax && std::fabs(max) <= kFloatMax;
}

Status ParseQuantization(const Json& quantization, std::size_t index, TensorSpec& spec) {
  if (!quantization.is_object())
    return ManifestError(index, spec.name, "quantization is not an object");
  auto dtype = quantization.find("dtype");
  if (dtype == quantization.end() || !dtype->is_string()) {
    return ManifestError(index, spec.name, "quantization.dtype missing or not a string");
  }
  if (dtype->get_ref<const std::string&>() != "uint8") {
    return ManifestError(index, spec.name,
                         "unsupported quantization dtype '" + dtype->get_ref<const std::string&>() +
                             "' (only uint8)");
  }
  auto scale = quantization.find("scale");
  auto min = quantization.find("min");
  if (scale == quantization.end() || !scale->is_number() || min == quantization.end() ||
      !min->is_number()) {
    return ManifestError(index, spec.name, "uint8 quantization needs numeric scale and min");
  }
  spec.encoding = Encoding::kUint8;
  spec.scale = scale->get<double>();
  spec.min = min->get<double>();
  if (!QuantizationInFloatRange(spec.scale, spec.min)) {
    return ManifestError(index, spec.name, "quantization scale/min out of float range");
  }
  return Status::Ok();
}

Result<TensorSpec> ParseTensorSpec(const Json& entry, std::size_t index) {
  if (!entry.is_object()) return ManifestError(index, "", "entry is not an object");
  TensorSpec spec;
  auto name = entry.find("name");
  if (name == entry.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return ManifestError(index, "", "name missing or not a non-empty string");
  }
  spec.name = name->get<std::string>();

  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) {
    return ManifestError(index, spec.name, "shape missing or not an array");
  }
  // Counted in uint64 so that an overflow is caught even if a later zero
  // dimension would have made the product small again.
  std::uint64_t count = 1;
  for (const Json& value : *shape) {
    std::optional<std::int64_t> dim = ParseDimension(value);
    if (!dim)
      return ManifestError(index, spec.name, "shape holds a non-integer or negative dimension");
    if (__builtin_mul_overflow(count, static_cast<std::uint64_t>(*dim), &count) ||
        count > std::numeric_limits<std::size_t>::max()) {
      return ManifestError(index, spec.name, "shape element count overflows");
    }
    spec.shape.push_back(*dim);
  }
  spec.element_count = static_cast<std::size_t>(count);

  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) {
    return ManifestError(index, spec.name, "dtype missing or not a string");
  }
  if (dtype->get_ref<const std::string&>() != "float32") {
    return ManifestError(
        index, spec.name,
        "unsupported dtype '" + dtype->get_ref<const std::string&>() + "' (only float32)");
  }
  if (auto quantization = entry.find("quantization"); quantization != entry.end()) {
    ABIS_RETURN_IF_ERROR(ParseQuantization(*quantization, index, spec));
  }
  return spec;
}

Result<std::vector<TensorSpec>> ParseManifest(std::string_view manifest_json) {
  Json manifest = Json::parse(manifest_json.begin(), manifest_json.end(), /*cb=*/nullptr,
                              /*allow_exceptions=*/false);
  if (manifest.is_discarded()) return InvalidArgumentError("TF.js manifest is not valid JSON");
  if (!manifest.is_array()) return InvalidArgumentError("TF.js manifest is not a JSON array");

  std::vector<TensorSpec> specs;
  std::unordered_set<std::string> names;
  for (const Json& group : manifest) {
    auto weights = group.is_object() ? group.find("weights") : group.end();
    if (!group.is_object() || weights == group.end() || !weights->is_array()) {
      return InvalidArgumentError("TF.js manifest: weight group without a 'weights' array");
    }
    for (const Json& entry : *weights) {
      ABIS_ASSIGN_OR_RETURN(TensorSpec spec, ParseTensorSpec(entry, specs.size()));
      if (!names.insert(spec.name).second) {
        return ManifestError(specs.size(), spec.name, "duplicate tensor name");
      }
      specs.push_back(std::move(spec));
    }
  }
  return specs;
}

float ReadFloat32LittleEndian(const std::uint8_t* bytes) {
  std::uint32_t bits =
      static_cast<std::uint32_t>(bytes[0]) | static_cast<std::uint32_t>(bytes[1]) << 8 |
      static_cast<std::uint32_t>(bytes[2]) << 16 | static_cast<std::uint32_t>(bytes[3]) << 24;
  return std::bit_cast<float>(bits);
}

}  // namespace

Result<std::vector<TfjsTensor>> DecodeTfjsWeights(std::string_view manifest_json,
                                                  std::span<const std::uint8_t> weights) {
  ABIS_ASSIGN_OR_RETURN(std::vector<TensorSpec> specs, ParseManifest(manifest_json));

  std::vector<TfjsTensor> tensors;
  tensors.reserve(specs.size());
  std::size_t offset = 0;
  for (TensorSpec& spec : specs) {
    std::size_t width = spec.BytesPerValue();
    // Checked before allocating: the values vector is then bounded by the
    // input size, whatever the manifest claims.
    if (spec.element_count > (weights.size() - offset) / width) {
      return DataLossError("TF.js weights truncated: tensor " + spec.name + " needs " +
                           std::to_string(spec.element_count) + " values of " +
                           std::to_string(width) + " bytes at offset " + std::to_string(offset) +
                           ", " + std::to_string(weights.size() - offset) + " bytes left");
    }
    const std::uint8_t* bytes = weights.data() + offset;
    std::vector<float> values(spec.element_count);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (spec.encoding == Encoding::kUint8) {
        values[i] = static_cast<float>(bytes[i] * spec.scale + spec.min);
      } else {
        values[i] = ReadFloat32LittleEndian(bytes + 4 * i);
        if (!std::isfinite(values[i])) {
          return DataLossError("TF.js weights: tensor " + spec.name +
                               " holds a non-finite value at index " + std::to_string(i));
        }
      }
    }
    offset += spec.element_count * width;
    tensors.push_back({std::move(spec.name), std::move(spec.shape), std::move(values)});
  }
  if (offset != weights.size()) {
    return DataLossError("TF.js weights: " + std::to_string(weights.size() - offset) +
                         " bytes after the last tensor (manifest and weights do not match)");
  }
  return tensors;
}

}  // namespace abis::face
