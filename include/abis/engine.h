// engine.h
//
// Engine is the one facade over the pipeline stages: it decodes captures,
// extracts templates, applies capture policy, keeps galleries in the store
// and searches them. The CLI and the server are thin layers over it.
//
// Results are candidate lists and comparison scores, never a bare "match":
// an identification becomes a decision only through human review (see
// docs/governance.md). Every template names the algorithm and model digest
// that made it; galleries never mix models.
//
// Thread safety: an Engine is used by one thread at a time (the detector and
// the network keep scratch state). Run one Engine per worker.

#ifndef ABIS_ENGINE_H_
#define ABIS_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/gallery.h"
#include "abis/status.h"

namespace abis {

struct EngineOptions {
  // SQLite file; ":memory:" for a throw-away gallery (evaluation, tests).
  std::string database_path = "abis.db";
  // Folder holding face_recognition_resnet_v1.dat (scripts/setup.sh makes it).
  std::string model_dir;
  std::string landmark_model_path = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
  // false (the server): the face networks load in Open, so a broken model
  // stops the start, not a request. true (the CLI): Open checks the files and
  // hashes the weights (the digest every template records), and the networks
  // (~3 s) load at the first face operation, so finger-only, gallery and
  // audit work never pays for them.
  bool load_face_models_on_first_use = false;
  // Master key that wraps the per-record data keys sealing each template at
  // rest (docs/store.md). `master_key` (64 hex digits or base64 of 32 bytes,
  // e.g. from env ABIS_MASTER_KEY) wins; otherwise the key file
  // `master_key_path`, or "<database_path>.key" when empty, created with mode
  // 0600 on first use and refused if group or others may access it.
  // ":memory:" databases use an ephemeral random key.
  std::string master_key_path;
  std::string master_key;
};

// The algorithm that makes face templates, as recorded in each of them.
struct AlgorithmInfo {
  std::string algorithm;     // e.g. "face/dlib-resnet-v1".
  std::string model_digest;  // SHA-256 of the weights file.
  // Conventional score thresholds; calibrated false-match rates come from
  // the evaluation (docs/evaluation.md).
  double verification_threshold = 0;
  double duplicate_threshold = 0;
  // The model card whose calibration gives candidates their FMR (see
  // Engine::LoadCalibration); empty when the engine is uncalibrated.
  std::string calibration_card;
};

// How a fingerprint was captured (modality finger only).
struct FingerCapture {
  // ISO/IEC 19794-2 finger position: 0 unknown, 1..5 right thumb..little,
  // 6..10 left thumb..little. A known position restricts 1:N search to
  // references of the same position (or of unknown position).
  int position = 0;
  // Image resolution in pixels per inch. Contact prints must state it (0 is
  // refused: a wrong guess rescales every ridge); images at other resolutions
  // are rescaled to 500 ppi. Contactless photos are scaled by their measured
  // ridge period instead, so it is ignored for them.
  double ppi = 0;
  // A phone photo of a fingertip rather than a scanner print. The template
  // is flagged as contactless (NIST SP 500-334 asks to keep them apart).
  bool contactless = false;
};

// What the finger pipeline found in one print.
struct FingerReport {
  int position = 0;
  bool contactless = false;
  int minutiae = 0;
  double quality = 0;       // 0..100, our NFIQ-like score.
  double ridge_period = 0;  // Pixels at 500 ppi.
  // Empty when the print passes the capture gate, else why not.
  std::string gate_failure;
};

struct FaceBox {
  double x = 0, y = 0, width = 0, height = 0;  // Photo pixels.
};

struct FaceQualityReport {
  double detection_score = 0;
  double face_width_px = 0;
  double inter_eye_px = 0;
  double sharpness = 0;
  double exposure_mean = 0;
  double clipped_fraction = 0;
  double yaw_deg = 0;
  double roll_deg = 0;
  double score = 0;  // Overall 0..100.
};

struct ProbeFace {
  int index = 0;  // Order of detection score, 0 = most face-like.
  FaceBox box;
  FaceQualityReport quality;
  // Empty when the face passes the capture gate, else why not.
  std::string gate_failure;
};

struct Candidate {
  int rank = 0;  // 1-based.
  std::string identity;
  std::int64_t reference_id = 0;
  double score = 0;     // Similarity in [0, 1]; higher = more similar.
  double distance = 0;  // Face: embedding distance behind the score; finger: 0.
  // Finger: the position of the reference that scored (0 = unknown).
  int finger_position = 0;
  // Calibrated false-match rate at `score`: the fraction of impostor
  // comparisons of the model card's evaluation scoring >= score. Empty when
  // the engine has no calibration for its model.
  std::optional<double> fmr;
  // True when `score` is above every impostor score of that evaluation:
  // `fmr` is then 1 / impostor comparisons, an upper bound, never 0.
  bool fmr_is_upper_bound = false;
  // Expected number of false candidates scoring >= score in this gallery:
  // gallery identities * fmr, assuming independent impostor comparisons
  // (docs/evaluation.md §9). Empty without calibration.
  std::optional<double> expected_false_candidates;
};

struct EnrolmentRequest {
  std::string gallery;
  std::string identity;
  std::vector<std::uint8_t> image;
  Modality modality = Modality::kFace;
  bool create_gallery = true;  // Create the gallery if it does not exist.
  FingerCapture finger;        // Modality finger only. (Last: keeps older brace-inits valid.)
};

struct EnrolmentResult {
  std::int64_t reference_id = 0;
  std::string gallery;
  std::string identity;
  ProbeFace face;                      // Modality face.
  std::optional<FingerReport> finger;  // Modality finger.
  std::string source_sha256;           // Hash of the capture; the image itself is not kept.
  // Other identities already in the gallery that score at or above the
  // duplicate threshold: enrolment deduplication for a human to resolve.
  std::vector<Candidate> possible_duplicates;
};

struct IdentificationRequest {
  std::string gallery;
  std::vector<std::uint8_t> image;
  Modality modality = Modality::kFace;
  int max_candidates = 20;
  double min_score = 0.0;
  // Which face to search when the photo holds several; -1 = only one allowed.
  int face_index = -1;
  FingerCapture finger;  // Modality finger only.
};

struct IdentificationResult {
  Modality modality = Modality::kFace;
  std::vector<ProbeFace> faces;        // Every face found in the probe.
  std::optional<FingerReport> finger;  // The probe print (modality finger).
  // The face searched, or -1 when several faces were found and none chosen:
  // then `candidates` is empty and the caller picks one by index.
  int searched_face = -1;
  std::vector<Candidate> candidates;
  std::int64_t gallery_references = 0;
  std::int64_t gallery_identities = 0;
  AlgorithmInfo algorithm;
};

// One identity of a multimodal search (Engine::IdentifyMultimodal).
struct MultimodalCandidate {
  int rank = 0;  // 1-based.
  std::string identity;
  // Sum over the probes of -log10(max(FMR, 1e-12)) of the identity's
  // calibrated candidate in that probe's list; a probe that did not list it
  // adds 0 (FMR 1: no evidence either way). Ranked by this, descending.
  double evidence = 0;
  // 10^-evidence: the product of the per-probe FMRs, i.e. the chance that
  // one impostor reaches all these scores if the modalities' impostor scores
  // are independent (docs/search.md, "Fusion").
  double fused_fmr = 1;
  // True when some per-probe FMR was a bound (score above every impostor of
  // its card): fused_fmr is then an upper bound too.
  bool fused_fmr_is_upper_bound = false;
  // Gallery identities * fused_fmr.
  double expected_false_candidates = 0;
  // Per probe, in request order: the identity's candidate in that probe's
  // list, or empty when that probe did not list it.
  std::vector<std::optional<Candidate>> per_probe;
};

struct MultimodalIdentificationResult {
  std::vector<IdentificationResult> probes;  // Each probe's own search, in request order.
  std::vector<MultimodalCandidate> candidates;
  std::int64_t gallery_identities = 0;  // Identities with a reference of any modality.
};

struct VerificationRequest {
  std::string gallery;
  std::string identity;
  std::vector<std::uint8_t> image;
  int face_index = -1;
  Modality modality = Modality::kFace;
  FingerCapture finger;  // Modality finger only.
};

struct VerificationResult {
  Modality modality = Modality::kFace;
  ProbeFace face;                      // Modality face.
  std::optional<FingerReport> finger;  // Modality finger.
  std::int64_t reference_id = 0;       // The identity's best-scoring reference.
  double score = 0;
  double distance = 0;
  double threshold = 0;
  bool meets_threshold = false;  // score >= threshold.
  // Calibrated FMR at `score`, as Candidate::fmr; empty without calibration.
  std::optional<double> fmr;
  bool fmr_is_upper_bound = false;
};

struct ComparisonResult {
  ProbeFace face_a;
  ProbeFace face_b;
  double score = 0;
  double distance = 0;
};

// A face template with the capture it came from, for evaluation and tools.
struct FaceExtraction {
  Template face_template;
  ProbeFace face;
  int faces_found = 0;
};

// A finger template with what the pipeline reported about the print.
struct FingerExtraction {
  Template finger_template;
  FingerReport report;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  virtual ~Engine() = default;

