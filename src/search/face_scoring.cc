#include "search/face_scoring.h"

#include <algorithm>
#include <cmath>

namespace abis::search {

float SquaredL2(std::span<const float> a, std::span<const float> b) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) {
    float diff = a[i] - b[i];
    sum += diff * diff;
  }
  return sum;
}

double FaceScoreFromDistance(double distance) { return std::clamp(1.0 - distance / 2.0, 0.0, 1.0); }
double FaceDistanceFromScore(double score) { return 2.0 * (1.0 - score); }

Result<FaceComparison> CompareFaceTemplates(const Template& probe, const Template& reference) {
  if (probe.header.modality != Modality::kFace || reference.header.modality != Modality::kFace) {
    return InvalidArgumentError("face comparison needs two face templates");
  }
  if (!AreComparable(probe.header, reference.header)) {
    return FailedPreconditionError(
        "templates come from different algorithms or models (" + probe.header.algorithm + " " +
        probe.header.model_digest.substr(0, 12) + " vs " + reference.header.algorithm + " " +
        reference.header.model_digest.substr(0, 12) + "); re-enrol with the current model");
  }
  if (probe.features.empty() || probe.features.size() != reference.features.size()) {
    return InvalidArgumentError("face templates have mismatched feature lengths");
  }
  double distance = std::sqrt(static_cast<double>(SquaredL2(probe.features, reference.features)));
  return FaceComparison{FaceScoreFromDistance(distance), distance};
}

}  // namespace abis::search
