// metrics.h
//
// Accuracy metrics for the evaluation harness, following ISO/IEC 19795-1
// practice and NIST FRTE reporting conventions: verification error rates
// (FMR, FNMR, DET curve, EER, FNMR at a target FMR) with subject-level
// bootstrap intervals; identification rates (closed-set CMC, open-set FNIR
// at FPIR); failure-to-enrol and failure-to-acquire rates; demographic
// differentials. docs/evaluation.md defines every number exactly.
//
// Score direction: scores are similarities, HIGHER = MORE SIMILAR.
// Decision rule: a comparison is a match decision when score >= threshold.
// A genuine score equal to the threshold is therefore accepted, and an
// impostor score equal to the threshold is a false match (the same tie rule
// as bob.measure and scikit-learn's roc_curve).
//
// Errors: functions return InvalidArgument for empty inputs where a rate would
// be undefined, for non-finite scores, and for out-of-range parameters.
//
// Thread safety: every function is pure and every type a plain value.

#ifndef ABIS_EVAL_METRICS_H_
#define ABIS_EVAL_METRICS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "abis/status.h"

namespace abis::eval {

// ---------------------------------------------------------------------------
// Verification (1:1)
// ---------------------------------------------------------------------------

// Comparison scores of a verification experiment. Subject labels are
// optional; bootstrap intervals and demographic differentials need them.
// Each label vector is either empty or holds one entry per score.
struct ScoreSet {
  std::vector<double> genuine;   // Mated comparisons (same subject).
  std::vector<double> impostor;  // Non-mated comparisons.

