#include "eval/report.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace abis::eval {
namespace {

using nlohmann::json;

ScoreSet LabelledScores() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> genuine(2.0, 1.0);
  std::normal_distribution<double> impostor(0.0, 1.0);
  ScoreSet scores;
  for (int subject = 0; subject < 30; ++subject) {
    for (int sample = 0; sample < 3; ++sample) {
      scores.genuine.push_back(genuine(rng));
      scores.genuine_subject.push_back("s" + std::to_string(subject));
    }
    for (int reference = 0; reference < 30; ++reference) {
      if (reference == subject) continue;
      scores.impostor.push_back(impostor(rng));
      scores.impostor_probe_subject.push_back("s" + std::to_string(subject));
      scores.impostor_reference_subject.push_back("s" + std::to_string(reference));
    }
  }
  return scores;
}

EvaluationReport FullReport() {
  EvaluationReport report;
  report.title = "Synthetic </script><b>\"run\" & more";
  report.algorithm = "face/dlib-resnet-v1";
  report.dataset = "synthetic, 30 subjects";
  const ScoreSet scores = LabelledScores();
  VerificationOptions verification_options;
  verification_options.bootstrap.resamples = 50;
  report.verification = *EvaluateVerification(scores, verification_options);

  SearchSet searches;
  for (int search = 0; search < 40; ++search) {
    searches.mated.push_back(
        MatedSearch{search % 7 == 0 ? std::optional<int>() : search % 4 + 1, 0.5 + 0.01 * search});
    searches.non_mated.push_back(NonMatedSearch{0.2 + 0.015 * search});
  }
  IdentificationOptions identification_options;
  identification_options.thresholds = {0.6, 0.8};
  report.identification = *EvaluateIdentification(searches, identification_options);

  FailureRates failures;
  failures.enrolment.RecordSuccess();
  failures.enrolment.RecordFailure();
  failures.acquisition.RecordSuccess();
  report.failures = failures;

  std::map<std::string, std::string> groups;
  for (int subject = 0; subject < 30; ++subject) {
    groups["s" + std::to_string(subject)] = subject % 2 == 0 ? "group <A>" : "group B";
  }
  report.demographics = *ComputeDemographicDifferentials(scores, groups, 1.0);
  return report;
}

// The contents of every <script type="application/json" id="..."> block.
std::map<std::string, std::string> JsonBlocks(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"";
  std::map<std::string, std::string> blocks;
  for (std::size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    const std::size_t id_start = at + open.size();
    const std::size_t id_end = html.find('"', id_start);
    const std::size_t body_start = html.find('>', id_end) + 1;
    const std::size_t body_end = html.find("</script>", body_start);
    blocks[html.substr(id_start, id_end - id_start)] =
        html.substr(body_start, body_end - body_start);
  }
  return blocks;
}

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

