#include "search/score_fusion.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace abis::search {

Result<std::vector<FusedCandidate>> FuseByLogFmr(const std::vector<ModalityCandidates>& modalities,
                                                 double fmr_floor) {
  if (!(fmr_floor > 0 && fmr_floor < 1)) return InvalidArgumentError("fmr_floor must be in (0, 1)");
  std::map<std::int64_t, FusedCandidate> fused;
  for (std::size_t m = 0; m < modalities.size(); ++m) {
    const ModalityCandidates& modality = modalities[m];
    if (!modality.calibration) {
      return InvalidArgumentError("modality '" + modality.modality + "' has no calibration");
    }
    std::map<std::int64_t, double> best;
    for (auto [identity, score] : modality.scores) {
      if (!std::isfinite(score)) {
        return InvalidArgumentError("modality '" + modality.modality + "' has a non-finite score");
      }
      auto [it, inserted] = best.emplace(identity, score);
      if (!inserted) it->second = std::max(it->second, score);
    }
    for (auto [identity, score] : best) {
      double fmr = modality.calibration(score);
      if (!(fmr >= 0 && fmr <= 1)) {
        return InvalidArgumentError("calibration of '" + modality.modality +
                                    "' returned an FMR outside [0, 1]");
      }
      FusedCandidate& candidate = fused[identity];
      candidate.identity_id = identity;
      candidate.per_modality.resize(modalities.size(), 0.0);
      candidate.per_modality[m] = -std::log10(std::max(fmr, fmr_floor));
    }
  }
  std::vector<FusedCandidate> ranked;
  for (auto& [identity, candidate] : fused) {
    candidate.per_modality.resize(modalities.size(), 0.0);
    candidate.evidence = 0;
    for (double e : candidate.per_modality) candidate.evidence += e;
    ranked.push_back(std::move(candidate));
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.evidence > b.evidence;  // Stable over the id-ordered map: ties by id.
  });
  return ranked;
}

}  // namespace abis::search
