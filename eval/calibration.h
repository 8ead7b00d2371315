// calibration.h
//
// Score calibration used at run time: a monotone map from a comparison score
// to the false-match rate (FMR) measured at that score, fitted from the
// impostor scores of an evaluation, and the versioned *model card* that
// carries it together with what it was measured on (data set, counts, date,
// metrics, known limits). docs/evaluation.md §9 defines the map exactly.
//
// Score direction: similarities, HIGHER = MORE SIMILAR. FMR(s) is the
// fraction of impostor scores >= s, the tie rule of eval/metrics.h.
//
// A card names the modality, algorithm and model digest it was measured
// with; CheckModelCardMatches() refuses it for any other model, so scores of
// one model are never read through another model's calibration.
//
// Thread safety: plain values; const methods may run concurrently.

#ifndef ABIS_EVAL_CALIBRATION_H_
#define ABIS_EVAL_CALIBRATION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "abis/status.h"

namespace abis::eval {

// One point of the calibration table: FMR(score) measured exactly there.
struct CalibrationKnot {
  double score = 0.0;
  double fmr = 0.0;  // In (0, 1].
};

// The FMR at one score.
struct FmrEstimate {
  double fmr = 1.0;
  // True when the score lies above every impostor score of the evaluation:
  // then no impostor comparison reached it and `fmr` is 1 / impostor_count,
  // the resolution of the data. The true FMR is below the resolution by
  // the point estimate, but the data cannot show how far below (its 95%
  // upper confidence limit is 3 / impostor_count, the rule of three).
  bool is_upper_bound = false;
};

// Monotone non-increasing map score -> FMR, as a table of knots.
//
//   score <  first knot        : FMR of the first knot (1 when fitted).
//   score at a knot            : the knot's FMR (the empirical tail there).
//   between two knots          : linear in log(FMR) between them. This is at
//                                least the empirical step value, so it never
//                                understates the FMR.
//   score >  last knot         : 1 / impostor_count, flagged as a bound.
//
// The last knot is the highest impostor score. Never returns an FMR of 0.
class FmrCalibration {
 public:
  // Default knot thinning: consecutive kept knots differ by at least this
  // many decades of FMR (about 2.3%), so a card holds a few hundred knots.
  // The rare-event tail (under ~40 impostors above) keeps every step.
  static constexpr double kDefaultMinLog10Step = 0.01;

  // No table: FmrAt() is 1 everywhere (nothing is known).
  FmrCalibration() = default;

  // Fits the empirical tail FMR(s) = #{impostor >= s} / n at every distinct
  // impostor score, then thins the knots (the first and last always stay).
  // InvalidArgument when `impostor` is empty, a score is not finite, or
  // min_log10_step < 0.
  static Result<FmrCalibration> Fit(std::span<const double> impostor,
                                    double min_log10_step = kDefaultMinLog10Step);

  // From a stored table. InvalidArgument unless there is at least one knot,
  // scores are finite and strictly increasing, every FMR is in (0, 1] and
  // the FMRs never increase, and impostor_count >= 1 with the last FMR at
  // least 1 / impostor_count.
  static Result<FmrCalibration> FromKnots(std::vector<CalibrationKnot> knots,
                                          std::int64_t impostor_count);

  // The FMR at `score` (see the table above). NaN scores give FMR 1.
  FmrEstimate FmrAt(double score) const;

  // Expected number of false candidates at or above `score` in a gallery of
  // `gallery_identities` identities: gallery_identities * FMR(score).
  // Assumes the probe's comparisons with the non-mated identities are
  // independent, each a false candidate with probability FMR(score); for a
  // mated search one of the identities is the mate, so this overstates the
  // count by at most FMR(score). An upper-bound FMR gives an upper bound.
  double ExpectedFalseCandidates(double score, std::int64_t gallery_identities) const;

  const std::vector<CalibrationKnot>& knots() const { return knots_; }
  std::int64_t impostor_count() const { return impostor_count_; }

 private:
  FmrCalibration(std::vector<CalibrationKnot> knots, std::int64_t impostor_count)
      : knots_(std::move(knots)), impostor_count_(impostor_count) {}

  std::vector<CalibrationKnot> knots_;
  std::int64_t impostor_count_ = 0;
};

// ---------------------------------------------------------------------------
// Model card
// ---------------------------------------------------------------------------

inline constexpr char kModelCardFormat[] = "abis.model_card";
inline constexpr int kModelCardSchemaVersion = 1;

struct ModelCardDataset {
  std::string name;         // e.g. "shared/data/faces".
  std::string description;  // Sources, licences, protocol.
  std::int64_t identities = 0;
  std::int64_t images = 0;
  std::int64_t genuine_pairs = 0;
  std::int64_t impostor_pairs = 0;
};

struct ModelCardOperatingPoint {
  double target_fmr = 0.0;
  // Empty when the data does not support the target (rule of three).
  std::optional<double> threshold;
  std::optional<double> fmr;
  std::optional<double> fnmr;
};

struct ModelCardMetrics {
  std::optional<double> eer;
  std::optional<double> eer_threshold;
  std::optional<double> fte;
  std::optional<double> fta;
  std::optional<double> rank1;
  std::vector<ModelCardOperatingPoint> fnmr_at_fmr;
};

struct ModelCard {
  int schema_version = kModelCardSchemaVersion;
  std::string modality;      // "face" | "finger".
  std::string algorithm;     // e.g. "face/dlib-resnet-v1".
  std::string model_digest;  // SHA-256 of the weights, as in every template.
  std::string created;       // UTC date, "YYYY-MM-DD".
  std::string command;       // How to rebuild this card.
  ModelCardDataset dataset;
  std::string protocol;
  ModelCardMetrics metrics;
  FmrCalibration calibration;
  std::vector<std::string> known_limits;
};

// JSON form (docs/evaluation.md §9 lists the fields).
nlohmann::json ToJson(const ModelCard& card);
// InvalidArgument for another format, a newer schema version, a missing or
// mistyped field, or an invalid calibration table.
Result<ModelCard> ModelCardFromJson(const nlohmann::json& json);

// Files: WriteModelCard writes atomically; ReadModelCard gives NotFound for
// a missing file and InvalidArgument (naming the file) for a bad one.
Status WriteModelCard(const ModelCard& card, const std::string& path);
Result<ModelCard> ReadModelCard(const std::string& path);

// OK when the card was measured with this modality, algorithm and model;
// FailedPrecondition otherwise: a calibration never crosses models.
Status CheckModelCardMatches(const ModelCard& card, const std::string& modality,
                             const std::string& algorithm, const std::string& model_digest);

}  // namespace abis::eval

#endif  // ABIS_EVAL_CALIBRATION_H_
