// Fingerprints over real HTTP: an in-process server on a free loopback port
// enrols FVC prints from ../shared/data/fingerprints (skipped when absent)
// under one identity per finger, in both request encodings (base64 JSON and
// multipart), then runs governed 1:N searches (authority and case, with
// "finger" in the authority's modalities), 1:1 verifications, a SIMULATED
// contactless fingertip photo against the contact enrolments, and the 400s
// for bad modality and finger fields. One server per test process (ctest
// runs each case as its own process).

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sodium.h>

#include "finger/contactless_simulation.h"
#include "governance/governance_types.h"
#include "server/http_server.h"
#include "src/testing/scratch_dir.h"
#include "tests/integration/http_test_support.h"
#include "tests/integration/test_photos.h"

namespace abis::server {
namespace {

using nlohmann::json;
using testing_http::AsString;
using testing_http::Auth;
using testing_http::Base64;
using testing_http::ErrorOf;
using testing_http::JsonOf;
using testing_http::TestServer;

constexpr char kGallery[] = "prints";
constexpr char kCase[] = "case-finger-1";
// FVC2002 DB1 is scanned at 500 ppi.
const std::vector<std::string> kFingers = {"fvc2002_db1_101", "fvc2002_db1_102", "fvc2002_db1_103",
                                           "fvc2002_db1_104", "fvc2002_db1_105"};

std::string FingerprintsDir() {
  const std::string dir = ABIS_SHARED_DATA_DIR "/fingerprints";
  return std::filesystem::exists(dir + "/" + kFingers[0]) ? dir : "";
}

// Impression `k` (1-based) of an FVC finger folder.
std::vector<std::uint8_t> Print(const std::string& finger, int k) {
  return testing::ReadBytes(FingerprintsDir() + "/" + finger + "/" + std::to_string(k) + ".png");
}

std::string Identity(const std::string& finger) { return "finger-" + finger.substr(12); }

class FingerHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::FaceModelAvailable() || FingerprintsDir().empty()) return;
    scratch_ = new testing::ScratchDir("finger_http");
    server_ = TestServer::Start(0, {}, scratch_->path()).release();
    ASSERT_NE(server_, nullptr);
    auto client = Client();
    const std::string bootstrap = server_->server().bootstrap_token();
    for (const char* role : {"operator", "supervisor", "authoriser"}) {
      json body = {{"name", std::string(role) + "-1"}, {"role", role}};
      tokens_[role] =
          JsonOf(client->Post("/v1/tokens", Auth(bootstrap), body.dump(), "application/json"), 201)
              .value("token", "");
    }
    // Impression 1 of each finger as base64 JSON (position as a number),
    // impression 2 as a multipart upload (position as a name): two
    // references per identity.
    for (const std::string& finger : kFingers) {
      json enrol = {{"gallery", kGallery},
                    {"identity", Identity(finger)},
                    {"image", Base64(Print(finger, 1))},
                    {"modality", "finger"},
                    {"finger_position", 2},
                    {"ppi", 500}};
      json enrolled = JsonOf(client->Post("/v1/enrolments", Auth(tokens_["operator"]), enrol.dump(),
                                          "application/json"),
                             201);
      enrolments_.push_back(enrolled);
      httplib::MultipartFormDataItems form = {
          {"gallery", kGallery, "", ""},
          {"identity", Identity(finger), "", ""},
          {"modality", "finger", "", ""},
          {"finger_position", "right-index", "", ""},
          {"ppi", "500", "", ""},
          {"image", AsString(Print(finger, 2)), "2.png", "image/png"}};
      enrolments_.push_back(
          JsonOf(client->Post("/v1/enrolments", Auth(tokens_["operator"]), form), 201));
    }
    json registration = testing_http::ConsentedGalleryRegistration(kGallery);
    JsonOf(client->Post("/v1/galleries/registrations", Auth(tokens_["supervisor"]),
                        registration.dump(), "application/json"),
           201);
    finger_authority_ = IssueAuthority(*client, {"finger"});
    face_only_authority_ = IssueAuthority(*client, {"face"});
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete scratch_;
    scratch_ = nullptr;
    tokens_.clear();
    enrolments_.clear();
  }

  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    if (FingerprintsDir().empty()) GTEST_SKIP() << "../shared/data/fingerprints not found";
    ASSERT_NE(server_, nullptr);
    client_ = Client();
  }

  static std::unique_ptr<httplib::Client> Client() { return server_->Client(); }

  static std::string IssueAuthority(httplib::Client& client,
                                    const std::vector<std::string>& modalities) {
    json authority =
        testing_http::ConsentAuthority("consent-finger", {kGallery}, modalities, kCase, 100);
    return JsonOf(client.Post("/v1/authorities", Auth(tokens_["authoriser"]), authority.dump(),
                              "application/json"),
                  201)
        .value("id", "");
  }

  httplib::Result PostJson(const std::string& path, const json& body) {
    return client_->Post(path.c_str(), Auth(tokens_["operator"]), body.dump(), "application/json");
  }

  // A governed finger search body (JSON) for `image`.
  static json Search(const std::vector<std::uint8_t>& image, const std::string& authority = "") {
    return {{"authority_id", authority.empty() ? finger_authority_ : authority},
            {"galleries", {kGallery}},
            {"case_id", kCase},
            {"modality", "finger"},
            {"ppi", 500},
            {"image", Base64(image)}};
  }

  static json Verification(const std::string& identity, const std::vector<std::uint8_t>& image) {
    return {{"gallery", kGallery},
            {"identity", identity},
            {"encounter_reference", "encounter-finger-1"},
            {"legal_basis", kDefaultLegalBasis},
            {"modality", "finger"},
            {"ppi", 500},
            {"image", Base64(image)}};
  }

  static void ExpectFingerCandidates(const json& found) {
    EXPECT_EQ(found.value("modality", ""), "finger") << found.dump();
    EXPECT_TRUE(found["faces"].is_array() && found["faces"].empty()) << found.dump();
    EXPECT_TRUE(found["searched_face"].is_null());
    ASSERT_TRUE(found.contains("finger")) << found.dump();
    EXPECT_GE(found["finger"].value("minutiae", 0), 12);
    EXPECT_EQ(found.value("gallery_identities", 0), static_cast<int>(kFingers.size()));
    EXPECT_NE(found.value("algorithm", "").find("finger"), std::string::npos) << found.dump();
    EXPECT_NE(found.value("calibration_card", "").find("finger"), std::string::npos)
        << found.dump();
    ASSERT_FALSE(found["candidates"].empty()) << found.dump();
    double previous_score = 2;
    for (const json& candidate : found["candidates"]) {
      EXPECT_LE(candidate["score"].get<double>(), previous_score);
      previous_score = candidate["score"].get<double>();
      ASSERT_TRUE(candidate["fmr"].is_number()) << candidate.dump();
      EXPECT_GT(candidate["fmr"].get<double>(), 0.0);
      EXPECT_LE(candidate["fmr"].get<double>(), 1.0);
      EXPECT_TRUE(candidate["expected_false_candidates"].is_number()) << candidate.dump();
      EXPECT_EQ(candidate.value("finger_position", 0), 2) << candidate.dump();
    }
  }

  static testing::ScratchDir* scratch_;
  static TestServer* server_;
  static std::map<std::string, std::string> tokens_;
  static std::vector<json> enrolments_;
  static std::string finger_authority_;
  static std::string face_only_authority_;
  std::unique_ptr<httplib::Client> client_;
};