  virtual const AlgorithmInfo& face_algorithm() const = 0;
  // The fingerprint algorithm (extractor + MCC matcher); its model digest is
  // the SHA-256 of the algorithm's versioned parameter set.
  virtual const AlgorithmInfo& finger_algorithm() const = 0;

  // Reads a model card (docs/model-cards/) and uses its calibration for the
  // FMR of every later candidate and verification. FailedPrecondition when
  // the card is for another modality, algorithm or model digest (the engine
  // keeps its previous calibration); NotFound / InvalidArgument for a
  // missing or malformed file. The engine loads the card shipped for its
  // model from ABIS_SOURCE_DIR/docs/model-cards when one matches.
  virtual Status LoadCalibration(const std::string& model_card_path) = 0;

  // Rejects (no partial state): undecodable or oversized images, no face,
  // several faces, faces failing the enrolment gate, a gallery of another model.
  virtual Result<EnrolmentResult> Enrol(const EnrolmentRequest& request) = 0;

  // Every face in the photo with its quality and probe-gate verdict.
  virtual Result<std::vector<ProbeFace>> DetectFaces(const std::vector<std::uint8_t>& image) = 0;

  // One template from a photo with exactly one face (or `face_index`),
  // checked against the enrolment gate when `enrolment_gate`.
  virtual Result<FaceExtraction> ExtractFace(const std::vector<std::uint8_t>& image, int face_index,
                                             bool enrolment_gate) = 0;

