// result_json.h
//
// The one JSON rendering of the Engine's results, shared by the CLI (--json)
// and the HTTP API so the two never drift apart (docs/cli.md describes the
// shapes). Renderings carry no server paths: a calibration card is named by
// its file name only.

#ifndef ABIS_ENGINE_RESULT_JSON_H_
#define ABIS_ENGINE_RESULT_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "abis/engine.h"

namespace abis {

nlohmann::json ToJson(const FaceQualityReport& quality);
nlohmann::json ToJson(const ProbeFace& face);
nlohmann::json ToJson(const FingerReport& finger);
nlohmann::json ToJson(const Candidate& candidate);
nlohmann::json ToJson(const AlgorithmInfo& algorithm);
nlohmann::json ToJson(const GalleryInfo& gallery);

// The candidate-list document of a 1:N search of `gallery`.
nlohmann::json IdentificationToJson(const std::string& gallery, const IdentificationResult& result);
// {gallery, gallery_identities, fusion_rule, probes: [IdentificationToJson],
//  candidates: [{rank, identity, evidence, fused_fmr, fused_fmr_is_upper_bound,
//  expected_false_candidates, per_probe: [candidate or null]}], note}.
nlohmann::json MultimodalIdentificationToJson(const std::string& gallery,
                                              const MultimodalIdentificationResult& result);

// The document of a 1:1 verification against `gallery`/`identity`.
nlohmann::json VerificationToJson(const std::string& gallery, const std::string& identity,
                                  const VerificationResult& result, const AlgorithmInfo& algorithm);

}  // namespace abis

#endif  // ABIS_ENGINE_RESULT_JSON_H_
