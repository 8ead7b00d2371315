#include "engine/finger_pipeline.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "core/digest.h"
#include "finger/contactless.h"
#include "finger/finger_template.h"
#include "imaging/image_decoder.h"
#include "policy/capture_policy.h"

namespace abis::engine_internal {
namespace {

// Everything that changes the features or the scores is named here; its
// SHA-256 is the "model digest" of the finger algorithm, so a change of
// parameters forces re-enrolment exactly like a new face model (and a new
// model card: docs/model-cards/README.md). Bump the version of a stage when
// its code changes what it produces:
//   contactless=2: the finger turned tip-up, the ridge period refined up to
//     three times (version 1: the first preprocessor); target period 9 px,
//     rim 15 %, mirrored, bright ridges;
//   cross=period: a contactless print meets a contact one scaled to the
//     contact print's ridge period, x 0.9, 1, 1.1 (MatchAcrossCaptures).
// The static_asserts below catch a changed constant that is named here.
constexpr std::string_view kFingerParameterSet =
    "finger/abis-mcc-v1;extractor=1;template=1;mcc=R70,NS8,ND6,mu0.01;consolidation=lssr+global;"
    "contactless=2,period9,rim0.15,mirror,bright;cross=period,0.9/1/1.1";
static_assert(finger::kMccRadius == 70.0f && finger::kMccSpatialCells == 8 &&
                  finger::kMccDirectionCells == 6 && finger::kMccMuPsi == 0.01f,
              "MCC parameters changed: update kFingerParameterSet (and the model card)");
constexpr finger::ContactlessOptions kContactlessDefaults{};
static_assert(kContactlessDefaults.target_period == 9.0f &&
                  kContactlessDefaults.rim_fraction == 0.15f && kContactlessDefaults.mirror &&
                  kContactlessDefaults.ridges_bright,
              "contactless parameters changed: update kFingerParameterSet (and the model card)");

// Verification at FMR 1e-4; duplicates flagged at FMR 1e-5 (stricter, like
// the face duplicate screen). Thresholds are raw MCC scores.
constexpr double kVerificationFmr = 1e-4;
constexpr double kDuplicateFmr = 1e-5;

bool IsKnownPosition(int position) { return position >= 0 && position <= 10; }

}  // namespace

FingerPipeline::FingerPipeline() {
  algorithm_.algorithm = kFingerAlgorithm;
  algorithm_.model_digest = Sha256Hex(kFingerParameterSet);
  const finger::ScoreCalibration& calibration = finger::ScoreCalibration::Default();
  algorithm_.verification_threshold = calibration.RawThresholdForFmr(kVerificationFmr);
  algorithm_.duplicate_threshold = calibration.RawThresholdForFmr(kDuplicateFmr);
  algorithm_.calibration_card = "built-in (impostor scores of the FVC 2002 and 2004 ISO templates)";
}

TemplateHeader FingerPipeline::ProbeHeader() const {
  return {Modality::kFinger, algorithm_.algorithm, algorithm_.model_digest, 0.0f};
}

Result<FingerExtraction> FingerPipeline::Extract(const std::vector<std::uint8_t>& image,
                                                 const FingerCapture& capture,
                                                 bool enrolment_gate) const {
  if (!IsKnownPosition(capture.position)) {
    return InvalidArgumentError("finger position must be 0 (unknown) or 1..10, got " +
                                std::to_string(capture.position));
  }
  if (!capture.contactless && capture.ppi <= 0) {
    return InvalidArgumentError(
        "the resolution of a contact fingerprint image is required (ppi, e.g. 500): a guess "
        "would rescale every ridge");
  }
  ABIS_ASSIGN_OR_RETURN(imaging::DecodedImage decoded, imaging::DecodeImage(image));
  const auto position = static_cast<finger::FingerPosition>(capture.position);
  finger::FingerFeatures features;
  if (capture.contactless) {
    // A phone photo: the preprocessor finds the fingertip and scales it by
    // its own ridge period, so no resolution is needed.
    ABIS_ASSIGN_OR_RETURN(features, contactless_.Extract(decoded.bgr, extractor_, position));
  } else {
    cv::Mat gray;
    cv::cvtColor(decoded.bgr, gray, cv::COLOR_BGR2GRAY);
    ABIS_ASSIGN_OR_RETURN(
        features, extractor_.Extract(gray, capture.ppi, finger::CaptureType::kContact, position));
  }

  FingerExtraction extraction;
  FingerReport& report = extraction.report;
  report.position = capture.position;
  report.contactless = capture.contactless;
  report.minutiae = static_cast<int>(features.minutiae.size());
  report.quality = features.quality;
  report.ridge_period = features.ridge_period;
  const policy::FingerCaptureGate gate =
      enrolment_gate ? policy::DefaultFingerEnrolmentGate() : policy::DefaultFingerProbeGate();
  Status verdict = policy::CheckFingerCapture({report.quality, report.minutiae, 0.0}, gate);
  if (!verdict.ok()) return verdict;

  const std::string record = finger::EncodeFingerTemplate(features);
  if (record.empty()) {
    ABIS_RETURN_IF_ERROR(finger::ValidateFingerFeatures(features));
    return InternalError("finger template could not be encoded");
  }
  Template& result = extraction.finger_template;
  result.header = ProbeHeader();
  result.header.quality = static_cast<float>(std::clamp<double>(features.quality, 0, 100));
  result.data.assign(record.begin(), record.end());
  return extraction;
}

Result<finger::PreparedFinger> FingerPipeline::Prepare(const Template& finger_template) const {
  ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features, Decode(finger_template));
  return finger::PrepareFinger(features);
}