TEST(HtmlReportTest, IsSelfContainedAndBalanced) {
  const std::string html = RenderHtmlReport(FullReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_EQ(Count(html, "<svg"), 5u);  // DET, histogram, CMC, open-set, differentials.
  for (const std::string tag : {"svg", "section", "table", "figure", "script"}) {
    EXPECT_EQ(Count(html, "<" + tag), Count(html, "</" + tag + ">")) << tag;
  }
  // Only data blocks, no executable script, nothing fetched from elsewhere.
  EXPECT_EQ(Count(html, "<script"), Count(html, "<script type=\"application/json\""));
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(Count(html, "http://"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  // User text is escaped.
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("Synthetic &lt;/script&gt;&lt;b&gt;&quot;run&quot; &amp; more"),
            std::string::npos);
}

TEST(HtmlReportTest, EmbedsParsableDataBehindEveryPlot) {
  const EvaluationReport report = FullReport();
  const std::map<std::string, std::string> blocks = JsonBlocks(RenderHtmlReport(report));
  ASSERT_EQ(blocks.size(), 6u);
  for (const std::string id : {"det-data", "histogram-data", "cmc-data", "open-set-data",
                               "differentials-data", "report-data"}) {
    ASSERT_TRUE(blocks.count(id)) << id;
    EXPECT_TRUE(json::accept(blocks.at(id))) << id;
  }
  const json det = json::parse(blocks.at("det-data"));
  EXPECT_EQ(det["fmr"].size(), det["drawn_points"].get<std::size_t>());
  EXPECT_EQ(det["fnmr"].size(), det["fmr"].size());
  EXPECT_EQ(det["curve_points"].get<std::size_t>(), report.verification->det.points.size());
  EXPECT_DOUBLE_EQ(det["marked_points"][0]["fmr"].get<double>(), report.verification->eer.eer);

  const json cmc = json::parse(blocks.at("cmc-data"));
  EXPECT_EQ(cmc["identification_rate"].get<std::vector<double>>(),
            report.identification->cmc.rates);

  const json histogram = json::parse(blocks.at("histogram-data"));
  EXPECT_EQ(histogram["genuine"].get<std::vector<std::int64_t>>(),
            report.verification->histogram.genuine);

  const json summary = json::parse(blocks.at("report-data"));
  EXPECT_EQ(summary["format"], "abis.eval.report");
  EXPECT_EQ(summary["title"], report.title);  // Survives the \u escapes.
  EXPECT_FALSE(summary["verification"]["det"].contains("fmr"));
  EXPECT_EQ(summary["verification"]["det"]["points_omitted"].get<std::size_t>(),
            report.verification->det.points.size());
}

TEST(HtmlReportTest, OmitsSectionsThatAreEmpty) {
  EvaluationReport report;
  FailureRates failures;
  failures.enrolment.RecordFailure();
  report.failures = failures;
  const std::string html = RenderHtmlReport(report);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("id=\"verification\""), std::string::npos);
  EXPECT_NE(html.find("id=\"failures\""), std::string::npos);
  EXPECT_TRUE(json::accept(JsonBlocks(html).at("report-data")));
}

TEST(JsonReportTest, CarriesRatesIntervalsAndNullsForUnsupportedTargets) {
  const EvaluationReport report = FullReport();
  const json document = ToJson(report);
  EXPECT_EQ(document["version"], kReportFormatVersion);
  EXPECT_EQ(document["conventions"]["decision_rule"], "match decision when score >= threshold");

  const json& verification = document["verification"];
  EXPECT_EQ(verification["impostor_count"], 870);
  EXPECT_DOUBLE_EQ(verification["eer"]["value"].get<double>(), report.verification->eer.eer);
  EXPECT_TRUE(verification["eer"]["ci"].is_object());
  EXPECT_EQ(verification["det"]["fmr"].size(), report.verification->det.points.size());
  ASSERT_EQ(verification["fnmr_at_fmr"].size(), 5u);
  const json& at_1e2 = verification["fnmr_at_fmr"][0];  // 870 * 1e-2 >= 3.
  EXPECT_TRUE(at_1e2["supported"].get<bool>());
  EXPECT_TRUE(at_1e2["fnmr"].is_number());
  EXPECT_TRUE(at_1e2["ci"].is_object());
  const json& at_1e6 = verification["fnmr_at_fmr"][4];
  EXPECT_FALSE(at_1e6["supported"].get<bool>());
  EXPECT_TRUE(at_1e6["fnmr"].is_null());
  EXPECT_TRUE(at_1e6["ci"].is_null());
  EXPECT_EQ(verification["bootstrap"]["resamples"], 50);

  const json& identification = document["identification"];
  EXPECT_TRUE(identification["cmc"].contains("rank_1"));
  EXPECT_TRUE(identification["cmc"].contains("rank_20"));
  EXPECT_EQ(identification["at_thresholds"].size(), 2u);
  EXPECT_EQ(document["failures"]["fte"]["rate"], 0.5);
  EXPECT_EQ(document["demographics"]["groups"].size(), 2u);
}

TEST(HtmlReportTest, PlotsDemographicDifferentialsOnlyWhenGroupsAreGiven) {
  EvaluationReport report = FullReport();
  const DemographicDifferentials& demographics = *report.demographics;
  ASSERT_EQ(demographics.groups.size(), 2u);
  const std::string html = RenderHtmlReport(report);
  EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"differentials\""),
            std::string::npos);
  // Group names are the x tick labels, escaped; both ratios are annotated.
  EXPECT_NE(html.find(">group &lt;A&gt;</text>"), std::string::npos);
  EXPECT_NE(html.find("FMR max/min: "), std::string::npos);
  EXPECT_NE(html.find("FNMR max/min: "), std::string::npos);
  const json data = json::parse(JsonBlocks(html).at("differentials-data"));
  EXPECT_EQ(data["group"], json({"group <A>", "group B"}));
  EXPECT_DOUBLE_EQ(data["threshold"].get<double>(), 1.0);
  for (std::size_t group_idx = 0; group_idx < 2; ++group_idx) {
    const GroupRates& group = demographics.groups[group_idx];
    EXPECT_DOUBLE_EQ(data["fmr"][group_idx].get<double>(), *group.fmr);
    EXPECT_DOUBLE_EQ(data["fnmr"][group_idx].get<double>(), *group.fnmr);
    EXPECT_EQ(data["genuine_count"][group_idx], group.genuine_count);
    EXPECT_EQ(data["impostor_count"][group_idx], group.impostor_count);
  }
  ASSERT_TRUE(demographics.fnmr.max_min_ratio.has_value());
  EXPECT_DOUBLE_EQ(data["fnmr_differential"]["max_min_ratio"].get<double>(),
                   *demographics.fnmr.max_min_ratio);
  EXPECT_EQ(data["fnmr_differential"]["max_group"], demographics.fnmr.max_group);
  // Each non-zero rate is one marker (2 groups x FMR, FNMR) plus the CMC's.
  const std::size_t svg_start = html.find("id=\"differentials\"");
  const std::string svg = html.substr(svg_start, html.find("</svg>", svg_start) - svg_start);
  std::size_t non_zero = 0;
  for (const GroupRates& group : demographics.groups) {
    non_zero += (*group.fmr > 0) + (*group.fnmr > 0);
  }
  EXPECT_EQ(Count(svg, "<circle"), non_zero);

  // A zero rate has no place on the log axis: named in the corner instead.
  DemographicDifferentials zero;
  zero.threshold = 0.5;
  zero.groups = {GroupRates{"A", 10, 100, 0.02, 0.1}, GroupRates{"B", 10, 100, 0.0, 0.2}};
  zero.fmr = Differential{"A", "B", std::nullopt};
  zero.fnmr = Differential{"B", "A", 2.0};
  report.demographics = zero;
  const std::string with_zero = RenderHtmlReport(report);
  EXPECT_NE(with_zero.find(">FMR 0, not drawn: B</text>"), std::string::npos);
  EXPECT_NE(with_zero.find(">FMR max/min: undefined, the lowest is 0 (highest A, lowest B)</text>"),
            std::string::npos);
  EXPECT_NE(with_zero.find(">FNMR max/min: 2 (highest B, lowest A)</text>"), std::string::npos);
  const json zero_data = json::parse(JsonBlocks(with_zero).at("differentials-data"));
  EXPECT_EQ(zero_data["fmr"], json({0.02, 0.0}));
  EXPECT_EQ(zero_data["fnmr"], json({0.1, 0.2}));
  EXPECT_TRUE(zero_data["fmr_differential"]["max_min_ratio"].is_null());

  report.demographics.reset();
  const std::string without = RenderHtmlReport(report);
  EXPECT_EQ(without.find("id=\"differentials\""), std::string::npos);
  EXPECT_EQ(JsonBlocks(without).count("differentials-data"), 0u);
  EXPECT_EQ(Count(without, "<svg"), 4u);
}

