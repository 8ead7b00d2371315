#include "eval/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <span>
#include <string_view>
#include <vector>

#include "core/file_io.h"
#include "eval/svg_plot.h"

namespace abis::eval {
namespace {

using nlohmann::json;

constexpr std::string_view kGenuineColour = "#1f77b4";
constexpr std::string_view kImpostorColour = "#d62728";
constexpr std::string_view kCurveColour = "#1f77b4";
constexpr std::string_view kOperatingPointColour = "#ff7f0e";
constexpr double kThinningStep = 0.01;  // Normal deviates; about one pixel.
// DET axes usually end at 50%; they reach 95% only when a reported
// operating point would otherwise be off the plot.
constexpr double kUpperRateLimit = 0.5;
constexpr double kExtendedUpperRateLimit = 0.95;
constexpr std::array<int, 3> kReportedRanks = {1, 5, 20};

// ---------------------------------------------------------------- JSON ----

json ThresholdJson(double threshold) {
  return std::isfinite(threshold) ? json(threshold) : json(nullptr);
}

json OptionalJson(const std::optional<double>& value) {
  return value.has_value() ? json(*value) : json(nullptr);
}

json IntervalJson(const std::optional<Interval>& interval) {
  if (!interval.has_value()) return nullptr;
  return {{"lower", interval->lower}, {"upper", interval->upper}};
}

json FailureJson(const FailureCounter& counter) {
  return {{"attempts", counter.attempts},
          {"failures", counter.failures},
          {"rate", OptionalJson(counter.Rate())}};
}

json DifferentialJson(const Differential& differential) {
  return {{"max_group", differential.max_group},
          {"min_group", differential.min_group},
          {"max_min_ratio", OptionalJson(differential.max_min_ratio)}};
}

json ConventionsJson() {
  return {{"score_direction", "similarity: higher means more similar"},
          {"decision_rule", "match decision when score >= threshold"},
          {"support_rule", "a target rate p is reported when count * p >= min_expected_errors"},
          {"null_threshold", "-inf or +inf (curve end points)"}};
}

// The JSON text for a <script> data block: '<', '>' and '&' can only occur
// inside JSON strings, where \u escapes keep "</script>" from ending the
// block early.
std::string EmbeddableJson(const json& value) {
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string embedded;
  embedded.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '<':
        embedded += "\\u003c";
        break;
      case '>':
        embedded += "\\u003e";
        break;
      case '&':
        embedded += "\\u0026";
        break;
      default:
        embedded += ch;
    }
  }
  return embedded;
}

// ---------------------------------------------------------- formatting ----

std::string Format(const char* format, double value) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

std::string FormatRate(double rate) { return Format("%.4g", rate); }

std::string FormatThreshold(double threshold) {
  if (std::isinf(threshold)) return threshold > 0 ? "+inf" : "-inf";
  return Format("%.6g", threshold);
}

std::string FormatInterval(const std::optional<Interval>& interval) {
  if (!interval.has_value()) return "&ndash;";
  return "[" + FormatRate(interval->lower) + ", " + FormatRate(interval->upper) + "]";
}

std::string FormatPercent(double fraction) { return Format("%g%%", 100.0 * fraction); }

// Smallest count that supports `target` under the support rule.
std::string RequiredCount(double target, double min_expected_errors) {
  return Format("%.0f", std::ceil(min_expected_errors / target * (1.0 - 1e-12)));
}

// ---------------------------------------------------------------- HTML ----

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table>\n<thead><tr>";
  for (const std::string& column : header) html += "<th>" + EscapeXml(column) + "</th>";
  html += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row) html += "<td>" + cell + "</td>";
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string DataBlock(std::string_view id, const json& data) {
  return "<script type=\"application/json\" id=\"" + std::string(id) + "\">" +
         EmbeddableJson(data) + "</script>\n";
}

std::string Figure(const Plot& plot, std::string_view id, const std::string& caption,
                   const json& data) {
  return "<figure>\n" + RenderSvgPlot(plot, id) + "<figcaption>" + caption +
         " Plotted data: <code>#" + std::string(id) + "-data</code>.</figcaption>\n" +
         DataBlock(std::string(id) + "-data", data) + "</figure>\n";
}

// The decade at or below 1/count: the smallest non-zero rate `count` trials
// can show, so the axis starts where the data can reach.
double LowerRateLimit(std::int64_t count) {
  const double smallest = 1.0 / static_cast<double>(std::max<std::int64_t>(count, 1));
  return std::clamp(std::pow(10.0, std::floor(std::log10(smallest) + 1e-9)), 1e-8, 1e-2);
}

// `highest_marked` is the largest rate of a point that must be visible.
Axis ProbitAxis(std::string label, std::int64_t count, double highest_marked) {
  Axis axis;
  axis.label = std::move(label);
  axis.scale = AxisScale::kProbit;
  axis.min = LowerRateLimit(count);
  axis.max = highest_marked > kUpperRateLimit ? kExtendedUpperRateLimit : kUpperRateLimit;
  const auto lowest_exponent = static_cast<int>(std::lround(std::log10(axis.min)));
  for (int exponent = lowest_exponent; exponent <= -1; ++exponent) {
    axis.ticks.push_back(std::pow(10.0, exponent));
  }
  for (double tick : {0.2, 0.5, 0.8, 0.95}) {
    if (tick <= axis.max) axis.ticks.push_back(tick);
  }
  return axis;
}

// Indexes of the points worth drawing on probit axes (see report.h).
std::vector<std::size_t> ThinOnProbitAxes(std::span<const PlotPoint> rates) {
  std::vector<std::size_t> kept;
  auto deviate = [](double rate) { return std::clamp(NormalDeviate(rate), -10.0, 10.0); };
  for (std::size_t point_idx = 0; point_idx < rates.size(); ++point_idx) {
    const bool last = point_idx + 1 == rates.size();
    if (!kept.empty() && !last) {
      const PlotPoint& previous = rates[kept.back()];
      if (std::abs(deviate(rates[point_idx].x) - deviate(previous.x)) < kThinningStep &&
          std::abs(deviate(rates[point_idx].y) - deviate(previous.y)) < kThinningStep) {
        continue;
      }
    }
    kept.push_back(point_idx);
  }
  return kept;
}

