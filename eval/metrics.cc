#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace abis::eval {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

Status CheckFinite(std::span<const double> scores, std::string_view what) {
  for (std::size_t score_idx = 0; score_idx < scores.size(); ++score_idx) {
    if (!std::isfinite(scores[score_idx])) {
      return InvalidArgumentError(std::string(what) + " score " + std::to_string(score_idx) +
                                  " is not finite");
    }
  }
  return Status::Ok();
}

Status CheckTargetRate(double target, std::string_view what) {
  if (!(target > 0.0 && target <= 1.0)) {
    return InvalidArgumentError(std::string(what) + " must be in (0, 1], got " +
                                std::to_string(target));
  }
  return Status::Ok();
}

Status CheckMinExpectedErrors(double min_expected_errors) {
  if (!(min_expected_errors >= 0.0) || !std::isfinite(min_expected_errors)) {
    return InvalidArgumentError("min_expected_errors must be finite and >= 0");
  }
  return Status::Ok();
}

// Whether `count` trials can show a rate as low as `target`. The relative
// slack keeps e.g. 3000 * 1e-3 >= 3 true despite 1e-3 having no exact
// binary form.
bool DataSupports(std::int64_t count, double target, double min_expected_errors) {
  return static_cast<double>(count) * target >= min_expected_errors * (1.0 - 1e-12);
}

// Bucket indexes are 32-bit: plenty for any score set that fits in memory.
Status CheckScoreCount(std::size_t count) {
  if (count > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return InvalidArgumentError("more than 2^31 - 1 scores");
  }
  return Status::Ok();
}

// The scores of a two-class experiment reduced to their distinct values.
// "Positive" scores (genuine, or mates within rank R) err when below the
// threshold; "negative" scores (impostor, or non-mated top candidates) err
// when at or above it. Weighting the buckets lets the bootstrap reuse the
// sort.
struct Buckets {
  std::vector<double> thresholds;  // Distinct scores, ascending.
  std::vector<std::int32_t> positive_bucket;
  std::vector<std::int32_t> negative_bucket;
};

Buckets MakeBuckets(std::span<const double> positive, std::span<const double> negative) {
  Buckets buckets;
  buckets.thresholds.reserve(positive.size() + negative.size());
  buckets.thresholds.insert(buckets.thresholds.end(), positive.begin(), positive.end());
  buckets.thresholds.insert(buckets.thresholds.end(), negative.begin(), negative.end());
  std::sort(buckets.thresholds.begin(), buckets.thresholds.end());
  buckets.thresholds.erase(std::unique(buckets.thresholds.begin(), buckets.thresholds.end()),
                           buckets.thresholds.end());
  auto bucket_of = [&](double score) {
    auto it = std::lower_bound(buckets.thresholds.begin(), buckets.thresholds.end(), score);
    return static_cast<std::int32_t>(it - buckets.thresholds.begin());
  };
  buckets.positive_bucket.reserve(positive.size());
  for (double score : positive) buckets.positive_bucket.push_back(bucket_of(score));
  buckets.negative_bucket.reserve(negative.size());
  for (double score : negative) buckets.negative_bucket.push_back(bucket_of(score));
  return buckets;
}

// Weighted tallies per bucket and the totals the rates divide by.
// positive_never counts positives that err at every threshold (a mate that
// is not on the candidate list); negatives absent from the buckets (an empty
// candidate list) simply never err.
struct Tally {
  std::vector<std::int64_t> positive_at;
  std::vector<std::int64_t> negative_at;
  std::int64_t positive_never = 0;
  std::int64_t positive_total = 0;
  std::int64_t negative_total = 0;
};

Tally UnitTally(const Buckets& buckets, std::int64_t positive_never, std::int64_t negative_total) {
  Tally tally;
  tally.positive_at.assign(buckets.thresholds.size(), 0);
  tally.negative_at.assign(buckets.thresholds.size(), 0);
  for (std::int32_t bucket : buckets.positive_bucket) ++tally.positive_at[bucket];
  for (std::int32_t bucket : buckets.negative_bucket) ++tally.negative_at[bucket];
  tally.positive_never = positive_never;
  tally.positive_total = static_cast<std::int64_t>(buckets.positive_bucket.size()) + positive_never;
  tally.negative_total = negative_total;
  return tally;
}

