// The Engine implementation: orchestration only. Each step lives in its
// stage (imaging, face, policy, templates, search, store); this file decides
// their order and translates between their types and the public API.

#include "abis/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include "core/digest.h"
#include "engine/face_gallery.h"
#include "engine/finger_pipeline.h"
#include "eval/calibration.h"
#include "face/face_analyzer.h"
#include "face/face_embedder.h"
#include "imaging/image_decoder.h"
#include "policy/capture_policy.h"
#include "search/face_scoring.h"
#include "search/score_fusion.h"
#include "store/master_key.h"
#include "store/sqlite_store.h"

namespace abis {
namespace {

constexpr char kFaceAlgorithm[] = "face/dlib-resnet-v1";
constexpr char kFaceModelFile[] = "face_recognition_resnet_v1.dat";
// dlib's 1:1 convention (distance 0.6) and a stricter duplicate screen
// (0.5); both expressed as scores. See docs/algorithms.md.
constexpr double kVerificationDistance = 0.6;
constexpr double kDuplicateDistance = 0.5;
// The model card shipped for kFaceAlgorithm; used when its model digest is
// the loaded model's (docs/model-cards/README.md).
constexpr char kShippedFaceModelCard[] =
    ABIS_SOURCE_DIR "/docs/model-cards/face-dlib-resnet-v1.json";
constexpr char kShippedFingerModelCard[] =
    ABIS_SOURCE_DIR "/docs/model-cards/finger-abis-mcc-v1.json";

// Finger operating points (as in engine/finger_pipeline.cc): verification at
// FMR 1e-4, the duplicate screen at 1e-5.
constexpr double kFingerVerificationFmr = 1e-4;
constexpr double kFingerDuplicateFmr = 1e-5;
// Multimodal fusion: each probe's list is searched max(5 x the requested
// length, 100) deep; evidence per probe is capped at 12 (FMR 1e-12) so one
// over-confident calibration cannot decide alone.
constexpr int kFusionListDepthFactor = 5;
constexpr int kFusionMinListDepth = 100;
constexpr double kFusionFmrFloor = 1e-12;

// The lowest score whose calibrated FMR is at most `fmr`; where the card's
// data cannot reach that FMR, its highest measured score (FMR <= 1/impostors).
double ScoreAtFmr(const eval::FmrCalibration& calibration, double fmr) {
  for (const eval::CalibrationKnot& knot : calibration.knots()) {
    if (knot.fmr <= fmr) return knot.score;
  }
  return calibration.knots().empty() ? 1.0 : calibration.knots().back().score;
}

FaceQualityReport ToReport(const face::FaceQuality& q) {
  return {q.detection_score,  q.face_width_px, q.inter_eye_px, q.sharpness, q.exposure_mean,
          q.clipped_fraction, q.yaw_deg,       q.roll_deg,     q.score};
}

policy::FaceCaptureMeasures ToMeasures(const face::FaceQuality& q) {
  return {q.detection_score, q.inter_eye_px, q.yaw_deg, q.roll_deg, q.score};
}

// `calibration` may be null (uncalibrated: no FMR). Expected false
// candidates = gallery identities * FMR(score), see FmrCalibration.
std::vector<Candidate> ToCandidates(const std::vector<search::IndexHit>& hits,
                                    const eval::FmrCalibration* calibration,
                                    std::int64_t gallery_identities) {
  std::vector<Candidate> candidates;
  candidates.reserve(hits.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    Candidate candidate{static_cast<int>(i) + 1, hits[i].identity, hits[i].reference_id,
                        hits[i].score, hits[i].distance};
    if (calibration != nullptr) {
      eval::FmrEstimate estimate = calibration->FmrAt(hits[i].score);
      candidate.fmr = estimate.fmr;
      candidate.fmr_is_upper_bound = estimate.is_upper_bound;
      candidate.expected_false_candidates = static_cast<double>(gallery_identities) * estimate.fmr;
    }
    candidates.push_back(std::move(candidate));
  }
  return candidates;
}

// Where the face networks come from, and the digest of the weights.
struct FaceModelFiles {
  std::string landmark_path;
  std::string model_path;
  std::string digest;
};

constexpr char kFaceModelHint[] = "face model (run scripts/setup.sh to fetch and convert it)";

struct FaceNetworks {
  std::unique_ptr<face::FaceAnalyzer> analyzer;
  std::unique_ptr<face::FaceEmbedder> embedder;
};

// Builds the landmark predictor and the ResNet from `files` (seconds).
Result<FaceNetworks> LoadFaceNetworks(const FaceModelFiles& files) {
  FaceNetworks networks;
  ABIS_ASSIGN_OR_RETURN(networks.analyzer, face::FaceAnalyzer::Load(files.landmark_path));
  auto embedder = face::FaceEmbedder::Load(files.model_path);
  if (!embedder.ok()) return embedder.status().WithContext(kFaceModelHint);
  networks.embedder = std::move(*embedder);
  return networks;
}

class StageEngine final : public Engine {
 public:
  // `networks` may be empty: they then load from `face_models` at the first
  // face operation (EnsureFaceModels).
  StageEngine(FaceModelFiles face_models, FaceNetworks networks, std::unique_ptr<SqliteStore> store)
      : face_models_(std::move(face_models)),
        analyzer_(std::move(networks.analyzer)),
        embedder_(std::move(networks.embedder)),
        store_(std::move(store)) {
    algorithm_.algorithm = kFaceAlgorithm;
    algorithm_.model_digest = face_models_.digest;
    algorithm_.verification_threshold = search::FaceScoreFromDistance(kVerificationDistance);
    algorithm_.duplicate_threshold = search::FaceScoreFromDistance(kDuplicateDistance);
    // The shipped card applies only when it was measured on this model.
    if (std::filesystem::exists(kShippedFaceModelCard)) {
      (void)LoadCalibration(kShippedFaceModelCard);
    }
    finger_algorithm_ = finger_.algorithm();
    if (std::filesystem::exists(kShippedFingerModelCard)) {
      (void)LoadCalibration(kShippedFingerModelCard);
    }
  }

