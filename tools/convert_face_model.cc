// abis_convert_face_model: converts face-api.js's TF.js face-recognition
// weights into the dlib .dat that FaceEmbedder loads. Run once at setup:
//
//   abis_convert_face_model
//       --manifest models/face-api-1.7.15/face_recognition_model-weights_manifest.json
//       --weights models/face-api-1.7.15/face_recognition_model.bin
//       --out models/face_recognition_resnet_v1.dat

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/digest.h"
#include "core/file_io.h"
#include "face/model_converter.h"

int main(int argc, char** argv) {
  CLI::App app{"Convert face-api.js face-recognition weights (TF.js) to a dlib .dat"};
  std::string manifest_path;
  std::string weights_path;
  std::string out_path;
  app.add_option("--manifest", manifest_path, "face_recognition_model-weights_manifest.json")
      ->required();
  app.add_option("--weights", weights_path, "face_recognition_model.bin")->required();
  app.add_option("--out", out_path, "Output .dat path (written atomically)")->required();
  CLI11_PARSE(app, argc, argv);

  abis::Status status =
      abis::face::ConvertFaceApiRecognitionModel(manifest_path, weights_path, out_path);
  if (!status.ok()) {
    std::cerr << "abis_convert_face_model: " << status.ToString() << "\n";
    return static_cast<int>(status.code());  // Status codes double as exit codes.
  }
  // The digest is the model id templates record; print it for setup logs.
  abis::Result<std::vector<std::uint8_t>> written = abis::ReadFileBytes(out_path);
  if (!written.ok()) {
    std::cerr << "abis_convert_face_model: " << written.status().ToString() << "\n";
    return static_cast<int>(written.status().code());
  }
  std::cout << out_path << ": " << written->size() << " bytes, sha256 " << abis::Sha256Hex(*written)
            << "\n";
  return 0;
}
