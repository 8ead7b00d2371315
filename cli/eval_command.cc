// abis eval: accuracy of the shipped pipeline on a labelled folder
// (<identity>/<images>), to ISO/IEC 19795-1 practice. The first image of
// each identity is its enrolment (failure-to-enrol when it fails the
// enrolment gate); every other image is a probe. 1:1 uses every genuine and
// impostor pair of extracted templates; 1:N searches each probe in the
// gallery of enrolments (mated), and again with its own identity left out
// (non-mated), so open-set rates have as many non-mated as mated searches.
// Instead of a folder it takes a manifest CSV (eval/manifest.h), whose
// optional demographic columns add demographic differentials, and it can
// write the model card that calibrates scores to FMR (eval/calibration.h).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <opencv2/imgproc.hpp>

#include "cli/cli_common.h"
#include "cli/labelled_folder.h"
#include "core/file_io.h"
#include "eval/calibration.h"
#include "eval/manifest.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "finger/contactless_simulation.h"
#include "imaging/image_decoder.h"

namespace abis::cli {
namespace {

struct EvalFlags {
  GlobalFlags global;
  std::string folder;         // Labelled folder, or a manifest when it ends in ".csv".
  std::string manifest_path;  // --manifest.
  std::string modality = "face";
  double ppi = 0;  // Finger: resolution of every image; 0 = from the FVC table.
  // Finger: probes become SIMULATED contactless photos of themselves, searched
  // against contact enrolments (docs/evaluation.md).
  bool simulate_contactless = false;
  std::string json_path;
  std::string scores_path;  // --scores: every 1:1 comparison as CSV.
  std::string report_path;
  std::string model_card_path;
  int bootstrap_resamples = 200;
  // Above this many impostor pairs a uniform random sample of this many is
  // compared (docs/evaluation.md); the shared data sets stay well below.
  std::int64_t max_impostor_pairs = 5'000'000;
  std::uint64_t seed = 19795;  // Of the impostor sample and the bootstrap.
};

struct Sample {
  LabelledImage image;
  std::string source;  // Identity prefix before the first '_' (data set).
  bool is_enrolment = false;
  std::optional<Template> face_template;  // The sample's template, of either modality.
  std::string failure;
};

// The data set an identity comes from: its name up to the last '_'
// ("att_s01" -> "att", "fvc2002_db2_101" -> "fvc2002_db2").
std::string SourceOf(const std::string& identity) {
  std::size_t underscore = identity.rfind('_');
  return underscore == std::string::npos ? identity : identity.substr(0, underscore);
}

// Scanner resolutions of the FVC databases as the competitions published
// them (FVC2002 DB2: 569 ppi; FVC2004 DB3: 512 ppi; the others 500 ppi,
// SFinGe's DB4 about 500). A print's resolution is never guessed otherwise.
std::optional<double> FvcResolution(const std::string& source) {
  if (source.rfind("fvc200", 0) != 0) return std::nullopt;
  if (source == "fvc2002_db2") return 569.0;
  if (source == "fvc2004_db3") return 512.0;
  return 500.0;
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

// RFC 4180 quoting when a field needs it.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A SIMULATED contactless phone photo (PNG) of a contact print, seeded by
// the sample's index so runs repeat exactly. The print is first brought to
// 500 ppi, the resolution the simulator expects.
Result<std::vector<std::uint8_t>> SimulatedContactlessProbe(const std::vector<std::uint8_t>& print,
                                                            double ppi, std::size_t seed) {
  ABIS_ASSIGN_OR_RETURN(imaging::DecodedImage decoded, imaging::DecodeImage(print));
  cv::Mat gray;
  cv::cvtColor(decoded.bgr, gray, cv::COLOR_BGR2GRAY);
  if (ppi != 500) cv::resize(gray, gray, cv::Size(), 500 / ppi, 500 / ppi, cv::INTER_AREA);
  ABIS_ASSIGN_OR_RETURN(finger::SimulatedContactlessPhoto photo,
                        finger::SimulateContactlessPhoto(gray, 1000 + seed));
  return imaging::EncodePng(photo.bgr);
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
  eval::ImpostorSampling sampling;
};

// How the 1:1 pairs are chosen: every genuine pair, and every impostor pair
// or, above `max_impostor_pairs`, a uniform random sample of that many.
struct PairSelection {
  bool enrolment_probe_pairs_only = false;
  std::int64_t max_impostor_pairs = 5'000'000;
  std::uint64_t seed = 19795;
};

// One 1:1 comparison, for the score file.
struct PairScore {
  const Sample* a;
  const Sample* b;
  double score;
};

// Builds every figure for the samples `include` accepts; the gallery is
// always every enrolment (searches run against the whole gallery). `pairs`,
// when given, receives every 1:1 comparison made.
Result<Headline> Measure(const Engine& engine, const std::vector<Sample>& samples,
                         const std::function<bool(const Sample&)>& include,
                         const PairSelection& selection, std::vector<PairScore>* pairs = nullptr) {
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
  std::vector<int> identity_of;  // Dense identity numbers, for the pair loops.
  std::map<std::string, int> identity_numbers;
  for (const Sample& s : samples) {
    if (include(s) && s.face_template) {
      extracted.push_back(&s);
      identity_of.push_back(
          identity_numbers.try_emplace(s.image.identity, identity_numbers.size()).first->second);
    }
  }
  auto paired = [&](std::size_t i, std::size_t j) {
    return !selection.enrolment_probe_pairs_only ||
           extracted[i]->is_enrolment != extracted[j]->is_enrolment;
  };
  // Impostor pairs are numbered in loop order; a sample keeps those whose
  // numbers SampleDistinctIndices draws.
  std::uint64_t possible_impostors = 0;
  for (std::size_t i = 0; i < extracted.size(); ++i) {
    for (std::size_t j = i + 1; j < extracted.size(); ++j) {
      if (paired(i, j) && identity_of[i] != identity_of[j]) ++possible_impostors;
    }
  }
  headline.sampling.possible_pairs = static_cast<std::int64_t>(possible_impostors);
  headline.sampling.max_pairs = selection.max_impostor_pairs;
  headline.sampling.seed = selection.seed;
  headline.sampling.sampled =
      possible_impostors > static_cast<std::uint64_t>(selection.max_impostor_pairs);
  std::vector<std::uint64_t> chosen;
  if (headline.sampling.sampled) {
    chosen = eval::SampleDistinctIndices(possible_impostors,
                                         static_cast<std::uint64_t>(selection.max_impostor_pairs),
                                         selection.seed);
  }
  std::uint64_t impostor_number = 0;
  std::size_t next_chosen = 0;
  for (std::size_t i = 0; i < extracted.size(); ++i) {
    for (std::size_t j = i + 1; j < extracted.size(); ++j) {
      if (!paired(i, j)) continue;
      if (headline.sampling.sampled && identity_of[i] != identity_of[j]) {
        const std::uint64_t number = impostor_number++;
        if (next_chosen == chosen.size() || chosen[next_chosen] != number) continue;
        ++next_chosen;
      }
      ABIS_ASSIGN_OR_RETURN(double score, engine.CompareTemplates(*extracted[i]->face_template,
                                                                  *extracted[j]->face_template));
      if (pairs != nullptr) pairs->push_back({extracted[i], extracted[j], score});
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

  headline.sampling.compared_pairs = static_cast<std::int64_t>(headline.scores.impostor.size());

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

// The FMR targets whose 1:1 thresholds are also open-set operating points.
constexpr double kOpenSetFmrs[] = {1e-2, 1e-3, 1e-4};

Result<nlohmann::json> Summarise(const Headline& headline, const std::vector<double>& fmrs,
                                 std::optional<eval::VerificationResult>* verification_out,
                                 std::optional<eval::IdentificationResult>* identification_out,
                                 int bootstrap_resamples, std::uint64_t seed) {
  nlohmann::json summary;
  summary["identities"] = headline.identities;
  summary["images"] = headline.images;
  summary["fte"] = OptionalJson(Rate(headline.enrolment_failures, headline.enrolment_attempts));
  summary["fta"] = OptionalJson(Rate(headline.probe_failures, headline.probe_attempts));
  summary["genuine_pairs"] = headline.scores.genuine.size();
  summary["impostor_pairs"] = headline.scores.impostor.size();
  summary["impostor_sampling"] = eval::ToJson(headline.sampling);
  summary["rank1"] = nullptr;
  summary["eer"] = nullptr;
  nlohmann::json fnmr = nlohmann::json::object();
  for (double fmr : fmrs) fnmr[RateKey(fmr)] = nullptr;
  std::vector<double> open_set_thresholds;
  std::vector<std::string> open_set_labels;
  std::vector<double> open_set_fmrs;
  if (!headline.scores.genuine.empty() && !headline.scores.impostor.empty()) {
    eval::VerificationOptions options;
    options.target_fmrs = fmrs;
    options.bootstrap.resamples = bootstrap_resamples;
    options.bootstrap.seed = seed;
    ABIS_ASSIGN_OR_RETURN(eval::VerificationResult verification,
                          eval::EvaluateVerification(headline.scores, options));
    summary["eer"] = verification.eer.eer;
    summary["eer_threshold"] = verification.eer.threshold;
    for (std::size_t i = 0; i < fmrs.size(); ++i) {
      const auto& point = verification.fnmr_at_fmr[i].operating_point;
      if (point) fnmr[RateKey(fmrs[i])] = point->fnmr;
    }
    // The thresholds for FMR 1e-2 .. 1e-4 that the impostor count supports.
    for (double target : kOpenSetFmrs) {
      for (const eval::FnmrAtFmr& entry : verification.fnmr_at_fmr) {
        if (entry.target_fmr == target && entry.operating_point &&
            std::isfinite(entry.operating_point->threshold)) {
          open_set_thresholds.push_back(entry.operating_point->threshold);
          open_set_labels.push_back("1:1 threshold for FMR " + RateKey(target));
          open_set_fmrs.push_back(target);
        }
      }
    }
    if (verification_out) *verification_out = std::move(verification);
  }
  summary["fnmr_at_fmr"] = fnmr;
  if (!headline.searches.mated.empty()) {
    eval::IdentificationOptions options;
    if (!headline.searches.non_mated.empty()) {
      options.thresholds = open_set_thresholds;
      options.threshold_labels = open_set_labels;
    }
    ABIS_ASSIGN_OR_RETURN(eval::IdentificationResult identification,
                          eval::EvaluateIdentification(headline.searches, options));
    // Open-set FPIR and FNIR at those thresholds, keyed by FMR as
    // fnmr_at_fmr is.
    nlohmann::json open_set = nlohmann::json::object();
    for (std::size_t i = 0; i < identification.at_thresholds.size(); ++i) {
      const eval::OpenSetPoint& point = identification.at_thresholds[i];
      open_set[RateKey(open_set_fmrs[i])] = {
          {"threshold", point.threshold}, {"fpir", point.fpir}, {"fnir", point.fnir}};
    }
    summary["open_set_at_fmr"] = open_set;
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

bool EndsWithCsv(const std::string& path) {
  if (path.size() < 4) return false;
  std::string tail = path.substr(path.size() - 4);
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == ".csv";
}

// The manifest's images, grouped by identity (identities in name order),
// keeping the manifest's order within an identity: its first listed image
// is the enrolment.
std::vector<LabelledImage> ImagesOf(const eval::Manifest& manifest) {
  std::vector<LabelledImage> images;
  for (const eval::ManifestRow& row : manifest.rows) {
    images.push_back({row.identity, row.path, row.listed_path});
  }
  std::stable_sort(
      images.begin(), images.end(),
      [](const LabelledImage& a, const LabelledImage& b) { return a.identity < b.identity; });
  return images;
}

std::string TodayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &utc);
  return buffer;
}

std::optional<double> JsonRate(const nlohmann::json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<double>();
}

// What the card says about the data and the model beyond the numbers.
// `sources` are the identity prefixes (data sets of origin).
std::vector<std::string> KnownLimits(bool has_demographic_labels, std::int64_t impostor_pairs,
                                     const std::set<std::string>& sources, Modality modality) {
  std::vector<std::string> limits = {
      "FMR below about 3/" + std::to_string(impostor_pairs) +
          " (rule of three) is not measured; above the highest impostor score the card only "
          "bounds the FMR (fmr_is_upper_bound), and the tail is set by a handful of impostor "
          "pairs.",
      "Impostor pairs share subjects and are not independent; the calibrated FMR and the "
      "expected false candidates (gallery identities x FMR) assume independence.",
      "FMR is measured per comparison of two single images; a gallery identity with several "
      "references is compared by its best score, which has a higher FMR.",
  };
  if (modality == Modality::kFinger) {
    limits.push_back(
        "Fingerprint extraction and matching are our own hand-designed algorithms (no trained "
        "model); the FVC 2002/2004 sets here hold 5 fingers x 8 impressions per database, so "
        "the impostor tail is thin and the per-database figures have wide intervals.");
    limits.push_back(
        "Contact prints from optical/capacitive/thermal scanners and SFinGe-synthetic DB4s; "
        "contactless photos and latent prints are not measured by this card.");
  } else {
    limits.push_back(
        "The face model (dlib ResNet, ported by face-api.js) was trained on about 3M web-scraped "
        "faces (FaceScrub, VGG-Face) without consent records; see docs/models.md.");
  }
  const std::set<std::string> shared_faces = {"att", "bbt", "yale"};
  std::set<std::string> fvc_sources;
  for (const std::string& source : sources) {
    if (FvcResolution(source)) fvc_sources.insert(source);
  }
  if (fvc_sources == sources) {
    // Described above.
  } else if (std::includes(shared_faces.begin(), shared_faces.end(), sources.begin(),
                           sources.end())) {
    limits.push_back(
        "Small development set of grey-scale, mostly frontal, cooperative captures (AT&T/ORL "
        "1992-94, Yale 1997, TV stills): not representative of surveillance, colour, ageing or "
        "unconstrained photos; Yale's extreme side lighting raises FNMR and its one failure to "
        "acquire.");
  } else {
    limits.push_back(
        "Capture conditions and subjects are described only by the data set entry; review "
        "them before relying on the calibration for other captures.");
  }
  if (!has_demographic_labels) {
    limits.push_back(
        "No demographic labels were supplied, so no demographic differentials were measured "
        "and the calibration may not hold for every group (the shared face sources ship none; "
        "their subjects are, by eye, mostly male).");
  }
  return limits;
}

int RunEval(const EvalFlags& flags) {
  auto modality = ParseModality(flags.modality);
  if (!modality.ok()) return ReportError(flags.global, modality.status());
  const bool finger = *modality == Modality::kFinger;
  if (!finger && (flags.ppi != 0 || flags.simulate_contactless)) {
    return ReportError(flags.global,
                       InvalidArgumentError("--ppi and --simulate-contactless apply to --modality "
                                            "finger"));
  }
  std::string manifest_path = flags.manifest_path;
  if (manifest_path.empty() && EndsWithCsv(flags.folder)) manifest_path = flags.folder;
  if (!manifest_path.empty() && !flags.folder.empty() && flags.folder != manifest_path) {
    return ReportError(flags.global,
                       InvalidArgumentError("give either a folder or --manifest, not both"));
  }
  if (manifest_path.empty() && flags.folder.empty()) {
    return ReportError(flags.global,
                       InvalidArgumentError("give a labelled folder or a manifest CSV"));
  }
  const std::string dataset_name = manifest_path.empty() ? flags.folder : manifest_path;
  std::optional<eval::Manifest> manifest;
  Result<std::vector<LabelledImage>> listed = std::vector<LabelledImage>();
  if (!manifest_path.empty()) {
    auto read = eval::ReadManifest(manifest_path);
    if (!read.ok()) return ReportError(flags.global, read.status());
    manifest = std::move(*read);
    listed = ImagesOf(*manifest);
  } else {
    listed = ListLabelledFolder(flags.folder);
  }
  if (!listed.ok()) return ReportError(flags.global, listed.status());
  if (flags.max_impostor_pairs < 1) {
    return ReportError(flags.global, InvalidArgumentError("--max-impostor-pairs must be >= 1"));
  }
  auto engine = OpenEngine(flags.global, ":memory:");
  if (!engine.ok()) return ReportError(flags.global, engine.status());

  std::vector<Sample> samples;
  std::set<std::string> seen;
  auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < listed->size(); ++i) {
    Sample sample{(*listed)[i], SourceOf((*listed)[i].identity), false, std::nullopt, ""};
    sample.is_enrolment = seen.insert(sample.image.identity).second;
    auto bytes = ReadCapture(sample.image.path);
    Result<Template> extracted = bytes.status();
    if (bytes.ok() && finger) {
      FingerCapture capture;
      capture.ppi = flags.ppi;
      if (capture.ppi == 0) capture.ppi = FvcResolution(sample.source).value_or(0);
      if (capture.ppi == 0) {
        return ReportError(flags.global,
                           InvalidArgumentError("resolution of " + sample.image.relative_path +
                                                " unknown: give --ppi"));
      }
      if (flags.simulate_contactless && !sample.is_enrolment) {
        bytes = SimulatedContactlessProbe(*bytes, capture.ppi, i);
        capture.contactless = true;
      }
      if (!bytes.ok()) {
        extracted = bytes.status();
      } else {
        auto extraction = (*engine)->ExtractFinger(*bytes, capture, sample.is_enrolment);
        extracted = extraction.ok() ? Result<Template>(std::move(extraction->finger_template))
                                    : Result<Template>(extraction.status());
      }
    } else if (bytes.ok()) {
      // Face 0 is the most face-like detection; evaluation photos hold one subject.
      auto extraction = (*engine)->ExtractFace(*bytes, 0, sample.is_enrolment);
      extracted = extraction.ok() ? Result<Template>(std::move(extraction->face_template))
                                  : Result<Template>(extraction.status());
    }
    if (extracted.ok()) {
      sample.face_template = std::move(*extracted);
    } else {
      sample.failure = extracted.status().ToString();
    }
    samples.push_back(std::move(sample));
    ShowProgress(i + 1, listed->size(), "extracting templates");
  }
  double extraction_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const std::vector<double> fmrs = {1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
  std::vector<PairScore> pairs;
  // Simulated contactless probes are compared with contact enrolments only.
  const bool cross_only = flags.simulate_contactless;
  const PairSelection selection{cross_only, flags.max_impostor_pairs, flags.seed};
  auto all = Measure(
      **engine, samples, [](const Sample&) { return true; }, selection,
      flags.scores_path.empty() ? nullptr : &pairs);
  if (!all.ok()) return ReportError(flags.global, all.status());
  std::optional<eval::VerificationResult> verification;
  std::optional<eval::IdentificationResult> identification;
  auto summary =
      Summarise(*all, fmrs, &verification, &identification, flags.bootstrap_resamples, flags.seed);
  if (!summary.ok()) return ReportError(flags.global, summary.status());

  nlohmann::json document = *summary;
  const AlgorithmInfo& algorithm_info =
      finger ? (*engine)->finger_algorithm() : (*engine)->face_algorithm();
  document["modality"] = flags.modality;
  document["dataset"] = dataset_name;
  document["algorithm"] = ToJson(algorithm_info);
  document["protocol"] =
      "first image per identity enrolled (enrolment gate), others are probes (probe gate); 1:1 "
      "over all pairs of extracted templates; 1:N mated searches against all enrolments, "
      "non-mated searches with the probe's own identity left out";
  document["extraction_seconds_per_image"] = extraction_seconds / samples.size();
  if (flags.simulate_contactless) {
    document["simulated_contactless_probes"] = true;
    document["protocol"] =
        "SIMULATED contactless: every probe is a synthetic phone photo made from its contact "
        "print (polarity, blur, uneven light, scale 1.5-3x, perspective, finger mask; seeded), "
        "extracted through the contactless path; enrolments are the contact prints. 1:1 over "
        "enrolment x probe pairs only; 1:N as for contact";
  }
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
      auto part = Measure(
          **engine, samples, [&source](const Sample& s) { return s.source == source; }, selection);
      if (!part.ok()) return ReportError(flags.global, part.status());
      auto part_summary = Summarise(*part, fmrs, nullptr, nullptr, 0, flags.seed);
      if (!part_summary.ok()) return ReportError(flags.global, part_summary.status());
      per_source[source] = *part_summary;
    }
    document["per_source"] = per_source;
  }

  eval::EvaluationReport report;
  if (manifest && !manifest->demographic_columns.empty() && verification) {
    // One global threshold for every group (NISTIR 8280): the one meeting
    // FMR 1e-3 on all data when supported, else the EER threshold.
    double threshold = verification->eer.threshold;
    std::string source = "EER threshold";
    if (verification->fnmr_at_fmr.size() > 1 && verification->fnmr_at_fmr[1].operating_point &&
        std::isfinite(verification->fnmr_at_fmr[1].operating_point->threshold)) {
      threshold = verification->fnmr_at_fmr[1].operating_point->threshold;
      source = "threshold meeting FMR 1e-3 on all data";
    }
    auto demographics = eval::DemographicsJson(*manifest, all->scores, threshold, source);
    if (!demographics.ok()) return ReportError(flags.global, demographics.status());
    document["demographics"] = *demographics;
    auto groups = eval::GroupsOfSubjects(*manifest, manifest->demographic_columns.front());
    if (!groups.ok()) return ReportError(flags.global, groups.status());
    auto first = eval::ComputeDemographicDifferentials(all->scores, *groups, threshold);
    if (!first.ok()) return ReportError(flags.global, first.status());
    report.demographics = *first;
  }
  report.title = "abis evaluation: " + dataset_name;
  report.algorithm =
      algorithm_info.algorithm + " (model " + algorithm_info.model_digest.substr(0, 16) + ")";
  report.dataset = dataset_name + ": " + std::to_string(all->identities) + " identities, " +
                   std::to_string(all->images) + " images";
  report.verification = verification;
  report.identification = identification;
  report.impostor_sampling = all->sampling;
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
  if (!flags.scores_path.empty()) {
    // docs/evaluation.md "Score file": one row per comparison, in the order
    // made; files are as listed (relative to the folder or manifest).
    std::string csv = "file_a,identity_a,file_b,identity_b,genuine,score\n";
    char score[40];
    for (const PairScore& pair : pairs) {
      std::snprintf(score, sizeof score, "%.9g", pair.score);
      csv += CsvField(pair.a->image.relative_path) + "," + CsvField(pair.a->image.identity) + "," +
             CsvField(pair.b->image.relative_path) + "," + CsvField(pair.b->image.identity) + "," +
             (pair.a->image.identity == pair.b->image.identity ? "1" : "0") + "," + score + "\n";
    }
    Status written = WriteFileAtomically(flags.scores_path, csv);
    if (!written.ok()) return ReportError(flags.global, written);
  }
  if (!flags.report_path.empty()) {
    Status written = eval::WriteHtmlReport(report, flags.report_path);
    if (!written.ok()) return ReportError(flags.global, written);
  }
  if (!flags.model_card_path.empty()) {
    if (all->scores.impostor.empty()) {
      return ReportError(flags.global,
                         FailedPreconditionError("a model card needs impostor comparisons"));
    }
    auto calibration = eval::FmrCalibration::Fit(all->scores.impostor);
    if (!calibration.ok()) return ReportError(flags.global, calibration.status());
    const AlgorithmInfo& algorithm = algorithm_info;
    eval::ModelCard card;
    card.modality = flags.modality;
    card.algorithm = algorithm.algorithm;
    card.model_digest = algorithm.model_digest;
    card.created = TodayUtc();
    card.command = "OPENBLAS_NUM_THREADS=1 build/cli/abis eval " + dataset_name + " --modality " +
                   flags.modality + " --model-card " + flags.model_card_path;
    card.dataset.name = dataset_name;
    card.dataset.description =
        report.dataset + (manifest ? " (manifest)" : " (labelled folder <identity>/<images>)");
    card.dataset.identities = all->identities;
    card.dataset.images = all->images;
    card.dataset.genuine_pairs = static_cast<std::int64_t>(all->scores.genuine.size());
    card.dataset.impostor_pairs = static_cast<std::int64_t>(all->scores.impostor.size());
    card.protocol = document["protocol"].get<std::string>();
    card.metrics.eer = JsonRate(document["eer"]);
    if (document.contains("eer_threshold"))
      card.metrics.eer_threshold = JsonRate(document["eer_threshold"]);
    card.metrics.fte = JsonRate(document["fte"]);
    card.metrics.fta = JsonRate(document["fta"]);
    card.metrics.rank1 = JsonRate(document["rank1"]);
    if (verification) {
      for (const eval::FnmrAtFmr& target : verification->fnmr_at_fmr) {
        eval::ModelCardOperatingPoint point;
        point.target_fmr = target.target_fmr;
        if (target.operating_point && std::isfinite(target.operating_point->threshold)) {
          point.threshold = target.operating_point->threshold;
          point.fmr = target.operating_point->fmr;
          point.fnmr = target.operating_point->fnmr;
        }
        card.metrics.fnmr_at_fmr.push_back(point);
      }
    }
    card.calibration = std::move(*calibration);
    card.known_limits = KnownLimits(manifest && !manifest->demographic_columns.empty(),
                                    card.dataset.impostor_pairs, sources, *modality);
    Status written = eval::WriteModelCard(card, flags.model_card_path);
    if (!written.ok()) return ReportError(flags.global, written);
  }
  if (flags.global.json) {
    PrintJson(document);
    return 0;
  }
  std::printf("%s: %lld identities, %lld images, %s\n", dataset_name.c_str(),
              static_cast<long long>(all->identities), static_cast<long long>(all->images),
              algorithm_info.algorithm.c_str());
  auto print_row = [&](const std::string& name, const nlohmann::json& s) {
    std::printf("%-8s FTE %-8s FTA %-8s rank-1 %-8s EER %-8s FNMR@1e-2 %-8s FNMR@1e-3 %s\n",
                name.c_str(), Percent(s["fte"]).c_str(), Percent(s["fta"]).c_str(),
                Percent(s["rank1"]).c_str(), Percent(s["eer"]).c_str(),
                Percent(s["fnmr_at_fmr"]["0.01"]).c_str(),
                Percent(s["fnmr_at_fmr"]["0.001"]).c_str());
  };
  print_row("all", document);
  for (const auto& [source, s] : per_source) print_row(source, s);
  if (per_source.size() > 1) {
    double eer_sum = 0;
    int eer_count = 0;
    for (const auto& [source, s] : per_source) {
      if (!s["eer"].is_null()) {
        eer_sum += s["eer"].get<double>();
        ++eer_count;
      }
    }
    if (eer_count > 0) std::printf("mean per-source EER %.2f%%\n", 100.0 * eer_sum / eer_count);
  }
  std::printf("genuine pairs %zu, impostor pairs %zu, %.1f ms per image\n",
              all->scores.genuine.size(), all->scores.impostor.size(),
              1000.0 * extraction_seconds / samples.size());
  if (all->sampling.sampled) {
    std::printf("impostor pairs SAMPLED: %lld of %lld, uniformly at random (seed %llu)\n",
                static_cast<long long>(all->sampling.compared_pairs),
                static_cast<long long>(all->sampling.possible_pairs),
                static_cast<unsigned long long>(all->sampling.seed));
  }
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
      "eval",
      "Accuracy on a labelled folder <identity>/<images> or a manifest CSV (FTE, rank-1, EER, "
      "FNMR@FMR, demographic differentials, model card)");
  AddGlobalFlags(*command, flags->global, /*with_json_flag=*/false);
  command->add_option("folder", flags->folder,
                      "Labelled folder, or a manifest CSV (path,identity[,group columns])");
  command->add_option("--manifest", flags->manifest_path,
                      "Manifest CSV: path,identity and optional demographic columns");
  command->add_option("--model-card", flags->model_card_path,
                      "Write the model card (metrics + score->FMR calibration) to this file");
  command->add_option("--modality", flags->modality, "face | finger")->capture_default_str();
  command->add_option("--ppi", flags->ppi,
                      "Finger: resolution of every image (default: the FVC databases' own)");
  command->add_flag("--simulate-contactless", flags->simulate_contactless,
                    "Finger: probes become SIMULATED contactless photos, searched against the "
                    "contact enrolments");
  command->add_option("--json", flags->json_path, "Write the JSON results to this file");
  command->add_option("--report", flags->report_path, "Write a self-contained HTML report");
  command->add_option("--scores", flags->scores_path,
                      "Write every 1:1 comparison (the score matrix) as CSV to this file");
  command
      ->add_option("--bootstrap", flags->bootstrap_resamples,
                   "Bootstrap resamples for confidence intervals (0 = none)")
      ->capture_default_str();
  command
      ->add_option("--max-impostor-pairs", flags->max_impostor_pairs,
                   "Compare a uniform random sample of this many impostor pairs when there are "
                   "more (stated in the JSON and report as impostor_sampling)")
      ->capture_default_str();
  command->add_option("--seed", flags->seed, "Seed of the impostor sample and of the bootstrap")
      ->capture_default_str();
  command->callback([flags] {
    int code = RunEval(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