// A trade-off curve (DET or FNIR/FPIR) thinned for drawing: the plot series
// and the matching data block, which holds exactly the drawn points.
struct DrawnCurve {
  PlotSeries series;
  json data;
};

DrawnCurve DrawTradeoffCurve(std::span<const double> thresholds, std::span<const PlotPoint> rates,
                             std::string_view x_name, std::string_view y_name) {
  DrawnCurve drawn;
  drawn.series.colour = kCurveColour;
  json drawn_thresholds = json::array();
  json drawn_x = json::array();
  json drawn_y = json::array();
  const std::vector<std::size_t> kept = ThinOnProbitAxes(rates);
  for (std::size_t point_idx : kept) {
    drawn.series.points.push_back(rates[point_idx]);
    drawn_thresholds.push_back(ThresholdJson(thresholds[point_idx]));
    drawn_x.push_back(rates[point_idx].x);
    drawn_y.push_back(rates[point_idx].y);
  }
  drawn.data = {{"threshold", drawn_thresholds},
                {std::string(x_name), drawn_x},
                {std::string(y_name), drawn_y},
                {"drawn_points", kept.size()},
                {"curve_points", rates.size()}};
  return drawn;
}

std::string ConventionsSection(const EvaluationReport& report) {
  double min_expected_errors = kDefaultMinExpectedErrors;
  if (report.verification.has_value()) {
    min_expected_errors = report.verification->min_expected_errors;
  } else if (report.identification.has_value()) {
    min_expected_errors = report.identification->min_expected_errors;
  }
  return "<section id=\"conventions\">\n<h2>Conventions</h2>\n<ul>\n"
         "<li>Scores are similarities: higher means more similar.</li>\n"
         "<li>A comparison is a match decision when <code>score &gt;= threshold</code>; a score "
         "equal to the threshold is accepted.</li>\n"
         "<li>A rate target <i>p</i> is reported only when the number of trials <i>n</i> has "
         "<i>n</i>&middot;<i>p</i> &ge; " +
         Format("%g", min_expected_errors) +
         " (expected errors at the target); otherwise it is marked unsupported.</li>\n"
         "<li>Definitions: <code>docs/evaluation.md</code>.</li>\n</ul>\n</section>\n";
}