// At threshold t_k: false negatives are the positives below t_k, false
// positives the negatives at or above it. Counts are exact integers, so
// each rate is one correctly rounded division. Fills `points` in place so
// the bootstrap can reuse one buffer.
void FillTradeoffCurve(const std::vector<double>& thresholds, const Tally& tally,
                       std::vector<DetPoint>& points) {
  std::int64_t negative_present = 0;
  for (std::int64_t count : tally.negative_at) negative_present += count;
  points.resize(thresholds.size());
  std::int64_t positive_below = tally.positive_never;
  std::int64_t negative_below = 0;
  const auto positive_total = static_cast<double>(tally.positive_total);
  const auto negative_total = static_cast<double>(tally.negative_total);
  for (std::size_t bucket = 0; bucket < thresholds.size(); ++bucket) {
    points[bucket].threshold = thresholds[bucket];
    points[bucket].fmr = static_cast<double>(negative_present - negative_below) / negative_total;
    points[bucket].fnmr = static_cast<double>(positive_below) / positive_total;
    positive_below += tally.positive_at[bucket];
    negative_below += tally.negative_at[bucket];
  }
}

std::vector<DetPoint> TradeoffCurve(const std::vector<double>& thresholds, const Tally& tally) {
  std::vector<DetPoint> points;
  FillTradeoffCurve(thresholds, tally, points);
  return points;
}

// The first point (lowest threshold) whose false-positive rate is <= target,
// or the +inf threshold when none is.
DetPoint FirstPointAtOrBelow(const std::vector<DetPoint>& points, double target) {
  auto it = std::partition_point(points.begin(), points.end(),
                                 [target](const DetPoint& point) { return point.fmr > target; });
  if (it == points.end()) return DetPoint{kInfinity, 0.0, 1.0};
  return *it;
}

Eer EerOfPoints(const std::vector<DetPoint>& points) {
  const DetPoint below_all{-kInfinity, 1.0, 0.0};
  const DetPoint above_all{kInfinity, 0.0, 1.0};
  auto gap = [](const DetPoint& point) { return point.fnmr - point.fmr; };
  auto it = std::partition_point(points.begin(), points.end(),
                                 [&](const DetPoint& point) { return gap(point) < 0.0; });
  const DetPoint high = it == points.end() ? above_all : *it;
  if (gap(high) == 0.0) return Eer{high.fmr, high.threshold, high, high};
  const DetPoint low = it == points.begin() ? below_all : *(it - 1);

  // Where the segment low -> high crosses FMR = FNMR.
  const double fraction = -gap(low) / (gap(high) - gap(low));
  Eer eer;
  eer.eer = low.fmr + fraction * (high.fmr - low.fmr);
  eer.bracket_low = low;
  eer.bracket_high = high;
  const bool prefer_low =
      std::isfinite(low.threshold) &&
      (!std::isfinite(high.threshold) || std::abs(gap(low)) < std::abs(gap(high)));
  eer.threshold = prefer_low ? low.threshold : high.threshold;
  return eer;
}

// Type 7 quantile (linear interpolation between order statistics, numpy's
// default). REQUIRES: `sorted` non-empty and ascending, 0 <= p <= 1.
double Quantile(const std::vector<double>& sorted, double p) {
  const double position = p * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

std::optional<Interval> PercentileInterval(std::vector<double> values, double confidence) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double tail = (1.0 - confidence) / 2.0;
  return Interval{Quantile(values, tail), Quantile(values, 1.0 - tail)};
}

// An unbiased draw from [0, n). std::uniform_int_distribution differs
// between standard libraries; this keeps intervals identical everywhere.
std::uint64_t UniformIndex(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t reject_below = (0 - n) % n;  // 2^64 mod n.
  std::uint64_t draw = rng();
  while (draw < reject_below) draw = rng();
  return draw % n;
}

// Subject labels mapped to dense indices in order of first appearance.
class SubjectIndex {
 public:
  std::int32_t Intern(const std::string& subject) {
    auto [it, inserted] = index_.try_emplace(subject, static_cast<std::int32_t>(index_.size()));
    return it->second;
  }
  std::size_t Count() const { return index_.size(); }

 private:
  std::unordered_map<std::string, std::int32_t> index_;
};

