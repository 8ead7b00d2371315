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

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/engine.h"
#include "abis/status.h"

#include "finger/contactless.h"
#include "finger/finger_index.h"
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

// 1:N over a gallery's fingers: which path runs when (docs/fingerprint-matching.md).
//
// The gallery is filed in a finger::FingerIndex once it holds more than
// kFingerIndexThreshold references. A search then runs the indexed path when
// the probe may meet more than kFingerIndexThreshold references (after the
// position filter), and otherwise the exact scan, which compares every
// eligible reference. At 1:1 speeds of about 75k comparisons per CPU-second
// the scan takes about 0.27 s at the threshold and grows linearly; exactness
// is worth that much time (the index loses mates). The indexed
// path shortlists kFingerIndexPenetration of the eligible references (at
// least kFingerIndexMinShortlist) by MCC MinHash voting and compares only
// those, exactly as the scan compares them. It is APPROXIMATE: a mate the
// candidate stage ranks below the shortlist is missed (15 % of
// synthetic mates at 20k references with no position known).
inline constexpr std::size_t kFingerIndexThreshold = 20000;
inline constexpr double kFingerIndexPenetration = 0.05;
inline constexpr std::size_t kFingerIndexMinShortlist = 250;

struct FingerGalleryOptions {
  // Indexed once the gallery holds more references than this; a search is
  // indexed when its probe may meet more references than this.
  std::size_t index_threshold = kFingerIndexThreshold;
  double penetration = kFingerIndexPenetration;  // (0, 1]
  std::size_t min_shortlist = kFingerIndexMinShortlist;
  // Scales at which a probe is shortlisted against references of the other
  // capture type: 1 (the median period) or 3 (also x 0.9 and x 1.1; more
  // mates kept for a longer candidate stage, docs/fingerprint-matching.md).
  int cross_capture_scales = 3;
};

// The fingers of one gallery, prepared for matching.
class FingerGallery {
 public:
  FingerGallery() = default;
  explicit FingerGallery(FingerGalleryOptions options) : options_(options) {}

  void Add(std::int64_t reference_id, std::string identity, finger::FingerFeatures features,
           finger::PreparedFinger prepared);

  // Best-scoring reference per identity, highest first, at most `max_hits`
  // with score >= min_score. A known probe position only meets references of
  // the same or of unknown position. Exact (SearchExact) when the probe may
  // meet at most index_threshold references, else indexed and approximate
  // (SearchIndexed).
  std::vector<FingerHit> Search(const FingerPipeline& pipeline,
                                const finger::FingerFeatures& probe_features,
                                const finger::PreparedFinger& probe, int max_hits,
                                double min_score) const;

  // Every eligible reference compared, whatever the gallery size.
  std::vector<FingerHit> SearchExact(const FingerPipeline& pipeline,
                                     const finger::FingerFeatures& probe_features,
                                     const finger::PreparedFinger& probe, int max_hits,
                                     double min_score) const;

  // Only the candidate stage's shortlist compared, scored and ranked as
  // SearchExact scores and ranks. Falls back to SearchExact while the gallery
  // is not indexed (at or below the threshold).
  std::vector<FingerHit> SearchIndexed(const FingerPipeline& pipeline,
                                       const finger::FingerFeatures& probe_features,
                                       const finger::PreparedFinger& probe, int max_hits,
                                       double min_score) const;

  // The candidate stage alone: indices (in Add order) of the references
  // SearchIndexed compares, ascending; empty while not indexed.
  std::vector<std::size_t> Shortlist(const finger::FingerFeatures& probe_features,
                                     const finger::PreparedFinger& probe) const;

  // Drops the identity's references from a gallery that is not indexed and
  // returns true; returns false (nothing changed) once it is indexed, since
  // the index has no delete: the caller then rebuilds the gallery.
  bool RemoveIdentity(const std::string& identity);

  std::size_t size() const { return references_.size(); }
  std::size_t identity_count() const;
  // True once the gallery has passed the threshold and is filed in the index.
  bool indexed() const { return index_ != nullptr; }

 private:
  struct Reference {
    std::int64_t reference_id;
    std::string identity;
    finger::FingerFeatures features;
    // Moved into index_ once the gallery is indexed (one copy, not two).
    finger::PreparedFinger prepared;
  };
  const finger::PreparedFinger& PreparedAt(std::size_t i) const {
    return index_ ? index_->finger(i) : references_[i].prepared;
  }
  // Files reference i in index_; on failure drops the index for good.
  void FileInIndex(std::size_t i);
  void BuildIndex();
  float Score(const FingerPipeline& pipeline, const finger::FingerFeatures& probe_features,
              const finger::PreparedFinger& probe, std::size_t i) const;
  // Scores `subset` (ascending indices; all references when null).
  std::vector<FingerHit> Rank(const FingerPipeline& pipeline,
                              const finger::FingerFeatures& probe_features,
                              const finger::PreparedFinger& probe,
                              const std::vector<std::size_t>* subset, int max_hits,
                              double min_score) const;
  // Counts a reference in counts_ and periods_.
  void Tally(const finger::FingerFeatures& features, finger::FingerPosition position);
  // References of `capture` a probe at `position` may meet.
  std::size_t Eligible(finger::CaptureType capture, finger::FingerPosition position) const;

  FingerGalleryOptions options_;
  std::vector<Reference> references_;
  // Per capture type (contact, contactless) and position code 0..10.
  std::size_t counts_[2][11] = {};
  // Known ridge periods of the references, per capture type.
  std::vector<float> periods_[2];
  std::unique_ptr<finger::FingerIndex> index_;
  bool index_failed_ = false;
};

}  // namespace abis::engine_internal

#endif  // ABIS_ENGINE_FINGER_PIPELINE_H_
