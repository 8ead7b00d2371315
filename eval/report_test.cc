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
  EXPECT_EQ(Count(html, "<svg"), 4u);  // DET, histogram, CMC, open-set.
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
  ASSERT_EQ(blocks.size(), 5u);
  for (const std::string id :
       {"det-data", "histogram-data", "cmc-data", "open-set-data", "report-data"}) {
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