Result<finger::FingerFeatures> FingerPipeline::Decode(const Template& finger_template) const {
  if (!AreComparable(finger_template.header, ProbeHeader())) {
    return FailedPreconditionError(
        "finger template of another algorithm (" + finger_template.header.algorithm + " " +
        finger_template.header.model_digest.substr(0, 12) + "); re-enrol with the current one");
  }
  return finger::DecodeFingerTemplate(std::string_view(
      reinterpret_cast<const char*>(finger_template.data.data()), finger_template.data.size()));
}

finger::FingerFeatures ScaledFeatures(const finger::FingerFeatures& features, double factor) {
  finger::FingerFeatures scaled = features;
  scaled.width = static_cast<int>(std::ceil(features.width * factor));
  scaled.height = static_cast<int>(std::ceil(features.height * factor));
  scaled.ridge_period = static_cast<float>(features.ridge_period * factor);
  for (finger::Minutia& m : scaled.minutiae) {
    m.x = static_cast<int>(std::lround(m.x * factor));
    m.y = static_cast<int>(std::lround(m.y * factor));
  }
  for (finger::SingularPoint& p : scaled.singular_points) {
    p.x = static_cast<int>(std::lround(p.x * factor));
    p.y = static_cast<int>(std::lround(p.y * factor));
  }
  return scaled;
}

float FingerPipeline::MatchAcrossCaptures(const finger::FingerFeatures& contactless,
                                          const finger::FingerFeatures& contact,
                                          const finger::PreparedFinger& contact_prepared) const {
  double base = 1.0;
  if (contactless.ridge_period > 0 && contact.ridge_period > 0) {
    base = contact.ridge_period / contactless.ridge_period;
  }
  float best = 0;
  for (double step : {0.9, 1.0, 1.1}) {
    auto prepared = finger::PrepareFinger(ScaledFeatures(contactless, base * step));
    if (prepared.ok()) best = std::max(best, finger::MatchPrepared(*prepared, contact_prepared));
  }
  return best;
}

float FingerPipeline::Match(const finger::PreparedFinger& a,
                            const finger::PreparedFinger& b) const {
  return finger::MatchPrepared(a, b);
}

double FingerPipeline::Fmr(double raw_score) const {
  return finger::ScoreCalibration::Default().Fmr(static_cast<float>(raw_score));
}

void FingerGallery::Tally(const finger::FingerFeatures& features, finger::FingerPosition position) {
  const int capture = features.capture == finger::CaptureType::kContactless ? 1 : 0;
  ++counts_[capture][static_cast<int>(position) % 11];
  if (features.ridge_period > 0) periods_[capture].push_back(features.ridge_period);
}

void FingerGallery::Add(std::int64_t reference_id, std::string identity,
                        finger::FingerFeatures features, finger::PreparedFinger prepared) {
  Tally(features, prepared.position);
  references_.push_back(
      {reference_id, std::move(identity), std::move(features), std::move(prepared)});
  if (index_) {
    FileInIndex(references_.size() - 1);
  } else if (!index_failed_ && references_.size() > options_.index_threshold) {
    BuildIndex();
  }
}

void FingerGallery::BuildIndex() {
  index_ = std::make_unique<finger::FingerIndex>();
  for (std::size_t i = 0; i < references_.size() && index_; ++i) FileInIndex(i);
}

void FingerGallery::FileInIndex(std::size_t i) {
  Reference& reference = references_[i];
  // The index is filed in Add order, so its finger index is the reference's.
  auto filed = index_->Add(i, std::move(reference.prepared));
  if (filed.ok() && *filed == i) return;
  // Cannot happen with the default index options below 2^32 fingers; if it
  // does, nothing is lost: take the cylinders back and scan exactly.
  for (std::size_t j = 0; j < index_->size() && j < i; ++j) {
    references_[j].prepared = index_->finger(j);
  }
  auto again = finger::PrepareFinger(reference.features);
  if (again.ok()) reference.prepared = std::move(*again);
  index_.reset();
  index_failed_ = true;
}

