// report.h
//
// Writes evaluation results out in two forms:
//   - JSON, for scripts and for comparing runs (format "abis.eval.report",
//     version kReportFormatVersion; docs/evaluation.md lists its fields);
//   - a self-contained HTML page for people: summary tables, and inline SVG
//     plots (DET curve on normal-deviate axes, CMC, FNIR vs FPIR, genuine and
//     impostor score histograms, per-group FMR and FNMR when demographic
//     groups are given), the impostor sampling, and a gallery-size
//     extrapolation section labelled as such (docs/evaluation.md §4.3).
//     Next to each plot sits the data it draws,
//     as a <script type="application/json"> block. There is no JavaScript to
//     run and nothing to fetch, so the page can be archived as evidence.
//
// In JSON, a threshold of null stands for -inf or +inf: the end points of a
// curve, where every comparison is accepted or every one rejected. Rates
// that the data does not support are null too, with "supported": false.
//
// Thread safety: pure functions over plain values.

#ifndef ABIS_EVAL_REPORT_H_
#define ABIS_EVAL_REPORT_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "eval/metrics.h"

namespace abis::eval {

inline constexpr int kReportFormatVersion = 1;

// One evaluation run. Sections left empty are omitted from both outputs.
struct EvaluationReport {
  std::string title = "ABIS evaluation report";
  std::string algorithm;  // Algorithm spec of the system under test.
  std::string dataset;    // What was measured, e.g. "synthetic-v1, 500 subjects".
  std::optional<VerificationResult> verification;
  std::optional<IdentificationResult> identification;
  std::optional<FailureRates> failures;
  std::optional<DemographicDifferentials> demographics;
  // How the impostor comparisons were chosen (all, or a stated sample).
  std::optional<ImpostorSampling> impostor_sampling;
};

// JSON builders, one per result type. Curves are stored column-wise
// ({"threshold": [...], "fmr": [...], "fnmr": [...]}) with every point.
nlohmann::json ToJson(const DetPoint& point);
nlohmann::json ToJson(const DetCurve& det);
nlohmann::json ToJson(const Eer& eer);
nlohmann::json ToJson(const FnmrAtFmr& fnmr_at_fmr);
nlohmann::json ToJson(const ScoreHistogram& histogram);
nlohmann::json ToJson(const BootstrapIntervals& intervals);
// The gallery-size extrapolation, labelled as such (method and assumption).
nlohmann::json ToJson(const std::vector<GallerySizeExtrapolation>& extrapolation);
// Merges the bootstrap intervals into the EER and FNMR-at-FMR entries.
nlohmann::json ToJson(const VerificationResult& verification);
nlohmann::json ToJson(const CmcCurve& cmc);
nlohmann::json ToJson(const OpenSetPoint& point);
nlohmann::json ToJson(const OpenSetCurve& curve);
nlohmann::json ToJson(const FnirAtFpir& fnir_at_fpir);
nlohmann::json ToJson(const IdentificationResult& identification);
nlohmann::json ToJson(const FailureRates& failures);
nlohmann::json ToJson(const DemographicDifferentials& demographics);
nlohmann::json ToJson(const ImpostorSampling& sampling);
nlohmann::json ToJson(const EvaluationReport& report);

// The HTML page described above. Its embedded summary holds the whole
// ToJson(report) except the full curves; each plot's block holds the points
// it draws. Long DET and FNIR/FPIR curves are thinned for drawing (a point
// is kept once it has moved 0.01 normal deviates from the last kept one,
// about a pixel); the JSON report keeps every point.
std::string RenderHtmlReport(const EvaluationReport& report);

// Write atomically (temporary file and rename); Unavailable on I/O errors.
Status WriteJsonReport(const EvaluationReport& report, const std::string& path);
Status WriteHtmlReport(const EvaluationReport& report, const std::string& path);

}  // namespace abis::eval

#endif  // ABIS_EVAL_REPORT_H_
