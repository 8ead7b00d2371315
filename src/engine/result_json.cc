#include "engine/result_json.h"

#include <filesystem>
#include <optional>

namespace abis {
namespace {

nlohmann::json OrNull(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ToJson(const FaceQualityReport& q) {
  return {{"detection_score", q.detection_score},
          {"face_width_px", q.face_width_px},
          {"inter_eye_px", q.inter_eye_px},
          {"sharpness", q.sharpness},
          {"exposure_mean", q.exposure_mean},
          {"clipped_fraction", q.clipped_fraction},
          {"yaw_deg", q.yaw_deg},
          {"roll_deg", q.roll_deg},
          {"score", q.score}};
}

nlohmann::json ToJson(const ProbeFace& face) {
  nlohmann::json json = {{"index", face.index},
                         {"box",
                          {{"x", face.box.x},
                           {"y", face.box.y},
                           {"width", face.box.width},
                           {"height", face.box.height}}},
                         {"quality", ToJson(face.quality)},
                         {"passes_gate", face.gate_failure.empty()}};
  if (!face.gate_failure.empty()) json["gate_failure"] = face.gate_failure;
  return json;
}

nlohmann::json ToJson(const FingerReport& f) {
  nlohmann::json json = {{"position", f.position},
                         {"capture", f.contactless ? "contactless" : "contact"},
                         {"minutiae", f.minutiae},
                         {"quality", f.quality},
                         {"ridge_period_px", f.ridge_period},
                         {"passes_gate", f.gate_failure.empty()}};
  if (!f.gate_failure.empty()) json["gate_failure"] = f.gate_failure;
  return json;
}

nlohmann::json ToJson(const Candidate& c) {
  nlohmann::json json = {
      {"rank", c.rank},
      {"identity", c.identity},
      {"reference_id", c.reference_id},
      {"score", c.score},
      {"distance", c.distance},
      {"fmr", OrNull(c.fmr)},
      {"fmr_is_upper_bound", c.fmr ? nlohmann::json(c.fmr_is_upper_bound) : nullptr},
      {"expected_false_candidates", OrNull(c.expected_false_candidates)}};
  if (c.finger_position != 0) json["finger_position"] = c.finger_position;
  return json;
}

nlohmann::json ToJson(const AlgorithmInfo& a) {
  return {{"algorithm", a.algorithm},
          {"model_digest", a.model_digest},
          {"verification_threshold", a.verification_threshold},
          {"duplicate_threshold", a.duplicate_threshold},
          {"calibration_card",
           a.calibration_card.empty()
               ? nlohmann::json(nullptr)
               : nlohmann::json(std::filesystem::path(a.calibration_card).filename().string())}};
}

nlohmann::json ToJson(const GalleryInfo& g) {
  return {{"name", g.name},
          {"created_at", g.created_at},
          {"identities", g.identity_count},
          {"references", g.reference_count}};
}

nlohmann::json IdentificationToJson(const std::string& gallery,
                                    const IdentificationResult& result) {
  nlohmann::json faces = nlohmann::json::array();
  for (const ProbeFace& face : result.faces) faces.push_back(ToJson(face));
  nlohmann::json candidates = nlohmann::json::array();
  for (const Candidate& candidate : result.candidates) candidates.push_back(ToJson(candidate));
  nlohmann::json document = {{"gallery", gallery},
                             {"modality", std::string(ModalityName(result.modality))},
                             {"gallery_identities", result.gallery_identities},
                             {"gallery_references", result.gallery_references},
                             {"faces", faces},
                             {"candidates", candidates},
                             {"algorithm", ToJson(result.algorithm)},
                             {"note", "candidates are investigative leads, not identifications"}};
  if (result.finger) {
    document["finger"] = ToJson(*result.finger);
    document["searched_face"] = nullptr;
  } else if (result.searched_face >= 0) {
    document["searched_face"] = result.searched_face;
  } else {
    document["searched_face"] = nullptr;
    document["needs_face_selection"] = true;
  }
  return document;
}

nlohmann::json MultimodalIdentificationToJson(const std::string& gallery,
                                              const MultimodalIdentificationResult& result) {
  nlohmann::json probes = nlohmann::json::array();
  for (const IdentificationResult& probe : result.probes) {
    probes.push_back(IdentificationToJson(gallery, probe));
  }
  nlohmann::json candidates = nlohmann::json::array();
  for (const MultimodalCandidate& candidate : result.candidates) {
    nlohmann::json per_probe = nlohmann::json::array();
    for (const std::optional<Candidate>& listed : candidate.per_probe) {
      per_probe.push_back(listed ? ToJson(*listed) : nlohmann::json(nullptr));
    }
    candidates.push_back({{"rank", candidate.rank},
                          {"identity", candidate.identity},
                          {"evidence", candidate.evidence},
                          {"fused_fmr", candidate.fused_fmr},
                          {"fused_fmr_is_upper_bound", candidate.fused_fmr_is_upper_bound},
                          {"expected_false_candidates", candidate.expected_false_candidates},
                          {"per_probe", per_probe}});
  }
  return {{"gallery", gallery},
          {"gallery_identities", result.gallery_identities},
          {"fusion_rule",
           "evidence = sum over probes of -log10(max(FMR, 1e-12)); a probe that did not list "
           "the identity adds 0; fused_fmr = 10^-evidence (independent modalities)"},
          {"probes", probes},
          {"candidates", candidates},
          {"note", "candidates are investigative leads, not identifications"}};
}

nlohmann::json VerificationToJson(const std::string& gallery, const std::string& identity,
                                  const VerificationResult& result,
                                  const AlgorithmInfo& algorithm) {
  nlohmann::json document = {
      {"gallery", gallery},
      {"identity", identity},
      {"modality", std::string(ModalityName(result.modality))},
      {"reference_id", result.reference_id},
      {"score", result.score},
      {"distance", result.distance},
      {"threshold", result.threshold},
      {"meets_threshold", result.meets_threshold},
      {"fmr", OrNull(result.fmr)},
      {"fmr_is_upper_bound", result.fmr ? nlohmann::json(result.fmr_is_upper_bound) : nullptr},
      {"algorithm", ToJson(algorithm)}};
  if (result.finger) {
    document["finger"] = ToJson(*result.finger);
  } else {
    document["face"] = ToJson(result.face);
  }
  return document;
}

}  // namespace abis
