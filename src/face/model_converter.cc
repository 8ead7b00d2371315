#include "face/model_converter.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "core/file_io.h"
#include "face/face_recognition_net.h"

namespace abis::face {
namespace {

template <typename T>
struct IsCon : std::false_type {};
template <long kFilters, long kRows, long kCols, int kStrideY, int kStrideX, int kPadY, int kPadX>
struct IsCon<dlib::con_<kFilters, kRows, kCols, kStrideY, kStrideX, kPadY, kPadX>>
    : std::true_type {};

template <typename T>
struct IsFc : std::false_type {};
template <unsigned long kOutputs, dlib::fc_bias_mode kBiasMode>
struct IsFc<dlib::fc_<kOutputs, kBiasMode>> : std::true_type {};

// Residual blocks from the input towards the output; each has a conv1 (which
// carries any stride) and a conv2. The stem "conv32_down" comes first.
constexpr std::array<std::string_view, 14> kResidualBlocks = {
    "conv32_1",     "conv32_2",  "conv32_3",     "conv64_down",     "conv64_1",
    "conv64_2",     "conv64_3",  "conv128_down", "conv128_1",       "conv128_2",
    "conv256_down", "conv256_1", "conv256_2",    "conv256_down_out"};

// One convolution followed by its affine (folded batch norm) layer.
struct ConvPosition {
  dlib::tensor* params = nullptr;  // Filters [out][in][kh][kw], then bias [out].
  long filters = 0;
  long rows = 0;
  long cols = 0;
  dlib::affine_* affine = nullptr;
};

struct NetLayers {
  std::vector<ConvPosition> convs;  // Input order.
  dlib::tensor* fc = nullptr;       // [in][out], no bias.
};

// REQUIRES: one forward pass has run, so every layer has its parameters.
Result<NetLayers> CollectLayers(FaceRecognitionResNet& net) {
  NetLayers layers;
  dlib::affine_* pending_affine = nullptr;
  bool paired = true;
  // The visitor walks from the output to the input, so each affine is seen
  // just before the convolution that feeds it.
  dlib::visit_computational_layers(net, [&](auto& layer) {
    using Layer = std::decay_t<decltype(layer)>;
    if constexpr (std::is_same_v<Layer, dlib::affine_>) {
      if (pending_affine != nullptr) paired = false;
      pending_affine = &layer;
    } else if constexpr (IsCon<Layer>::value) {
      if (pending_affine == nullptr) paired = false;
      layers.convs.push_back(
          {&layer.get_layer_params(), layer.num_filters(), layer.nr(), layer.nc(), pending_affine});
      pending_affine = nullptr;
    } else if constexpr (IsFc<Layer>::value) {
      layers.fc = &layer.get_layer_params();
    }
  });
  if (!paired || pending_affine != nullptr || layers.fc == nullptr) {
    return InternalError("network definition does not match the conv+affine layout");
  }
  std::reverse(layers.convs.begin(), layers.convs.end());
  return layers;
}

// Hands out tensors by name, checking shapes and that none is taken twice.
class TensorPool {
 public:
  static Result<TensorPool> Create(const std::vector<TfjsTensor>& tensors) {
    TensorPool pool;
    for (const TfjsTensor& tensor : tensors) {
      if (!pool.unused_.emplace(tensor.name, &tensor).second) {
        return InvalidArgumentError("duplicate tensor " + tensor.name);
      }
    }
    return pool;
  }

  Result<const TfjsTensor*> Take(const std::string& name,
                                 const std::vector<std::int64_t>& expected_shape) {
    auto it = unused_.find(name);
    if (it == unused_.end()) return InvalidArgumentError("missing tensor " + name);
    const TfjsTensor* tensor = it->second;
    if (tensor->shape != expected_shape) {
      return InvalidArgumentError("tensor " + name + " has shape " + ShapeText(tensor->shape) +
                                  ", expected " + ShapeText(expected_shape));
    }
    std::int64_t count = 1;
    for (std::int64_t dim : expected_shape) count *= dim;
    if (static_cast<std::int64_t>(tensor->values.size()) != count) {
      return InvalidArgumentError("tensor " + name + " holds " +
                                  std::to_string(tensor->values.size()) + " values for shape " +
                                  ShapeText(expected_shape));
    }
    unused_.erase(it);
    return tensor;
  }

  // InvalidArgument naming one leftover tensor: an unused tensor means the
  // file is not the model we map.
  Status CheckAllUsed() const {
    if (unused_.empty()) return Status::Ok();
    return InvalidArgumentError("unexpected tensor " + unused_.begin()->first + " (" +
                                std::to_string(unused_.size()) + " unused)");
  }

 private:
  static std::string ShapeText(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
      text += (i == 0 ? "" : ",") + std::to_string(shape[i]);
    }
    return text + "]";
  }

