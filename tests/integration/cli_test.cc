// The command-line contract, driven as a user or script would drive it.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "testing/scratch_dir.h"
#include "tests/integration/test_photos.h"

namespace abis {
namespace {

namespace fs = std::filesystem;

using CliRun = testing::CommandRun;

CliRun Abis(const std::string& arguments) {
  return testing::RunCommand(std::string(ABIS_CLI_PATH) + " " + arguments + " 2>/dev/null");
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    dir_ = fs::temp_directory_path() / ("abis_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    flags_ = " --db " + (dir_ / "test.db").string() + " --models " + testing::ModelDir();
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }

  // Four "identities" made from single-face crops, two photos each (the
  // second a mirrored copy), under dir_/set: 4 genuine and 24 impostor
  // pairs.
  void WriteFaceSet() {
    for (int k : {2, 3, 5, 6}) {
      std::string photo = testing::SamplePhotoPath(k);
      CliRun faces = Abis("faces --json " + photo + flags_);
      nlohmann::json best;
      nlohmann::json listed = nlohmann::json::parse(faces.output);
      for (const auto& face : listed["faces"]) {
        if (best.is_null() || face["quality"]["score"] > best["quality"]["score"]) best = face;
      }
      auto face = best["box"];
      auto crop = testing::CropAround(testing::ReadBytes(photo), face["x"], face["y"],
                                      face["width"], face["height"]);
      Write("set/s" + std::to_string(k) + "/1.jpg", crop);
      cv::Mat mirrored;
      cv::flip(testing::DecodeBgr(crop), mirrored, 1);
      Write("set/s" + std::to_string(k) + "/2.jpg", testing::EncodeJpeg(mirrored));
    }
  }

  fs::path dir_;
  std::string flags_;
};

TEST_F(CliTest, EnrolIdentifyVerifyAndDeleteThroughJson) {
  if (!fs::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "sample photos missing";
  std::string photo = testing::SamplePhotoPath(2);
  CliRun enrol = Abis("enroll --json -g people -i alice " + photo + flags_);
  ASSERT_EQ(enrol.exit_code, 0) << enrol.output;
  auto enrolled = nlohmann::json::parse(enrol.output);
  EXPECT_EQ(enrolled["enrolled"], 1);
  EXPECT_EQ(enrolled["results"][0]["source_sha256"].get<std::string>().size(), 64u);

  CliRun identify = Abis("identify --json -g people " + photo + flags_);
  ASSERT_EQ(identify.exit_code, 0) << identify.output;
  auto candidates = nlohmann::json::parse(identify.output)["candidates"];
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0]["identity"], "alice");
  EXPECT_EQ(candidates[0]["rank"], 1);
  EXPECT_GT(candidates[0]["score"].get<double>(), 0.99);
  EXPECT_FALSE(nlohmann::json::parse(identify.output).contains("match"));

  CliRun verify = Abis("verify --json -g people -i alice " + photo + flags_);
  ASSERT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_TRUE(nlohmann::json::parse(verify.output)["meets_threshold"].get<bool>());

  CliRun table = Abis("identify -g people " + photo + flags_);
  EXPECT_NE(table.output.find("rank"), std::string::npos);
  EXPECT_NE(table.output.find("alice"), std::string::npos);

  CliRun list = Abis("gallery list --json" + flags_);
  auto galleries = nlohmann::json::parse(list.output)["galleries"];
  ASSERT_EQ(galleries.size(), 1u);
  EXPECT_EQ(galleries[0]["references"], 1);
  EXPECT_EQ(Abis("gallery delete people" + flags_).exit_code, 0);
  CliRun gone = Abis("identify --json -g people " + photo + flags_);
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(gone.output)["error"]["code"], "not_found");
}