std::string VerificationTables(const VerificationResult& verification) {
  const std::optional<BootstrapIntervals>& bootstrap = verification.bootstrap;
  std::string html;

  std::vector<std::vector<std::string>> summary = {
      {"Genuine comparisons", std::to_string(verification.det.genuine_count)},
      {"Impostor comparisons", std::to_string(verification.det.impostor_count)},
      {"EER", FormatRate(verification.eer.eer)},
      {"Threshold nearest the EER", FormatThreshold(verification.eer.threshold)},
  };
  if (bootstrap.has_value()) {
    summary.insert(summary.begin() + 3,
                   std::vector<std::string>{FormatPercent(bootstrap->confidence) + " CI of EER",
                                            FormatInterval(bootstrap->eer)});
  }
  html += Table({"Quantity", "Value"}, summary);

  std::vector<std::vector<std::string>> rows;
  for (std::size_t target_idx = 0; target_idx < verification.fnmr_at_fmr.size(); ++target_idx) {
    const FnmrAtFmr& entry = verification.fnmr_at_fmr[target_idx];
    std::vector<std::string> row = {FormatRate(entry.target_fmr)};
    if (entry.operating_point.has_value()) {
      row.push_back(FormatThreshold(entry.operating_point->threshold));
      row.push_back(FormatRate(entry.operating_point->fmr));
      row.push_back(FormatRate(entry.operating_point->fnmr));
    } else {
      row.push_back("unsupported: needs &ge; " +
                    RequiredCount(entry.target_fmr, verification.min_expected_errors) +
                    " impostor comparisons");
      row.emplace_back("&ndash;");
      row.emplace_back("&ndash;");
    }
    if (bootstrap.has_value()) {
      row.push_back(target_idx < bootstrap->fnmr_at_fmr.size()
                        ? FormatInterval(bootstrap->fnmr_at_fmr[target_idx])
                        : "&ndash;");
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header = {"Target FMR", "Threshold", "FMR", "FNMR"};
  if (bootstrap.has_value()) header.push_back(FormatPercent(bootstrap->confidence) + " CI of FNMR");
  html += "<h3>FNMR at target FMR</h3>\n" + Table(header, rows);

  if (bootstrap.has_value()) {
    html += "<p class=\"note\">Confidence intervals: percentile bootstrap over subjects, " +
            std::to_string(bootstrap->used_resamples) + " of " +
            std::to_string(bootstrap->resamples) + " resamples usable, seed " +
            std::to_string(bootstrap->seed) + ".</p>\n";
  } else if (!verification.bootstrap_note.empty()) {
    html += "<p class=\"note\">No confidence intervals: " + EscapeXml(verification.bootstrap_note) +
            ".</p>\n";
  }
  return html;
}

// The DET curve with the EER and FNMR-at-FMR operating points marked.
std::string DetFigure(const VerificationResult& verification) {
  std::vector<double> thresholds;
  std::vector<PlotPoint> rates;
  for (const DetPoint& point : verification.det.points) {
    thresholds.push_back(point.threshold);
    rates.push_back(PlotPoint{point.fmr, point.fnmr});
  }
  DrawnCurve curve = DrawTradeoffCurve(thresholds, rates, "fmr", "fnmr");
  curve.series.label = "DET";
  PlotSeries operating_points{.label = "EER and FNMR at target FMR",
                              .colour = std::string(kOperatingPointColour),
                              .style = PlotSeries::Style::kMarkers};
  operating_points.points.push_back(PlotPoint{verification.eer.eer, verification.eer.eer});
  json marked = json::array(
      {{{"name", "EER"}, {"fmr", verification.eer.eer}, {"fnmr", verification.eer.eer}}});
  for (const FnmrAtFmr& entry : verification.fnmr_at_fmr) {
    if (!entry.operating_point.has_value()) continue;
    operating_points.points.push_back(
        PlotPoint{entry.operating_point->fmr, entry.operating_point->fnmr});
    marked.push_back({{"name", "FNMR at FMR " + FormatRate(entry.target_fmr)},
                      {"fmr", entry.operating_point->fmr},
                      {"fnmr", entry.operating_point->fnmr}});
  }
  double highest_fmr = 0.0;
  double highest_fnmr = 0.0;
  for (const PlotPoint& point : operating_points.points) {
    highest_fmr = std::max(highest_fmr, point.x);
    highest_fnmr = std::max(highest_fnmr, point.y);
  }
  Plot det_plot;
  det_plot.title = "DET curve";
  det_plot.x = ProbitAxis("False match rate (FMR)", verification.det.impostor_count, highest_fmr);
  det_plot.y =
      ProbitAxis("False non-match rate (FNMR)", verification.det.genuine_count, highest_fnmr);
  det_plot.series.push_back(std::move(curve.series));
  det_plot.series.push_back(std::move(operating_points));
  curve.data["marked_points"] = std::move(marked);
  return Figure(det_plot, "det",
                "DET curve on normal-deviate axes; " +
                    std::to_string(curve.data["drawn_points"].get<std::size_t>()) + " of " +
                    std::to_string(rates.size()) + " points drawn.",
                curve.data);
}

// Genuine and impostor score histograms, each class normalised to sum to one.
std::string HistogramFigure(const VerificationResult& verification) {
  const ScoreHistogram& histogram = verification.histogram;
  auto fractions = [](const std::vector<std::int64_t>& counts) {
    std::int64_t total = 0;
    for (std::int64_t count : counts) total += count;
    std::vector<double> result;
    result.reserve(counts.size());
    for (std::int64_t count : counts) {
      result.push_back(total > 0 ? static_cast<double>(count) / static_cast<double>(total) : 0.0);
    }
    return result;
  };
  const std::vector<double> genuine_fraction = fractions(histogram.genuine);
  const std::vector<double> impostor_fraction = fractions(histogram.impostor);
  double highest = 0.0;
  for (double fraction : genuine_fraction) highest = std::max(highest, fraction);
  for (double fraction : impostor_fraction) highest = std::max(highest, fraction);
  Plot histogram_plot;
  histogram_plot.title = "Score distributions";
  const double upper_edge =
      histogram.lower + histogram.bin_width * static_cast<double>(histogram.genuine.size());
  histogram_plot.x = Axis{"Comparison score", AxisScale::kLinear, histogram.lower, upper_edge,
                          LinearTicks(histogram.lower, upper_edge, 6)};
  const double y_max = highest > 0.0 ? 1.1 * highest : 1.0;
  histogram_plot.y =
      Axis{"Fraction of comparisons", AxisScale::kLinear, 0.0, y_max, LinearTicks(0.0, y_max, 5)};
  PlotSeries impostor_series{.label = "Impostor",
                             .colour = std::string(kImpostorColour),
                             .style = PlotSeries::Style::kStepArea,
                             .step_width = histogram.bin_width};
  PlotSeries genuine_series{.label = "Genuine",
                            .colour = std::string(kGenuineColour),
                            .style = PlotSeries::Style::kStepArea,
                            .step_width = histogram.bin_width};
  for (std::size_t bin = 0; bin < histogram.genuine.size(); ++bin) {
    const double left = histogram.lower + histogram.bin_width * static_cast<double>(bin);
    impostor_series.points.push_back(PlotPoint{left, impostor_fraction[bin]});
    genuine_series.points.push_back(PlotPoint{left, genuine_fraction[bin]});
  }
  histogram_plot.series.push_back(std::move(impostor_series));
  histogram_plot.series.push_back(std::move(genuine_series));
  histogram_plot.guides.push_back(VerticalGuide{verification.eer.threshold, "EER threshold"});
  json histogram_data = ToJson(histogram);
  histogram_data["genuine_fraction"] = genuine_fraction;
  histogram_data["impostor_fraction"] = impostor_fraction;
  histogram_data["eer_threshold"] = ThresholdJson(verification.eer.threshold);
  return Figure(histogram_plot, "histogram",
                "Genuine and impostor score histograms, each normalised to sum to one; the line "
                "marks the threshold nearest the EER.",
                histogram_data);
}

std::string SamplingNote(const ImpostorSampling& sampling) {
  if (sampling.sampled) {
    return "<p class=\"note\" id=\"impostor-sampling\"><strong>Impostor comparisons are "
           "sampled:</strong> " +
           std::to_string(sampling.compared_pairs) + " of the " +
           std::to_string(sampling.possible_pairs) +
           " impostor pairs, drawn uniformly at random without replacement (cap " +
           std::to_string(sampling.max_pairs) + ", seed " + std::to_string(sampling.seed) +
           "); every genuine pair is compared. The rates and intervals below are over the "
           "sample.</p>\n";
  }
  return "<p class=\"note\" id=\"impostor-sampling\">Every one of the " +
         std::to_string(sampling.possible_pairs) +
         " impostor pairs is compared (no sampling; cap " + std::to_string(sampling.max_pairs) +
         ").</p>\n";
}

std::string VerificationSection(const VerificationResult& verification,
                                const std::optional<ImpostorSampling>& sampling) {
  return "<section id=\"verification\">\n<h2>Verification (1:1)</h2>\n" +
         (sampling.has_value() ? SamplingNote(*sampling) : std::string()) +
         VerificationTables(verification) + DetFigure(verification) +
         HistogramFigure(verification) + "</section>\n";
}

// The gallery-size extrapolation: a table per operating point, labelled as
// an extrapolation under the independence assumption.
std::string ExtrapolationSection(const VerificationResult& verification) {
  std::string html =
      "<section id=\"gallery-extrapolation\">\n<h2>Gallery-size extrapolation (not a "
      "measurement)</h2>\n<p>What the 1:1 operating points would give when one probe is searched "
      "against a gallery of <i>N</i> identities, <strong>extrapolated</strong> from the " +
      std::to_string(verification.det.impostor_count) +
      " 1:1 impostor comparisons under the assumption that the probe's <i>N</i> impostor "
      "comparisons are independent, each a false match with the measured FMR: expected FPIR = "
      "1 &minus; (1 &minus; FMR)<sup><i>N</i></sup>, expected false candidates = <i>N</i> "
      "&middot; FMR. Real impostor scores of one probe are correlated, and galleries larger "
      "than the evaluation's were never searched; see <code>docs/evaluation.md</code> "
      "&sect;4.3.</p>\n";
  std::vector<std::string> header = {"Gallery size N"};
  std::vector<const GallerySizeExtrapolation*> supported;
  for (const GallerySizeExtrapolation& entry : verification.gallery_extrapolation) {
    if (!entry.operating_point.has_value()) {
      html += "<p class=\"note\">FMR " + FormatRate(entry.target_fmr) +
              ": unsupported, needs &ge; " +
              RequiredCount(entry.target_fmr, verification.min_expected_errors) +
              " impostor comparisons.</p>\n";
      continue;
    }
    supported.push_back(&entry);
    const std::string point = "FMR " + FormatRate(entry.operating_point->fmr) + " (threshold " +
                              FormatThreshold(entry.operating_point->threshold) + ")";
    header.push_back("Expected FPIR at " + point);
    header.push_back("Expected false candidates at " + point);
  }
  if (supported.empty()) return html + "</section>\n";
  std::vector<std::vector<std::string>> rows;
  for (std::size_t row_idx = 0; row_idx < supported.front()->rows.size(); ++row_idx) {
    std::vector<std::string> row = {
        Format("%.0f", static_cast<double>(supported.front()->rows[row_idx].gallery_size))};
    for (const GallerySizeExtrapolation* entry : supported) {
      row.push_back(Format("%.4g", entry->rows[row_idx].expected_fpir));
      row.push_back(Format("%.6g", entry->rows[row_idx].expected_false_candidates));
    }
    rows.push_back(std::move(row));
  }
  return html + Table(header, rows) + "</section>\n";
}

std::string IdentificationSection(const IdentificationResult& identification) {
  std::string html = "<section id=\"identification\">\n<h2>Identification (1:N)</h2>\n";
  const CmcCurve& cmc = identification.cmc;
  std::vector<std::string> header;
  std::vector<std::string> row;
  for (int rank : kReportedRanks) {
    if (rank > static_cast<int>(cmc.rates.size())) continue;
    header.push_back("Rank " + std::to_string(rank));
    row.push_back(FormatRate(cmc.rates[rank - 1]));
  }
  html += "<h3>Closed-set identification rate (" + std::to_string(cmc.search_count) +
          " mated searches)</h3>\n" + Table(header, {row});

  Plot cmc_plot;
  cmc_plot.title = "CMC";
  const auto max_rank = static_cast<double>(cmc.rates.size());
  std::vector<double> rank_ticks = {1.0};
  for (double tick : LinearTicks(1.0, max_rank, 6)) {
    if (tick > 1.0) rank_ticks.push_back(tick);
  }
  cmc_plot.x = cmc.rates.size() > 1 ? Axis{"Rank", AxisScale::kLinear, 1.0, max_rank, rank_ticks}
                                    : Axis{"Rank", AxisScale::kLinear, 0.5, 1.5, {1.0}};
  const double lowest = cmc.rates.empty() ? 0.0 : cmc.rates.front();
  const double y_min = std::min(0.9, std::floor(lowest * 10.0) / 10.0);
  cmc_plot.y =
      Axis{"Identification rate", AxisScale::kLinear, y_min, 1.0, LinearTicks(y_min, 1.0, 5)};
  PlotSeries cmc_line{
      .label = "CMC", .colour = std::string(kCurveColour), .style = PlotSeries::Style::kLine};
  json ranks = json::array();
  for (std::size_t rank_idx = 0; rank_idx < cmc.rates.size(); ++rank_idx) {
    cmc_line.points.push_back(PlotPoint{static_cast<double>(rank_idx + 1), cmc.rates[rank_idx]});
    ranks.push_back(rank_idx + 1);
  }
  PlotSeries cmc_markers = cmc_line;
  cmc_markers.label = "";
  cmc_markers.style = PlotSeries::Style::kMarkers;
  cmc_plot.series.push_back(std::move(cmc_line));
  cmc_plot.series.push_back(std::move(cmc_markers));
  html += Figure(cmc_plot, "cmc", "Cumulative match characteristic over mated searches.",
                 {{"rank", ranks}, {"identification_rate", cmc.rates}});

  if (!identification.open_set.has_value()) {
    html += "<p class=\"note\">No non-mated searches, so no open-set rates.</p>\n";
    return html + "</section>\n";
  }
  const OpenSetCurve& open_set = *identification.open_set;
  std::vector<std::vector<std::string>> rows;
  for (const FnirAtFpir& entry : identification.fnir_at_fpir) {
    if (entry.operating_point.has_value()) {
      rows.push_back(
          {FormatRate(entry.target_fpir), FormatThreshold(entry.operating_point->threshold),
           FormatRate(entry.operating_point->fpir), FormatRate(entry.operating_point->fnir)});
    } else {
      rows.push_back({FormatRate(entry.target_fpir),
                      "unsupported: needs &ge; " +
                          RequiredCount(entry.target_fpir, identification.min_expected_errors) +
                          " non-mated searches",
                      "&ndash;", "&ndash;"});
    }
  }
  html += "<h3>FNIR at target FPIR (mate counted at rank &le; " +
          std::to_string(open_set.max_rank) + "; " + std::to_string(open_set.mated_count) +
          " mated, " + std::to_string(open_set.non_mated_count) + " non-mated searches)</h3>\n" +
          Table({"Target FPIR", "Threshold", "FPIR", "FNIR"}, rows);
  if (!identification.at_thresholds.empty()) {
    const bool labelled =
        identification.at_threshold_labels.size() == identification.at_thresholds.size();
    std::vector<std::vector<std::string>> threshold_rows;
    for (std::size_t point_idx = 0; point_idx < identification.at_thresholds.size(); ++point_idx) {
      const OpenSetPoint& point = identification.at_thresholds[point_idx];
      std::vector<std::string> row = {FormatThreshold(point.threshold), FormatRate(point.fpir),
                                      FormatRate(point.fnir)};
      if (labelled) {
        row.insert(row.begin(), EscapeXml(identification.at_threshold_labels[point_idx]));
      }
      threshold_rows.push_back(std::move(row));
    }
    std::vector<std::string> header = {"Threshold", "FPIR", "FNIR"};
    if (labelled) header.insert(header.begin(), "Operating point");
    html += "<h3>Open-set rates at chosen thresholds</h3>\n" + Table(header, threshold_rows);
  }

  std::vector<double> thresholds;
  std::vector<PlotPoint> rates;
  for (const OpenSetPoint& point : open_set.points) {
    thresholds.push_back(point.threshold);
    rates.push_back(PlotPoint{point.fpir, point.fnir});
  }
  DrawnCurve curve = DrawTradeoffCurve(thresholds, rates, "fpir", "fnir");
  curve.series.label = "FNIR vs FPIR";
  double highest_fnir = 0.0;
  for (const FnirAtFpir& entry : identification.fnir_at_fpir) {
    if (entry.operating_point.has_value()) {
      highest_fnir = std::max(highest_fnir, entry.operating_point->fnir);
    }
  }
  Plot open_set_plot;
  open_set_plot.title = "Open-set identification";
  open_set_plot.x = ProbitAxis("False positive identification rate (FPIR)",
                               open_set.non_mated_count, /*highest_marked=*/0.0);
  open_set_plot.y =
      ProbitAxis("False negative identification rate (FNIR)", open_set.mated_count, highest_fnir);
  open_set_plot.series.push_back(std::move(curve.series));
  curve.data["max_rank"] = open_set.max_rank;
  html += Figure(open_set_plot, "open-set",
                 "FNIR against FPIR on normal-deviate axes, as the threshold varies.", curve.data);
  return html + "</section>\n";
}

std::string FailuresSection(const FailureRates& failures) {
  auto row = [](std::string name, const FailureCounter& counter) {
    const std::optional<double> rate = counter.Rate();
    return std::vector<std::string>{std::move(name), std::to_string(counter.failures),
                                    std::to_string(counter.attempts),
                                    rate.has_value() ? FormatRate(*rate) : "&ndash;"};
  };
  return "<section id=\"failures\">\n<h2>Failures to enrol and acquire</h2>\n" +
         Table({"Rate", "Failures", "Attempts", "Value"},
               {row("Failure to enrol (FTE)", failures.enrolment),
                row("Failure to acquire (FTA)", failures.acquisition)}) +
         "</section>\n";
}

// "2.5 (highest A, lowest B)" or why there is no ratio.
std::string RatioText(const Differential& differential) {
  if (differential.max_group.empty()) return "no groups with this rate";
  const std::string groups =
      " (highest " + differential.max_group + ", lowest " + differential.min_group + ")";
  if (!differential.max_min_ratio.has_value()) {
    return "undefined, the lowest is 0" + groups;
  }
  return Format("%.3g", *differential.max_min_ratio) + groups;
}

// Per-group FMR and FNMR at the global threshold on a log axis, with the
// max/min ratios written in the corner. Zero rates have no place on a log
// axis; they are left out of the drawing and kept in the data block.
std::string DifferentialsFigure(const DemographicDifferentials& demographics) {
  constexpr double kOffset = 0.12;  // FMR left of the group's tick, FNMR right.
  constexpr std::size_t kLongestTickLabel = 14;
  Plot plot;
  plot.title = "Demographic differentials at threshold " + FormatThreshold(demographics.threshold);
  const auto group_count = static_cast<double>(demographics.groups.size());
  plot.x = Axis{"Group", AxisScale::kLinear, 0.5, group_count + 0.5, {}, {}};
  PlotSeries fmr_series{
      .label = "FMR", .colour = std::string(kImpostorColour), .style = PlotSeries::Style::kMarkers};
  PlotSeries fnmr_series{
      .label = "FNMR", .colour = std::string(kGenuineColour), .style = PlotSeries::Style::kMarkers};
  json names = json::array();
  json fmr = json::array();
  json fnmr = json::array();
  json genuine_counts = json::array();
  json impostor_counts = json::array();
  std::vector<std::string> zero_fmr;
  std::vector<std::string> zero_fnmr;
  double lowest = 1.0;
  for (std::size_t group_idx = 0; group_idx < demographics.groups.size(); ++group_idx) {
    const GroupRates& group = demographics.groups[group_idx];
    const auto position = static_cast<double>(group_idx + 1);
    plot.x.ticks.push_back(position);
    plot.x.tick_labels.push_back(group.group.size() > kLongestTickLabel
                                     ? group.group.substr(0, kLongestTickLabel - 1) + "~"
                                     : group.group);
    if (group.fmr.has_value() && *group.fmr > 0.0) {
      fmr_series.points.push_back(PlotPoint{position - kOffset, *group.fmr});
      lowest = std::min(lowest, *group.fmr);
    } else if (group.fmr.has_value()) {
      zero_fmr.push_back(group.group);
    }
    if (group.fnmr.has_value() && *group.fnmr > 0.0) {
      fnmr_series.points.push_back(PlotPoint{position + kOffset, *group.fnmr});
      lowest = std::min(lowest, *group.fnmr);
    } else if (group.fnmr.has_value()) {
      zero_fnmr.push_back(group.group);
    }
    names.push_back(group.group);
    fmr.push_back(OptionalJson(group.fmr));
    fnmr.push_back(OptionalJson(group.fnmr));
    genuine_counts.push_back(group.genuine_count);
    impostor_counts.push_back(group.impostor_count);
  }
  plot.y.label = "Rate at the global threshold";
  plot.y.scale = AxisScale::kLog10;
  plot.y.min = std::clamp(std::pow(10.0, std::floor(std::log10(lowest) + 1e-9)), 1e-8, 0.1);
  plot.y.max = 1.0;
  const auto lowest_exponent = static_cast<int>(std::lround(std::log10(plot.y.min)));
  for (int exponent = lowest_exponent; exponent <= 0; ++exponent) {
    plot.y.ticks.push_back(std::pow(10.0, exponent));
  }
  plot.series.push_back(std::move(fmr_series));
  plot.series.push_back(std::move(fnmr_series));
  plot.annotations = {"FMR max/min: " + RatioText(demographics.fmr),
                      "FNMR max/min: " + RatioText(demographics.fnmr)};
  auto zero_note = [](const std::string& rate, const std::vector<std::string>& groups) {
    std::string note = rate + " 0, not drawn:";
    for (const std::string& group : groups) note += " " + group;
    return note;
  };
  if (!zero_fmr.empty()) plot.annotations.push_back(zero_note("FMR", zero_fmr));
  if (!zero_fnmr.empty()) plot.annotations.push_back(zero_note("FNMR", zero_fnmr));
  json data = {{"threshold", ThresholdJson(demographics.threshold)},
               {"group", std::move(names)},
               {"fmr", std::move(fmr)},
               {"fnmr", std::move(fnmr)},
               {"genuine_count", std::move(genuine_counts)},
               {"impostor_count", std::move(impostor_counts)},
               {"fmr_differential", DifferentialJson(demographics.fmr)},
               {"fnmr_differential", DifferentialJson(demographics.fnmr)}};
  return Figure(plot, "differentials",
                "FMR and FNMR per group at the one global threshold, on a log axis; the corner "
                "gives the ratio of the highest to the lowest group rate. A rate of 0 has no "
                "place on a log axis and is not drawn (it is in the table and the data).",
                data);
}

std::string DemographicsSection(const DemographicDifferentials& demographics) {
  auto rate = [](const std::optional<double>& value) {
    return value.has_value() ? FormatRate(*value) : std::string("&ndash;");
  };
  std::vector<std::vector<std::string>> rows;
  for (const GroupRates& group : demographics.groups) {
    rows.push_back({EscapeXml(group.group), std::to_string(group.genuine_count), rate(group.fnmr),
                    std::to_string(group.impostor_count), rate(group.fmr)});
  }
  auto ratio = [](const Differential& differential) {
    if (differential.max_group.empty()) return std::string("&ndash;");
    std::string text = differential.max_min_ratio.has_value()
                           ? Format("%.3g", *differential.max_min_ratio)
                           : std::string("undefined");
    return text + " (highest " + EscapeXml(differential.max_group) + ", lowest " +
           EscapeXml(differential.min_group) + ")";
  };
  return "<section id=\"demographics\">\n<h2>Demographic differentials</h2>\n"
         "<p>All groups at one global threshold, " +
         FormatThreshold(demographics.threshold) +
         (demographics.same_group_pairs
              ? ". Impostor comparisons count for a group only when both subjects belong to it."
              : ". Impostor comparisons count for the group of the probe subject.") +
         "</p>\n" + Table({"Group", "Genuine", "FNMR", "Impostor", "FMR"}, rows) +
         Table({"Differential", "Max / min"},
               {{"FMR", ratio(demographics.fmr)}, {"FNMR", ratio(demographics.fnmr)}}) +
         "<p class=\"note\">Left out: " + std::to_string(demographics.unlabelled_genuine) +
         " genuine and " + std::to_string(demographics.unlabelled_impostor) +
         " impostor comparisons without a group label, " +
         std::to_string(demographics.cross_group_impostor) +
         " impostor comparisons across groups. A ratio is undefined when the lowest rate is "
         "zero.</p>\n" +
         DifferentialsFigure(demographics) + "</section>\n";
}

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; }
figcaption, .note, .meta { color: #555; font-size: 0.9rem; }
svg { max-width: 100%; height: auto; font-size: 12px; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
svg .frame { fill: none; stroke: #444; stroke-width: 1; }
svg .series { fill: none; stroke-width: 2; }
svg .step-area { fill-opacity: 0.3; stroke-width: 1.2; }
svg .guide { stroke: #444; stroke-dasharray: 4 3; }
svg .tick, svg .legend, svg .guide-label { fill: #333; }
svg .axis-label { fill: #222; font-size: 13px; }
svg .plot-title { fill: #222; font-size: 14px; font-weight: 600; }
svg .annotation { fill: #222; font-size: 12px; }
)";

json SummaryJson(const EvaluationReport& report) {
  json summary = ToJson(report);
  // The full curves can run to millions of points; the page embeds the
  // drawn ones next to each plot instead.
  auto drop_columns = [](json& curve, std::initializer_list<const char*> columns) {
    std::size_t points = 0;
    for (const char* column : columns) {
      points = curve[column].size();
      curve.erase(column);
    }
    curve["points_omitted"] = points;
  };
  if (summary.contains("verification")) {
    drop_columns(summary["verification"]["det"], {"threshold", "fmr", "fnmr"});
  }
  if (summary.contains("identification") && summary["identification"]["open_set"].is_object()) {
    drop_columns(summary["identification"]["open_set"], {"threshold", "fpir", "fnir"});
  }
  return summary;
}

}  // namespace

nlohmann::json ToJson(const DetPoint& point) {
  return {{"threshold", ThresholdJson(point.threshold)}, {"fmr", point.fmr}, {"fnmr", point.fnmr}};
}

nlohmann::json ToJson(const DetCurve& det) {
  json thresholds = json::array();
  json fmr = json::array();
  json fnmr = json::array();
  for (const DetPoint& point : det.points) {
    thresholds.push_back(ThresholdJson(point.threshold));
    fmr.push_back(point.fmr);
    fnmr.push_back(point.fnmr);
  }
  return {{"genuine_count", det.genuine_count},
          {"impostor_count", det.impostor_count},
          {"threshold", std::move(thresholds)},
          {"fmr", std::move(fmr)},
          {"fnmr", std::move(fnmr)}};
}

nlohmann::json ToJson(const Eer& eer) {
  return {{"value", eer.eer},
          {"threshold", ThresholdJson(eer.threshold)},
          {"bracket_low", ToJson(eer.bracket_low)},
          {"bracket_high", ToJson(eer.bracket_high)}};
}

nlohmann::json ToJson(const FnmrAtFmr& fnmr_at_fmr) {
  const std::optional<DetPoint>& point = fnmr_at_fmr.operating_point;
  return {{"target_fmr", fnmr_at_fmr.target_fmr},
          {"supported", point.has_value()},
          {"threshold", point.has_value() ? ThresholdJson(point->threshold) : json(nullptr)},
          {"fmr", point.has_value() ? json(point->fmr) : json(nullptr)},
          {"fnmr", point.has_value() ? json(point->fnmr) : json(nullptr)}};
}

nlohmann::json ToJson(const ScoreHistogram& histogram) {
  return {{"lower", histogram.lower},
          {"bin_width", histogram.bin_width},
          {"genuine", histogram.genuine},
          {"impostor", histogram.impostor}};
}

nlohmann::json ToJson(const BootstrapIntervals& intervals) {
  json fnmr_at_fmr = json::array();
  for (const auto& interval : intervals.fnmr_at_fmr) fnmr_at_fmr.push_back(IntervalJson(interval));
  return {{"method", "percentile bootstrap, resampling subjects with replacement"},
          {"confidence", intervals.confidence},
          {"seed", intervals.seed},
          {"resamples", intervals.resamples},
          {"used_resamples", intervals.used_resamples},
          {"eer", IntervalJson(intervals.eer)},
          {"fnmr_at_fmr", std::move(fnmr_at_fmr)}};
}

nlohmann::json ToJson(const VerificationResult& verification) {
  const std::optional<BootstrapIntervals>& bootstrap = verification.bootstrap;
  json eer = ToJson(verification.eer);
  eer["ci"] = bootstrap.has_value() ? IntervalJson(bootstrap->eer) : json(nullptr);
  json fnmr_at_fmr = json::array();
  for (std::size_t target_idx = 0; target_idx < verification.fnmr_at_fmr.size(); ++target_idx) {
    json entry = ToJson(verification.fnmr_at_fmr[target_idx]);
    entry["ci"] = bootstrap.has_value() && target_idx < bootstrap->fnmr_at_fmr.size()
                      ? IntervalJson(bootstrap->fnmr_at_fmr[target_idx])
                      : json(nullptr);
    fnmr_at_fmr.push_back(std::move(entry));
  }
  json result = {{"genuine_count", verification.det.genuine_count},
                 {"impostor_count", verification.det.impostor_count},
                 {"min_expected_errors", verification.min_expected_errors},
                 {"eer", std::move(eer)},
                 {"fnmr_at_fmr", std::move(fnmr_at_fmr)},
                 {"bootstrap", bootstrap.has_value() ? ToJson(*bootstrap) : json(nullptr)},
                 {"histogram", ToJson(verification.histogram)},
                 {"det", ToJson(verification.det)}};
  if (!verification.bootstrap_note.empty()) result["bootstrap_note"] = verification.bootstrap_note;
  if (!verification.gallery_extrapolation.empty()) {
    result["gallery_extrapolation"] = ToJson(verification.gallery_extrapolation);
  }
  return result;
}

nlohmann::json ToJson(const std::vector<GallerySizeExtrapolation>& extrapolation) {
  json operating_points = json::array();
  for (const GallerySizeExtrapolation& entry : extrapolation) {
    const std::optional<DetPoint>& point = entry.operating_point;
    json rows = json::array();
    for (const GallerySizeRow& row : entry.rows) {
      rows.push_back({{"gallery_size", row.gallery_size},
                      {"expected_fpir", row.expected_fpir},
                      {"expected_false_candidates", row.expected_false_candidates}});
    }
    operating_points.push_back(
        {{"target_fmr", entry.target_fmr},
         {"supported", point.has_value()},
         {"threshold", point.has_value() ? ThresholdJson(point->threshold) : json(nullptr)},
         {"fmr", point.has_value() ? json(point->fmr) : json(nullptr)},
         {"at_gallery_size", std::move(rows)}});
  }
  return {{"measured", false},
          {"method",
           "extrapolation from 1:1 impostor scores: expected_fpir = 1 - (1 - fmr)^gallery_size, "
           "expected_false_candidates = gallery_size * fmr"},
          {"assumption",
           "the probe's impostor comparisons with the gallery_size identities are independent, "
           "each a false match with the measured 1:1 FMR; not a measurement"},
          {"operating_points", std::move(operating_points)}};
}

nlohmann::json ToJson(const CmcCurve& cmc) {
  json result = {{"search_count", cmc.search_count}, {"rates", cmc.rates}};
  for (int rank : kReportedRanks) {
    if (rank <= static_cast<int>(cmc.rates.size())) {
      result["rank_" + std::to_string(rank)] = cmc.rates[rank - 1];
    }
  }
  return result;
}

nlohmann::json ToJson(const OpenSetPoint& point) {
  return {
      {"threshold", ThresholdJson(point.threshold)}, {"fpir", point.fpir}, {"fnir", point.fnir}};
}

nlohmann::json ToJson(const OpenSetCurve& curve) {
  json thresholds = json::array();
  json fpir = json::array();
  json fnir = json::array();
  for (const OpenSetPoint& point : curve.points) {
    thresholds.push_back(ThresholdJson(point.threshold));
    fpir.push_back(point.fpir);
    fnir.push_back(point.fnir);
  }
  return {{"max_rank", curve.max_rank},
          {"mated_count", curve.mated_count},
          {"non_mated_count", curve.non_mated_count},
          {"threshold", std::move(thresholds)},
          {"fpir", std::move(fpir)},
          {"fnir", std::move(fnir)}};
}

nlohmann::json ToJson(const FnirAtFpir& fnir_at_fpir) {
  const std::optional<OpenSetPoint>& point = fnir_at_fpir.operating_point;
  return {{"target_fpir", fnir_at_fpir.target_fpir},
          {"supported", point.has_value()},
          {"threshold", point.has_value() ? ThresholdJson(point->threshold) : json(nullptr)},
          {"fpir", point.has_value() ? json(point->fpir) : json(nullptr)},
          {"fnir", point.has_value() ? json(point->fnir) : json(nullptr)}};
}

nlohmann::json ToJson(const IdentificationResult& identification) {
  json at_thresholds = json::array();
  const bool labelled =
      identification.at_threshold_labels.size() == identification.at_thresholds.size();
  for (std::size_t point_idx = 0; point_idx < identification.at_thresholds.size(); ++point_idx) {
    json point = ToJson(identification.at_thresholds[point_idx]);
    if (labelled) point["label"] = identification.at_threshold_labels[point_idx];
    at_thresholds.push_back(std::move(point));
  }
  json fnir_at_fpir = json::array();
  for (const FnirAtFpir& entry : identification.fnir_at_fpir) fnir_at_fpir.push_back(ToJson(entry));
  return {{"min_expected_errors", identification.min_expected_errors},
          {"cmc", ToJson(identification.cmc)},
          {"open_set",
           identification.open_set.has_value() ? ToJson(*identification.open_set) : json(nullptr)},
          {"at_thresholds", std::move(at_thresholds)},
          {"fnir_at_fpir", std::move(fnir_at_fpir)}};
}

nlohmann::json ToJson(const FailureRates& failures) {
  return {{"fte", FailureJson(failures.enrolment)}, {"fta", FailureJson(failures.acquisition)}};
}

nlohmann::json ToJson(const DemographicDifferentials& demographics) {
  json groups = json::array();
  for (const GroupRates& group : demographics.groups) {
    groups.push_back({{"group", group.group},
                      {"genuine_count", group.genuine_count},
                      {"impostor_count", group.impostor_count},
                      {"fmr", OptionalJson(group.fmr)},
                      {"fnmr", OptionalJson(group.fnmr)}});
  }
  return {{"threshold", ThresholdJson(demographics.threshold)},
          {"impostor_grouping", demographics.same_group_pairs ? "same-group pairs" : "probe group"},
          {"groups", std::move(groups)},
          {"fmr", DifferentialJson(demographics.fmr)},
          {"fnmr", DifferentialJson(demographics.fnmr)},
          {"unlabelled_genuine", demographics.unlabelled_genuine},
          {"unlabelled_impostor", demographics.unlabelled_impostor},
          {"cross_group_impostor", demographics.cross_group_impostor}};
}

nlohmann::json ToJson(const ImpostorSampling& sampling) {
  return {{"sampled", sampling.sampled},
          {"possible_pairs", sampling.possible_pairs},
          {"compared_pairs", sampling.compared_pairs},
          {"max_pairs", sampling.max_pairs},
          {"seed", sampling.seed},
          {"method", sampling.sampled
                         ? "uniform random sample of impostor pairs without replacement; every "
                           "genuine pair compared"
                         : "every impostor pair compared"}};
}

nlohmann::json ToJson(const EvaluationReport& report) {
  json result = {{"format", "abis.eval.report"}, {"version", kReportFormatVersion},
                 {"title", report.title},        {"algorithm", report.algorithm},
                 {"dataset", report.dataset},    {"conventions", ConventionsJson()}};
  if (report.verification.has_value()) result["verification"] = ToJson(*report.verification);
  if (report.identification.has_value()) result["identification"] = ToJson(*report.identification);
  if (report.failures.has_value()) result["failures"] = ToJson(*report.failures);
  if (report.demographics.has_value()) result["demographics"] = ToJson(*report.demographics);
  if (report.impostor_sampling.has_value()) {
    result["impostor_sampling"] = ToJson(*report.impostor_sampling);
  }
  return result;
}

std::string RenderHtmlReport(const EvaluationReport& report) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      EscapeXml(report.title) + "</title>\n<style>" + std::string(kStyle) +
      "</style>\n</head>\n<body>\n<header>\n<h1>" + EscapeXml(report.title) + "</h1>\n";
  if (!report.algorithm.empty()) {
    html += "<p class=\"meta\">Algorithm: <code>" + EscapeXml(report.algorithm) + "</code></p>\n";
  }
  if (!report.dataset.empty()) {
    html += "<p class=\"meta\">Data set: " + EscapeXml(report.dataset) + "</p>\n";
  }
  html += "</header>\n<main>\n" + ConventionsSection(report);
  if (report.verification.has_value()) {
    html += VerificationSection(*report.verification, report.impostor_sampling);
  }
  if (report.identification.has_value()) html += IdentificationSection(*report.identification);
  if (report.verification.has_value() && !report.verification->gallery_extrapolation.empty()) {
    html += ExtrapolationSection(*report.verification);
  }
  if (report.failures.has_value()) html += FailuresSection(*report.failures);
  if (report.demographics.has_value()) html += DemographicsSection(*report.demographics);
  html += "</main>\n" + DataBlock("report-data", SummaryJson(report)) + "</body>\n</html>\n";
  return html;
}

Status WriteJsonReport(const EvaluationReport& report, const std::string& path) {
  const std::string text =
      ToJson(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return WriteFileAtomically(path, text).WithContext("writing JSON report");
}

Status WriteHtmlReport(const EvaluationReport& report, const std::string& path) {
  return WriteFileAtomically(path, RenderHtmlReport(report)).WithContext("writing HTML report");
}

}  // namespace abis::eval
