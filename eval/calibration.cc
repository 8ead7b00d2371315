#include "eval/calibration.h"

#include <algorithm>
#include <cmath>

#include "core/file_io.h"

namespace abis::eval {

Result<FmrCalibration> FmrCalibration::Fit(std::span<const double> impostor,
                                           double min_log10_step) {
  if (impostor.empty()) return InvalidArgumentError("calibration needs impostor scores");
  if (!(min_log10_step >= 0.0)) return InvalidArgumentError("min_log10_step must be >= 0");
  std::vector<double> sorted(impostor.begin(), impostor.end());
  for (double score : sorted) {
    if (!std::isfinite(score)) return InvalidArgumentError("impostor scores must be finite");
  }
  std::sort(sorted.begin(), sorted.end());
  const auto count = static_cast<std::int64_t>(sorted.size());

  // Empirical tail at each distinct score, ascending: #{>= s} / n.
  std::vector<CalibrationKnot> all;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i] == sorted[i - 1]) continue;
    auto at_or_above = static_cast<double>(count - static_cast<std::int64_t>(i));
    all.push_back({sorted[i], at_or_above / static_cast<double>(count)});
  }

  std::vector<CalibrationKnot> kept;
  for (std::size_t i = 0; i < all.size(); ++i) {
    bool last = i + 1 == all.size();
    if (kept.empty() || last ||
        std::log10(kept.back().fmr) - std::log10(all[i].fmr) >= min_log10_step) {
      kept.push_back(all[i]);
    }
  }
  return FmrCalibration(std::move(kept), count);
}

Result<FmrCalibration> FmrCalibration::FromKnots(std::vector<CalibrationKnot> knots,
                                                 std::int64_t impostor_count) {
  if (knots.empty()) return InvalidArgumentError("calibration table has no knots");
  if (impostor_count < 1) return InvalidArgumentError("calibration impostor_count must be >= 1");
  for (std::size_t i = 0; i < knots.size(); ++i) {
    const CalibrationKnot& knot = knots[i];
    std::string where = "calibration knot " + std::to_string(i);
    if (!std::isfinite(knot.score)) return InvalidArgumentError(where + ": score is not finite");
    if (!(knot.fmr > 0.0 && knot.fmr <= 1.0)) {
      return InvalidArgumentError(where + ": fmr must be in (0, 1]");
    }
    if (i > 0 && !(knot.score > knots[i - 1].score)) {
      return InvalidArgumentError(where + ": scores must be strictly increasing");
    }
    if (i > 0 && knot.fmr > knots[i - 1].fmr) {
      return InvalidArgumentError(where + ": fmr must not increase with the score");
    }
  }
  // The tail holds at least one impostor score (up to rounding in JSON).
  if (knots.back().fmr * static_cast<double>(impostor_count) < 1.0 - 1e-9) {
    return InvalidArgumentError("calibration: last fmr is below 1 / impostor_count");
  }
  return FmrCalibration(std::move(knots), impostor_count);
}

FmrEstimate FmrCalibration::FmrAt(double score) const {
  if (knots_.empty() || std::isnan(score)) return {1.0, false};
  if (score > knots_.back().score) {
    return {1.0 / static_cast<double>(impostor_count_), true};
  }
  if (score <= knots_.front().score) return {knots_.front().fmr, false};
  // First knot with knot.score >= score; score > front, so upper >= 1.
  auto upper = std::lower_bound(
      knots_.begin(), knots_.end(), score,
      [](const CalibrationKnot& knot, double value) { return knot.score < value; });
  if (upper->score == score) return {upper->fmr, false};
  auto lower = upper - 1;
  double fraction = (score - lower->score) / (upper->score - lower->score);
  double log_fmr = std::log(lower->fmr) + fraction * (std::log(upper->fmr) - std::log(lower->fmr));
  // Keep the result inside the bracket despite rounding.
  double fmr = std::clamp(std::exp(log_fmr), upper->fmr, lower->fmr);
  return {fmr, false};
}

double FmrCalibration::ExpectedFalseCandidates(double score,
                                               std::int64_t gallery_identities) const {
  return static_cast<double>(std::max<std::int64_t>(gallery_identities, 0)) * FmrAt(score).fmr;
}

