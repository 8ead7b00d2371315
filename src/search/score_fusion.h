// score_fusion.h
//
// Identity-level fusion of candidate lists from several modalities (face,
// finger, ...). Raw scores of different matchers are not comparable, so each
// is first mapped through its modality's calibration to an estimated
// false-match rate FMR(s) = P(impostor score >= s), then turned into evidence
// e = -log10(max(FMR, fmr_floor)). The fused evidence of an identity is the
// sum over modalities (the product rule: if impostor scores of different
// modalities are independent, the chance that an impostor reaches all of them
// is the product of the FMRs). A modality that did not list the identity
// contributes 0 (FMR = 1: no evidence for, none against). Identities are
// ranked by fused evidence, descending, ties by identity id. The floor keeps
// one over-confident calibration from deciding alone (default 1e-12: 12 units).
//
// Thread safety: pure functions (the calibrations must be callable
// concurrently if the caller fuses concurrently).

#ifndef ABIS_SEARCH_SCORE_FUSION_H_
#define ABIS_SEARCH_SCORE_FUSION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "abis/status.h"

namespace abis::search {

// Estimated FMR at a score: non-increasing in the score, values in [0, 1].
using FmrCalibration = std::function<double(double score)>;

struct ModalityCandidates {
  std::string modality;  // "face", "finger", ...: for error messages.
  FmrCalibration calibration;
  // (identity id, score); an identity listed twice keeps its best score.
  std::vector<std::pair<std::int64_t, double>> scores;
};

struct FusedCandidate {
  std::int64_t identity_id = 0;
  double evidence = 0;               // Sum of per-modality evidence.
  std::vector<double> per_modality;  // Evidence per input modality (0 when not listed).
};

// InvalidArgument on a non-finite score, a missing calibration, or a
// calibration value outside [0, 1]; fmr_floor must be in (0, 1).
Result<std::vector<FusedCandidate>> FuseByLogFmr(const std::vector<ModalityCandidates>& modalities,
                                                 double fmr_floor = 1e-12);

}  // namespace abis::search

#endif  // ABIS_SEARCH_SCORE_FUSION_H_