  std::unordered_map<std::string, const TfjsTensor*> unused_;
};

void CopyValues(const std::vector<float>& values, float* destination) {
  std::copy(values.begin(), values.end(), destination);
}

// `prefix` is e.g. "conv64_down/conv1/"; the TF.js filters are HWIO and dlib
// wants OIHW. Both sides compute cross-correlation, so there is no flip.
Status FillConv(const std::string& prefix, const ConvPosition& conv, TensorPool& pool) {
  long filters = conv.filters;
  long kernel_size = conv.rows * conv.cols;
  long inputs = (static_cast<long>(conv.params->size()) - filters) / (filters * kernel_size);
  ABIS_ASSIGN_OR_RETURN(
      const TfjsTensor* weights,
      pool.Take(prefix + "conv/filters", {conv.rows, conv.cols, inputs, filters}));
  ABIS_ASSIGN_OR_RETURN(const TfjsTensor* bias, pool.Take(prefix + "conv/bias", {filters}));
  ABIS_ASSIGN_OR_RETURN(const TfjsTensor* gamma, pool.Take(prefix + "scale/weights", {filters}));
  ABIS_ASSIGN_OR_RETURN(const TfjsTensor* beta, pool.Take(prefix + "scale/biases", {filters}));

  float* params = conv.params->host();
  const std::vector<float>& hwio = weights->values;
  for (long out = 0; out < filters; ++out) {
    for (long in = 0; in < inputs; ++in) {
      for (long y = 0; y < conv.rows; ++y) {
        for (long x = 0; x < conv.cols; ++x) {
          params[((out * inputs + in) * conv.rows + y) * conv.cols + x] =
              hwio[((y * conv.cols + x) * inputs + in) * filters + out];
        }
      }
    }
  }
  CopyValues(bias->values, params + filters * inputs * kernel_size);

  auto affine_gamma = conv.affine->get_gamma();
  auto affine_beta = conv.affine->get_beta();
  if (static_cast<long>(affine_gamma.size()) != filters) {
    return InternalError("affine layer after " + prefix + " is not in CONV_MODE");
  }
  CopyValues(gamma->values, affine_gamma.host());
  CopyValues(beta->values, affine_beta.host());
  return Status::Ok();
}

Status FillNet(FaceRecognitionResNet& net, const std::vector<TfjsTensor>& tensors) {
  ABIS_ASSIGN_OR_RETURN(TensorPool pool, TensorPool::Create(tensors));
  ABIS_ASSIGN_OR_RETURN(NetLayers layers, CollectLayers(net));
  if (layers.convs.size() != 1 + 2 * kResidualBlocks.size()) {
    return InternalError("network has " + std::to_string(layers.convs.size()) + " convolutions");
  }
  ABIS_RETURN_IF_ERROR(FillConv("conv32_down/", layers.convs[0], pool));
  for (std::size_t block = 0; block < kResidualBlocks.size(); ++block) {
    std::string prefix(kResidualBlocks[block]);
    ABIS_RETURN_IF_ERROR(FillConv(prefix + "/conv1/", layers.convs[1 + 2 * block], pool));
    ABIS_RETURN_IF_ERROR(FillConv(prefix + "/conv2/", layers.convs[2 + 2 * block], pool));
  }
  // dlib's fc_ weights are [inputs][outputs] row-major, the same as TF.js.
  ABIS_ASSIGN_OR_RETURN(const TfjsTensor* fc,
                        pool.Take("fc", {layers.fc->num_samples(), layers.fc->k()}));
  CopyValues(fc->values, layers.fc->host());
  return pool.CheckAllUsed();
}

}  // namespace

Result<std::string> ConvertFaceApiRecognitionTensors(const std::vector<TfjsTensor>& tensors) {
  try {
    auto net = std::make_unique<FaceRecognitionResNet>();
    // A default affine_ is FC_MODE (one gamma per pixel); the folded batch
    // norms are per channel. The mode must be set before setup() runs.
    dlib::visit_computational_layers(*net, [](auto& layer) {
      if constexpr (std::is_same_v<std::decay_t<decltype(layer)>, dlib::affine_>) {
        layer = dlib::affine_(dlib::CONV_MODE);
      }
    });
    // Layers allocate their parameters in setup(), on the first forward pass.
    dlib::matrix<dlib::rgb_pixel> blank(kFaceChipSize, kFaceChipSize);
    blank = dlib::rgb_pixel(0, 0, 0);
    (*net)(blank);

    ABIS_RETURN_IF_ERROR(FillNet(*net, tensors));
    net->clean();
    std::ostringstream out;
    dlib::serialize(*net, out);
    return std::move(out).str();
  } catch (const std::exception& e) {
    return InternalError(std::string("dlib failed while building the network: ") + e.what());
  }
}

Status ConvertFaceApiRecognitionModel(const std::string& manifest_path,
                                      const std::string& weights_path,
                                      const std::string& out_dat_path) {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> manifest, ReadFileBytes(manifest_path));
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> weights, ReadFileBytes(weights_path));
  std::string_view manifest_text(reinterpret_cast<const char*>(manifest.data()), manifest.size());
  Result<std::vector<TfjsTensor>> tensors = DecodeTfjsWeights(manifest_text, weights);
  if (!tensors.ok()) return tensors.status().WithContext(manifest_path + " + " + weights_path);
  ABIS_ASSIGN_OR_RETURN(std::string dat, ConvertFaceApiRecognitionTensors(*tensors));
  return WriteFileAtomically(out_dat_path, dat);
}

}  // namespace abis::face