  // One finger template from a print (contact, at `capture.ppi`) or a
  // fingertip photo (contactless), checked against the enrolment or probe
  // gate. Its `data` holds the finger template record.
  virtual Result<FingerExtraction> ExtractFinger(const std::vector<std::uint8_t>& image,
                                                 const FingerCapture& capture,
                                                 bool enrolment_gate) = 0;

  // PNG of face `face_index` with a margin of half the box on each side:
  // what a reviewer sees of a probe, and how the demo cuts group photos.
  virtual Result<std::vector<std::uint8_t>> CropFace(const std::vector<std::uint8_t>& image,
                                                     int face_index) = 0;

  // Comparison score of two templates of the same modality (see
  // Candidate::score); FailedPrecondition when they come from different
  // modalities, algorithms or models.
  virtual Result<double> CompareTemplates(const Template& a, const Template& b) const = 0;

  virtual Result<IdentificationResult> Identify(const IdentificationRequest& request) = 0;
  virtual Result<VerificationResult> Verify(const VerificationRequest& request) = 0;
  // One person, several probes (a face and fingers; two fingers) searched in
  // one gallery and fused per identity by the sum of -log10 FMR (each probe's
  // list is searched deeper than `max_candidates` so that identities rarely
  // miss out for being just below one list's cut). InvalidArgument for fewer
  // than two probes, probes of different galleries or max_candidates outside
  // 1..1000; FailedPrecondition when a face probe holds several faces and
  // none is chosen, or a modality has no calibrated FMR. Each probe fails as
  // Identify would.
  virtual Result<MultimodalIdentificationResult> IdentifyMultimodal(
      const std::vector<IdentificationRequest>& probes, int max_candidates) = 0;

  virtual Result<ComparisonResult> Compare(const std::vector<std::uint8_t>& image_a,
                                           const std::vector<std::uint8_t>& image_b) = 0;

  virtual Result<std::vector<GalleryInfo>> ListGalleries() = 0;
  virtual Result<std::vector<std::string>> ListIdentities(const std::string& gallery) = 0;
  virtual Status DeleteGallery(const std::string& gallery) = 0;
  virtual Status DeleteIdentity(const std::string& gallery, const std::string& identity) = 0;
};

}  // namespace abis

#endif  // ABIS_ENGINE_H_