// 30000 impostor scores k / 30000 and 100 genuine scores of 2: the
// smallest threshold with FMR <= 1e-3 is 0.999 (30 impostors at or above),
// and for 1e-4 it is 0.9999 (3 impostors; 30000 * 1e-4 = 3 supports it).
VerificationResult UniformImpostors() {
  ScoreSet scores;
  for (int k = 0; k < 30000; ++k) scores.impostor.push_back(k / 30000.0);
  scores.genuine.assign(100, 2.0);
  VerificationOptions options;
  options.bootstrap.resamples = 0;
  return *EvaluateVerification(scores, options);
}

TEST(JsonReportTest, ExtrapolatesToLargerGalleriesAndSaysSo) {
  EvaluationReport report;
  report.verification = UniformImpostors();
  const json section = ToJson(report)["verification"]["gallery_extrapolation"];
  EXPECT_EQ(section["measured"], false);
  EXPECT_NE(section["assumption"].get<std::string>().find("independent"), std::string::npos);
  EXPECT_NE(section["method"].get<std::string>().find("extrapolation"), std::string::npos);
  ASSERT_EQ(section["operating_points"].size(), 2u);
  const json& at_1e3 = section["operating_points"][0];
  EXPECT_EQ(at_1e3["target_fmr"], 1e-3);
  EXPECT_TRUE(at_1e3["supported"].get<bool>());
  EXPECT_DOUBLE_EQ(at_1e3["threshold"].get<double>(), 0.999);
  EXPECT_DOUBLE_EQ(at_1e3["fmr"].get<double>(), 1e-3);
  // By hand: FPIR(N) = 1 - (1 - FMR)^N, expected false candidates N * FMR.
  // 0.999^1000 = exp(1000 ln 0.999) = exp(-1.00050033358...) = 0.367695424770964.
  const std::vector<std::int64_t> sizes = {1'000,     10'000,     100'000,
                                           1'000'000, 10'000'000, 100'000'000};
  const std::vector<double> fpir_1e3 = {0.632304575229036, 0.999954826654023, 1, 1, 1, 1};
  const std::vector<double> fpir_1e4 = {0.0951671064414, 0.632138953567, 0.999954622766, 1, 1, 1};
  ASSERT_EQ(at_1e3["at_gallery_size"].size(), sizes.size());
  const json& at_1e4 = section["operating_points"][1];
  EXPECT_DOUBLE_EQ(at_1e4["threshold"].get<double>(), 0.9999);
  EXPECT_DOUBLE_EQ(at_1e4["fmr"].get<double>(), 1e-4);
  for (std::size_t size_idx = 0; size_idx < sizes.size(); ++size_idx) {
    const json& row = at_1e3["at_gallery_size"][size_idx];
    EXPECT_EQ(row["gallery_size"], sizes[size_idx]);
    EXPECT_NEAR(row["expected_fpir"].get<double>(), fpir_1e3[size_idx], 1e-12);
    EXPECT_DOUBLE_EQ(row["expected_false_candidates"].get<double>(), sizes[size_idx] * 1e-3);
    const json& row_1e4 = at_1e4["at_gallery_size"][size_idx];
    EXPECT_NEAR(row_1e4["expected_fpir"].get<double>(), fpir_1e4[size_idx], 1e-11);
    EXPECT_DOUBLE_EQ(row_1e4["expected_false_candidates"].get<double>(), sizes[size_idx] * 1e-4);
  }

  const std::string html = RenderHtmlReport(report);
  const std::size_t section_at = html.find("<section id=\"gallery-extrapolation\">");
  ASSERT_NE(section_at, std::string::npos);
  const std::string text =
      html.substr(section_at, html.find("</section>", section_at) - section_at);
  EXPECT_NE(text.find("not a measurement"), std::string::npos);
  EXPECT_NE(text.find("independent"), std::string::npos);
  EXPECT_NE(text.find("<td>100000000</td><td>1</td><td>100000</td><td>1</td><td>10000</td>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<td>1000</td><td>0.6323</td><td>1</td><td>0.09517</td><td>0.1</td>"),
            std::string::npos)
      << text;
}