  std::vector<std::string> genuine_subject;             // The subject compared.
  std::vector<std::string> impostor_probe_subject;      // The probe's subject.
  std::vector<std::string> impostor_reference_subject;  // The reference's subject.
};

// FMR(t) = #{impostor >= t} / #impostor. InvalidArgument when `impostor` is
// empty, a score is not finite, or `threshold` is NaN.
Result<double> ComputeFmr(std::span<const double> impostor, double threshold);

// FNMR(t) = #{genuine < t} / #genuine. Errors as ComputeFmr.
Result<double> ComputeFnmr(std::span<const double> genuine, double threshold);

// Error rates at one decision threshold.
struct DetPoint {
  double threshold = 0.0;
  double fmr = 0.0;
  double fnmr = 0.0;
};

// The DET curve: one point at every distinct score, genuine or impostor, in
// ascending threshold order (so FMR falls and FNMR rises along it). Between
// two neighbouring points the rates equal those of the higher one, so these
// points are every operating point the data can show.
struct DetCurve {
  std::int64_t genuine_count = 0;
  std::int64_t impostor_count = 0;
  std::vector<DetPoint> points;
};

Result<DetCurve> ComputeDetCurve(const ScoreSet& scores);

// The equal error rate. Points of the DET curve, with the end points
// (-inf: FMR 1, FNMR 0) and (+inf: FMR 0, FNMR 1) added, are joined by
// straight lines in (FMR, FNMR) space; `eer` is where that polyline crosses
// FMR = FNMR. `bracket_low` and `bracket_high` are the neighbouring points
// the crossing lies between (equal when a point has FMR == FNMR exactly).
// `threshold` is the bracket point with the smaller |FMR - FNMR| (the higher
// threshold on a tie): a real decision threshold near the EER, whose own
// rates are in that bracket point.
struct Eer {
  double eer = 0.0;
  double threshold = 0.0;
  DetPoint bracket_low;
  DetPoint bracket_high;
};

// InvalidArgument when the curve has no points.
Result<Eer> ComputeEer(const DetCurve& det);

// How many errors a rate needs in expectation before we report it: a target
// rate p is supported when count * p >= min_expected_errors. The default 3
// is the "rule of three": with zero errors in n trials the 95% upper bound on
// the rate is about 3/n, so n >= 3/p trials are needed to show a rate of p at
// all. Use 30 (ISO/IEC 19795-1 "rule of 30") for +-30% precision at 90%.
inline constexpr double kDefaultMinExpectedErrors = 3.0;

// FNMR at the smallest threshold whose FMR <= target_fmr (the lowest FNMR
// that meets the target). `operating_point` is empty when the data does not
// support the target (see kDefaultMinExpectedErrors).
struct FnmrAtFmr {
  double target_fmr = 0.0;
  std::optional<DetPoint> operating_point;
};

// InvalidArgument unless 0 < target_fmr <= 1 and min_expected_errors >= 0.
// When no DET point meets the target, the operating point is the +inf
// threshold (FMR 0, FNMR 1).
Result<FnmrAtFmr> ComputeFnmrAtFmr(const DetCurve& det, double target_fmr,
                                   double min_expected_errors = kDefaultMinExpectedErrors);

// Counts per score bin for the report's histogram. Bin b covers
// [lower + b * bin_width, lower + (b + 1) * bin_width); the last bin also
// holds the maximum score.
struct ScoreHistogram {
  double lower = 0.0;
  double bin_width = 1.0;
  std::vector<std::int64_t> genuine;
  std::vector<std::int64_t> impostor;
};

// InvalidArgument when bins < 1 or both score vectors are empty.
Result<ScoreHistogram> ComputeScoreHistogram(const ScoreSet& scores, int bins);

// ---------------------------------------------------------------------------
// Bootstrap confidence intervals, resampling subjects
// ---------------------------------------------------------------------------

struct BootstrapOptions {
  int resamples = 1000;        // 0 disables the bootstrap.
  std::uint64_t seed = 19795;  // Same seed and data give the same intervals.
  double confidence = 0.95;    // Two-sided coverage of the percentile interval.
};

struct Interval {
  double lower = 0.0;
  double upper = 0.0;
};

// Percentile intervals from resampling subjects with replacement. Each
// resample draws as many subjects as the data has; a subject drawn m times
// contributes each of its genuine scores m times, and an impostor score
// between subjects p and r contributes m_p * m_r times (m_p alone when no
// reference subjects are given). Every statistic is recomputed per resample,
// including the threshold that meets each target FMR.
struct BootstrapIntervals {
  double confidence = 0.95;
  std::uint64_t seed = 0;
  int resamples = 0;       // Requested.
  int used_resamples = 0;  // Those with at least one genuine and one impostor score.
  std::optional<Interval> eer;
  // Aligned with the targets passed in; empty where the full data does not
  // support the target.
  std::vector<std::optional<Interval>> fnmr_at_fmr;
};

// Needs genuine_subject and impostor_probe_subject filled (reference
// subjects optional); InvalidArgument otherwise, or when resamples < 1, or
// confidence is not in (0, 1).
Result<BootstrapIntervals> BootstrapBySubject(
    const ScoreSet& scores, std::span<const double> target_fmrs, const BootstrapOptions& options,
    double min_expected_errors = kDefaultMinExpectedErrors);

// Gallery-size extrapolation (docs/evaluation.md §4.3): what a 1:1
// operating point would give in a 1:N search of a gallery of N identities,
// ASSUMING the probe's N impostor comparisons are independent, each a false
// match with the measured FMR. An extrapolation from 1:1 impostor scores,
// not a measurement.
struct GallerySizeRow {
  std::int64_t gallery_size = 0;
  double expected_fpir = 0.0;              // ExtrapolateFpir(fmr, gallery_size).
  double expected_false_candidates = 0.0;  // gallery_size * fmr.
};

struct GallerySizeExtrapolation {
  double target_fmr = 0.0;
  // The operating point of ComputeFnmrAtFmr: threshold and measured FMR;
  // empty (and `rows` empty) when the data does not support the target.
  std::optional<DetPoint> operating_point;
  std::vector<GallerySizeRow> rows;  // Aligned with the gallery sizes.
};

// InvalidArgument when the target is not in (0, 1] or a gallery size < 1.
Result<GallerySizeExtrapolation> ExtrapolateToGallerySizes(
    const DetCurve& det, double target_fmr, std::span<const std::int64_t> gallery_sizes,
    double min_expected_errors = kDefaultMinExpectedErrors);

// Everything the report needs about a verification experiment.
struct VerificationOptions {
  std::vector<double> target_fmrs = {1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
  double min_expected_errors = kDefaultMinExpectedErrors;
  int histogram_bins = 50;
  BootstrapOptions bootstrap;  // Runs only when the scores carry subject labels.
  // Operating points and gallery sizes of the gallery-size extrapolation.
  std::vector<double> extrapolation_fmrs = {1e-3, 1e-4};
  std::vector<std::int64_t> extrapolation_gallery_sizes = {1'000,     10'000,     100'000,
                                                           1'000'000, 10'000'000, 100'000'000};
};

struct VerificationResult {
  DetCurve det;
  Eer eer;
  std::vector<FnmrAtFmr> fnmr_at_fmr;  // Aligned with options.target_fmrs.
  ScoreHistogram histogram;
  double min_expected_errors = kDefaultMinExpectedErrors;
  std::optional<BootstrapIntervals> bootstrap;
  std::string bootstrap_note;  // Why `bootstrap` is empty, if it is.
  // Aligned with options.extrapolation_fmrs.
  std::vector<GallerySizeExtrapolation> gallery_extrapolation;
};

Result<VerificationResult> EvaluateVerification(const ScoreSet& scores,
                                                const VerificationOptions& options);

// ---------------------------------------------------------------------------
// Identification (1:N)
// ---------------------------------------------------------------------------

// A search whose subject is enrolled in the gallery.
struct MatedSearch {
  // 1-based rank of the subject's reference on the candidate list; empty
  // when the list does not contain it.
  std::optional<int> mate_rank;
  // The mate's score; read only when mate_rank has a value.
  double mate_score = 0.0;
};

// A search whose subject is not enrolled.
struct NonMatedSearch {
  // The highest candidate score; empty when the candidate list is empty.
  std::optional<double> top_score;
};

struct SearchSet {
  std::vector<MatedSearch> mated;
  std::vector<NonMatedSearch> non_mated;
};

// Closed-set cumulative match characteristic over mated searches:
// rates[k - 1] = #{mate_rank <= k} / #mated, for k = 1 .. max_rank.
struct CmcCurve {
  std::int64_t search_count = 0;
  std::vector<double> rates;
};

// InvalidArgument when `mated` is empty, max_rank < 1 or a rank is < 1.
Result<CmcCurve> ComputeCmc(std::span<const MatedSearch> mated, int max_rank);

// Open-set rates at threshold t, counting the mate only at rank <= R:
//   FPIR(t) = #{non-mated searches with top_score >= t} / #non-mated
//   FNIR(t) = #{mated searches without mate_rank <= R and mate_score >= t} / #mated
struct OpenSetPoint {
  double threshold = 0.0;
  double fpir = 0.0;
  double fnir = 0.0;
};

// One point at every distinct score that can change FPIR or FNIR, in
// ascending threshold order (FPIR falls and FNIR rises along it).
struct OpenSetCurve {
  int max_rank = 1;  // R.
  std::int64_t mated_count = 0;
  std::int64_t non_mated_count = 0;
  std::vector<OpenSetPoint> points;
};

// InvalidArgument when either list is empty, max_rank < 1, a rank is < 1,
// or a present score is not finite.
Result<OpenSetCurve> ComputeOpenSetCurve(const SearchSet& searches, int max_rank);
Result<OpenSetPoint> ComputeOpenSetRates(const SearchSet& searches, int max_rank, double threshold);

// FNIR at the smallest threshold whose FPIR <= target_fpir; empty when
// #non-mated * target_fpir < min_expected_errors. As ComputeFnmrAtFmr.
struct FnirAtFpir {
  double target_fpir = 0.0;
  std::optional<OpenSetPoint> operating_point;
};

Result<FnirAtFpir> ComputeFnirAtFpir(const OpenSetCurve& curve, double target_fpir,
                                     double min_expected_errors = kDefaultMinExpectedErrors);

// FPIR of a gallery of `gallery_size` references at a threshold with
// verification FMR `fmr`: 1 - (1 - fmr)^gallery_size. An EXTRAPOLATION that
// assumes independent impostor scores; see docs/evaluation.md.
double ExtrapolateFpir(double fmr, std::int64_t gallery_size);

struct IdentificationOptions {
  int cmc_max_rank = 20;
  int open_set_max_rank = 1;       // R in FNIR.
  std::vector<double> thresholds;  // Extra operating thresholds to report.
  // Optional, aligned with `thresholds`: where each threshold comes from,
  // e.g. "FMR 0.001" for the threshold meeting that FMR in 1:1.
  std::vector<std::string> threshold_labels;
  std::vector<double> target_fpirs = {1e-1, 1e-2, 1e-3};
  double min_expected_errors = kDefaultMinExpectedErrors;
};

struct IdentificationResult {
  CmcCurve cmc;
  // The rest needs non-mated searches and is empty without them.
  std::optional<OpenSetCurve> open_set;
  std::vector<OpenSetPoint> at_thresholds;       // Aligned with options.thresholds.
  std::vector<std::string> at_threshold_labels;  // options.threshold_labels.
  std::vector<FnirAtFpir> fnir_at_fpir;          // Aligned with options.target_fpirs.
  double min_expected_errors = kDefaultMinExpectedErrors;
};

Result<IdentificationResult> EvaluateIdentification(const SearchSet& searches,
                                                    const IdentificationOptions& options);

// ---------------------------------------------------------------------------
// Impostor sampling
// ---------------------------------------------------------------------------

// `count` distinct indices drawn uniformly at random from [0, population)
// (every subset of that size equally likely), in ascending order; every
// index when count >= population. Deterministic for a seed on every
// platform (std::mt19937_64 and rejection sampling).
std::vector<std::uint64_t> SampleDistinctIndices(std::uint64_t population, std::uint64_t count,
                                                 std::uint64_t seed);

// How the impostor comparisons of a 1:1 experiment were chosen: all of them,
// or a uniform random sample of `max_pairs` when there were more.
struct ImpostorSampling {
  bool sampled = false;
  std::int64_t possible_pairs = 0;  // Impostor pairs the data holds.
  std::int64_t compared_pairs = 0;  // Impostor pairs compared and scored.
  std::int64_t max_pairs = 0;       // The cap.
  std::uint64_t seed = 0;           // Seed of SampleDistinctIndices.
};

// ---------------------------------------------------------------------------
// Failure to enrol / failure to acquire
// ---------------------------------------------------------------------------

struct FailureCounter {
  std::int64_t attempts = 0;
  std::int64_t failures = 0;

