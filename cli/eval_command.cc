// abis eval: accuracy of the shipped pipeline on a labelled folder
// (<identity>/<images>), to ISO/IEC 19795-1 practice. The first image of
// each identity is its enrolment (failure-to-enrol when it fails the
// enrolment gate); every other image is a probe. 1:1 uses every genuine and
// impostor pair of extracted templates; 1:N searches each probe in the
// gallery of enrolments (mated), and again with its own identity left out
// (non-mated), so open-set rates have as many non-mated as mated searches.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cli/cli_common.h"
#include "cli/labelled_folder.h"
#include "core/file_io.h"
#include "eval/metrics.h"
#include "eval/report.h"

namespace abis::cli {
namespace {

struct EvalFlags {
  GlobalFlags global;
  std::string folder;
  std::string modality = "face";
  std::string json_path;
  std::string report_path;
  int bootstrap_resamples = 200;
};

struct Sample {
  LabelledImage image;
  std::string source;  // Identity prefix before the first '_' (data set).
  bool is_enrolment = false;
  std::optional<Template> face_template;
  std::string failure;
};

std::string SourceOf(const std::string& identity) {
  std::size_t underscore = identity.find('_');
  return underscore == std::string::npos ? identity : identity.substr(0, underscore);
}

// "0.001", "0.00001": FMR keys in the JSON contract, never "1e-05".
std::string RateKey(double rate) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10f", rate);
  std::string key = buffer;
  while (!key.empty() && key.back() == '0') key.pop_back();
  if (!key.empty() && key.back() == '.') key.pop_back();
  return key;
}

struct Headline {
  std::int64_t identities = 0;
  std::int64_t images = 0;
  std::int64_t enrolment_attempts = 0;
  std::int64_t enrolment_failures = 0;
  std::int64_t probe_attempts = 0;
  std::int64_t probe_failures = 0;
  eval::ScoreSet scores;
  eval::SearchSet searches;
};

// Builds every figure for the samples `include` accepts; the gallery is
// always every enrolment (searches run against the whole gallery).
Result<Headline> Measure(const Engine& engine, const std::vector<Sample>& samples,
                         const std::function<bool(const Sample&)>& include) {
  Headline headline;
  std::set<std::string> identities;
  std::vector<const Sample*> gallery;
  for (const Sample& s : samples) {
    if (s.is_enrolment && s.face_template) gallery.push_back(&s);
    if (!include(s)) continue;
    identities.insert(s.image.identity);
    ++headline.images;
    if (s.is_enrolment) {
      ++headline.enrolment_attempts;
      if (!s.face_template) ++headline.enrolment_failures;
    } else {
      ++headline.probe_attempts;
      if (!s.face_template) ++headline.probe_failures;
    }
  }
  headline.identities = static_cast<std::int64_t>(identities.size());

  std::vector<const Sample*> extracted;
  for (const Sample& s : samples) {
    if (include(s) && s.face_template) extracted.push_back(&s);
  }
  for (std::size_t i = 0; i < extracted.size(); ++i) {
    for (std::size_t j = i + 1; j < extracted.size(); ++j) {
      ABIS_ASSIGN_OR_RETURN(double score, engine.CompareTemplates(*extracted[i]->face_template,
                                                                  *extracted[j]->face_template));
      const std::string& a = extracted[i]->image.identity;
      const std::string& b = extracted[j]->image.identity;
      if (a == b) {
        headline.scores.genuine.push_back(score);
        headline.scores.genuine_subject.push_back(a);
      } else {
        headline.scores.impostor.push_back(score);
        headline.scores.impostor_probe_subject.push_back(a);
        headline.scores.impostor_reference_subject.push_back(b);
      }
    }
  }

  for (const Sample* probe : extracted) {
    if (probe->is_enrolment) continue;
    std::vector<std::pair<double, std::string>> ranked;
    for (const Sample* reference : gallery) {
      ABIS_ASSIGN_OR_RETURN(
          double score, engine.CompareTemplates(*probe->face_template, *reference->face_template));
      ranked.emplace_back(score, reference->image.identity);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    eval::MatedSearch mated;
    eval::NonMatedSearch non_mated;
    bool enrolled = false;
    int rank = 0;
    for (const auto& [score, identity] : ranked) {
      if (identity == probe->image.identity) {
        enrolled = true;
        mated.mate_rank = rank + 1;
        mated.mate_score = score;
        continue;
      }
      if (!non_mated.top_score) non_mated.top_score = score;
      ++rank;
    }
    if (enrolled) headline.searches.mated.push_back(mated);
    headline.searches.non_mated.push_back(non_mated);
  }
  return headline;
}

std::optional<double> Rate(std::int64_t failures, std::int64_t attempts) {
  if (attempts == 0) return std::nullopt;
  return static_cast<double>(failures) / static_cast<double>(attempts);
}

nlohmann::json OptionalJson(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

Result<nlohmann::json> Summarise(const Headline& headline, const std::vector<double>& fmrs,
                                 std::optional<eval::VerificationResult>* verification_out,
                                 std::optional<eval::IdentificationResult>* identification_out,
                                 int bootstrap_resamples) {
  nlohmann::json summary;
  summary["identities"] = headline.identities;
  summary["images"] = headline.images;
  summary["fte"] = OptionalJson(Rate(headline.enrolment_failures, headline.enrolment_attempts));
  summary["fta"] = OptionalJson(Rate(headline.probe_failures, headline.probe_attempts));
  summary["genuine_pairs"] = headline.scores.genuine.size();
  summary["impostor_pairs"] = headline.scores.impostor.size();
  summary["rank1"] = nullptr;
  summary["eer"] = nullptr;
  nlohmann::json fnmr = nlohmann::json::object();
  for (double fmr : fmrs) fnmr[RateKey(fmr)] = nullptr;
  if (!headline.scores.genuine.empty() && !headline.scores.impostor.empty()) {
    eval::VerificationOptions options;
    options.target_fmrs = fmrs;
    options.bootstrap.resamples = bootstrap_resamples;
    ABIS_ASSIGN_OR_RETURN(eval::VerificationResult verification,
                          eval::EvaluateVerification(headline.scores, options));
    summary["eer"] = verification.eer.eer;
    summary["eer_threshold"] = verification.eer.threshold;
    for (std::size_t i = 0; i < fmrs.size(); ++i) {
      const auto& point = verification.fnmr_at_fmr[i].operating_point;
      if (point) fnmr[RateKey(fmrs[i])] = point->fnmr;
    }
    if (verification_out) *verification_out = std::move(verification);
  }
  summary["fnmr_at_fmr"] = fnmr;
  if (!headline.searches.mated.empty()) {
    eval::IdentificationOptions options;
    ABIS_ASSIGN_OR_RETURN(eval::IdentificationResult identification,
                          eval::EvaluateIdentification(headline.searches, options));
    const auto& rates = identification.cmc.rates;
    summary["rank1"] = rates.empty() ? nlohmann::json(nullptr) : nlohmann::json(rates[0]);
    summary["rank5"] = rates.size() >= 5 ? nlohmann::json(rates[4]) : nlohmann::json(nullptr);
    summary["rank20"] = rates.size() >= 20 ? nlohmann::json(rates[19]) : nlohmann::json(nullptr);
    summary["mated_searches"] = headline.searches.mated.size();
    summary["non_mated_searches"] = headline.searches.non_mated.size();
    if (identification_out) *identification_out = std::move(identification);
  }
  return summary;
}

std::string Percent(const nlohmann::json& value) {
  if (value.is_null()) return "n/a (data too small)";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100.0 * value.get<double>());
  return buffer;
}

int RunEval(const EvalFlags& flags) {
  auto modality = ParseModality(flags.modality);
  if (!modality.ok()) return ReportError(flags.global, modality.status());
  if (*modality != Modality::kFace) {
    return ReportError(flags.global,
                       UnimplementedError("evaluation of modality 'finger' is not available yet"));
  }
  auto listed = ListLabelledFolder(flags.folder);
  if (!listed.ok()) return ReportError(flags.global, listed.status());
  auto engine = OpenEngine(flags.global, ":memory:");
  if (!engine.ok()) return ReportError(flags.global, engine.status());

  std::vector<Sample> samples;
  std::set<std::string> seen;
  auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < listed->size(); ++i) {
    Sample sample{(*listed)[i], SourceOf((*listed)[i].identity), false, std::nullopt, ""};
    sample.is_enrolment = seen.insert(sample.image.identity).second;
    auto bytes = ReadCapture(sample.image.path);
    // Face 0 is the most face-like detection; evaluation photos hold one subject.
    auto extraction = bytes.ok() ? (*engine)->ExtractFace(*bytes, 0, sample.is_enrolment)
                                 : Result<FaceExtraction>(bytes.status());
    if (extraction.ok()) {
      sample.face_template = std::move(extraction->face_template);
    } else {
      sample.failure = extraction.status().ToString();
    }
    samples.push_back(std::move(sample));
    ShowProgress(i + 1, listed->size(), "extracting templates");
  }
  double extraction_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const std::vector<double> fmrs = {1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
  auto all = Measure(**engine, samples, [](const Sample&) { return true; });
  if (!all.ok()) return ReportError(flags.global, all.status());
  std::optional<eval::VerificationResult> verification;
  std::optional<eval::IdentificationResult> identification;
  auto summary = Summarise(*all, fmrs, &verification, &identification, flags.bootstrap_resamples);
  if (!summary.ok()) return ReportError(flags.global, summary.status());

  nlohmann::json document = *summary;
  document["modality"] = flags.modality;
  document["dataset"] = flags.folder;
  document["algorithm"] = ToJson((*engine)->face_algorithm());
  document["protocol"] =
      "first image per identity enrolled (enrolment gate), others are probes (probe gate); 1:1 "
      "over all pairs of extracted templates; 1:N mated searches against all enrolments, "
      "non-mated searches with the probe's own identity left out";
  document["extraction_seconds_per_image"] = extraction_seconds / samples.size();
  nlohmann::json failures = nlohmann::json::array();
  for (const Sample& s : samples) {
    if (!s.failure.empty()) {
      failures.push_back(
          {{"file", s.image.relative_path}, {"enrolment", s.is_enrolment}, {"error", s.failure}});
    }
  }
  document["failures"] = failures;
  if (verification && verification->bootstrap) {
    nlohmann::json intervals = nlohmann::json::object();
    const auto& boot = *verification->bootstrap;
    for (std::size_t i = 0; i < fmrs.size() && i < boot.fnmr_at_fmr.size(); ++i) {
      if (boot.fnmr_at_fmr[i]) {
        intervals[RateKey(fmrs[i])] = {boot.fnmr_at_fmr[i]->lower, boot.fnmr_at_fmr[i]->upper};
      }
    }
    document["fnmr_at_fmr_ci95"] = intervals;
    if (boot.eer) document["eer_ci95"] = {boot.eer->lower, boot.eer->upper};
  }

  std::map<std::string, nlohmann::json> per_source;
  std::set<std::string> sources;
  for (const Sample& s : samples) sources.insert(s.source);
  if (sources.size() > 1) {
    for (const std::string& source : sources) {
      auto part =
          Measure(**engine, samples, [&source](const Sample& s) { return s.source == source; });
      if (!part.ok()) return ReportError(flags.global, part.status());
      auto part_summary = Summarise(*part, fmrs, nullptr, nullptr, 0);
      if (!part_summary.ok()) return ReportError(flags.global, part_summary.status());
      per_source[source] = *part_summary;
    }
    document["per_source"] = per_source;
  }

  eval::EvaluationReport report;
  report.title = "abis evaluation: " + flags.folder;
  report.algorithm = (*engine)->face_algorithm().algorithm + " (model " +
                     (*engine)->face_algorithm().model_digest.substr(0, 16) + ")";
  report.dataset = flags.folder + ": " + std::to_string(all->identities) + " identities, " +
                   std::to_string(all->images) + " images";
  report.verification = verification;
  report.identification = identification;
  eval::FailureRates failure_rates;
  failure_rates.enrolment.attempts = all->enrolment_attempts;
  failure_rates.enrolment.failures = all->enrolment_failures;
  failure_rates.acquisition.attempts = all->probe_attempts;
  failure_rates.acquisition.failures = all->probe_failures;
  report.failures = failure_rates;
  document["report"] = eval::ToJson(report);

  if (!flags.json_path.empty()) {
    Status written = WriteFileAtomically(flags.json_path, document.dump(2) + "\n");
    if (!written.ok()) return ReportError(flags.global, written);
  }
  if (!flags.report_path.empty()) {
    Status written = eval::WriteHtmlReport(report, flags.report_path);
    if (!written.ok()) return ReportError(flags.global, written);
  }
  if (flags.global.json) {
    PrintJson(document);
    return 0;
  }
  std::printf("%s: %lld identities, %lld images, %s\n", flags.folder.c_str(),
              static_cast<long long>(all->identities), static_cast<long long>(all->images),
              (*engine)->face_algorithm().algorithm.c_str());
  auto print_row = [&](const std::string& name, const nlohmann::json& s) {
    std::printf("%-8s FTE %-8s FTA %-8s rank-1 %-8s EER %-8s FNMR@1e-2 %-8s FNMR@1e-3 %s\n",
                name.c_str(), Percent(s["fte"]).c_str(), Percent(s["fta"]).c_str(),
                Percent(s["rank1"]).c_str(), Percent(s["eer"]).c_str(),
                Percent(s["fnmr_at_fmr"]["0.01"]).c_str(),
                Percent(s["fnmr_at_fmr"]["0.001"]).c_str());
  };
  print_row("all", document);
  for (const auto& [source, s] : per_source) print_row(source, s);
  std::printf("genuine pairs %zu, impostor pairs %zu, %.1f ms per image\n",
              all->scores.genuine.size(), all->scores.impostor.size(),
              1000.0 * extraction_seconds / samples.size());
  for (const Sample& s : samples) {
    if (!s.failure.empty()) {
      std::printf("  %s %s: %s\n", s.is_enrolment ? "FTE" : "FTA", s.image.relative_path.c_str(),
                  s.failure.c_str());
    }
  }
  return 0;
}

}  // namespace

void RegisterEvalCommand(CLI::App& app) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* command = app.add_subcommand(
      "eval", "Accuracy on a labelled folder <identity>/<images> (FTE, rank-1, EER, FNMR@FMR)");
  AddGlobalFlags(*command, flags->global, /*with_json_flag=*/false);
  command->add_option("folder", flags->folder, "Labelled folder")->required();
  command->add_option("--modality", flags->modality, "face | finger")->capture_default_str();
  command->add_option("--json", flags->json_path, "Write the JSON results to this file");
  command->add_option("--report", flags->report_path, "Write a self-contained HTML report");
  command
      ->add_option("--bootstrap", flags->bootstrap_resamples,
                   "Bootstrap resamples for confidence intervals (0 = none)")
      ->capture_default_str();
  command->callback([flags] {
    int code = RunEval(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
