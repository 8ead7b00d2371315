// biometric_template.h
//
// A Template is what an extractor makes from one capture and what the store,
// the search index and the comparators share. Its header names the algorithm
// and the exact model (by digest) that made it: comparators refuse templates
// from another algorithm or model, so a model change forces re-enrolment and
// never mixes incomparable features silently.
//
// Thread safety: plain value.

#ifndef ABIS_BIOMETRIC_TEMPLATE_H_
#define ABIS_BIOMETRIC_TEMPLATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

namespace abis {

enum class Modality : std::uint8_t { kFace = 1, kFinger = 2 };

// "face" / "finger".
std::string_view ModalityName(Modality modality);
Result<Modality> ParseModality(std::string_view name);

// Finger position from its ISO/IEC 19794-2 code ("0".."10") or name
// ("right-thumb" .. "left-little", "unknown"); the code.
Result<int> ParseFingerPosition(std::string_view text);

struct TemplateHeader {
  Modality modality = Modality::kFace;
  // Algorithm spec, e.g. "face/dlib-resnet-v1".
  std::string algorithm;
  // SHA-256 (hex) of the model weights file that produced the features.
  std::string model_digest;
  // Overall capture quality in [0, 100]; higher is better.
  float quality = 0.0f;
};

struct Template {
  TemplateHeader header;
  // Face: the 128-d embedding (not unit length; see docs/algorithms.md).
  std::vector<float> features;
  // Modalities whose features are not a vector (finger: the finger template
  // record, docs/formats/finger_template.md); empty for faces.
  std::vector<std::uint8_t> data;
};

// True when two templates can be compared: same modality, algorithm and model.
bool AreComparable(const TemplateHeader& a, const TemplateHeader& b);

}  // namespace abis

#endif  // ABIS_BIOMETRIC_TEMPLATE_H_