Status CheckLabels(const ScoreSet& scores) {
  if (scores.genuine_subject.size() != scores.genuine.size()) {
    return InvalidArgumentError("genuine_subject must hold one label per genuine score");
  }
  if (scores.impostor_probe_subject.size() != scores.impostor.size()) {
    return InvalidArgumentError("impostor_probe_subject must hold one label per impostor score");
  }
  if (!scores.impostor_reference_subject.empty() &&
      scores.impostor_reference_subject.size() != scores.impostor.size()) {
    return InvalidArgumentError(
        "impostor_reference_subject must be empty or hold one label per impostor score");
  }
  return Status::Ok();
}

Status CheckMated(std::span<const MatedSearch> mated, int max_rank) {
  if (max_rank < 1) return InvalidArgumentError("max_rank must be >= 1");
  for (const MatedSearch& search : mated) {
    if (!search.mate_rank.has_value()) continue;
    if (*search.mate_rank < 1) return InvalidArgumentError("mate_rank must be >= 1");
    if (!std::isfinite(search.mate_score)) {
      return InvalidArgumentError("mate_score of a ranked mate is not finite");
    }
  }
  return Status::Ok();
}

Status CheckSearches(const SearchSet& searches, int max_rank) {
  if (searches.mated.empty()) return InvalidArgumentError("no mated searches");
  if (searches.non_mated.empty()) return InvalidArgumentError("no non-mated searches");
  ABIS_RETURN_IF_ERROR(CheckMated(searches.mated, max_rank));
  for (const NonMatedSearch& search : searches.non_mated) {
    if (search.top_score.has_value() && !std::isfinite(*search.top_score)) {
      return InvalidArgumentError("top_score is not finite");
    }
  }
  return Status::Ok();
}

bool MateFoundWithinRank(const MatedSearch& search, int max_rank) {
  return search.mate_rank.has_value() && *search.mate_rank <= max_rank;
}

Differential ComputeDifferential(const std::vector<GroupRates>& groups,
                                 std::optional<double> GroupRates::*rate) {
  Differential differential;
  const GroupRates* max_group = nullptr;
  const GroupRates* min_group = nullptr;
  int groups_with_rate = 0;
  for (const GroupRates& group : groups) {
    if (!(group.*rate).has_value()) continue;
    ++groups_with_rate;
    if (max_group == nullptr || *(group.*rate) > *(max_group->*rate)) max_group = &group;
    if (min_group == nullptr || *(group.*rate) < *(min_group->*rate)) min_group = &group;
  }
  if (max_group == nullptr) return differential;
  differential.max_group = max_group->group;
  differential.min_group = min_group->group;
  if (groups_with_rate >= 2 && *(min_group->*rate) > 0.0) {
    differential.max_min_ratio = *(max_group->*rate) / *(min_group->*rate);
  }
  return differential;
}

}  // namespace

Result<double> ComputeFmr(std::span<const double> impostor, double threshold) {
  if (impostor.empty()) return InvalidArgumentError("no impostor scores");
  if (std::isnan(threshold)) return InvalidArgumentError("threshold is NaN");
  ABIS_RETURN_IF_ERROR(CheckFinite(impostor, "impostor"));
  const auto false_matches =
      std::count_if(impostor.begin(), impostor.end(), [&](double s) { return s >= threshold; });
  return static_cast<double>(false_matches) / static_cast<double>(impostor.size());
}

Result<double> ComputeFnmr(std::span<const double> genuine, double threshold) {
  if (genuine.empty()) return InvalidArgumentError("no genuine scores");
  if (std::isnan(threshold)) return InvalidArgumentError("threshold is NaN");
  ABIS_RETURN_IF_ERROR(CheckFinite(genuine, "genuine"));
  const auto false_non_matches =
      std::count_if(genuine.begin(), genuine.end(), [&](double s) { return s < threshold; });
  return static_cast<double>(false_non_matches) / static_cast<double>(genuine.size());
}

