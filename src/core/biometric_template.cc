#include "abis/biometric_template.h"

namespace abis {

std::string_view ModalityName(Modality modality) {
  switch (modality) {
    case Modality::kFace:
      return "face";
    case Modality::kFinger:
      return "finger";
  }
  return "unknown";
}

Result<Modality> ParseModality(std::string_view name) {
  if (name == "face") return Modality::kFace;
  if (name == "finger") return Modality::kFinger;
  return InvalidArgumentError("unknown modality '" + std::string(name) +
                              "' (expected face or finger)");
}

Result<int> ParseFingerPosition(std::string_view text) {
  static constexpr std::string_view kNames[] = {
      "unknown",    "right-thumb", "right-index", "right-middle", "right-ring", "right-little",
      "left-thumb", "left-index",  "left-middle", "left-ring",    "left-little"};
  for (int code = 0; code <= 10; ++code) {
    if (text == kNames[code] || text == std::to_string(code)) return code;
  }
  return InvalidArgumentError("unknown finger position '" + std::string(text) +
                              "': use 0..10 or right-thumb .. left-little");
}

bool AreComparable(const TemplateHeader& a, const TemplateHeader& b) {
  return a.modality == b.modality && a.algorithm == b.algorithm && a.model_digest == b.model_digest;
}

}  // namespace abis
