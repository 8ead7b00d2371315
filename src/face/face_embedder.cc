#include "face/face_embedder.h"

#include <cstdint>
#include <exception>
#include <new>
#include <sstream>
#include <utility>

#include "core/digest.h"
#include "core/file_io.h"
#include "face/face_recognition_net.h"

namespace abis::face {
namespace {

static_assert(FaceEmbedder::kChipSize == kFaceChipSize);
static_assert(FaceEmbedder::kDescriptorSize == kFaceDescriptorSize);

// Chips per forward pass. dlib keeps every layer's output for the whole batch,
// so this bounds memory; beyond a few chips batching gains little speed.
constexpr std::size_t kMaxBatch = 16;

}  // namespace

struct FaceEmbedder::Network {
  FaceRecognitionResNet net;
};

FaceEmbedder::FaceEmbedder(std::unique_ptr<Network> network, std::string model_digest)
    : network_(std::move(network)), model_digest_(std::move(model_digest)) {}

FaceEmbedder::~FaceEmbedder() = default;

Result<std::string> FaceEmbedder::FileDigest(const std::string& dat_path) {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFileBytes(dat_path));
  return Sha256Hex(bytes);
}

Result<std::unique_ptr<FaceEmbedder>> FaceEmbedder::Load(const std::string& dat_path) {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFileBytes(dat_path));
  std::string digest = Sha256Hex(bytes);
  auto network = std::make_unique<Network>();
  try {
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    dlib::deserialize(network->net, in);
    if (in.peek() != std::char_traits<char>::eof()) {
      return DataLossError(dat_path + ": trailing bytes after the network");
    }
  } catch (const std::exception& e) {
    return DataLossError(dat_path + " is not a face-recognition ResNet model: " + e.what());
  }
  return std::unique_ptr<FaceEmbedder>(new FaceEmbedder(std::move(network), std::move(digest)));
}

Result<std::vector<std::vector<float>>> FaceEmbedder::Embed(
    const std::vector<dlib::matrix<dlib::rgb_pixel>>& chips_150x150) {
  for (std::size_t i = 0; i < chips_150x150.size(); ++i) {
    const auto& chip = chips_150x150[i];
    if (chip.nr() != kChipSize || chip.nc() != kChipSize) {
      return InvalidArgumentError("face chip " + std::to_string(i) + " is " +
                                  std::to_string(chip.nc()) + "x" + std::to_string(chip.nr()) +
                                  ", expected 150x150");
    }
  }
  std::vector<std::vector<float>> descriptors;
  if (chips_150x150.empty()) return descriptors;
  try {
    std::vector<dlib::matrix<float, 0, 1>> outputs = network_->net(chips_150x150, kMaxBatch);
    descriptors.reserve(outputs.size());
    for (const auto& output : outputs) descriptors.emplace_back(output.begin(), output.end());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory computing face descriptors");
  } catch (const std::exception& e) {
    return InternalError(std::string("dlib failed computing face descriptors: ") + e.what());
  }
  return descriptors;
}

}  // namespace abis::face
