// Calibration at run time, end to end: the engine attaches FMR and expected
// false candidates from a model card of its own model and refuses a card of
// another model; `abis eval` takes a manifest CSV, reports demographic
// differentials for its group column and writes a model card.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "abis/engine.h"

#include "eval/calibration.h"
#include "tests/integration/test_photos.h"

namespace abis {
namespace {

namespace fs = std::filesystem;

std::string FacePhoto(const std::string& identity, int number) {
  return testing::SharedFacesDir() + "/" + identity + "/" + std::to_string(number) + ".png";
}

class CalibrationIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    if (testing::SharedFacesDir().empty()) GTEST_SKIP() << "../shared/data/faces missing";
    dir_ = fs::temp_directory_path() / ("abis_calibration_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string WriteCard(const std::string& name, const std::string& model_digest) {
    eval::ModelCard card;
    card.modality = "face";
    card.algorithm = "face/dlib-resnet-v1";
    card.model_digest = model_digest;
    card.created = "2026-11-27";
    card.calibration =
        *eval::FmrCalibration::Fit(std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5}, 0.0);
    std::string path = (dir_ / name).string();
    EXPECT_TRUE(eval::WriteModelCard(card, path).ok());
    return path;
  }

  fs::path dir_;
};

TEST_F(CalibrationIntegrationTest, CandidatesCarryFmrOnlyFromACardOfTheLoadedModel) {
  EngineOptions options;
  options.database_path = ":memory:";
  options.model_dir = testing::ModelDir();
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::string digest = (*engine)->face_algorithm().model_digest;

  std::string own = WriteCard("own.json", digest);
  ASSERT_TRUE((*engine)->LoadCalibration(own).ok());
  EXPECT_EQ((*engine)->face_algorithm().calibration_card, own);

  std::string other = WriteCard("other.json", std::string(64, '0'));
  Status refused = (*engine)->LoadCalibration(other);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_EQ((*engine)->face_algorithm().calibration_card, own);  // Kept, not mixed.
  EXPECT_EQ((*engine)->LoadCalibration((dir_ / "missing.json").string()).code(),
            StatusCode::kNotFound);

  for (const std::string identity : {"att_s01", "att_s02", "att_s03"}) {
    auto enrolled = (*engine)->Enrol(
        {"g", identity, testing::ReadBytes(FacePhoto(identity, 1)), Modality::kFace, true});
    ASSERT_TRUE(enrolled.ok()) << enrolled.status().ToString();
  }
  IdentificationRequest request;
  request.gallery = "g";
  request.image = testing::ReadBytes(FacePhoto("att_s01", 2));
  auto result = (*engine)->Identify(request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->candidates.size(), 3u);
  for (const Candidate& candidate : result->candidates) {
    ASSERT_TRUE(candidate.fmr.has_value());
    ASSERT_TRUE(candidate.expected_false_candidates.has_value());
    EXPECT_GT(*candidate.fmr, 0.0);
    EXPECT_DOUBLE_EQ(*candidate.expected_false_candidates, 3.0 * *candidate.fmr);
  }
  // The mate scores above every impostor score of the card: a bound of 1/5.
  const Candidate& top = result->candidates[0];
  EXPECT_EQ(top.identity, "att_s01");
  EXPECT_TRUE(top.fmr_is_upper_bound);
  EXPECT_DOUBLE_EQ(*top.fmr, 0.2);
}

int RunAbis(const std::string& arguments) {
  std::string command = std::string(ABIS_CLI_PATH) + " " + arguments + " >/dev/null 2>&1";
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(CalibrationIntegrationTest, EvalOfAManifestReportsGroupsAndWritesAModelCard) {
  std::ofstream manifest(dir_ / "manifest.csv");
  manifest << "identity,path,group\n";
  for (const std::string identity : {"att_s01", "att_s02", "att_s03", "att_s04"}) {
    std::string group = identity < std::string("att_s03") ? "G1" : "\"G 2\"";
    for (int number = 1; number <= 3; ++number) {
      manifest << identity << ",\"" << FacePhoto(identity, number) << "\"," << group << "\n";
    }
  }
  manifest.close();
  std::string json_path = (dir_ / "eval.json").string();
  std::string card_path = (dir_ / "card.json").string();
  ASSERT_EQ(RunAbis("eval " + (dir_ / "manifest.csv").string() + " --bootstrap 0 --models " +
                    testing::ModelDir() + " --json " + json_path + " --model-card " + card_path),
            0);
  std::ifstream json_file(json_path);
  nlohmann::json document = nlohmann::json::parse(json_file);
  EXPECT_EQ(document["identities"], 4);
  EXPECT_EQ(document["images"], 12);
  ASSERT_TRUE(document.contains("demographics"));
  const nlohmann::json& groups = document["demographics"]["columns"]["group"]["groups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["group"], "G 2");
  EXPECT_EQ(groups[1]["group"], "G1");
  EXPECT_EQ(groups[1]["genuine_count"], 6);  // 2 identities x 3 pairs.

  auto card = eval::ReadModelCard(card_path);
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card->dataset.images, 12);
  EXPECT_EQ(card->dataset.impostor_pairs, 66 - 12);
  EXPECT_EQ(card->calibration.impostor_count(), 54);

  std::ofstream bad(dir_ / "bad.csv");
  bad << "path,group\nx.png,G1\n";
  bad.close();
  EXPECT_NE(RunAbis("eval --manifest " + (dir_ / "bad.csv").string() + " --models " +
                    testing::ModelDir()),
            0);
}

}  // namespace
}  // namespace abis