namespace {

nlohmann::json Optional(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// Typed field access that reports the field's name on error.
template <typename T>
Result<T> Field(const nlohmann::json& object, const std::string& name) {
  if (!object.is_object() || !object.contains(name)) {
    return InvalidArgumentError("model card: missing field '" + name + "'");
  }
  const nlohmann::json& value = object.at(name);
  bool ok = false;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = value.is_string();
  } else if constexpr (std::is_integral_v<T>) {
    ok = value.is_number_integer();
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = value.is_number();
  } else {
    ok = true;
  }
  if (!ok) return InvalidArgumentError("model card: field '" + name + "' has the wrong type");
  return value.get<T>();
}

Result<std::optional<double>> OptionalField(const nlohmann::json& object, const std::string& name) {
  if (!object.is_object() || !object.contains(name) || object.at(name).is_null()) {
    return std::optional<double>();
  }
  if (!object.at(name).is_number()) {
    return InvalidArgumentError("model card: field '" + name + "' must be a number or null");
  }
  return std::optional<double>(object.at(name).get<double>());
}

}  // namespace

nlohmann::json ToJson(const ModelCard& card) {
  nlohmann::json fnmr_at_fmr = nlohmann::json::array();
  for (const ModelCardOperatingPoint& point : card.metrics.fnmr_at_fmr) {
    fnmr_at_fmr.push_back({{"target_fmr", point.target_fmr},
                           {"supported", point.fnmr.has_value()},
                           {"threshold", Optional(point.threshold)},
                           {"fmr", Optional(point.fmr)},
                           {"fnmr", Optional(point.fnmr)}});
  }
  nlohmann::json scores = nlohmann::json::array();
  nlohmann::json fmrs = nlohmann::json::array();
  for (const CalibrationKnot& knot : card.calibration.knots()) {
    scores.push_back(knot.score);
    fmrs.push_back(knot.fmr);
  }
  return {
      {"format", kModelCardFormat},
      {"schema_version", card.schema_version},
      {"modality", card.modality},
      {"algorithm", card.algorithm},
      {"model_digest", card.model_digest},
      {"created", card.created},
      {"command", card.command},
      {"dataset",
       {{"name", card.dataset.name},
        {"description", card.dataset.description},
        {"identities", card.dataset.identities},
        {"images", card.dataset.images},
        {"genuine_pairs", card.dataset.genuine_pairs},
        {"impostor_pairs", card.dataset.impostor_pairs}}},
      {"protocol", card.protocol},
      {"metrics",
       {{"eer", Optional(card.metrics.eer)},
        {"eer_threshold", Optional(card.metrics.eer_threshold)},
        {"fte", Optional(card.metrics.fte)},
        {"fta", Optional(card.metrics.fta)},
        {"rank1", Optional(card.metrics.rank1)},
        {"fnmr_at_fmr", fnmr_at_fmr}}},
      {"calibration",
       {{"method",
         "empirical impostor tail FMR(s) = #{impostor >= s} / n at knots; log-linear in FMR "
         "between knots; above the last knot FMR < 1/n (fmr_is_upper_bound)"},
        {"score_direction", "similarity: higher = more similar"},
        {"impostor_count", card.calibration.impostor_count()},
        {"knots", {{"score", scores}, {"fmr", fmrs}}}}},
      {"known_limits", card.known_limits},
  };
}