  const AlgorithmInfo& face_algorithm() const override { return algorithm_; }
  const AlgorithmInfo& finger_algorithm() const override { return finger_algorithm_; }

  Result<FingerExtraction> ExtractFinger(const std::vector<std::uint8_t>& image,
                                         const FingerCapture& capture,
                                         bool enrolment_gate) override {
    return finger_.Extract(image, capture, enrolment_gate);
  }

  Status LoadCalibration(const std::string& model_card_path) override {
    ABIS_ASSIGN_OR_RETURN(eval::ModelCard card, eval::ReadModelCard(model_card_path));
    if (card.modality == "finger") {
      Status matches = eval::CheckModelCardMatches(card, "finger", finger_algorithm_.algorithm,
                                                   finger_algorithm_.model_digest);
      if (!matches.ok()) return matches.WithContext(model_card_path);
      finger_calibration_ = std::move(card.calibration);
      finger_algorithm_.calibration_card = model_card_path;
      // The thresholds follow the card measured with our own extraction: the
      // built-in ones come from another extractor's minutiae and sit far too
      // high for ours.
      finger_algorithm_.verification_threshold =
          ScoreAtFmr(*finger_calibration_, kFingerVerificationFmr);
      finger_algorithm_.duplicate_threshold = ScoreAtFmr(*finger_calibration_, kFingerDuplicateFmr);
      return Status();
    }
    Status matches =
        eval::CheckModelCardMatches(card, "face", algorithm_.algorithm, algorithm_.model_digest);
    if (!matches.ok()) return matches.WithContext(model_card_path);
    calibration_ = std::move(card.calibration);
    algorithm_.calibration_card = model_card_path;
    return Status();
  }

  Result<std::vector<ProbeFace>> DetectFaces(const std::vector<std::uint8_t>& image) override {
    ABIS_ASSIGN_OR_RETURN(auto analyzed, Analyze(image));
    std::vector<ProbeFace> faces;
    for (std::size_t i = 0; i < analyzed.size(); ++i) {
      faces.push_back(Describe(analyzed[i], static_cast<int>(i), policy::DefaultProbeGate()));
    }
    return faces;
  }

  Result<FaceExtraction> ExtractFace(const std::vector<std::uint8_t>& image, int face_index,
                                     bool enrolment_gate) override {
    ABIS_ASSIGN_OR_RETURN(auto analyzed, Analyze(image));
    policy::FaceCaptureGate gate =
        enrolment_gate ? policy::DefaultEnrolmentGate() : policy::DefaultProbeGate();
    ABIS_ASSIGN_OR_RETURN(int chosen, ChooseFace(analyzed, face_index));
    ProbeFace face = Describe(analyzed[chosen], chosen, gate);
    if (!face.gate_failure.empty()) return FailedPreconditionError(face.gate_failure);
    ABIS_ASSIGN_OR_RETURN(Template face_template, Embed(analyzed[chosen]));
    return FaceExtraction{std::move(face_template), std::move(face),
                          static_cast<int>(analyzed.size())};
  }

