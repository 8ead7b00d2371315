// face_embedder.h
//
// FaceEmbedder turns aligned 150x150 RGB face chips into 128-float
// descriptors with dlib's face-recognition ResNet (the .dat written by
// ConvertFaceApiRecognitionModel). Descriptors are raw, not L2-normalised
// (norm about 1.4-1.5); compare them by Euclidean distance, where lower
// means more similar (dlib's 1:1 convention is 0.6; see face-pipeline.md §7).
//
// Thread safety: not thread-safe. The network keeps its activations inside
// the instance, so Embed() must not run concurrently on one instance; use one
// FaceEmbedder per worker thread (22 MB of weights plus activations each).

#ifndef ABIS_FACE_FACE_EMBEDDER_H_
#define ABIS_FACE_FACE_EMBEDDER_H_

#include <memory>
#include <string>
#include <vector>

#include <dlib/matrix.h>
#include <dlib/pixel.h>

#include "abis/status.h"

namespace abis::face {

class FaceEmbedder {
 public:
  static constexpr long kChipSize = 150;       // Chip side, pixels.
  static constexpr int kDescriptorSize = 128;  // Floats per descriptor.

  // Loads a model written by ConvertFaceApiRecognitionModel. Errors:
  // NotFound if the file is missing, DataLoss if it is not such a model.
  static Result<std::unique_ptr<FaceEmbedder>> Load(const std::string& dat_path);

  // The model_digest() that Load would give the file, without building the
  // network (cheap: a hash). NotFound if the file is missing.
  static Result<std::string> FileDigest(const std::string& dat_path);

  FaceEmbedder(const FaceEmbedder&) = delete;
  FaceEmbedder& operator=(const FaceEmbedder&) = delete;
  ~FaceEmbedder();

  // Returns one descriptor per chip, in order; an empty input gives an empty
  // result. InvalidArgument if a chip is not kChipSize x kChipSize.
  Result<std::vector<std::vector<float>>> Embed(
      const std::vector<dlib::matrix<dlib::rgb_pixel>>& chips_150x150);

  // Lower-case hex SHA-256 of the .dat file: identifies the model in every
  // template and audit record, so a model change forces re-enrolment.
  const std::string& model_digest() const { return model_digest_; }

 private:
  struct Network;  // Holds the dlib network; defined in face_embedder.cc.

  FaceEmbedder(std::unique_ptr<Network> network, std::string model_digest);

  std::unique_ptr<Network> network_;
  std::string model_digest_;
};

}  // namespace abis::face

#endif  // ABIS_FACE_FACE_EMBEDDER_H_
