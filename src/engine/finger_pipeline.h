// finger_pipeline.h
//
// The engine's fingerprint path: image bytes -> FingerFeatures (contact
// extractor, or the contactless preprocessor first) -> capture gate ->
// Template whose data is the finger template record; and per-gallery sets of
// prepared (MCC) fingers for 1:N with one candidate per identity.
// Engine-internal: the public face of it is include/abis/engine.h.
//
// Thread safety: FingerPipeline is const after construction and may serve
// several threads; FingerGallery is not synchronised (the engine is
// single-threaded).

#ifndef ABIS_ENGINE_FINGER_PIPELINE_H_
#define ABIS_ENGINE_FINGER_PIPELINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/engine.h"
#include "abis/status.h"

#include "finger/contactless.h"
#include "finger/fingerprint_extractor.h"
#include "finger/mcc.h"

namespace abis::engine_internal {

inline constexpr char kFingerAlgorithm[] = "finger/abis-mcc-v1";

class FingerPipeline {
 public:
  FingerPipeline();

  // Algorithm, digest of its versioned parameter set, thresholds.
  const AlgorithmInfo& algorithm() const { return algorithm_; }
  TemplateHeader ProbeHeader() const;

  Result<FingerExtraction> Extract(const std::vector<std::uint8_t>& image,
                                   const FingerCapture& capture, bool enrolment_gate) const;

  // Decodes a stored finger template and builds its cylinders.
  // FailedPrecondition for a template of another algorithm.
  Result<finger::PreparedFinger> Prepare(const Template& finger_template) const;

  // Decodes a stored finger template (FailedPrecondition for another algorithm).
  Result<finger::FingerFeatures> Decode(const Template& finger_template) const;

  // Raw MCC similarity in [0, 1] and its calibrated false-match rate.
  float Match(const finger::PreparedFinger& a, const finger::PreparedFinger& b) const;

  // A contactless print against a contact one: the contactless template was
  // scaled to a nominal ridge period, so it is matched at the scale that
  // gives it the contact print's measured period, and 10% either side (MCC
  // is not scale-tolerant); the best score counts.
  float MatchAcrossCaptures(const finger::FingerFeatures& contactless,
                            const finger::FingerFeatures& contact,
                            const finger::PreparedFinger& contact_prepared) const;
  double Fmr(double raw_score) const;

 private:
  finger::FingerprintExtractor extractor_;
  finger::ContactlessPreprocessor contactless_;
  AlgorithmInfo algorithm_;
};

// Features scaled by `factor` (coordinates and image size; angles unchanged).
finger::FingerFeatures ScaledFeatures(const finger::FingerFeatures& features, double factor);

struct FingerHit {
  std::int64_t reference_id = 0;
  std::string identity;
  int position = 0;
  float score = 0;  // Raw MCC similarity.
};

// The fingers of one gallery, prepared for matching.
class FingerGallery {
 public:
  void Add(std::int64_t reference_id, std::string identity, finger::FingerFeatures features,
           finger::PreparedFinger prepared);

  // Best-scoring reference per identity, highest first, at most `max_hits`
  // with score >= min_score. A known probe position only meets references of
  // the same or of unknown position.
  std::vector<FingerHit> Search(const FingerPipeline& pipeline,
                                const finger::FingerFeatures& probe_features,
                                const finger::PreparedFinger& probe, int max_hits,
                                double min_score) const;

  std::size_t size() const { return references_.size(); }
  std::size_t identity_count() const;

 private:
  struct Reference {
    std::int64_t reference_id;
    std::string identity;
    finger::FingerFeatures features;
    finger::PreparedFinger prepared;
  };
  std::vector<Reference> references_;
};

}  // namespace abis::engine_internal

#endif  // ABIS_ENGINE_FINGER_PIPELINE_H_