  Result<EnrolmentResult> Enrol(const EnrolmentRequest& request) override {
    // Look the gallery up before the costly extraction; it is created only
    // after the capture passed, so a rejected capture leaves nothing behind.
    auto gallery = store_->GetGallery(request.gallery);
    const bool gallery_missing = !gallery.ok() && gallery.status().code() == StatusCode::kNotFound;
    if (!gallery.ok() && !(gallery_missing && request.create_gallery)) return gallery.status();
    if (request.modality == Modality::kFinger) return EnrolFinger(request, gallery_missing);
    ABIS_ASSIGN_OR_RETURN(FaceExtraction extraction, ExtractFace(request.image, -1, true));
    EnrolmentResult result;
    result.gallery = request.gallery;
    result.identity = request.identity;
    result.face = extraction.face;
    result.source_sha256 = Sha256Hex(std::span<const std::uint8_t>(request.image));
    if (gallery_missing) ABIS_RETURN_IF_ERROR(store_->CreateGallery(request.gallery).status());
    ABIS_ASSIGN_OR_RETURN(engine_internal::FaceGallery * index, IndexFor(request.gallery));
    ABIS_ASSIGN_OR_RETURN(auto hits, index->Search(extraction.face_template.features, 5,
                                                   algorithm_.duplicate_threshold));
    for (const Candidate& candidate :
         ToCandidates(hits, Calibration(), static_cast<std::int64_t>(index->identity_count()))) {
      if (candidate.identity != request.identity) result.possible_duplicates.push_back(candidate);
    }
    ABIS_ASSIGN_OR_RETURN(ReferenceRecord record,
                          store_->AddReference(request.gallery, request.identity,
                                               extraction.face_template, result.source_sha256));
    result.reference_id = record.reference_id;
    // Keep the cached index in step with the store only after the commit.
    auto cached = indexes_.find(request.gallery);
    if (cached != indexes_.end()) {
      ABIS_RETURN_IF_ERROR(cached->second->Add(record.reference_id, request.identity,
                                               extraction.face_template.features));
    }
    return result;
  }

  Result<std::vector<std::uint8_t>> CropFace(const std::vector<std::uint8_t>& image,
                                             int face_index) override {
    ABIS_ASSIGN_OR_RETURN(imaging::DecodedImage decoded, imaging::DecodeImage(image));
    ABIS_RETURN_IF_ERROR(EnsureFaceModels());
    ABIS_ASSIGN_OR_RETURN(auto analyzed, analyzer_->Analyze(decoded.bgr));
    ABIS_ASSIGN_OR_RETURN(int chosen, ChooseFace(analyzed, face_index));
    const cv::Rect2d& box = analyzed[chosen].box;
    cv::Rect2d padded(box.x - box.width / 2, box.y - box.height / 2, box.width * 2, box.height * 2);
    cv::Rect region = cv::Rect(padded) & cv::Rect(0, 0, decoded.bgr.cols, decoded.bgr.rows);
    return imaging::EncodePng(decoded.bgr(region));
  }

  Result<double> CompareTemplates(const Template& a, const Template& b) const override {
    if (a.header.modality == Modality::kFinger || b.header.modality == Modality::kFinger) {
      if (!AreComparable(a.header, b.header)) {
        return FailedPreconditionError("templates of different modalities or algorithms");
      }
      ABIS_ASSIGN_OR_RETURN(const finger::PreparedFinger* prepared_a, PreparedCached(a));
      ABIS_ASSIGN_OR_RETURN(const finger::PreparedFinger* prepared_b, PreparedCached(b));
      if (prepared_a->capture != prepared_b->capture) {
        ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features_a, finger_.Decode(a));
        ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features_b, finger_.Decode(b));
        return static_cast<double>(
            features_a.capture == finger::CaptureType::kContactless
                ? finger_.MatchAcrossCaptures(features_a, features_b, *prepared_b)
                : finger_.MatchAcrossCaptures(features_b, features_a, *prepared_a));
      }
      return static_cast<double>(finger_.Match(*prepared_a, *prepared_b));
    }
    ABIS_ASSIGN_OR_RETURN(search::FaceComparison comparison, search::CompareFaceTemplates(a, b));
    return comparison.score;
  }

  Result<IdentificationResult> Identify(const IdentificationRequest& request) override {
    if (request.max_candidates <= 0 || request.max_candidates > 1000) {
      return InvalidArgumentError("max_candidates must be in 1..1000");
    }
    ABIS_RETURN_IF_ERROR(store_->GetGallery(request.gallery).status());
    if (request.modality == Modality::kFinger) return IdentifyFinger(request);
    ABIS_ASSIGN_OR_RETURN(auto analyzed, Analyze(request.image));
    IdentificationResult result;
    result.algorithm = algorithm_;
    for (std::size_t i = 0; i < analyzed.size(); ++i) {
      result.faces.push_back(
          Describe(analyzed[i], static_cast<int>(i), policy::DefaultProbeGate()));
    }
    ABIS_ASSIGN_OR_RETURN(engine_internal::FaceGallery * index, IndexFor(request.gallery));
    result.gallery_references = static_cast<std::int64_t>(index->size());
    result.gallery_identities = static_cast<std::int64_t>(index->identity_count());
    if (analyzed.size() > 1 && request.face_index < 0) return result;  // Caller picks a face.
    ABIS_ASSIGN_OR_RETURN(int chosen, ChooseFace(analyzed, request.face_index));
    if (!result.faces[chosen].gate_failure.empty()) {
      return FailedPreconditionError(result.faces[chosen].gate_failure);
    }
    ABIS_ASSIGN_OR_RETURN(Template probe, Embed(analyzed[chosen]));
    ABIS_ASSIGN_OR_RETURN(auto hits,
                          index->Search(probe.features, request.max_candidates, request.min_score));
    result.searched_face = chosen;
    result.candidates = ToCandidates(hits, Calibration(), result.gallery_identities);
    return result;
  }