  void RecordSuccess() { ++attempts; }
  void RecordFailure() {
    ++attempts;
    ++failures;
  }
  // failures / attempts; empty before the first attempt.
  std::optional<double> Rate() const;
};

struct FailureRates {
  FailureCounter enrolment;    // FTE.
  FailureCounter acquisition;  // FTA.
};

// ISO/IEC 19795-1 generalised rates of a single-attempt transaction:
// FAR = FMR * (1 - FTA) and FRR = FTA + FNMR * (1 - FTA).
double FalseAcceptRate(double fmr, double fta);
double FalseRejectRate(double fnmr, double fta);

// ---------------------------------------------------------------------------
// Demographic differentials (NISTIR 8280 style)
// ---------------------------------------------------------------------------

struct GroupRates {
  std::string group;
  std::int64_t genuine_count = 0;
  std::int64_t impostor_count = 0;
  std::optional<double> fmr;   // Empty without impostor scores.
  std::optional<double> fnmr;  // Empty without genuine scores.
};

// Which groups have the highest and lowest rate, and their ratio. The ratio
// is empty when fewer than two groups have the rate or the lowest is zero.
struct Differential {
  std::string max_group;
  std::string min_group;
  std::optional<double> max_min_ratio;
};

struct DemographicDifferentials {
  double threshold = 0.0;
  // True when reference subjects were given, so an impostor score counts for
  // a group only if both its subjects belong to it; false when it counts for
  // the probe subject's group.
  bool same_group_pairs = false;
  std::vector<GroupRates> groups;  // Sorted by group name.
  Differential fmr;
  Differential fnmr;
  // Comparisons left out: a subject without a group label, or (when
  // reference subjects are given) an impostor pair from two groups.
  std::int64_t unlabelled_genuine = 0;
  std::int64_t unlabelled_impostor = 0;
  std::int64_t cross_group_impostor = 0;
};

// FMR and FNMR per group at one global threshold. A genuine score belongs
// to its subject's group. An impostor score belongs to group G when its
// probe subject is in G and, if reference subjects are given, its reference
// subject is in G too (same-group impostors, as NISTIR 8280 reports FMR).
// Needs genuine_subject and impostor_probe_subject filled.
Result<DemographicDifferentials> ComputeDemographicDifferentials(
    const ScoreSet& scores, const std::map<std::string, std::string>& group_of_subject,
    double threshold);

}  // namespace abis::eval

#endif  // ABIS_EVAL_METRICS_H_
