#include "engine/finger_pipeline.h"

#include <algorithm>
#include <cmath>
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
// parameters forces re-enrolment exactly like a new face model.
constexpr std::string_view kFingerParameterSet =
    "finger/abis-mcc-v1;extractor=1;template=1;mcc=R70,NS16,ND6,mu0.01;consolidation=lssr+global";

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

void FingerGallery::Add(std::int64_t reference_id, std::string identity,
                        finger::FingerFeatures features, finger::PreparedFinger prepared) {
  references_.push_back(
      {reference_id, std::move(identity), std::move(features), std::move(prepared)});
}

std::vector<FingerHit> FingerGallery::Search(const FingerPipeline& pipeline,
                                             const finger::FingerFeatures& probe_features,
                                             const finger::PreparedFinger& probe, int max_hits,
                                             double min_score) const {
  const auto probe_position = static_cast<int>(probe.position);
  std::map<std::string_view, FingerHit> best;  // Per identity: sum would reward more enrolments.
  for (const Reference& reference : references_) {
    const auto position = static_cast<int>(reference.prepared.position);
    if (probe_position != 0 && position != 0 && position != probe_position) continue;
    float score = 0;
    if (probe_features.capture == finger::CaptureType::kContactless &&
        reference.features.capture == finger::CaptureType::kContact) {
      score = pipeline.MatchAcrossCaptures(probe_features, reference.features, reference.prepared);
    } else if (probe_features.capture == finger::CaptureType::kContact &&
               reference.features.capture == finger::CaptureType::kContactless) {
      score = pipeline.MatchAcrossCaptures(reference.features, probe_features, probe);
    } else {
      score = pipeline.Match(probe, reference.prepared);
    }
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

std::size_t FingerGallery::identity_count() const {
  std::set<std::string_view> identities;
  for (const Reference& reference : references_) identities.insert(reference.identity);
  return identities.size();
}

}  // namespace abis::engine_internal