Result<ModelCard> ModelCardFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return InvalidArgumentError("model card: not a JSON object");
  ABIS_ASSIGN_OR_RETURN(std::string format, Field<std::string>(json, "format"));
  if (format != kModelCardFormat) {
    return InvalidArgumentError("model card: format is '" + format + "', expected '" +
                                kModelCardFormat + "'");
  }
  ModelCard card;
  ABIS_ASSIGN_OR_RETURN(card.schema_version, Field<int>(json, "schema_version"));
  if (card.schema_version < 1 || card.schema_version > kModelCardSchemaVersion) {
    return InvalidArgumentError("model card: schema_version " +
                                std::to_string(card.schema_version) + " is not supported");
  }
  ABIS_ASSIGN_OR_RETURN(card.modality, Field<std::string>(json, "modality"));
  ABIS_ASSIGN_OR_RETURN(card.algorithm, Field<std::string>(json, "algorithm"));
  ABIS_ASSIGN_OR_RETURN(card.model_digest, Field<std::string>(json, "model_digest"));
  ABIS_ASSIGN_OR_RETURN(card.created, Field<std::string>(json, "created"));
  ABIS_ASSIGN_OR_RETURN(card.command, Field<std::string>(json, "command"));
  ABIS_ASSIGN_OR_RETURN(card.protocol, Field<std::string>(json, "protocol"));

  ABIS_ASSIGN_OR_RETURN(nlohmann::json dataset, Field<nlohmann::json>(json, "dataset"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.name, Field<std::string>(dataset, "name"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.description, Field<std::string>(dataset, "description"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.identities, Field<std::int64_t>(dataset, "identities"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.images, Field<std::int64_t>(dataset, "images"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.genuine_pairs, Field<std::int64_t>(dataset, "genuine_pairs"));
  ABIS_ASSIGN_OR_RETURN(card.dataset.impostor_pairs,
                        Field<std::int64_t>(dataset, "impostor_pairs"));

  ABIS_ASSIGN_OR_RETURN(nlohmann::json metrics, Field<nlohmann::json>(json, "metrics"));
  ABIS_ASSIGN_OR_RETURN(card.metrics.eer, OptionalField(metrics, "eer"));
  ABIS_ASSIGN_OR_RETURN(card.metrics.eer_threshold, OptionalField(metrics, "eer_threshold"));
  ABIS_ASSIGN_OR_RETURN(card.metrics.fte, OptionalField(metrics, "fte"));
  ABIS_ASSIGN_OR_RETURN(card.metrics.fta, OptionalField(metrics, "fta"));
  ABIS_ASSIGN_OR_RETURN(card.metrics.rank1, OptionalField(metrics, "rank1"));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json points, Field<nlohmann::json>(metrics, "fnmr_at_fmr"));
  if (!points.is_array()) return InvalidArgumentError("model card: fnmr_at_fmr must be an array");
  for (const nlohmann::json& entry : points) {
    ModelCardOperatingPoint point;
    ABIS_ASSIGN_OR_RETURN(point.target_fmr, Field<double>(entry, "target_fmr"));
    ABIS_ASSIGN_OR_RETURN(point.threshold, OptionalField(entry, "threshold"));
    ABIS_ASSIGN_OR_RETURN(point.fmr, OptionalField(entry, "fmr"));
    ABIS_ASSIGN_OR_RETURN(point.fnmr, OptionalField(entry, "fnmr"));
    card.metrics.fnmr_at_fmr.push_back(point);
  }

  ABIS_ASSIGN_OR_RETURN(nlohmann::json calibration, Field<nlohmann::json>(json, "calibration"));
  ABIS_ASSIGN_OR_RETURN(auto impostor_count, Field<std::int64_t>(calibration, "impostor_count"));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json knots, Field<nlohmann::json>(calibration, "knots"));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json scores, Field<nlohmann::json>(knots, "score"));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json fmrs, Field<nlohmann::json>(knots, "fmr"));
  if (!scores.is_array() || !fmrs.is_array() || scores.size() != fmrs.size()) {
    return InvalidArgumentError("model card: calibration knots need equal score and fmr arrays");
  }
  std::vector<CalibrationKnot> table;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!scores[i].is_number() || !fmrs[i].is_number()) {
      return InvalidArgumentError("model card: calibration knots must be numbers");
    }
    table.push_back({scores[i].get<double>(), fmrs[i].get<double>()});
  }
  auto fitted = FmrCalibration::FromKnots(std::move(table), impostor_count);
  if (!fitted.ok()) return fitted.status().WithContext("model card");
  card.calibration = std::move(*fitted);

  ABIS_ASSIGN_OR_RETURN(nlohmann::json limits, Field<nlohmann::json>(json, "known_limits"));
  if (!limits.is_array()) return InvalidArgumentError("model card: known_limits must be an array");
  for (const nlohmann::json& limit : limits) {
    if (!limit.is_string()) return InvalidArgumentError("model card: known_limits must be strings");
    card.known_limits.push_back(limit.get<std::string>());
  }
  return card;
}

Status WriteModelCard(const ModelCard& card, const std::string& path) {
  return WriteFileAtomically(path, ToJson(card).dump(2) + "\n");
}

Result<ModelCard> ReadModelCard(const std::string& path) {
  ABIS_ASSIGN_OR_RETURN(auto bytes, ReadFileBytes(path, 16u << 20));
  nlohmann::json json = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(path + ": model card is not valid JSON");
  auto card = ModelCardFromJson(json);
  if (!card.ok()) return card.status().WithContext(path);
  return card;
}

Status CheckModelCardMatches(const ModelCard& card, const std::string& modality,
                             const std::string& algorithm, const std::string& model_digest) {
  if (card.modality != modality || card.algorithm != algorithm ||
      card.model_digest != model_digest) {
    return FailedPreconditionError(
        "model card is for " + card.modality + " " + card.algorithm + " model " +
        card.model_digest.substr(0, 12) + ", not " + modality + " " + algorithm + " model " +
        model_digest.substr(0, 12) + "; calibrations never cross models");
  }
  return Status();
}

}  // namespace abis::eval