Result<DetCurve> ComputeDetCurve(const ScoreSet& scores) {
  if (scores.genuine.empty()) return InvalidArgumentError("no genuine scores");
  if (scores.impostor.empty()) return InvalidArgumentError("no impostor scores");
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.genuine, "genuine"));
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.impostor, "impostor"));
  ABIS_RETURN_IF_ERROR(CheckScoreCount(scores.genuine.size() + scores.impostor.size()));
  const Buckets buckets = MakeBuckets(scores.genuine, scores.impostor);
  const Tally tally =
      UnitTally(buckets, /*positive_never=*/0, static_cast<std::int64_t>(scores.impostor.size()));
  DetCurve det;
  det.genuine_count = static_cast<std::int64_t>(scores.genuine.size());
  det.impostor_count = static_cast<std::int64_t>(scores.impostor.size());
  det.points = TradeoffCurve(buckets.thresholds, tally);
  return det;
}

Result<Eer> ComputeEer(const DetCurve& det) {
  if (det.points.empty()) return InvalidArgumentError("DET curve has no points");
  return EerOfPoints(det.points);
}

Result<FnmrAtFmr> ComputeFnmrAtFmr(const DetCurve& det, double target_fmr,
                                   double min_expected_errors) {
  ABIS_RETURN_IF_ERROR(CheckTargetRate(target_fmr, "target_fmr"));
  ABIS_RETURN_IF_ERROR(CheckMinExpectedErrors(min_expected_errors));
  FnmrAtFmr result;
  result.target_fmr = target_fmr;
  if (DataSupports(det.impostor_count, target_fmr, min_expected_errors)) {
    result.operating_point = FirstPointAtOrBelow(det.points, target_fmr);
  }
  return result;
}

Result<ScoreHistogram> ComputeScoreHistogram(const ScoreSet& scores, int bins) {
  if (bins < 1) return InvalidArgumentError("histogram needs at least one bin");
  if (scores.genuine.empty() && scores.impostor.empty()) {
    return InvalidArgumentError("no scores to histogram");
  }
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.genuine, "genuine"));
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.impostor, "impostor"));
  double lowest = kInfinity;
  double highest = -kInfinity;
  for (const auto* side : {&scores.genuine, &scores.impostor}) {
    for (double score : *side) {
      lowest = std::min(lowest, score);
      highest = std::max(highest, score);
    }
  }
  ScoreHistogram histogram;
  histogram.lower = lowest;
  histogram.bin_width = (highest - lowest) / bins;
  if (!(histogram.bin_width > 0.0)) {  // All scores equal: centre them in bin 0.
    histogram.bin_width = 1.0;
    histogram.lower = lowest - 0.5;
  }
  histogram.genuine.assign(bins, 0);
  histogram.impostor.assign(bins, 0);
  auto bin_of = [&](double score) {
    const double position = std::floor((score - histogram.lower) / histogram.bin_width);
    return static_cast<std::size_t>(std::clamp(position, 0.0, static_cast<double>(bins - 1)));
  };
  for (double score : scores.genuine) ++histogram.genuine[bin_of(score)];
  for (double score : scores.impostor) ++histogram.impostor[bin_of(score)];
  return histogram;
}

