// model_converter.h
//
// Converts face-api.js's TF.js copy of dlib's face-recognition ResNet
// (npm @vladmandic/face-api@1.7.15, model/face_recognition_model.*) into a
// dlib .dat that FaceEmbedder loads. The tensor-to-layer mapping follows
// face-pipeline.md §3.2; the result is checked against face-api.js's own
// forward pass by face_model_reference_test.
//
// Thread safety: pure functions (each builds its own network).

#ifndef ABIS_FACE_MODEL_CONVERTER_H_
#define ABIS_FACE_MODEL_CONVERTER_H_

#include <string>
#include <vector>

#include "abis/status.h"

#include "face/tfjs_weights.h"

namespace abis::face {

// Reads the manifest and weights files, converts them, and writes the dlib
// serialisation to `out_dat_path` atomically (temporary file, then rename).
// Errors: those of ReadFileBytes and DecodeTfjsWeights, InvalidArgument when
// the tensors do not fit the network (see below), Unavailable on write failure.
Status ConvertFaceApiRecognitionModel(const std::string& manifest_path,
                                      const std::string& weights_path,
                                      const std::string& out_dat_path);

// Builds the network from decoded tensors and returns its dlib serialisation.
// Every expected tensor must be present with the expected shape and every
// given tensor must be used exactly once; otherwise InvalidArgument naming
// the offending tensor.
Result<std::string> ConvertFaceApiRecognitionTensors(const std::vector<TfjsTensor>& tensors);

}  // namespace abis::face

#endif  // ABIS_FACE_MODEL_CONVERTER_H_
