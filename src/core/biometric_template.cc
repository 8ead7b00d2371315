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

bool AreComparable(const TemplateHeader& a, const TemplateHeader& b) {
  return a.modality == b.modality && a.algorithm == b.algorithm && a.model_digest == b.model_digest;
}

}  // namespace abis