Result<BootstrapIntervals> BootstrapBySubject(const ScoreSet& scores,
                                              std::span<const double> target_fmrs,
                                              const BootstrapOptions& options,
                                              double min_expected_errors) {
  if (options.resamples < 1) return InvalidArgumentError("bootstrap needs resamples >= 1");
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    return InvalidArgumentError("confidence must be in (0, 1)");
  }
  for (double target : target_fmrs) ABIS_RETURN_IF_ERROR(CheckTargetRate(target, "target_fmr"));
  ABIS_RETURN_IF_ERROR(CheckMinExpectedErrors(min_expected_errors));
  ABIS_RETURN_IF_ERROR(CheckLabels(scores));
  if (scores.genuine.empty()) return InvalidArgumentError("no genuine scores");
  if (scores.impostor.empty()) return InvalidArgumentError("no impostor scores");
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.genuine, "genuine"));
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.impostor, "impostor"));

  ABIS_RETURN_IF_ERROR(CheckScoreCount(scores.genuine.size() + scores.impostor.size()));

  // Each score as (bucket, subject weights), sorted by bucket so that the
  // per-resample tally writes memory in order.
  struct LabelledScore {
    std::int32_t bucket = 0;
    std::int32_t subject = 0;
    std::int32_t other_subject = -1;  // Impostor reference, if given.
  };
  const Buckets buckets = MakeBuckets(scores.genuine, scores.impostor);
  SubjectIndex subjects;
  std::vector<LabelledScore> genuine(scores.genuine.size());
  for (std::size_t score_idx = 0; score_idx < genuine.size(); ++score_idx) {
    genuine[score_idx].bucket = buckets.positive_bucket[score_idx];
    genuine[score_idx].subject = subjects.Intern(scores.genuine_subject[score_idx]);
  }
  std::vector<LabelledScore> impostor(scores.impostor.size());
  for (std::size_t score_idx = 0; score_idx < impostor.size(); ++score_idx) {
    impostor[score_idx].bucket = buckets.negative_bucket[score_idx];
    impostor[score_idx].subject = subjects.Intern(scores.impostor_probe_subject[score_idx]);
  }
  for (std::size_t score_idx = 0; score_idx < scores.impostor_reference_subject.size();
       ++score_idx) {
    impostor[score_idx].other_subject =
        subjects.Intern(scores.impostor_reference_subject[score_idx]);
  }
  auto by_bucket = [](const LabelledScore& a, const LabelledScore& b) {
    return a.bucket < b.bucket;
  };
  std::stable_sort(genuine.begin(), genuine.end(), by_bucket);
  std::stable_sort(impostor.begin(), impostor.end(), by_bucket);

  const auto impostor_count = static_cast<std::int64_t>(scores.impostor.size());
  std::vector<bool> supported;
  for (double target : target_fmrs) {
    supported.push_back(DataSupports(impostor_count, target, min_expected_errors));
  }

  std::mt19937_64 rng(options.seed);
  std::vector<std::int64_t> multiplicity(subjects.Count());
  Tally tally;
  std::vector<DetPoint> points;
  std::vector<double> eer_samples;
  std::vector<std::vector<double>> fnmr_samples(target_fmrs.size());
  for (int resample = 0; resample < options.resamples; ++resample) {
    std::fill(multiplicity.begin(), multiplicity.end(), 0);
    for (std::size_t draw = 0; draw < subjects.Count(); ++draw) {
      ++multiplicity[UniformIndex(rng, subjects.Count())];
    }
    tally.positive_at.assign(buckets.thresholds.size(), 0);
    tally.negative_at.assign(buckets.thresholds.size(), 0);
    tally.positive_total = 0;
    tally.negative_total = 0;
    for (const LabelledScore& score : genuine) {
      const std::int64_t weight = multiplicity[score.subject];
      tally.positive_at[score.bucket] += weight;
      tally.positive_total += weight;
    }
    for (const LabelledScore& score : impostor) {
      std::int64_t weight = multiplicity[score.subject];
      if (score.other_subject >= 0) weight *= multiplicity[score.other_subject];
      tally.negative_at[score.bucket] += weight;
      tally.negative_total += weight;
    }
    if (tally.positive_total == 0 || tally.negative_total == 0) continue;

    FillTradeoffCurve(buckets.thresholds, tally, points);
    eer_samples.push_back(EerOfPoints(points).eer);
    for (std::size_t target_idx = 0; target_idx < target_fmrs.size(); ++target_idx) {
      if (!supported[target_idx]) continue;
      fnmr_samples[target_idx].push_back(FirstPointAtOrBelow(points, target_fmrs[target_idx]).fnmr);
    }
  }

  BootstrapIntervals intervals;
  intervals.confidence = options.confidence;
  intervals.seed = options.seed;
  intervals.resamples = options.resamples;
  intervals.used_resamples = static_cast<int>(eer_samples.size());
  intervals.eer = PercentileInterval(std::move(eer_samples), options.confidence);
  for (auto& samples : fnmr_samples) {
    intervals.fnmr_at_fmr.push_back(PercentileInterval(std::move(samples), options.confidence));
  }
  return intervals;
}