  Result<MultimodalIdentificationResult> IdentifyMultimodal(
      const std::vector<IdentificationRequest>& probes, int max_candidates) override {
    if (probes.size() < 2) {
      return InvalidArgumentError("a multimodal search needs at least two probes");
    }
    if (max_candidates <= 0 || max_candidates > 1000) {
      return InvalidArgumentError("max_candidates must be in 1..1000");
    }
    for (const IdentificationRequest& probe : probes) {
      if (probe.gallery != probes[0].gallery) {
        return InvalidArgumentError(
            "every probe of a multimodal search must name the same gallery");
      }
    }
    MultimodalIdentificationResult result;
    std::vector<search::ModalityCandidates> lists;
    std::vector<std::string> names;                         // Identity number -> name.
    std::unordered_map<std::string, std::int64_t> numbers;  // Name -> identity number.
    for (std::size_t i = 0; i < probes.size(); ++i) {
      IdentificationRequest deep = probes[i];
      deep.max_candidates =
          std::min(1000, std::max(max_candidates * kFusionListDepthFactor, kFusionMinListDepth));
      auto found = Identify(deep);
      if (!found.ok()) {
        return found.status().WithContext("probe " + std::to_string(i + 1));
      }
      if (found->modality == Modality::kFace && found->searched_face < 0) {
        return FailedPreconditionError("probe " + std::to_string(i + 1) + ": " +
                                       std::to_string(found->faces.size()) +
                                       " faces found; choose one by index");
      }
      search::ModalityCandidates list;
      list.modality = (found->modality == Modality::kFace ? "face probe " : "finger probe ") +
                      std::to_string(i + 1);
      if (found->modality == Modality::kFace) {
        const eval::FmrCalibration* calibration = Calibration();
        if (calibration == nullptr) {
          return FailedPreconditionError(
              "the face model has no calibration card: fusion needs calibrated FMRs");
        }
        list.calibration = [calibration](double score) { return calibration->FmrAt(score).fmr; };
      } else {
        list.calibration = [this](double score) {
          std::optional<double> fmr;
          bool is_upper_bound = false;
          FingerFmr(score, fmr, is_upper_bound);
          return fmr.value_or(1.0);
        };
      }
      for (const Candidate& candidate : found->candidates) {
        auto [it, inserted] =
            numbers.try_emplace(candidate.identity, static_cast<std::int64_t>(names.size()));
        if (inserted) names.push_back(candidate.identity);
        list.scores.emplace_back(it->second, candidate.score);
      }
      lists.push_back(std::move(list));
      result.probes.push_back(std::move(*found));
    }
    ABIS_ASSIGN_OR_RETURN(auto fused, search::FuseByLogFmr(lists, kFusionFmrFloor));
    ABIS_ASSIGN_OR_RETURN(GalleryInfo gallery, store_->GetGallery(probes[0].gallery));
    result.gallery_identities = gallery.identity_count;
    for (const search::FusedCandidate& f : fused) {
      if (result.candidates.size() >= static_cast<std::size_t>(max_candidates)) break;
      MultimodalCandidate candidate;
      candidate.rank = static_cast<int>(result.candidates.size()) + 1;
      candidate.identity = names[static_cast<std::size_t>(f.identity_id)];
      candidate.evidence = f.evidence;
      candidate.fused_fmr = std::pow(10.0, -f.evidence);
      candidate.expected_false_candidates =
          static_cast<double>(result.gallery_identities) * candidate.fused_fmr;
      for (const IdentificationResult& probe : result.probes) {
        std::optional<Candidate> listed;
        for (const Candidate& c : probe.candidates) {
          if (c.identity == candidate.identity) {
            listed = c;
            break;
          }
        }
        if (listed && listed->fmr_is_upper_bound) candidate.fused_fmr_is_upper_bound = true;
        candidate.per_probe.push_back(std::move(listed));
      }
      result.candidates.push_back(std::move(candidate));
    }
    // The deeper lists served the fusion; each probe reports what was asked.
    for (IdentificationResult& probe : result.probes) {
      if (probe.candidates.size() > static_cast<std::size_t>(max_candidates)) {
        probe.candidates.resize(max_candidates);
      }
    }
    return result;
  }