TEST_F(CliTest, BadFilesGiveErrorsAndKeepTheRest) {
  if (!fs::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "sample photos missing";
  Write("bulk/bob/1.jpg", testing::ReadBytes(testing::SamplePhotoPath(2)));
  Write("bulk/carol/1.jpg", {});
  Write("bulk/dave/1.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  CliRun bulk = Abis("enroll --json -g bulk " + (dir_ / "bulk").string() + flags_);
  EXPECT_EQ(bulk.exit_code, 1);
  auto report = nlohmann::json::parse(bulk.output);
  EXPECT_EQ(report["enrolled"], 1);
  EXPECT_EQ(report["failed"], 2);
  for (const auto& result : report["results"]) {
    if (result["identity"] != "bob") {
      EXPECT_EQ(result["error"]["code"], "invalid_argument") << result.dump();
    }
  }
  CliRun missing = Abis("identify --json -g bulk " + (dir_ / "nope.jpg").string() + flags_);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(missing.output)["error"]["code"], "not_found");
}

TEST_F(CliTest, EvalPrintsTheContractFields) {
  if (!fs::exists(testing::SamplePhotoPath(1))) GTEST_SKIP() << "sample photos missing";
  WriteFaceSet();  // Enough to exercise every field.
  std::string json_path = (dir_ / "eval.json").string();
  CliRun eval = Abis("eval " + (dir_ / "set").string() + " --modality face --json " + json_path +
                     " --report " + (dir_ / "eval.html").string() + flags_);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  std::ifstream in(json_path);
  auto result = nlohmann::json::parse(in);
  for (const char* key : {"fte", "rank1", "eer", "fnmr_at_fmr", "genuine_pairs", "impostor_pairs",
                          "identities", "images"}) {
    EXPECT_TRUE(result.contains(key)) << key;
  }
  EXPECT_EQ(result["identities"], 4);
  EXPECT_EQ(result["images"], 8);
  EXPECT_EQ(result["genuine_pairs"], 4);
  EXPECT_EQ(result["impostor_pairs"], 24);
  EXPECT_TRUE(result["fnmr_at_fmr"].contains("0.001"));
  EXPECT_DOUBLE_EQ(result["rank1"].get<double>(), 1.0);
  EXPECT_EQ(result["impostor_sampling"]["sampled"], false);
  EXPECT_EQ(result["impostor_sampling"]["possible_pairs"], 24);
  EXPECT_EQ(result["impostor_sampling"]["compared_pairs"], 24);
  EXPECT_TRUE(fs::exists(dir_ / "eval.html"));
}

TEST_F(CliTest, EvalSamplesImpostorPairsAboveTheCapWithTheStatedSeed) {
  if (!fs::exists(testing::SamplePhotoPath(1))) GTEST_SKIP() << "sample photos missing";
  WriteFaceSet();
  auto run = [&](const std::string& name, int seed) {
    const std::string json_path = (dir_ / (name + ".json")).string();
    const std::string scores_path = (dir_ / (name + ".csv")).string();
    CliRun eval = Abis("eval " + (dir_ / "set").string() +
                       " --modality face --bootstrap 0 --max-impostor-pairs 10 --seed " +
                       std::to_string(seed) + " --json " + json_path + " --scores " + scores_path +
                       " --report " + (dir_ / (name + ".html")).string() + flags_);
    EXPECT_EQ(eval.exit_code, 0) << eval.output;
    std::ifstream csv(scores_path);
    std::stringstream rows;
    rows << csv.rdbuf();
    return std::make_pair(nlohmann::json::parse(std::ifstream(json_path)), rows.str());
  };
  const auto [result, scores] = run("a", 7);
  EXPECT_EQ(result["genuine_pairs"], 4);  // Every genuine pair is kept.
  EXPECT_EQ(result["impostor_pairs"], 10);
  const nlohmann::json& sampling = result["impostor_sampling"];
  EXPECT_EQ(sampling["sampled"], true);
  EXPECT_EQ(sampling["possible_pairs"], 24);
  EXPECT_EQ(sampling["compared_pairs"], 10);
  EXPECT_EQ(sampling["max_pairs"], 10);
  EXPECT_EQ(sampling["seed"], 7);
  EXPECT_EQ(result["report"]["verification"]["impostor_count"], 10);
  EXPECT_EQ(result["report"]["impostor_sampling"], sampling);
  // The score file holds the 14 pairs compared.
  EXPECT_EQ(std::count(scores.begin(), scores.end(), '\n'), 1 + 14);
  std::ifstream html(dir_ / "a.html");
  std::stringstream page;
  page << html.rdbuf();
  EXPECT_NE(page.str().find("10 of the 24 impostor pairs"), std::string::npos);

  // The same seed draws the same pairs; another seed, others.
  EXPECT_EQ(run("b", 7).second, scores);
  const auto [other, other_scores] = run("c", 8);
  EXPECT_EQ(other["impostor_pairs"], 10);
  EXPECT_NE(other_scores, scores);

  CliRun bad = Abis("eval " + (dir_ / "set").string() + " --max-impostor-pairs 0" + flags_);
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(CliTest, FingerEnrolIdentifyAndEvalWithScoreFile) {
  const fs::path prints = fs::path(ABIS_SHARED_DATA_DIR) / "fingerprints";
  if (!fs::exists(prints)) GTEST_SKIP() << "../shared/data/fingerprints not found";
  // Three fingers of FVC2002 DB1 (500 ppi), three impressions each, under
  // FVC names so eval takes the database's resolution.
  for (const char* finger : {"fvc2002_db1_101", "fvc2002_db1_102", "fvc2002_db1_103"}) {
    for (int k = 1; k <= 3; ++k) {
      const std::string name = std::to_string(k) + ".png";
      Write(std::string("fingers/") + finger + "/" + name,
            testing::ReadBytes((prints / finger / name).string()));
    }
  }
  const std::string set = (dir_ / "fingers").string();
  CliRun no_ppi =
      Abis("enroll --json -g f -i a --modality finger " + set + "/fvc2002_db1_101/1.png" + flags_);
  EXPECT_NE(no_ppi.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(no_ppi.output)["results"][0]["error"]["code"],
            "invalid_argument");
  CliRun face_flags =
      Abis("identify --json -g f --ppi 500 " + set + "/fvc2002_db1_101/2.png" + flags_);
  EXPECT_EQ(nlohmann::json::parse(face_flags.output)["error"]["code"], "invalid_argument");

  CliRun enrolled = Abis(
      "enroll --json -g f --modality finger --ppi 500 --finger-position "
      "right-index -i a " +
      set + "/fvc2002_db1_101/1.png" + flags_);
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  auto enrolment = nlohmann::json::parse(enrolled.output);
  EXPECT_EQ(enrolment["algorithm"]["algorithm"], "finger/abis-mcc-v1");
  EXPECT_EQ(enrolment["results"][0]["finger"]["position"], 2);
  CliRun searched = Abis("identify --json -g f --modality finger --ppi 500 " + set +
                         "/fvc2002_db1_101/2.png" + flags_);
  ASSERT_EQ(searched.exit_code, 0) << searched.output;
  auto candidates = nlohmann::json::parse(searched.output);
  EXPECT_EQ(candidates["modality"], "finger");
  ASSERT_EQ(candidates["candidates"].size(), 1u);
  EXPECT_EQ(candidates["candidates"][0]["identity"], "a");
  EXPECT_FALSE(candidates["candidates"][0]["fmr"].is_null());

  const std::string scores = (dir_ / "scores.csv").string();
  const std::string json_path = (dir_ / "eval-fingers.json").string();
  CliRun eval = Abis("eval " + set + " --modality finger --bootstrap 0 --json " + json_path +
                     " --scores " + scores + flags_);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto result = nlohmann::json::parse(std::ifstream(json_path));
  EXPECT_EQ(result["modality"], "finger");
  EXPECT_EQ(result["identities"], 3);
  const int extracted = 9 - static_cast<int>(result["failures"].size());
  std::ifstream csv(scores);
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line, "file_a,identity_a,file_b,identity_b,genuine,score");
  int rows = 0, genuine = 0;
  while (std::getline(csv, line)) {
    ++rows;
    if (line.find(",1,") != std::string::npos) ++genuine;
  }
  EXPECT_EQ(rows, extracted * (extracted - 1) / 2);
  EXPECT_EQ(genuine, result["genuine_pairs"].get<int>());
  EXPECT_EQ(rows - genuine, result["impostor_pairs"].get<int>());
}

}  // namespace
TEST_F(CliTest, IdentifyWithFingerFusesFaceAndFinger) {
  const fs::path data = fs::path(ABIS_SHARED_DATA_DIR);
  if (!fs::exists(data / "fingerprints") || !fs::exists(data / "faces")) {
    GTEST_SKIP() << "../shared/data not found";
  }
  auto face = [&](const std::string& person, int k) {
    return (data / "faces" / person / (std::to_string(k) + ".png")).string();
  };
  auto print = [&](const std::string& finger, int k) {
    return (data / "fingerprints" / finger / (std::to_string(k) + ".png")).string();
  };
  for (const auto& [person, finger] :
       {std::pair{"att_s05", "fvc2002_db2_101"}, std::pair{"att_s06", "fvc2002_db2_102"}}) {
    ASSERT_EQ(
        Abis("enroll -g m -i " + std::string(person) + " " + face(person, 1) + flags_).exit_code,
        0);
    ASSERT_EQ(Abis("enroll -g m -i " + std::string(person) + " --modality finger --ppi 500 " +
                   print(finger, 1) + flags_)
                  .exit_code,
              0);
  }
  CliRun fused = Abis("identify --json -g m -k 2 " + face("att_s06", 2) + " --with-finger " +
                      print("fvc2002_db2_102", 2) + " --ppi 500" + flags_);
  ASSERT_EQ(fused.exit_code, 0) << fused.output;
  auto result = nlohmann::json::parse(fused.output);
  EXPECT_EQ(result["gallery_identities"], 2);
  ASSERT_EQ(result["probes"].size(), 2u);
  EXPECT_EQ(result["probes"][0]["modality"], "face");
  EXPECT_EQ(result["probes"][1]["modality"], "finger");
  ASSERT_FALSE(result["candidates"].empty());
  const auto& first = result["candidates"][0];
  EXPECT_EQ(first["identity"], "att_s06");
  ASSERT_EQ(first["per_probe"].size(), 2u);
  EXPECT_EQ(first["per_probe"][1]["identity"], "att_s06");
  EXPECT_GT(first["evidence"].get<double>(), 0);
  EXPECT_TRUE(result.contains("fusion_rule"));

  // The main image must be a face; the finger image needs its resolution.
  CliRun finger_first =
      Abis("identify --json -g m --modality finger --ppi 500 " + print("fvc2002_db2_102", 2) +
           " --with-finger " + print("fvc2002_db2_102", 3) + flags_);
  EXPECT_NE(finger_first.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(finger_first.output)["error"]["code"], "invalid_argument");
  CliRun no_ppi = Abis("identify --json -g m " + face("att_s06", 2) + " --with-finger " +
                       print("fvc2002_db2_102", 2) + flags_);
  EXPECT_NE(no_ppi.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(no_ppi.output)["error"]["code"], "invalid_argument");
}

}  // namespace abis