Result<VerificationResult> EvaluateVerification(const ScoreSet& scores,
                                                const VerificationOptions& options) {
  VerificationResult result;
  result.min_expected_errors = options.min_expected_errors;
  ABIS_ASSIGN_OR_RETURN(result.det, ComputeDetCurve(scores));
  ABIS_ASSIGN_OR_RETURN(result.eer, ComputeEer(result.det));
  for (double target : options.target_fmrs) {
    ABIS_ASSIGN_OR_RETURN(FnmrAtFmr at_target,
                          ComputeFnmrAtFmr(result.det, target, options.min_expected_errors));
    result.fnmr_at_fmr.push_back(at_target);
  }
  ABIS_ASSIGN_OR_RETURN(result.histogram, ComputeScoreHistogram(scores, options.histogram_bins));
  for (double target : options.extrapolation_fmrs) {
    ABIS_ASSIGN_OR_RETURN(
        GallerySizeExtrapolation extrapolation,
        ExtrapolateToGallerySizes(result.det, target, options.extrapolation_gallery_sizes,
                                  options.min_expected_errors));
    result.gallery_extrapolation.push_back(std::move(extrapolation));
  }

  const bool has_labels = !scores.genuine_subject.empty() ||
                          !scores.impostor_probe_subject.empty() ||
                          !scores.impostor_reference_subject.empty();
  if (options.bootstrap.resamples <= 0) {
    result.bootstrap_note = "bootstrap disabled (resamples = 0)";
  } else if (!has_labels) {
    result.bootstrap_note = "no subject labels, so no confidence intervals";
  } else {
    ABIS_ASSIGN_OR_RETURN(result.bootstrap,
                          BootstrapBySubject(scores, options.target_fmrs, options.bootstrap,
                                             options.min_expected_errors));
  }
  return result;
}

Result<CmcCurve> ComputeCmc(std::span<const MatedSearch> mated, int max_rank) {
  if (mated.empty()) return InvalidArgumentError("no mated searches");
  ABIS_RETURN_IF_ERROR(CheckMated(mated, max_rank));
  std::vector<std::int64_t> found_at_rank(max_rank + 1, 0);
  for (const MatedSearch& search : mated) {
    if (MateFoundWithinRank(search, max_rank)) ++found_at_rank[*search.mate_rank];
  }
  CmcCurve cmc;
  cmc.search_count = static_cast<std::int64_t>(mated.size());
  std::int64_t found = 0;
  for (int rank = 1; rank <= max_rank; ++rank) {
    found += found_at_rank[rank];
    cmc.rates.push_back(static_cast<double>(found) / static_cast<double>(mated.size()));
  }
  return cmc;
}

Result<OpenSetCurve> ComputeOpenSetCurve(const SearchSet& searches, int max_rank) {
  ABIS_RETURN_IF_ERROR(CheckSearches(searches, max_rank));
  std::vector<double> mate_scores;
  std::int64_t mates_missed = 0;
  for (const MatedSearch& search : searches.mated) {
    if (MateFoundWithinRank(search, max_rank)) {
      mate_scores.push_back(search.mate_score);
    } else {
      ++mates_missed;
    }
  }
  std::vector<double> top_scores;
  for (const NonMatedSearch& search : searches.non_mated) {
    if (search.top_score.has_value()) top_scores.push_back(*search.top_score);
  }
  ABIS_RETURN_IF_ERROR(CheckScoreCount(mate_scores.size() + top_scores.size()));
  const Buckets buckets = MakeBuckets(mate_scores, top_scores);
  const Tally tally =
      UnitTally(buckets, mates_missed, static_cast<std::int64_t>(searches.non_mated.size()));
  OpenSetCurve curve;
  curve.max_rank = max_rank;
  curve.mated_count = static_cast<std::int64_t>(searches.mated.size());
  curve.non_mated_count = static_cast<std::int64_t>(searches.non_mated.size());
  for (const DetPoint& point : TradeoffCurve(buckets.thresholds, tally)) {
    curve.points.push_back(OpenSetPoint{point.threshold, point.fmr, point.fnmr});
  }
  return curve;
}

Result<OpenSetPoint> ComputeOpenSetRates(const SearchSet& searches, int max_rank,
                                         double threshold) {
  if (std::isnan(threshold)) return InvalidArgumentError("threshold is NaN");
  ABIS_RETURN_IF_ERROR(CheckSearches(searches, max_rank));
  const auto misses =
      std::count_if(searches.mated.begin(), searches.mated.end(), [&](const auto& s) {
        return !(MateFoundWithinRank(s, max_rank) && s.mate_score >= threshold);
      });
  const auto false_positives = std::count_if(
      searches.non_mated.begin(), searches.non_mated.end(),
      [&](const auto& s) { return s.top_score.has_value() && *s.top_score >= threshold; });
  return OpenSetPoint{
      threshold,
      static_cast<double>(false_positives) / static_cast<double>(searches.non_mated.size()),
      static_cast<double>(misses) / static_cast<double>(searches.mated.size())};
}