  Result<VerificationResult> Verify(const VerificationRequest& request) override {
    if (request.modality == Modality::kFinger) return VerifyFinger(request);
    ABIS_ASSIGN_OR_RETURN(auto references, store_->LoadIdentityReferences(
                                               request.gallery, request.identity, Modality::kFace));
    if (references.empty()) {
      return NotFoundError("identity '" + request.identity + "' has no face reference");
    }
    ABIS_ASSIGN_OR_RETURN(FaceExtraction probe,
                          ExtractFace(request.image, request.face_index, false));
    VerificationResult result;
    result.face = probe.face;
    result.threshold = algorithm_.verification_threshold;
    result.score = -1;
    for (const StoredReference& reference : references) {
      ABIS_ASSIGN_OR_RETURN(auto comparison,
                            search::CompareFaceTemplates(probe.face_template, reference.tmpl));
      if (comparison.score > result.score) {
        result.score = comparison.score;
        result.distance = comparison.distance;
        result.reference_id = reference.reference_id;
      }
    }
    result.meets_threshold = result.score >= result.threshold;
    if (const eval::FmrCalibration* calibration = Calibration()) {
      eval::FmrEstimate estimate = calibration->FmrAt(result.score);
      result.fmr = estimate.fmr;
      result.fmr_is_upper_bound = estimate.is_upper_bound;
    }
    return result;
  }

  Result<ComparisonResult> Compare(const std::vector<std::uint8_t>& image_a,
                                   const std::vector<std::uint8_t>& image_b) override {
    ABIS_ASSIGN_OR_RETURN(FaceExtraction a, ExtractFace(image_a, -1, false));
    ABIS_ASSIGN_OR_RETURN(FaceExtraction b, ExtractFace(image_b, -1, false));
    ABIS_ASSIGN_OR_RETURN(auto comparison,
                          search::CompareFaceTemplates(a.face_template, b.face_template));
    return ComparisonResult{a.face, b.face, comparison.score, comparison.distance};
  }

  Result<std::vector<GalleryInfo>> ListGalleries() override { return store_->ListGalleries(); }

  Result<std::vector<std::string>> ListIdentities(const std::string& gallery) override {
    return store_->ListIdentities(gallery);
  }

  Status DeleteGallery(const std::string& gallery) override {
    indexes_.erase(gallery);
    finger_galleries_.erase(gallery);
    return store_->DeleteGallery(gallery);
  }

  Status DeleteIdentity(const std::string& gallery, const std::string& identity) override {
    Status deleted = store_->DeleteIdentity(gallery, identity);
    // Below the index threshold the identity's fingers are dropped in place;
    // an indexed gallery (or a refused delete) is rebuilt at its next use.
    auto fingers = finger_galleries_.find(gallery);
    if (fingers != finger_galleries_.end() &&
        (!deleted.ok() || !fingers->second.RemoveIdentity(identity))) {
      finger_galleries_.erase(fingers);
    }
    auto cached = indexes_.find(gallery);
    if (cached != indexes_.end()) {
      // Tombstone the identity's rows; reload from the store at next use if
      // the two could disagree (the store refused, or the index had none).
      if (!deleted.ok() || !cached->second->DeleteIdentity(identity).ok()) indexes_.erase(cached);
    }
    return deleted;
  }

 private:
  // Preparing cylinders costs far more than matching them, and evaluation
  // compares each template with hundreds of others: keep the recent ones.
  Result<const finger::PreparedFinger*> PreparedCached(const Template& finger_template) const {
    std::string key(finger_template.data.begin(), finger_template.data.end());
    key += finger_template.header.model_digest;
    auto it = prepared_cache_.find(key);
    if (it != prepared_cache_.end()) return &it->second;
    ABIS_ASSIGN_OR_RETURN(finger::PreparedFinger prepared, finger_.Prepare(finger_template));
    if (prepared_cache_.size() >= kPreparedCacheEntries) prepared_cache_.clear();
    return &prepared_cache_.emplace(std::move(key), std::move(prepared)).first->second;
  }
  static constexpr std::size_t kPreparedCacheEntries = 4096;