TEST(JsonReportTest, MarksUnsupportedExtrapolationTargets) {
  ScoreSet scores;
  for (int k = 0; k < 100; ++k) scores.impostor.push_back(k / 100.0);
  scores.genuine.assign(10, 2.0);
  VerificationOptions options;
  options.bootstrap.resamples = 0;
  EvaluationReport report;
  report.verification = *EvaluateVerification(scores, options);
  const json points = ToJson(report)["verification"]["gallery_extrapolation"]["operating_points"];
  ASSERT_EQ(points.size(), 2u);  // 100 impostors support neither 1e-3 nor 1e-4.
  EXPECT_FALSE(points[0]["supported"].get<bool>());
  EXPECT_TRUE(points[0]["threshold"].is_null());
  EXPECT_TRUE(points[0]["at_gallery_size"].empty());
  EXPECT_NE(RenderHtmlReport(report).find("FMR 0.001: unsupported, needs &ge; 3000"),
            std::string::npos);
}

TEST(JsonReportTest, StatesImpostorSamplingInJsonAndHtml) {
  EvaluationReport report;
  report.verification = UniformImpostors();
  report.impostor_sampling = ImpostorSampling{.sampled = true,
                                              .possible_pairs = 123456,
                                              .compared_pairs = 10000,
                                              .max_pairs = 10000,
                                              .seed = 42};
  const json sampling = ToJson(report)["impostor_sampling"];
  EXPECT_EQ(sampling["sampled"], true);
  EXPECT_EQ(sampling["possible_pairs"], 123456);
  EXPECT_EQ(sampling["compared_pairs"], 10000);
  EXPECT_EQ(sampling["max_pairs"], 10000);
  EXPECT_EQ(sampling["seed"], 42);
  EXPECT_NE(RenderHtmlReport(report).find("Impostor comparisons are sampled:</strong> 10000 of the "
                                          "123456 impostor pairs"),
            std::string::npos);
  report.impostor_sampling->sampled = false;
  EXPECT_NE(RenderHtmlReport(report).find("Every one of the 123456 impostor pairs is compared"),
            std::string::npos);
  report.impostor_sampling.reset();
  EXPECT_FALSE(ToJson(report).contains("impostor_sampling"));
}