testing::ScratchDir* FingerHttpTest::scratch_ = nullptr;
TestServer* FingerHttpTest::server_ = nullptr;
std::map<std::string, std::string> FingerHttpTest::tokens_;
std::vector<json> FingerHttpTest::enrolments_;
std::string FingerHttpTest::finger_authority_;
std::string FingerHttpTest::face_only_authority_;

TEST_F(FingerHttpTest, EnrolsIdentifiesAndVerifiesContactPrints) {
  ASSERT_EQ(enrolments_.size(), 2 * kFingers.size());
  for (const json& enrolled : enrolments_) {
    EXPECT_EQ(enrolled.value("modality", ""), "finger") << enrolled.dump();
    EXPECT_FALSE(enrolled.contains("face")) << enrolled.dump();
    ASSERT_TRUE(enrolled.contains("finger")) << enrolled.dump();
    EXPECT_EQ(enrolled["finger"].value("capture", ""), "contact");
    EXPECT_EQ(enrolled["finger"].value("position", 0), 2);
    EXPECT_GE(enrolled["finger"].value("minutiae", 0), 12);
    EXPECT_GT(enrolled.value("reference_id", 0), 0);
    EXPECT_NE(enrolled["algorithm"].value("algorithm", "").find("finger"), std::string::npos);
  }

  // 1:N, multipart: another impression of finger 103 finds its identity at rank 1.
  httplib::MultipartFormDataItems form = {
      {"authority_id", finger_authority_, "", ""},
      {"galleries", kGallery, "", ""},
      {"case_id", kCase, "", ""},
      {"modality", "finger", "", ""},
      {"finger_position", "2", "", ""},
      {"ppi", "500", "", ""},
      {"max_candidates", "5", "", ""},
      {"image", AsString(Print(kFingers[2], 4)), "4.png", "image/png"}};
  json found = JsonOf(client_->Post("/v1/identifications", Auth(tokens_["operator"]), form), 200);
  ExpectFingerCandidates(found);
  EXPECT_EQ(found["candidates"][0]["rank"], 1);
  EXPECT_EQ(found["candidates"][0]["identity"], Identity(kFingers[2])) << found.dump();
  EXPECT_EQ(found["finger"].value("position", 0), 2);
  EXPECT_FALSE(found.value("search_id", "").empty());

  // 1:N, base64 JSON, position unknown: finger 101 at rank 1, the mate's
  // calibrated FMR below every other candidate's.
  json json_search = JsonOf(PostJson("/v1/identifications", Search(Print(kFingers[0], 5))), 200);
  ExpectFingerCandidates(json_search);
  ASSERT_GE(json_search["candidates"].size(), 2u);
  EXPECT_EQ(json_search["candidates"][0]["identity"], Identity(kFingers[0])) << json_search.dump();
  EXPECT_LT(json_search["candidates"][0]["fmr"].get<double>(),
            json_search["candidates"][1]["fmr"].get<double>());

  // An authority for faces only does not cover a finger search.
  json refused =
      ErrorOf(PostJson("/v1/identifications", Search(Print(kFingers[0], 5), face_only_authority_)),
              403, "permission_denied");
  EXPECT_EQ(refused["details"].value("reason", ""), "authority_scope_modality") << refused.dump();

  // 1:1: the mate meets the finger threshold (FMR 1e-4 operating point), an
  // impostor scores lower.
  json mate = JsonOf(
      PostJson("/v1/verifications", Verification(Identity(kFingers[1]), Print(kFingers[1], 3))),
      200);
  EXPECT_EQ(mate.value("modality", ""), "finger") << mate.dump();
  ASSERT_TRUE(mate.contains("finger")) << mate.dump();
  EXPECT_FALSE(mate.contains("face"));
  EXPECT_EQ(mate["meets_threshold"], true) << mate.dump();
  ASSERT_TRUE(mate["fmr"].is_number()) << mate.dump();
  EXPECT_LE(mate["fmr"].get<double>(), 1e-4);
  EXPECT_NE(mate["algorithm"].value("algorithm", "").find("finger"), std::string::npos);
  json impostor = JsonOf(
      PostJson("/v1/verifications", Verification(Identity(kFingers[1]), Print(kFingers[3], 3))),
      200);
  EXPECT_LT(impostor["score"].get<double>(), mate["score"].get<double>());
  EXPECT_EQ(impostor["meets_threshold"], false) << impostor.dump();

  // Multipart verification, naming another finger of the person: no reference to compare.
  httplib::MultipartFormDataItems other_finger = {
      {"gallery", kGallery, "", ""},
      {"identity", Identity(kFingers[1]), "", ""},
      {"encounter_reference", "encounter-finger-2", "", ""},
      {"legal_basis", kDefaultLegalBasis, "", ""},
      {"modality", "finger", "", ""},
      {"finger_position", "left-thumb", "", ""},
      {"ppi", "500", "", ""},
      {"image", AsString(Print(kFingers[1], 3)), "3.png", "image/png"}};
  ErrorOf(client_->Post("/v1/verifications", Auth(tokens_["operator"]), other_finger), 404,
          "not_found");
}