  Result<EnrolmentResult> EnrolFinger(const EnrolmentRequest& request, bool gallery_missing) {
    ABIS_ASSIGN_OR_RETURN(FingerExtraction extraction,
                          finger_.Extract(request.image, request.finger, true));
    ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features,
                          finger_.Decode(extraction.finger_template));
    ABIS_ASSIGN_OR_RETURN(finger::PreparedFinger prepared, finger::PrepareFinger(features));
    EnrolmentResult result;
    result.gallery = request.gallery;
    result.identity = request.identity;
    result.finger = extraction.report;
    result.source_sha256 = Sha256Hex(std::span<const std::uint8_t>(request.image));
    if (gallery_missing) ABIS_RETURN_IF_ERROR(store_->CreateGallery(request.gallery).status());
    ABIS_ASSIGN_OR_RETURN(engine_internal::FingerGallery * fingers,
                          FingerGalleryFor(request.gallery));
    auto hits =
        fingers->Search(finger_, features, prepared, 5, finger_algorithm_.duplicate_threshold);
    for (const Candidate& candidate : ToFingerCandidates(hits, fingers->identity_count())) {
      if (candidate.identity != request.identity) result.possible_duplicates.push_back(candidate);
    }
    ABIS_ASSIGN_OR_RETURN(ReferenceRecord record,
                          store_->AddReference(request.gallery, request.identity,
                                               extraction.finger_template, result.source_sha256));
    result.reference_id = record.reference_id;
    fingers->Add(record.reference_id, request.identity, std::move(features), std::move(prepared));
    return result;
  }

  Result<IdentificationResult> IdentifyFinger(const IdentificationRequest& request) {
    ABIS_ASSIGN_OR_RETURN(FingerExtraction probe,
                          finger_.Extract(request.image, request.finger, false));
    ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features, finger_.Decode(probe.finger_template));
    ABIS_ASSIGN_OR_RETURN(finger::PreparedFinger prepared, finger::PrepareFinger(features));
    ABIS_ASSIGN_OR_RETURN(engine_internal::FingerGallery * fingers,
                          FingerGalleryFor(request.gallery));
    IdentificationResult result;
    result.modality = Modality::kFinger;
    result.algorithm = finger_algorithm_;
    result.finger = probe.report;
    result.gallery_references = static_cast<std::int64_t>(fingers->size());
    result.gallery_identities = static_cast<std::int64_t>(fingers->identity_count());
    result.searched_face = -1;
    result.candidates = ToFingerCandidates(
        fingers->Search(finger_, features, prepared, request.max_candidates, request.min_score),
        fingers->identity_count());
    return result;
  }

  Result<VerificationResult> VerifyFinger(const VerificationRequest& request) {
    ABIS_ASSIGN_OR_RETURN(
        auto references,
        store_->LoadIdentityReferences(request.gallery, request.identity, Modality::kFinger));
    if (references.empty()) {
      return NotFoundError("identity '" + request.identity + "' has no finger reference");
    }
    ABIS_ASSIGN_OR_RETURN(FingerExtraction probe,
                          finger_.Extract(request.image, request.finger, false));
    ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures features, finger_.Decode(probe.finger_template));
    ABIS_ASSIGN_OR_RETURN(finger::PreparedFinger prepared, finger::PrepareFinger(features));
    VerificationResult result;
    result.modality = Modality::kFinger;
    result.finger = probe.report;
    result.threshold = finger_algorithm_.verification_threshold;
    result.score = -1;
    for (const StoredReference& reference : references) {
      ABIS_ASSIGN_OR_RETURN(finger::FingerFeatures stored_features, finger_.Decode(reference.tmpl));
      ABIS_ASSIGN_OR_RETURN(finger::PreparedFinger stored, finger::PrepareFinger(stored_features));
      const int position = static_cast<int>(stored.position);
      if (request.finger.position != 0 && position != 0 && position != request.finger.position) {
        continue;  // Another finger of the same person is not a comparison.
      }
      double score = 0;
      if (features.capture == stored_features.capture) {
        score = finger_.Match(prepared, stored);
      } else if (features.capture == finger::CaptureType::kContactless) {
        score = finger_.MatchAcrossCaptures(features, stored_features, stored);
      } else {
        score = finger_.MatchAcrossCaptures(stored_features, features, prepared);
      }
      if (score > result.score) {
        result.score = score;
        result.reference_id = reference.reference_id;
      }
    }
    if (result.reference_id == 0) {
      return NotFoundError("identity '" + request.identity + "' has no reference of finger " +
                           std::to_string(request.finger.position));
    }
    result.meets_threshold = result.score >= result.threshold;
    FingerFmr(result.score, result.fmr, result.fmr_is_upper_bound);
    return result;
  }

  // The FMR of a finger score: from the model card measured with our own
  // extraction when one is loaded, else the matcher's built-in calibration.
  void FingerFmr(double score, std::optional<double>& fmr, bool& is_upper_bound) const {
    if (finger_calibration_) {
      eval::FmrEstimate estimate = finger_calibration_->FmrAt(score);
      fmr = estimate.fmr;
      is_upper_bound = estimate.is_upper_bound;
    } else {
      fmr = finger_.Fmr(score);
      is_upper_bound = false;
    }
  }

  std::vector<Candidate> ToFingerCandidates(const std::vector<engine_internal::FingerHit>& hits,
                                            std::size_t gallery_identities) const {
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < hits.size(); ++i) {
      Candidate candidate{static_cast<int>(i) + 1, hits[i].identity, hits[i].reference_id,
                          hits[i].score, 0.0};
      candidate.finger_position = hits[i].position;
      FingerFmr(hits[i].score, candidate.fmr, candidate.fmr_is_upper_bound);
      candidate.expected_false_candidates =
          static_cast<double>(gallery_identities) * *candidate.fmr;
      candidates.push_back(std::move(candidate));
    }
    return candidates;
  }

  // The gallery's prepared fingers, loaded from the store on first use.
  Result<engine_internal::FingerGallery*> FingerGalleryFor(const std::string& gallery) {
    auto it = finger_galleries_.find(gallery);
    if (it != finger_galleries_.end()) return &it->second;
    ABIS_ASSIGN_OR_RETURN(auto references, store_->LoadReferences(gallery, Modality::kFinger));
    engine_internal::FingerGallery fingers;
    for (StoredReference& reference : references) {
      auto features = finger_.Decode(reference.tmpl);
      if (!features.ok()) return features.status().WithContext("gallery '" + gallery + "'");
      auto prepared = finger::PrepareFinger(*features);
      if (!prepared.ok()) return prepared.status().WithContext("gallery '" + gallery + "'");
      fingers.Add(reference.reference_id, std::move(reference.identity_external_id),
                  std::move(*features), std::move(*prepared));
    }
    auto [inserted, unused] = finger_galleries_.emplace(gallery, std::move(fingers));
    return &inserted->second;
  }

  // The last photo's analysis is reused when the same bytes come straight
  // back (the server finds the faces for the quality gate, then searches one
  // of them in each gallery): one entry, replaced by the next photo and not
  // reused after kAnalysisReuseWindow.
  Result<std::vector<face::AnalyzedFace>> Analyze(const std::vector<std::uint8_t>& image) {
    std::string digest = Sha256Hex(std::span<const std::uint8_t>(image));
    const auto now = std::chrono::steady_clock::now();
    if (last_analysis_ && last_analysis_->digest == digest &&
        now - last_analysis_->at < kAnalysisReuseWindow) {
      return last_analysis_->faces;
    }
    last_analysis_.reset();
    ABIS_ASSIGN_OR_RETURN(imaging::DecodedImage decoded, imaging::DecodeImage(image));
    ABIS_RETURN_IF_ERROR(EnsureFaceModels());
    ABIS_ASSIGN_OR_RETURN(auto faces, analyzer_->Analyze(decoded.bgr));
    last_analysis_ = LastAnalysis{std::move(digest), now, faces};
    return faces;
  }

  static Result<int> ChooseFace(const std::vector<face::AnalyzedFace>& faces, int face_index) {
    if (faces.empty()) return FailedPreconditionError("no face found in the image");
    if (face_index >= 0) {
      if (face_index >= static_cast<int>(faces.size())) {
        return OutOfRangeError("face index " + std::to_string(face_index) + " but only " +
                               std::to_string(faces.size()) + " face(s) found");
      }
      return face_index;
    }
    if (faces.size() > 1) {
      return FailedPreconditionError(std::to_string(faces.size()) +
                                     " faces found; exactly one is required (choose one by index)");
    }
    return 0;
  }

  ProbeFace Describe(const face::AnalyzedFace& face, int index,
                     const policy::FaceCaptureGate& gate) const {
    ProbeFace described;
    described.index = index;
    described.box = {face.box.x, face.box.y, face.box.width, face.box.height};
    described.quality = ToReport(face.quality);
    Status verdict = policy::CheckFaceCapture(ToMeasures(face.quality), gate);
    if (!verdict.ok()) described.gate_failure = verdict.message();
    return described;
  }

  // Loads the face networks if Open deferred them; the weights must still be
  // the ones whose digest the engine reported since it opened.
  Status EnsureFaceModels() {
    if (analyzer_ && embedder_) return Status::Ok();
    ABIS_ASSIGN_OR_RETURN(FaceNetworks networks, LoadFaceNetworks(face_models_));
    if (networks.embedder->model_digest() != face_models_.digest) {
      return FailedPreconditionError(
          "face model " + face_models_.model_path + " changed since the engine opened (digest " +
          networks.embedder->model_digest() + ", expected " + face_models_.digest + "); restart");
    }
    analyzer_ = std::move(networks.analyzer);
    embedder_ = std::move(networks.embedder);
    return Status::Ok();
  }

  Result<Template> Embed(const face::AnalyzedFace& face) {
    ABIS_RETURN_IF_ERROR(EnsureFaceModels());
    ABIS_ASSIGN_OR_RETURN(auto descriptors, embedder_->Embed({face.chip}));
    Template result;
    result.header.modality = Modality::kFace;
    result.header.algorithm = kFaceAlgorithm;
    result.header.model_digest = algorithm_.model_digest;
    result.header.quality = static_cast<float>(std::clamp(face.quality.score, 0.0, 100.0));
    result.features = std::move(descriptors.at(0));
    return result;
  }

  // The gallery's in-memory index, loaded from the store on first use.
  Result<engine_internal::FaceGallery*> IndexFor(const std::string& gallery) {
    auto it = indexes_.find(gallery);
    if (it != indexes_.end()) return it->second.get();
    ABIS_ASSIGN_OR_RETURN(auto references, store_->LoadReferences(gallery, Modality::kFace));
    ABIS_ASSIGN_OR_RETURN(
        auto index, engine_internal::FaceGallery::Create(face::FaceEmbedder::kDescriptorSize));
    for (const StoredReference& reference : references) {
      if (!AreComparable(reference.tmpl.header, ProbeHeader())) {
        return FailedPreconditionError("gallery '" + gallery +
                                       "' holds templates of another model (" +
                                       reference.tmpl.header.algorithm + " " +
                                       reference.tmpl.header.model_digest.substr(0, 12) +
                                       "); re-enrol it with the current model");
      }
      ABIS_RETURN_IF_ERROR(index->Add(reference.reference_id, reference.identity_external_id,
                                      reference.tmpl.features));
    }
    auto [inserted, unused] = indexes_.emplace(gallery, std::move(index));
    return inserted->second.get();
  }

  const eval::FmrCalibration* Calibration() const {
    return calibration_ ? &*calibration_ : nullptr;
  }

  TemplateHeader ProbeHeader() const {
    return {Modality::kFace, kFaceAlgorithm, algorithm_.model_digest, 0.0f};
  }

  FaceModelFiles face_models_;
  std::unique_ptr<face::FaceAnalyzer> analyzer_;  // Null until EnsureFaceModels.
  std::unique_ptr<face::FaceEmbedder> embedder_;  // Null until EnsureFaceModels.
  std::unique_ptr<SqliteStore> store_;
  AlgorithmInfo algorithm_;
  std::optional<eval::FmrCalibration> calibration_;  // From algorithm_.calibration_card.
  std::map<std::string, std::unique_ptr<engine_internal::FaceGallery>> indexes_;
  struct LastAnalysis {
    std::string digest;  // SHA-256 of the photo's bytes.
    std::chrono::steady_clock::time_point at;
    std::vector<face::AnalyzedFace> faces;
  };
  static constexpr std::chrono::seconds kAnalysisReuseWindow{30};
  std::optional<LastAnalysis> last_analysis_;
  engine_internal::FingerPipeline finger_;
  std::map<std::string, engine_internal::FingerGallery> finger_galleries_;
  mutable std::unordered_map<std::string, finger::PreparedFinger> prepared_cache_;
  AlgorithmInfo finger_algorithm_;  // finger_'s, with the calibration card in use.
  std::optional<eval::FmrCalibration> finger_calibration_;
};

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  std::string model_dir =
      options.model_dir.empty() ? std::string(ABIS_MODEL_DIR) : options.model_dir;
  FaceModelFiles face_models;
  face_models.landmark_path = options.landmark_model_path;
  face_models.model_path = (std::filesystem::path(model_dir) / kFaceModelFile).string();
  FaceNetworks networks;  // Empty when deferred.
  if (options.load_face_models_on_first_use) {
    if (!std::filesystem::exists(face_models.landmark_path)) {
      return NotFoundError("landmark model " + face_models.landmark_path +
                           " is missing (Debian package libdlib-data)");
    }
    auto digest = face::FaceEmbedder::FileDigest(face_models.model_path);
    if (!digest.ok()) return digest.status().WithContext(kFaceModelHint);
    face_models.digest = std::move(*digest);
  } else {
    ABIS_ASSIGN_OR_RETURN(networks, LoadFaceNetworks(face_models));
    face_models.digest = networks.embedder->model_digest();
  }
  ABIS_ASSIGN_OR_RETURN(
      ResolvedMasterKey master_key,
      ResolveMasterKey(options.database_path, {options.master_key, options.master_key_path}));
  auto store = SqliteStore::Open(options.database_path, std::move(master_key.key));
  if (!store.ok()) {
    // A key file made just now for a store that refuses it would only
    // mislead the next run.
    std::error_code ignored;
    if (!master_key.created_path.empty()) std::filesystem::remove(master_key.created_path, ignored);
    if (store.status().code() != StatusCode::kPermissionDenied) return store.status();
    return store.status().WithContext("master key from " + master_key.description);
  }
  return std::unique_ptr<Engine>(
      new StageEngine(std::move(face_models), std::move(networks), std::move(*store)));
}

}  // namespace abis
