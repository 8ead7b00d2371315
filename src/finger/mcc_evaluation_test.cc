#include "finger/mcc_evaluation.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace abis::finger {
namespace {

TEST(EvaluationMathTest, EqualErrorRateAndFnmr) {
  // Perfect separation.
  EXPECT_DOUBLE_EQ(EqualErrorRate({0.8f, 0.9f}, {0.1f, 0.2f}), 0.0);
  // Identical distributions cross at 50 %.
  EXPECT_NEAR(EqualErrorRate({0.1f, 0.2f, 0.3f, 0.4f}, {0.1f, 0.2f, 0.3f, 0.4f}), 0.5, 0.13);
  // One impostor of 4 above one genuine of 4: EER 25 %.
  EXPECT_NEAR(EqualErrorRate({0.3f, 0.7f, 0.8f, 0.9f}, {0.1f, 0.2f, 0.25f, 0.5f}), 0.25, 1e-9);
  std::vector<float> impostors(1000);
  for (int i = 0; i < 1000; ++i) impostors[i] = i / 1000.0f;
  // FMR 1e-3 allows the single highest impostor (0.999): threshold just above 0.998.
  EXPECT_DOUBLE_EQ(FnmrAtFmr({0.9985f, 0.5f}, impostors, 1e-3), 0.5);
}

// Cross-extractor accuracy on the shared FVC ISO templates: a loose bound
// (the measured figures are in docs/fingerprint-matching.md).
TEST(MccEvaluationTest, CrossExtractorEerOnSharedTemplates) {
  const std::string shared = ABIS_SHARED_DATA_DIR;
  if (!std::filesystem::is_directory(shared + "/fingerprint_templates")) {
    GTEST_SKIP() << "no shared data at " << shared;
  }
  TemplateEvaluationOptions options;
  options.template_dir = shared + "/fingerprint_templates";
  options.image_dir = shared + "/fingerprints";
  options.pooled_impostors = false;
  Result<TemplateEvaluation> report = EvaluateIsoTemplates(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->databases.size(), 8u);
  for (const DatabaseAccuracy& db : report->databases) {
    EXPECT_EQ(db.templates, 40) << db.name;
    EXPECT_EQ(db.genuine_pairs, 140) << db.name;
    EXPECT_EQ(db.impostor_pairs, 640) << db.name;
    EXPECT_LT(db.eer, 0.30) << db.name;
  }
  EXPECT_LT(report->mean_eer, 0.15);
  EXPECT_LT(report->mean_eer_fvc2002, 0.05);
}

TEST(MccEvaluationTest, MissingFolderIsNotFound) {
  TemplateEvaluationOptions options;
  options.template_dir = "/nonexistent/abis/templates";
  EXPECT_EQ(EvaluateIsoTemplates(options).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace abis::finger