Result<FnirAtFpir> ComputeFnirAtFpir(const OpenSetCurve& curve, double target_fpir,
                                     double min_expected_errors) {
  ABIS_RETURN_IF_ERROR(CheckTargetRate(target_fpir, "target_fpir"));
  ABIS_RETURN_IF_ERROR(CheckMinExpectedErrors(min_expected_errors));
  FnirAtFpir result;
  result.target_fpir = target_fpir;
  if (!DataSupports(curve.non_mated_count, target_fpir, min_expected_errors)) return result;
  auto it =
      std::partition_point(curve.points.begin(), curve.points.end(),
                           [&](const OpenSetPoint& point) { return point.fpir > target_fpir; });
  result.operating_point = it == curve.points.end() ? OpenSetPoint{kInfinity, 0.0, 1.0} : *it;
  return result;
}

double ExtrapolateFpir(double fmr, std::int64_t gallery_size) {
  if (fmr >= 1.0) return gallery_size > 0 ? 1.0 : 0.0;
  // 1 - (1 - fmr)^N without cancellation for tiny fmr.
  return -std::expm1(static_cast<double>(gallery_size) * std::log1p(-fmr));
}

Result<GallerySizeExtrapolation> ExtrapolateToGallerySizes(
    const DetCurve& det, double target_fmr, std::span<const std::int64_t> gallery_sizes,
    double min_expected_errors) {
  for (std::int64_t size : gallery_sizes) {
    if (size < 1) return InvalidArgumentError("gallery size must be >= 1");
  }
  ABIS_ASSIGN_OR_RETURN(FnmrAtFmr at_target,
                        ComputeFnmrAtFmr(det, target_fmr, min_expected_errors));
  GallerySizeExtrapolation result;
  result.target_fmr = target_fmr;
  result.operating_point = at_target.operating_point;
  if (!result.operating_point.has_value()) return result;
  const double fmr = result.operating_point->fmr;
  for (std::int64_t size : gallery_sizes) {
    result.rows.push_back(
        GallerySizeRow{size, ExtrapolateFpir(fmr, size), static_cast<double>(size) * fmr});
  }
  return result;
}

std::vector<std::uint64_t> SampleDistinctIndices(std::uint64_t population, std::uint64_t count,
                                                 std::uint64_t seed) {
  std::vector<std::uint64_t> indices;
  if (count >= population) {
    indices.resize(population);
    for (std::uint64_t index = 0; index < population; ++index) indices[index] = index;
    return indices;
  }
  // Drawing more than half: draw the indices left out instead.
  const bool complement = count > population / 2;
  const std::uint64_t wanted = complement ? population - count : count;
  // Draw with replacement, then drop repeats, until `wanted` distinct
  // indices are held. The procedure treats every index alike, so every
  // subset of that size is equally likely; each round at least halves
  // what is missing on average, as at most half the population is wanted.
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> drawn;
  while (drawn.size() < wanted) {
    const std::size_t missing = wanted - drawn.size();
    for (std::size_t draw = 0; draw < missing; ++draw) {
      drawn.push_back(UniformIndex(rng, population));
    }
    std::sort(drawn.begin(), drawn.end());
    drawn.erase(std::unique(drawn.begin(), drawn.end()), drawn.end());
  }
  if (!complement) return drawn;
  indices.reserve(count);
  std::size_t next_left_out = 0;
  for (std::uint64_t index = 0; index < population; ++index) {
    if (next_left_out < drawn.size() && drawn[next_left_out] == index) {
      ++next_left_out;
    } else {
      indices.push_back(index);
    }
  }
  return indices;
}