TEST(JsonReportTest, LabelsOpenSetRatesAtChosenThresholds) {
  SearchSet searches;
  for (int search = 0; search < 10; ++search) {
    searches.mated.push_back(MatedSearch{1, 0.5 + 0.05 * search});
    searches.non_mated.push_back(NonMatedSearch{0.1 * search});
  }
  IdentificationOptions options;
  options.thresholds = {0.62, 0.87};
  options.threshold_labels = {"FMR 0.01", "FMR 0.001"};
  EvaluationReport report;
  report.identification = *EvaluateIdentification(searches, options);
  const json points = ToJson(report)["identification"]["at_thresholds"];
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0]["label"], "FMR 0.01");
  EXPECT_DOUBLE_EQ(points[0]["threshold"].get<double>(), 0.62);
  EXPECT_DOUBLE_EQ(points[0]["fpir"].get<double>(), 0.3);  // 0.7, 0.8, 0.9 of 0.0 .. 0.9.
  EXPECT_DOUBLE_EQ(points[0]["fnir"].get<double>(), 0.3);  // 0.5, 0.55, 0.6 below 0.62.
  EXPECT_EQ(points[1]["label"], "FMR 0.001");
  EXPECT_DOUBLE_EQ(points[1]["fpir"].get<double>(), 0.1);  // 0.9.
  EXPECT_DOUBLE_EQ(points[1]["fnir"].get<double>(), 0.8);  // 0.5 .. 0.85.
  const std::string html = RenderHtmlReport(report);
  EXPECT_NE(html.find("<th>Operating point</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>FMR 0.001</td><td>0.87</td>"), std::string::npos);

  options.threshold_labels = {"only one"};
  EXPECT_EQ(EvaluateIdentification(searches, options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(JsonReportTest, WritesInfiniteThresholdsAsNull) {
  DetPoint reject_all{std::numeric_limits<double>::infinity(), 0.0, 1.0};
  EXPECT_TRUE(ToJson(reject_all)["threshold"].is_null());
  EXPECT_EQ(ToJson(DetPoint{0.5, 0.1, 0.2})["threshold"], 0.5);
}

TEST(ReportFilesTest, WritesBothFormats) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "abis_eval_report_test";
  std::filesystem::create_directories(dir);
  const EvaluationReport report = FullReport();
  const std::string json_path = (dir / "report.json").string();
  const std::string html_path = (dir / "report.html").string();
  ASSERT_TRUE(WriteJsonReport(report, json_path).ok());
  ASSERT_TRUE(WriteHtmlReport(report, html_path).ok());

  std::ifstream json_file(json_path);
  const json document = json::parse(json_file);
  EXPECT_EQ(document["format"], "abis.eval.report");
  std::ifstream html_file(html_path);
  std::stringstream html;
  html << html_file.rdbuf();
  EXPECT_EQ(html.str(), RenderHtmlReport(report));

  EXPECT_EQ(WriteHtmlReport(report, (dir / "missing" / "r.html").string()).code(),
            StatusCode::kUnavailable);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace abis::eval