TEST_F(FingerHttpTest, ContactlessPhotoIsSearchedWithoutPpi) {
  // A SIMULATED fingertip photo of impression 3 of finger 104.
  cv::Mat contact = cv::imdecode(Print(kFingers[3], 3), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(contact.empty());
  auto photo = finger::SimulateContactlessPhoto(contact, 7);
  ASSERT_TRUE(photo.ok()) << photo.status().ToString();
  std::vector<std::uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", photo->bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92}));
  json search = Search(jpeg);
  search.erase("ppi");
  search["contactless"] = true;
  json found = JsonOf(PostJson("/v1/identifications", search), 200);
  EXPECT_EQ(found.value("modality", ""), "finger") << found.dump();
  ASSERT_TRUE(found.contains("finger")) << found.dump();
  EXPECT_EQ(found["finger"].value("capture", ""), "contactless");
  // Every identity is listed (5 < max_candidates) with a calibrated FMR, the
  // mate first (simulated contactless vs contact: EER 3.93%, README).
  EXPECT_EQ(found["candidates"].size(), kFingers.size()) << found.dump();
  ASSERT_FALSE(found["candidates"].empty());
  EXPECT_EQ(found["candidates"][0]["identity"], Identity(kFingers[3])) << found.dump();
  bool mate_listed = false;
  for (const json& candidate : found["candidates"]) {
    EXPECT_TRUE(candidate["fmr"].is_number()) << candidate.dump();
    if (candidate["identity"] == Identity(kFingers[3])) mate_listed = true;
  }
  EXPECT_TRUE(mate_listed) << found.dump();
}

TEST_F(FingerHttpTest, BadModalityAndFingerFieldsAre400) {
  const std::vector<std::uint8_t> print = Print(kFingers[0], 6);
  const json enrol = {{"gallery", kGallery},
                      {"identity", "bad"},
                      {"image", Base64(print)},
                      {"modality", "finger"},
                      {"ppi", 500}};
  const json search = Search(print);
  const json verify = Verification(Identity(kFingers[0]), print);
  for (const auto& [path, valid] :
       std::vector<std::pair<std::string, json>>{{"/v1/enrolments", enrol},
                                                 {"/v1/identifications", search},
                                                 {"/v1/verifications", verify}}) {
    SCOPED_TRACE(path);
    json body = valid;
    body["modality"] = "iris";
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "modality");
    body = valid;
    body.erase("ppi");
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "ppi");
    body = valid;
    body["ppi"] = -500;
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "ppi");
    body = valid;
    body["finger_position"] = "right-pinky";
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "finger_position");
    body = valid;
    body["finger_position"] = 11;
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "finger_position");
    body = valid;
    body["contactless"] = "maybe";
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "contactless");
    body = valid;
    body.erase("modality");  // A face capture with finger fields.
    ErrorOf(PostJson(path, body), 400, "invalid_argument", "ppi");
  }
  // The same rules for multipart text parts.
  httplib::MultipartFormDataItems no_ppi = {{"gallery", kGallery, "", ""},
                                            {"identity", "bad", "", ""},
                                            {"modality", "finger", "", ""},
                                            {"image", AsString(print), "6.png", "image/png"}};
  ErrorOf(client_->Post("/v1/enrolments", Auth(tokens_["operator"]), no_ppi), 400,
          "invalid_argument", "ppi");
  httplib::MultipartFormDataItems iris = {{"gallery", kGallery, "", ""},
                                          {"identity", "bad", "", ""},
                                          {"modality", "iris", "", ""},
                                          {"image", AsString(print), "6.png", "image/png"}};
  ErrorOf(client_->Post("/v1/enrolments", Auth(tokens_["operator"]), iris), 400, "invalid_argument",
          "modality");
  // A face index means nothing for a print.
  json indexed = search;
  indexed["face_index"] = 0;
  ErrorOf(PostJson("/v1/identifications", indexed), 400, "invalid_argument", "face_index");
  // Nothing was enrolled by the refused requests.
  auto listed = client_->Get(("/v1/identities?gallery=" + std::string(kGallery) +
                              "&authority_id=" + finger_authority_ + "&case_id=" + kCase)
                                 .c_str(),
                             Auth(tokens_["supervisor"]));
  ASSERT_TRUE(listed);
  if (listed->status == 200) {
    json identities = json::parse(listed->body, nullptr, false);
    for (const json& identity : identities.value("identities", json::array())) {
      EXPECT_NE(identity, "bad");
    }
  }
}

}  // namespace
}  // namespace abis::server