Result<IdentificationResult> EvaluateIdentification(const SearchSet& searches,
                                                    const IdentificationOptions& options) {
  if (!options.threshold_labels.empty() &&
      options.threshold_labels.size() != options.thresholds.size()) {
    return InvalidArgumentError("threshold_labels must be empty or match thresholds");
  }
  IdentificationResult result;
  result.min_expected_errors = options.min_expected_errors;
  ABIS_ASSIGN_OR_RETURN(result.cmc, ComputeCmc(searches.mated, options.cmc_max_rank));
  if (searches.non_mated.empty()) return result;

  ABIS_ASSIGN_OR_RETURN(result.open_set, ComputeOpenSetCurve(searches, options.open_set_max_rank));
  for (double threshold : options.thresholds) {
    ABIS_ASSIGN_OR_RETURN(OpenSetPoint point,
                          ComputeOpenSetRates(searches, options.open_set_max_rank, threshold));
    result.at_thresholds.push_back(point);
  }
  result.at_threshold_labels = options.threshold_labels;
  for (double target : options.target_fpirs) {
    ABIS_ASSIGN_OR_RETURN(FnirAtFpir at_target,
                          ComputeFnirAtFpir(*result.open_set, target, options.min_expected_errors));
    result.fnir_at_fpir.push_back(at_target);
  }
  return result;
}

std::optional<double> FailureCounter::Rate() const {
  if (attempts == 0) return std::nullopt;
  return static_cast<double>(failures) / static_cast<double>(attempts);
}

double FalseAcceptRate(double fmr, double fta) { return fmr * (1.0 - fta); }

double FalseRejectRate(double fnmr, double fta) { return fta + fnmr * (1.0 - fta); }

Result<DemographicDifferentials> ComputeDemographicDifferentials(
    const ScoreSet& scores, const std::map<std::string, std::string>& group_of_subject,
    double threshold) {
  if (std::isnan(threshold)) return InvalidArgumentError("threshold is NaN");
  ABIS_RETURN_IF_ERROR(CheckLabels(scores));
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.genuine, "genuine"));
  ABIS_RETURN_IF_ERROR(CheckFinite(scores.impostor, "impostor"));

  struct Errors {
    std::int64_t genuine = 0;
    std::int64_t false_non_matches = 0;
    std::int64_t impostor = 0;
    std::int64_t false_matches = 0;
  };
  std::map<std::string, Errors> by_group;
  for (const auto& [subject, group] : group_of_subject) by_group.try_emplace(group);
  auto group_of = [&](const std::string& subject) -> const std::string* {
    auto it = group_of_subject.find(subject);
    return it == group_of_subject.end() ? nullptr : &it->second;
  };

  DemographicDifferentials result;
  result.threshold = threshold;
  for (std::size_t score_idx = 0; score_idx < scores.genuine.size(); ++score_idx) {
    const std::string* group = group_of(scores.genuine_subject[score_idx]);
    if (group == nullptr) {
      ++result.unlabelled_genuine;
      continue;
    }
    Errors& errors = by_group[*group];
    ++errors.genuine;
    if (scores.genuine[score_idx] < threshold) ++errors.false_non_matches;
  }
  const bool two_sided = !scores.impostor_reference_subject.empty();
  result.same_group_pairs = two_sided;
  for (std::size_t score_idx = 0; score_idx < scores.impostor.size(); ++score_idx) {
    const std::string* group = group_of(scores.impostor_probe_subject[score_idx]);
    const std::string* reference_group =
        two_sided ? group_of(scores.impostor_reference_subject[score_idx]) : group;
    if (group == nullptr || reference_group == nullptr) {
      ++result.unlabelled_impostor;
      continue;
    }
    if (*group != *reference_group) {
      ++result.cross_group_impostor;
      continue;
    }
    Errors& errors = by_group[*group];
    ++errors.impostor;
    if (scores.impostor[score_idx] >= threshold) ++errors.false_matches;
  }

  for (const auto& [group, errors] : by_group) {
    GroupRates rates;
    rates.group = group;
    rates.genuine_count = errors.genuine;
    rates.impostor_count = errors.impostor;
    if (errors.impostor > 0) {
      rates.fmr = static_cast<double>(errors.false_matches) / static_cast<double>(errors.impostor);
    }
    if (errors.genuine > 0) {
      rates.fnmr =
          static_cast<double>(errors.false_non_matches) / static_cast<double>(errors.genuine);
    }
    result.groups.push_back(std::move(rates));
  }
  result.fmr = ComputeDifferential(result.groups, &GroupRates::fmr);
  result.fnmr = ComputeDifferential(result.groups, &GroupRates::fnmr);
  return result;
}

}  // namespace abis::eval