std::size_t FingerGallery::Eligible(finger::CaptureType capture,
                                    finger::FingerPosition position) const {
  const auto& counts = counts_[capture == finger::CaptureType::kContactless ? 1 : 0];
  if (position == finger::FingerPosition::kUnknown) {
    std::size_t all = 0;
    for (std::size_t count : counts) all += count;
    return all;
  }
  return counts[static_cast<int>(position) % 11] + counts[0];
}

float FingerGallery::Score(const FingerPipeline& pipeline,
                           const finger::FingerFeatures& probe_features,
                           const finger::PreparedFinger& probe, std::size_t i) const {
  const Reference& reference = references_[i];
  const finger::PreparedFinger& prepared = PreparedAt(i);
  if (probe_features.capture == finger::CaptureType::kContactless &&
      reference.features.capture == finger::CaptureType::kContact) {
    return pipeline.MatchAcrossCaptures(probe_features, reference.features, prepared);
  }
  if (probe_features.capture == finger::CaptureType::kContact &&
      reference.features.capture == finger::CaptureType::kContactless) {
    return pipeline.MatchAcrossCaptures(reference.features, probe_features, probe);
  }
  return pipeline.Match(probe, prepared);
}

std::vector<FingerHit> FingerGallery::Rank(const FingerPipeline& pipeline,
                                           const finger::FingerFeatures& probe_features,
                                           const finger::PreparedFinger& probe,
                                           const std::vector<std::size_t>* subset, int max_hits,
                                           double min_score) const {
  const auto probe_position = static_cast<int>(probe.position);
  std::map<std::string_view, FingerHit> best;  // Per identity: sum would reward more enrolments.
  const std::size_t count = subset ? subset->size() : references_.size();
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = subset ? (*subset)[k] : k;
    const Reference& reference = references_[i];
    const auto position = static_cast<int>(PreparedAt(i).position);
    if (probe_position != 0 && position != 0 && position != probe_position) continue;
    const float score = Score(pipeline, probe_features, probe, i);
    if (score < min_score) continue;
    auto [it, inserted] = best.try_emplace(reference.identity);
    if (inserted || score > it->second.score) {
      it->second = {reference.reference_id, reference.identity, position, score};
    }
  }
  std::vector<FingerHit> hits;
  hits.reserve(best.size());
  for (auto& [identity, hit] : best) hits.push_back(std::move(hit));
  std::sort(hits.begin(), hits.end(), [](const FingerHit& a, const FingerHit& b) {
    return a.score != b.score ? a.score > b.score : a.reference_id < b.reference_id;
  });
  if (hits.size() > static_cast<std::size_t>(std::max(max_hits, 0))) hits.resize(max_hits);
  return hits;
}

std::vector<FingerHit> FingerGallery::Search(const FingerPipeline& pipeline,
                                             const finger::FingerFeatures& probe_features,
                                             const finger::PreparedFinger& probe, int max_hits,
                                             double min_score) const {
  // The references this probe may meet (its position filter applied)
  // decide: a known position in a gallery of all ten fingers leaves about a
  // fifth of it, which may still be scanned exactly.
  const std::size_t eligible = Eligible(finger::CaptureType::kContact, probe.position) +
                               Eligible(finger::CaptureType::kContactless, probe.position);
  return index_ && eligible > options_.index_threshold
             ? SearchIndexed(pipeline, probe_features, probe, max_hits, min_score)
             : SearchExact(pipeline, probe_features, probe, max_hits, min_score);
}

std::vector<FingerHit> FingerGallery::SearchExact(const FingerPipeline& pipeline,
                                                  const finger::FingerFeatures& probe_features,
                                                  const finger::PreparedFinger& probe, int max_hits,
                                                  double min_score) const {
  return Rank(pipeline, probe_features, probe, nullptr, max_hits, min_score);
}

std::vector<FingerHit> FingerGallery::SearchIndexed(const FingerPipeline& pipeline,
                                                    const finger::FingerFeatures& probe_features,
                                                    const finger::PreparedFinger& probe,
                                                    int max_hits, double min_score) const {
  if (!index_) return SearchExact(pipeline, probe_features, probe, max_hits, min_score);
  const std::vector<std::size_t> shortlist = Shortlist(probe_features, probe);
  return Rank(pipeline, probe_features, probe, &shortlist, max_hits, min_score);
}

std::vector<std::size_t> FingerGallery::Shortlist(const finger::FingerFeatures& probe_features,
                                                  const finger::PreparedFinger& probe) const {
  if (!index_) return {};
  using finger::CaptureType;
  const CaptureType same = probe_features.capture;
  const CaptureType other =
      same == CaptureType::kContact ? CaptureType::kContactless : CaptureType::kContact;
  const std::size_t eligible_same = Eligible(same, probe.position);
  const std::size_t eligible_other = Eligible(other, probe.position);
  const auto wanted = [&](std::size_t eligible) {
    const auto share = static_cast<std::size_t>(std::ceil(options_.penetration * eligible));
    return std::min(eligible, std::max(options_.min_shortlist, share));
  };
  std::vector<std::size_t> selected;
  // One ranking per capture type of the references. When both types are
  // eligible the candidate stage ranks all of them and the first `wanted` of
  // the type are kept (the votes of the other type are for another query).
  // Several queries (scales) are interleaved rank by rank.
  std::vector<bool> seen(references_.size(), false);
  const auto take = [&](const std::vector<const finger::PreparedFinger*>& queries,
                        CaptureType capture, std::size_t want) {
    const bool mixed = eligible_same > 0 && eligible_other > 0;
    std::vector<std::vector<std::size_t>> rankings;
    for (const finger::PreparedFinger* query : queries) {
      rankings.push_back(index_->Shortlist(*query, mixed ? eligible_same + eligible_other : want));
    }
    std::size_t taken = 0;
    for (std::size_t rank = 0; taken < want; ++rank) {
      bool any = false;
      for (const std::vector<std::size_t>& ranked : rankings) {
        if (rank >= ranked.size() || taken == want) continue;
        any = true;
        const std::size_t i = ranked[rank];
        if (seen[i] || references_[i].features.capture != capture) continue;
        seen[i] = true;
        selected.push_back(i);
        ++taken;
      }
      if (!any) break;
    }
  };
  if (eligible_same > 0) take({&probe}, same, wanted(eligible_same));
  if (eligible_other > 0) {
    // Across capture types MatchAcrossCaptures scales the contactless print
    // so its ridge period becomes the contact print's, then 10 % either side
    // (MCC cylinders have a fixed radius in pixels, so the hash keys of a
    // print at the wrong scale miss its mate). The reference's own period is
    // unknown until it is shortlisted, so the probe is scaled to the median
    // known period of the other type's references: a contactless probe to the
    // contact references' typical period; a contact probe to the contactless
    // references' period (the pipeline normalises them all to one nominal
    // period, so the median is that). With cross_capture_scales = 3 (the
    // default) it is also shortlisted at 0.9 and 1.1 times that, as
    // MatchAcrossCaptures tries: people's periods spread by more than the
    // hash keys tolerate. Without known periods the probe is used at its own
    // scale (MatchAcrossCaptures then does not rescale either).
    double factor = 1.0;
    std::vector<float> periods = periods_[other == CaptureType::kContactless ? 1 : 0];
    if (!periods.empty() && probe_features.ridge_period > 0) {
      auto middle = periods.begin() + static_cast<std::ptrdiff_t>(periods.size() / 2);
      std::nth_element(periods.begin(), middle, periods.end());
      factor = *middle / probe_features.ridge_period;
    }
    std::vector<finger::PreparedFinger> scaled;
    std::vector<double> steps = {1.0};
    if (options_.cross_capture_scales == 3) steps = {1.0, 0.9, 1.1};
    for (double step : steps) {
      if (factor * step == 1.0) {
        scaled.push_back(probe);
        continue;
      }
      auto prepared = finger::PrepareFinger(ScaledFeatures(probe_features, factor * step));
      if (prepared.ok()) scaled.push_back(std::move(*prepared));
    }
    std::vector<const finger::PreparedFinger*> queries;
    for (const finger::PreparedFinger& query : scaled) queries.push_back(&query);
    if (queries.empty()) queries.push_back(&probe);
    take(queries, other, wanted(eligible_other));
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

bool FingerGallery::RemoveIdentity(const std::string& identity) {
  if (index_) return false;
  std::erase_if(references_,
                [&identity](const Reference& reference) { return reference.identity == identity; });
  // The counts and periods describe the references held: count them again.
  for (auto& counts : counts_) std::fill(std::begin(counts), std::end(counts), 0);
  for (auto& periods : periods_) periods.clear();
  for (const Reference& reference : references_) {
    Tally(reference.features, reference.prepared.position);
  }
  return true;
}

std::size_t FingerGallery::identity_count() const {
  std::set<std::string_view> identities;
  for (const Reference& reference : references_) identities.insert(reference.identity);
  return identities.size();
}

}  // namespace abis::engine_internal
