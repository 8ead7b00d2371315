// The HTTP API end to end over real HTTP on loopback: an in-process server
// on a random free port with a temporary data folder, driven by
// httplib::Client. Covers the bootstrap token, principals and the role
// table for every registered route, enrolment (base64 and multipart),
// identification, verification, the error shape for bad input, limits,
// metrics, and the OpenAPI document against the route table.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <openssl/ssl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_log.h"
#include "governance/governance_types.h"
#include "server/audit_trail.h"
#include "server/http_server.h"
#include "server/tls.h"
#include "tests/integration/http_test_support.h"
#include "tests/integration/test_photos.h"

namespace abis::server {
namespace {

using nlohmann::json;

using testing_http::Auth;
using testing_http::Base64;
using testing_http::ErrorOf;
using testing_http::JsonOf;
using testing_http::MakeTempDir;
using testing_http::TestServer;

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::FaceModelAvailable()) return;
    // The sample photos' face quality (about 29) is below the default
    // identification floor of 40 (docs/governance.md).
    server_ = TestServer::Start(0, {}, "", [](ServerOptions& options) {
                options.governance.probe_quality_floor = 20;
              }).release();
    if (server_ == nullptr) return;
    std::ifstream in(server_->data_dir() + "/bootstrap-token");
    std::getline(in, bootstrap_token_);
    auto client = server_->Client();
    // Every role but admin first: the bootstrap token is revoked once it
    // has created an admin.
    for (Role role : AllRoles()) {
      if (role == Role::kAdmin) continue;
      tokens_[role] =
          IssueToken(*client, bootstrap_token_, std::string(RoleName(role)) + "-1", role);
    }
    tokens_[Role::kAdmin] = IssueToken(*client, bootstrap_token_, "admin-1", Role::kAdmin);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    tokens_.clear();
  }
  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    ASSERT_NE(server_, nullptr);
    client_ = server_->Client();
  }

  static std::string IssueToken(httplib::Client& client, const std::string& admin_token,
                                const std::string& name, Role role) {
    json body = {{"name", name}, {"role", std::string(RoleName(role))}};
    auto result = client.Post("/v1/tokens", Auth(admin_token), body.dump(), "application/json");
    json reply = JsonOf(result, 201);
    if (!reply.is_object() || !reply.contains("token")) return "";
    return reply["token"];
  }

  static std::string Token(Role role) { return tokens_[role]; }

  httplib::Result PostJson(const std::string& path, const json& body, Role role = Role::kOperator) {
    return client_->Post(path.c_str(), Auth(Token(role)), body.dump(), "application/json");
  }

  json Enrol(const std::string& gallery, const std::string& identity, int photo) {
    return JsonOf(
        PostJson("/v1/enrolments",
                 {{"gallery", gallery},
                  {"identity", identity},
                  {"image", Base64(testing::ReadBytes(testing::SamplePhotoPath(photo)))}}),
        201);
  }

  // Every 1:N search names an authority covering its galleries (issue 7,
  // docs/governance.md): registers the request's "gallery" and has the
  // authoriser issue an authority for it (once per gallery), then adds
  // authority_id, galleries and case_id. tests/integration/governance_http_test.cc
  // covers the authority rules themselves.
  json Authorised(json search) {
    static std::map<std::string, std::string> issued;
    std::string gallery = search.value("gallery", "");
    if (!issued.count(gallery)) {
      json registration = testing_http::ConsentedGalleryRegistration(gallery);
      JsonOf(PostJson("/v1/galleries/registrations", registration, Role::kSupervisor), 201);
      json authority =
          testing_http::ConsentAuthority("consent-1", {gallery}, {"face"}, "case-1", 100);
      issued[gallery] =
          JsonOf(PostJson("/v1/authorities", authority, Role::kAuthoriser), 201).value("id", "");
    }
    search["authority_id"] = issued[gallery];
    search["galleries"] = {gallery};
    search["case_id"] = "case-1";
    return search;
  }

  // Listing a gallery is a consultation under an authority (docs/governance.md):
  // the query string for `gallery` with the authority Authorised() issued.
  std::string Consulted(const std::string& gallery) {
    json authorised = Authorised({{"gallery", gallery}});
    return "/v1/identities?gallery=" + gallery +
           "&authority_id=" + authorised.value("authority_id", "") + "&case_id=case-1";
  }

  // A 1:1 verification names an encounter and a listed legal basis; the
  // gallery must be registered (Authorised() registers it).
  json Verifying(json verification) {
    Authorised({{"gallery", verification.value("gallery", "")}});
    verification["encounter_reference"] = "encounter-1";
    verification["legal_basis"] = kDefaultLegalBasis;
    return verification;
  }

  static TestServer* server_;
  static std::string bootstrap_token_;
  static std::map<Role, std::string> tokens_;
  std::unique_ptr<httplib::Client> client_;
};

TestServer* HttpApiTest::server_ = nullptr;
std::string HttpApiTest::bootstrap_token_;
std::map<Role, std::string> HttpApiTest::tokens_;

// A concrete path for a route template, and a body for its method.
std::string ConcretePath(const Route& route) {
  std::string path = route.path;
  std::size_t open = path.find('{');
  if (open != std::string::npos) path.replace(open, path.find('}') - open + 1, "no-such-gallery");
  return path;
}

httplib::Result Call(httplib::Client& client, const Route& route, const httplib::Headers& headers) {
  std::string path = ConcretePath(route);
  if (route.method == "GET") return client.Get(path.c_str(), headers);
  if (route.method == "DELETE") return client.Delete(path.c_str(), headers);
  return client.Post(path.c_str(), headers, "{}", "application/json");
}

TEST_F(HttpApiTest, HealthAndReadinessNeedNoToken) {
  EXPECT_EQ(JsonOf(client_->Get("/healthz"), 200)["status"], "ok");
  EXPECT_EQ(JsonOf(client_->Get("/readyz"), 200)["status"], "ready");
}

TEST_F(HttpApiTest, BootstrapTokenIsPrivateAndRevokedOnceItCreatedAnAdmin) {
  struct stat info {};
  ASSERT_EQ(::stat((server_->data_dir() + "/bootstrap-token").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  EXPECT_EQ(bootstrap_token_.rfind("abis_", 0), 0u);
  for (const auto& [role, token] : tokens_) EXPECT_FALSE(token.empty()) << RoleName(role);
  ErrorOf(client_->Get("/v1/openapi.json", Auth(bootstrap_token_)), 401, "permission_denied");
  // The admin it created can issue tokens; the new token works at once.
  std::string more = IssueToken(*client_, Token(Role::kAdmin), "operator-2", Role::kOperator);
  EXPECT_EQ(JsonOf(client_->Get("/v1/galleries", Auth(more)), 200).contains("galleries"), true);
  // A principal keeps its role.
  json clash = {{"name", "operator-2"}, {"role", "admin"}};
  ErrorOf(client_->Post("/v1/tokens", Auth(Token(Role::kAdmin)), clash.dump(), "application/json"),
          409, "failed_precondition");
  json bad_role = {{"name", "someone"}, {"role", "superuser"}};
  ErrorOf(
      client_->Post("/v1/tokens", Auth(Token(Role::kAdmin)), bad_role.dump(), "application/json"),
      400, "invalid_argument");
}

TEST_F(HttpApiTest, EveryRouteRefusesMissingAndInvalidTokens) {
  int checked = 0;
  for (const Route& route : server_->server().routes()) {
    SCOPED_TRACE(route.method + " " + route.path);
    if (route.is_public) {
      EXPECT_TRUE(route.path == "/healthz" || route.path == "/readyz");
      continue;
    }
    json missing = ErrorOf(Call(*client_, route, {}), 401, "permission_denied");
    EXPECT_EQ(missing["details"].value("reason", ""), "missing_token");
    ErrorOf(Call(*client_, route, Auth("abis_not-a-real-token")), 401, "permission_denied");
    ErrorOf(Call(*client_, route, Auth("")), 401, "permission_denied");
    ErrorOf(Call(*client_, route, {{"Authorization", "Basic YWRtaW46YWRtaW4="}}), 401,
            "permission_denied");
    ++checked;
  }
  EXPECT_EQ(checked + 2, static_cast<int>(server_->server().routes().size()));
}

TEST_F(HttpApiTest, EveryRouteEnforcesTheRoleTable) {
  for (const Route& route : server_->server().routes()) {
    if (route.is_public) continue;
    SCOPED_TRACE(route.method + " " + route.path);
    EXPECT_FALSE(route.roles.empty());
    for (Role role : AllRoles()) {
      bool allowed = std::find(route.roles.begin(), route.roles.end(), role) != route.roles.end();
      auto result = Call(*client_, route, Auth(Token(role)));
      ASSERT_TRUE(result);
      if (allowed) {
        EXPECT_NE(result->status, 401) << RoleName(role) << ": " << result->body;
        EXPECT_NE(result->status, 403) << RoleName(role) << ": " << result->body;
      } else {
        json body = ErrorOf(result, 403, "permission_denied");
        EXPECT_EQ(body["details"].value("reason", ""), "role") << RoleName(role);
      }
    }
  }
}

TEST_F(HttpApiTest, OpenApiDocumentListsExactlyTheRegisteredRoutes) {
  json document = JsonOf(client_->Get("/v1/openapi.json", Auth(Token(Role::kReviewer))), 200);
  ASSERT_TRUE(document.is_object());
  EXPECT_EQ(document.value("openapi", "").substr(0, 2), "3.");
  std::set<std::string> documented, registered;
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string key = method + " " + path;
      for (char& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(key);
    }
  }
  for (const Route& route : server_->server().routes()) {
    std::string key = route.method + " " + route.path;
    for (char& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    registered.insert(key);
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(document["paths"].contains(route.path)) << route.path;
    const json& operation = document["paths"][route.path][method];
    if (route.is_public) {
      EXPECT_EQ(operation.value("security", json::array({1})), json::array()) << route.path;
    } else {
      std::set<std::string> roles;
      for (Role role : route.roles) roles.insert(std::string(RoleName(role)));
      std::set<std::string> documented_roles;
      for (const json& role : operation.value("x-abis-roles", json::array())) {
        documented_roles.insert(role.get<std::string>());
      }
      EXPECT_EQ(documented_roles, roles) << route.method << " " << route.path;
    }
  }
  EXPECT_EQ(documented, registered);
}

TEST_F(HttpApiTest, AlgorithmsAreServedWithTheirModelCards) {
  json document = JsonOf(client_->Get("/v1/algorithms", Auth(Token(Role::kOperator))), 200);
  ASSERT_TRUE(document.contains("face") && document.contains("finger")) << document.dump();
  EXPECT_EQ(document["face"]["algorithm"], "face/dlib-resnet-v1");
  EXPECT_EQ(document["finger"]["algorithm"], "finger/abis-mcc-v1");
  for (const char* modality : {"face", "finger"}) {
    const json& algorithm = document[modality];
    EXPECT_EQ(algorithm["model_digest"].get<std::string>().size(), 64u) << modality;
    // The shipped cards match the shipped algorithms, so each is served whole,
    // with the calibration behind every candidate's FMR.
    ASSERT_TRUE(algorithm["model_card"].is_object()) << modality;
    EXPECT_EQ(algorithm["model_card"]["modality"], modality);
    EXPECT_EQ(algorithm["model_card"]["model_digest"], algorithm["model_digest"]);
    EXPECT_TRUE(algorithm["model_card"].contains("calibration")) << modality;
    // File names only: no server paths leave the server.
    EXPECT_EQ(algorithm["calibration_card"].get<std::string>().find('/'), std::string::npos);
  }
  ErrorOf(client_->Get("/v1/algorithms"), 401, "permission_denied");
}

TEST_F(HttpApiTest, EnrolsIdentifiesAndVerifiesOverHttp) {
  if (!std::filesystem::exists(testing::SamplePhotoPath(3))) GTEST_SKIP() << "photos missing";
  json enrolled = Enrol("visitors", "alice", 2);
  EXPECT_EQ(enrolled["identity"], "alice");
  EXPECT_GT(enrolled["reference_id"].get<std::int64_t>(), 0);
  EXPECT_EQ(enrolled["source_sha256"].get<std::string>().size(), 64u);

  // The same photo as a multipart upload, into another gallery.
  httplib::MultipartFormDataItems form = {{"gallery", "uploads", "", ""},
                                          {"identity", "alice-upload", "", ""},
                                          {"image",
                                           [] {
                                             auto bytes =
                                                 testing::ReadBytes(testing::SamplePhotoPath(2));
                                             return std::string(bytes.begin(), bytes.end());
                                           }(),
                                           "sample2.jpg", "image/jpeg"}};
  json uploaded = JsonOf(client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), form), 201);
  EXPECT_EQ(uploaded["gallery"], "uploads");

  json galleries = JsonOf(client_->Get("/v1/galleries", Auth(Token(Role::kAuditor))), 200);
  std::set<std::string> names;
  for (const json& g : galleries["galleries"]) names.insert(g["name"]);
  EXPECT_TRUE(names.count("visitors") && names.count("uploads"));
  json identities =
      JsonOf(client_->Get(Consulted("visitors").c_str(), Auth(Token(Role::kReviewer))), 200);
  EXPECT_EQ(identities["identities"], json::array({"alice"}));

  std::string probe = Base64(testing::ReadBytes(testing::SamplePhotoPath(2)));
  json found = JsonOf(
      PostJson("/v1/identifications", Authorised({{"gallery", "visitors"}, {"image", probe}})),
      200);
  ASSERT_FALSE(found["candidates"].empty()) << found.dump();
  EXPECT_EQ(found["candidates"][0]["identity"], "alice");
  EXPECT_EQ(found["candidates"][0]["rank"], 1);
  EXPECT_EQ(found["searched_face"], 0);
  for (const char* key : {"search_id", "galleries", "gallery_identities", "gallery_references",
                          "faces", "candidates", "algorithm", "probe_quality", "marking"}) {
    EXPECT_TRUE(found.contains(key)) << key;
  }

  // A group photo: the faces to choose from, then the chosen one.
  std::string group = Base64(testing::ReadBytes(testing::SamplePhotoPath(3)));
  json listed = JsonOf(
      PostJson("/v1/identifications", Authorised({{"gallery", "visitors"}, {"image", group}})),
      200);
  EXPECT_EQ(listed["faces"].size(), 3u);
  EXPECT_TRUE(listed["searched_face"].is_null());
  EXPECT_EQ(listed["needs_face_selection"], true);
  EXPECT_TRUE(listed["candidates"].empty());
  json chosen =
      JsonOf(PostJson("/v1/identifications",
                      Authorised({{"gallery", "visitors"}, {"image", group}, {"face_index", 1}})),
             200);
  EXPECT_EQ(chosen["searched_face"], 1);
  EXPECT_EQ(chosen["candidates"].size(), 1u);
  ErrorOf(PostJson("/v1/identifications",
                   Authorised({{"gallery", "visitors"}, {"image", group}, {"face_index", 7}})),
          400, "out_of_range");

  json verified = JsonOf(
      PostJson("/v1/verifications",
               Verifying({{"gallery", "visitors"}, {"identity", "alice"}, {"image", probe}})),
      200);
  EXPECT_EQ(verified["meets_threshold"], true) << verified.dump();
  EXPECT_GT(verified["score"].get<double>(), verified["threshold"].get<double>());
  ErrorOf(PostJson("/v1/verifications",
                   Verifying({{"gallery", "visitors"}, {"identity", "nobody"}, {"image", probe}})),
          404, "not_found");

  // A supervisor deletes a gallery; searching it then finds no gallery.
  JsonOf(client_->Delete("/v1/galleries/uploads", Auth(Token(Role::kSupervisor))), 200);
  ErrorOf(PostJson("/v1/identifications", Authorised({{"gallery", "uploads"}, {"image", probe}})),
          404, "not_found");
  ErrorOf(client_->Delete("/v1/galleries/uploads", Auth(Token(Role::kSupervisor))), 404,
          "not_found");

  std::string metrics = client_->Get("/metrics", Auth(Token(Role::kAuditor)))->body;
  EXPECT_NE(metrics.find("abis_http_requests_total{method=\"POST\",route=\"/v1/enrolments\","
                         "status=\"201\"}"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("abis_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/"
                         "identifications\",le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("abis_gallery_identities{gallery=\"visitors\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(HttpApiTest, BadInputGetsTheErrorShapeWithStableCodes) {
  // Malformed JSON, wrong types, missing fields, wrong content type.
  ErrorOf(client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)),
                        "{\"gallery\": ", "application/json"),
          400, "invalid_argument");
  ErrorOf(
      client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), "[1,2]", "application/json"),
      400, "invalid_argument");
  ErrorOf(client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), "gallery=x",
                        "application/x-www-form-urlencoded"),
          400, "invalid_argument");
  ErrorOf(PostJson("/v1/enrolments", {{"gallery", "g"}, {"identity", "x"}}), 400,
          "invalid_argument");
  ErrorOf(PostJson("/v1/enrolments", {{"gallery", 5}, {"identity", "x"}, {"image", "AAAA"}}), 400,
          "invalid_argument");
  ErrorOf(PostJson("/v1/enrolments", {{"gallery", "g"}, {"identity", "x"}, {"image", "%%%"}}), 400,
          "invalid_argument");
  ErrorOf(PostJson("/v1/identifications",
                   {{"gallery", "g"}, {"image", "AAAA"}, {"max_candidates", "lots"}}),
          400, "invalid_argument");
  ErrorOf(client_->Get("/v1/identities", Auth(Token(Role::kOperator))), 400, "invalid_argument");

  // A non-image upload.
  httplib::MultipartFormDataItems text_upload = {
      {"gallery", "g", "", ""},
      {"identity", "x", "", ""},
      {"image", "hello, this is not a photo", "notes.txt", "text/plain"}};
  ErrorOf(client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), text_upload), 400,
          "invalid_argument");

  // A synthetic image without a face.
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(120, 130, 140));
  cv::circle(wall, {320, 240}, 100, cv::Scalar(20, 20, 200), -1);
  json no_face = ErrorOf(
      PostJson("/v1/enrolments",
               {{"gallery", "g"}, {"identity", "x"}, {"image", Base64(testing::EncodeJpeg(wall))}}),
      409, "failed_precondition");
  EXPECT_NE(no_face.value("message", "").find("no face"), std::string::npos);

  // An unknown gallery.
  std::string probe = Base64(testing::ReadBytes(testing::SamplePhotoPath(2)));
  // (Registered with the governance core, so that the engine is asked.)
  ErrorOf(
      PostJson("/v1/verifications",
               Verifying({{"gallery", "no-such-gallery"}, {"identity", "x"}, {"image", probe}})),
      404, "not_found");
  ErrorOf(client_->Get(Consulted("no-such-gallery").c_str(), Auth(Token(Role::kOperator))), 404,
          "not_found");
  // Unregistered, or without an authority: refused before the engine is asked.
  json unregistered = ErrorOf(PostJson("/v1/verifications", {{"gallery", "never-registered"},
                                                             {"identity", "x"},
                                                             {"encounter_reference", "encounter-1"},
                                                             {"legal_basis", kDefaultLegalBasis},
                                                             {"image", probe}}),
                              403, "permission_denied");
  EXPECT_EQ(unregistered["details"].value("reason", ""), "gallery_not_registered");
  json unauthorised =
      ErrorOf(client_->Get("/v1/identities?gallery=no-such-gallery", Auth(Token(Role::kOperator))),
              403, "permission_denied");
  EXPECT_EQ(unauthorised["details"].value("reason", ""), "authority_missing");

  // A body over the 16 MiB limit, refused before any handler.
  std::string huge(17u << 20, 'a');
  json too_big = ErrorOf(
      client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), huge, "application/json"), 413,
      "resource_exhausted");
  EXPECT_EQ(too_big["details"].value("limit_bytes", 0), 16 << 20);

  // Unknown routes get the same shape.
  ErrorOf(client_->Get("/v1/nothing-here", Auth(Token(Role::kOperator))), 404, "not_found");
}

// The audit events of the shared server, oldest first.
template <typename HttpClient>
std::vector<json> AuditEvents(HttpClient& client, const std::string& token) {
  std::vector<json> events;
  std::uint64_t from = 0;
  while (true) {
    std::string path = "/v1/audit/events?limit=1000&from=" + std::to_string(from);
    json page = JsonOf(client.Get(path.c_str(), Auth(token)), 200);
    if (!page.is_object()) break;
    for (const json& event : page["events"]) events.push_back(event);
    if (page["next_from"].is_null()) break;
    from = page["next_from"].get<std::uint64_t>();
  }
  return events;
}

// The latest event of `action` with `result`, or null.
json FindEvent(const std::vector<json>& events, const std::string& action,
               const std::string& result) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if ((*it)["action"] == action && (*it)["result"] == result) return *it;
  }
  return nullptr;
}

// GET /v1/session: every role learns its own principal; over plain HTTP
// there is no device. Each call is an audit event (session.view).
TEST_F(HttpApiTest, SessionNamesTheTokensPrincipal) {
  for (Role role : AllRoles()) {
    SCOPED_TRACE(RoleName(role));
    auto result = client_->Get("/v1/session", Auth(Token(role)));
    json session = JsonOf(result, 200);
    EXPECT_EQ(session["principal"]["role"], std::string(RoleName(role)));
    EXPECT_EQ(session["principal"]["name"], std::string(RoleName(role)) + "-1");
    EXPECT_EQ(session["authenticated_by"], "token");
    EXPECT_TRUE(session["device"].is_null());
    EXPECT_EQ(session["tls"], false);
    EXPECT_TRUE(session["token_id"].is_number_integer());
    EXPECT_FALSE(result->get_header_value("X-Audit-Seq").empty());
  }
  json missing = ErrorOf(client_->Get("/v1/session"), 401, "permission_denied");
  EXPECT_EQ(missing["details"].value("reason", ""), "missing_token");
  json event = FindEvent(AuditEvents(*client_, Token(Role::kAuditor)), "session.view", "ok");
  ASSERT_TRUE(event.is_object());
  EXPECT_EQ(event["device"], "");
}

// POST /v1/faces: the capture check says how many faces a photo holds and
// whether each passes the probe gate, keeps nothing, and is audited with the
// photo's hash only.
TEST_F(HttpApiTest, FaceCheckFindsFacesWithoutSearchingOrKeeping) {
  if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
  std::vector<std::uint8_t> photo = testing::ReadBytes(testing::SamplePhotoPath(2));
  json checked = JsonOf(client_->Post("/v1/faces", Auth(Token(Role::kOperator)),
                                      json{{"image", Base64(photo)}}.dump(), "application/json"),
                        200);
  ASSERT_EQ(checked["faces"].size(), 1u) << checked.dump();
  const json& face = checked["faces"][0];
  EXPECT_GT(face["box"]["width"].get<double>(), 0);
  EXPECT_TRUE(face["quality"].is_object());
  EXPECT_TRUE(face["passes_gate"].is_boolean());
  EXPECT_EQ(checked["usable_faces"], face["passes_gate"].get<bool>() ? 1 : 0);

  // Multipart works too; a photo without a face is 200 with no faces.
  cv::Mat blank(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  httplib::MultipartFormDataItems form = {{"image",
                                           [&] {
                                             auto bytes = testing::EncodeJpeg(blank);
                                             return std::string(bytes.begin(), bytes.end());
                                           }(),
                                           "blank.jpg", "image/jpeg"}};
  json none = JsonOf(client_->Post("/v1/faces", Auth(Token(Role::kSupervisor)), form), 200);
  EXPECT_TRUE(none["faces"].empty());
  EXPECT_EQ(none["usable_faces"], 0);

  // Not for examiners or auditors; no image and a non-image are 400.
  EXPECT_EQ(
      client_->Post("/v1/faces", Auth(Token(Role::kReviewer)), "{}", "application/json")->status,
      403);
  ErrorOf(client_->Post("/v1/faces", Auth(Token(Role::kOperator)), "{}", "application/json"), 400,
          "invalid_argument");
  json text = {{"image", Base64(std::vector<std::uint8_t>{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i',
                                                          'm', 'a', 'g', 'e'})}};
  auto refused =
      client_->Post("/v1/faces", Auth(Token(Role::kOperator)), text.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status / 100, 4) << refused->body;

  json event = FindEvent(AuditEvents(*client_, Token(Role::kAuditor)), "face.check", "ok");
  ASSERT_TRUE(event.is_object());
  EXPECT_EQ(event["hashes"]["probe_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(event.dump().find(Base64(photo).substr(0, 40)), std::string::npos);
}

TEST_F(HttpApiTest, EveryRequestIsAuditedWithActorActionObjectsAndResult) {
  if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
  std::vector<std::uint8_t> photo = testing::ReadBytes(testing::SamplePhotoPath(2));
  auto enrolled = PostJson(
      "/v1/enrolments", {{"gallery", "audited"}, {"identity", "carol"}, {"image", Base64(photo)}});
  json enrolment = JsonOf(enrolled, 201);
  EXPECT_FALSE(enrolled->get_header_value("X-Audit-Seq").empty());
  json probe = Verifying({{"gallery", "audited"}, {"identity", "carol"}, {"image", Base64(photo)}});
  JsonOf(PostJson("/v1/verifications", probe), 200);
  ErrorOf(PostJson("/v1/verifications", probe, Role::kAuditor), 403, "permission_denied");
  ErrorOf(client_->Get("/v1/galleries", Auth("abis_forged-token-value")), 401, "permission_denied");
  ErrorOf(client_->Get("/v1/galleries"), 401, "permission_denied");

  std::vector<json> events = AuditEvents(*client_, Token(Role::kAuditor));
  ASSERT_GE(events.size(), 6u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], i);
    EXPECT_EQ(events[i]["time"].get<std::string>().size(), 24u) << events[i];  // Milliseconds.
  }
  const std::string probe_hash = Sha256Hex(photo);
  json enrol = FindEvent(events, "enrol", "ok");
  ASSERT_TRUE(enrol.is_object());
  EXPECT_EQ(enrol["actor"], "operator-1");
  EXPECT_EQ(enrol["hashes"]["probe_sha256"], probe_hash);
  EXPECT_EQ(enrol["objects"][0], "audited");
  EXPECT_EQ(enrol["objects"][1], "carol");
  EXPECT_EQ(enrol["objects"][2],
            "reference:" + std::to_string(enrolment["reference_id"].get<int>()));
  // The intent was recorded before the enrolment was made.
  json intent = FindEvent(events, "enrol", "started");
  ASSERT_TRUE(intent.is_object());
  EXPECT_LT(intent["seq"], enrol["seq"]);
  json verify = FindEvent(events, "verify", "ok");
  ASSERT_TRUE(verify.is_object());
  EXPECT_EQ(verify["hashes"]["probe_sha256"], probe_hash);
  EXPECT_EQ(verify["objects"], json::array({"audited", "carol", "encounter-1"}));
  json denied = FindEvent(events, "verify", "permission_denied");
  ASSERT_TRUE(denied.is_object());
  EXPECT_EQ(denied["actor"], "auditor-1");
  json failed = FindEvent(events, "login_failed", "permission_denied");
  ASSERT_TRUE(failed.is_object());
  EXPECT_EQ(failed["actor"], "");
  EXPECT_EQ(failed["objects"], json::array({"GET /v1/galleries"}));
  // No secret, image or template ever reaches the log.
  std::string all = json(events).dump();
  EXPECT_EQ(all.find("abis_forged"), std::string::npos);
  EXPECT_EQ(all.find(Token(Role::kOperator)), std::string::npos);
  EXPECT_EQ(all.find(Base64(photo).substr(0, 64)), std::string::npos);
  // Reading the log is itself on record.
  AuditEvents(*client_, Token(Role::kAdmin));
  bool admin_read_recorded = false;
  for (const json& e : AuditEvents(*client_, Token(Role::kAuditor))) {
    admin_read_recorded |= e["action"] == "audit.read" && e["actor"] == "admin-1";
  }
  EXPECT_TRUE(admin_read_recorded);

  // The enrol event's inclusion proof checks out against the signed checkpoint.
  std::string proof_path = "/v1/audit/events/" + std::to_string(enrol["seq"].get<int>()) + "/proof";
  json proof = JsonOf(client_->Get(proof_path.c_str(), Auth(Token(Role::kAuditor))), 200);
  ASSERT_TRUE(proof.is_object());
  json checkpoints =
      JsonOf(client_->Get("/v1/audit/checkpoints", Auth(Token(Role::kAuditor))), 200);
  EXPECT_EQ(checkpoints["public_key"], proof["public_key"]);
  AuditEvent event;
  const json& e = proof["event"];
  event.seq = e["seq"];
  event.time_utc = e["time"];
  event.prev_hash = e["prev"];
  event.actor = e["actor"];
  event.device = e["device"];
  event.action = e["action"];
  event.object_ids = e["objects"].get<std::vector<std::string>>();
  event.hashes = e["hashes"].get<std::map<std::string, std::string>>();
  event.result = e["result"];
  event.details = e["details"];
  InclusionProof inclusion;
  inclusion.seq = proof["seq"];
  inclusion.leaf_hash = proof["leaf_hash"];
  inclusion.path = proof["path"].get<std::vector<std::string>>();
  const json& c = proof["checkpoint"];
  inclusion.checkpoint = {c["tree_size"], c["root"],   c["chain_head"],
                          c["time"],      c["key_id"], c["signature"]};
  EXPECT_TRUE(VerifyInclusionProof(event, inclusion, proof["public_key"]).ok());
  event.actor = "someone-else";
  EXPECT_FALSE(VerifyInclusionProof(event, inclusion, proof["public_key"]).ok());
  ErrorOf(client_->Get("/v1/audit/events/99999999/proof", Auth(Token(Role::kAuditor))), 404,
          "not_found");
  ErrorOf(client_->Get("/v1/audit/events?limit=0", Auth(Token(Role::kAuditor))), 400,
          "out_of_range");

  // What `abis audit verify --data DIR` checks, on the live log.
  VerifyReport report;
  EXPECT_TRUE(VerifyAuditLog(server_->data_dir(), &report).ok()) << report.reason;
  EXPECT_GE(report.events, events.size());
}

TEST_F(HttpApiTest, TokensAreListedWithoutSecretsAndRevokedTokensAreRefused) {
  json body = {{"name", "revocable"}, {"role", "reviewer"}};
  json issued = JsonOf(
      client_->Post("/v1/tokens", Auth(Token(Role::kAdmin)), body.dump(), "application/json"), 201);
  std::string token = issued.value("token", "");
  std::int64_t id = issued.value("token_id", 0);
  ASSERT_GT(id, 0);
  EXPECT_EQ(client_->Get("/v1/galleries", Auth(token))->status, 200);

  auto listed = client_->Get("/v1/tokens", Auth(Token(Role::kAdmin)));
  json tokens = JsonOf(listed, 200);
  EXPECT_EQ(listed->body.find(token), std::string::npos);  // Never the secret.
  json mine;
  for (const json& t : tokens["tokens"]) {
    EXPECT_FALSE(t.contains("token")) << t;
    if (t["id"] == id) mine = t;
  }
  ASSERT_TRUE(mine.is_object());
  EXPECT_EQ(mine["principal"]["name"], "revocable");
  EXPECT_EQ(mine["role"], "reviewer");
  EXPECT_FALSE(mine["last_used_at"].is_null());
  EXPECT_EQ(mine["revoked"], false);
  bool bootstrap_revoked = false;
  for (const json& t : tokens["tokens"])
    bootstrap_revoked |= t["bootstrap"] == true && t["revoked"] == true;
  EXPECT_TRUE(bootstrap_revoked);

  std::string path = "/v1/tokens/" + std::to_string(id);
  ErrorOf(client_->Delete(path.c_str(), Auth(Token(Role::kSupervisor))), 403, "permission_denied");
  json revoked = JsonOf(client_->Delete(path.c_str(), Auth(Token(Role::kAdmin))), 200);
  EXPECT_EQ(revoked["token"]["revoked"], true);
  json refused = ErrorOf(client_->Get("/v1/galleries", Auth(token)), 401, "permission_denied");
  EXPECT_EQ(refused["details"].value("reason", ""), "invalid_token");
  ErrorOf(client_->Delete("/v1/tokens/987654", Auth(Token(Role::kAdmin))), 404, "not_found");
  ErrorOf(client_->Delete("/v1/tokens/abc", Auth(Token(Role::kAdmin))), 400, "invalid_argument");
  json event = FindEvent(AuditEvents(*client_, Token(Role::kAuditor)), "token.revoke", "ok");
  ASSERT_TRUE(event.is_object());
  EXPECT_EQ(event["actor"], "admin-1");
  EXPECT_EQ(event["objects"], json::array({"token:" + std::to_string(id)}));
}

// An events.log whose writes fail while `failing` is set: the disk-full or
// I/O-error case the audit log must fail closed on.
struct FailingAuditFiles {
  std::shared_ptr<std::atomic<bool>> failing = std::make_shared<std::atomic<bool>>(false);

  AppendFileOpener Opener() const {
    auto flag = failing;
    return [flag](const std::string& path) -> Result<std::unique_ptr<AppendFile>> {
      ABIS_ASSIGN_OR_RETURN(auto file, OpenPosixAppendFile(path));
      class Failing : public AppendFile {
       public:
        Failing(std::unique_ptr<AppendFile> inner, std::shared_ptr<std::atomic<bool>> flag)
            : inner_(std::move(inner)), flag_(std::move(flag)) {}
        Status Append(std::span<const std::uint8_t> bytes) override {
          if (flag_->load()) return UnavailableError("injected write failure");
          return inner_->Append(bytes);
        }
        Status Sync() override { return inner_->Sync(); }
        Status Truncate(std::uint64_t size) override { return inner_->Truncate(size); }

       private:
        std::unique_ptr<AppendFile> inner_;
        std::shared_ptr<std::atomic<bool>> flag_;
      };
      return std::unique_ptr<AppendFile>(new Failing(std::move(file), flag));
    };
  }
};

TEST(HttpAuditFailClosedTest, NoResultAndNoEnrolmentWhenTheAuditLogCannotWrite) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
  FailingAuditFiles files;
  auto server = TestServer::Start(0, files.Opener());
  ASSERT_NE(server, nullptr);
  std::ifstream in(server->data_dir() + "/bootstrap-token");
  std::string admin;
  std::getline(in, admin);
  auto client = server->Client();
  json body = {{"name", "op"}, {"role", "operator"}};
  std::string token =
      JsonOf(client->Post("/v1/tokens", Auth(admin), body.dump(), "application/json"), 201)
          .value("token", "");
  std::string photo = Base64(testing::ReadBytes(testing::SamplePhotoPath(2)));
  json enrol = {{"gallery", "g"}, {"identity", "kept"}, {"image", photo}};
  JsonOf(client->Post("/v1/enrolments", Auth(token), enrol.dump(), "application/json"), 201);
  // The gallery registered and an authority to consult it (after the restart).
  std::map<std::string, std::string> governors;
  for (const char* role : {"supervisor", "authoriser"}) {
    json principal = {{"name", std::string(role) + "-g"}, {"role", role}};
    governors[role] =
        JsonOf(client->Post("/v1/tokens", Auth(admin), principal.dump(), "application/json"), 201)
            .value("token", "");
  }
  json registration = testing_http::ConsentedGalleryRegistration("g");
  JsonOf(client->Post("/v1/galleries/registrations", Auth(governors["supervisor"]),
                      registration.dump(), "application/json"),
         201);
  json authority = testing_http::ConsentAuthority("consent-1", {"g"}, {"face"}, "case-1", 10);
  std::string authority_id = JsonOf(client->Post("/v1/authorities", Auth(governors["authoriser"]),
                                                 authority.dump(), "application/json"),
                                    201)
                                 .value("id", "");

  files.failing->store(true);
  // A verification cannot have its authorisation event written: refused
  // before any comparison, and no score leaves the server.
  json claim = {{"gallery", "g"},
                {"identity", "kept"},
                {"encounter_reference", "encounter-1"},
                {"legal_basis", kDefaultLegalBasis},
                {"image", photo}};
  auto verified = client->Post("/v1/verifications", Auth(token), claim.dump(), "application/json");
  json refused = ErrorOf(verified, 503, "unavailable");
  EXPECT_EQ(refused["details"].value("reason", ""), "audit_unavailable");
  EXPECT_EQ(verified->body.find("score"), std::string::npos);
  // Identification is refused too, with no candidate list.
  json search = {{"gallery", "g"}, {"image", photo}};
  auto found = client->Post("/v1/identifications", Auth(token), search.dump(), "application/json");
  json closed = ErrorOf(found, 503, "unavailable");
  EXPECT_EQ(closed["details"].value("reason", ""), "audit_unavailable");
  EXPECT_EQ(found->body.find("candidates"), std::string::npos);
  EXPECT_EQ(found->body.find("kept"), std::string::npos);

  // The log stays closed even once the disk recovers, until a restart
  // re-verifies it; enrolment is refused before any effect.
  files.failing->store(false);
  json lost = {{"gallery", "g"}, {"identity", "lost"}, {"image", photo}};
  ErrorOf(client->Post("/v1/enrolments", Auth(token), lost.dump(), "application/json"), 503,
          "unavailable");
  EXPECT_EQ(client->Get("/readyz")->status, 503);
  std::string root = server->KeepFiles();
  server.reset();

  // After a restart: only the acknowledged enrolment exists and the log verifies.
  VerifyReport report;
  EXPECT_TRUE(VerifyAuditLog(root + "/data", &report).ok()) << report.reason;
  auto restarted = TestServer::Start(0, {}, root);
  ASSERT_NE(restarted, nullptr);
  auto again = restarted->Client();
  std::string listing = "/v1/identities?gallery=g&case_id=case-1&authority_id=" + authority_id;
  json identities = JsonOf(again->Get(listing.c_str(), Auth(token)), 200);
  EXPECT_EQ(identities["identities"], json::array({"kept"}));
  restarted->StopServing();
  EXPECT_TRUE(VerifyAuditLog(root + "/data", &report).ok()) << report.reason;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Capture devices over real TLS: a registered device's client certificate
// authenticates it (and is named in the audit log); a revoked one is
// refused on its next request; with client certificates required, a
// client without one gets no connection at all.
TEST(HttpsDeviceTest, DevicesAuthenticateWithClientCertificatesAndRevocationIsImmediate) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  auto server = TestServer::Start(0, {}, "", [](ServerOptions& o) { o.tls = true; });
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->server().tls());
  struct stat info {};
  ASSERT_EQ(::stat((server->data_dir() + "/tls/server.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  std::ifstream in(server->data_dir() + "/bootstrap-token");
  std::string admin;
  std::getline(in, admin);
  // People with tokens need no client certificate.
  auto admin_client = server->TlsClient();
  EXPECT_EQ(JsonOf(admin_client->Get("/healthz"), 200)["status"], "ok");

  std::map<std::string, std::pair<std::string, std::string>> certs;  // name -> cert, key files.
  std::map<std::string, std::int64_t> ids;
  for (const char* name : {"kiosk-1", "kiosk-2"}) {
    json body = {{"name", name}};
    json reply = JsonOf(
        admin_client->Post("/v1/devices", Auth(admin), body.dump(), "application/json"), 201);
    ASSERT_TRUE(reply.contains("certificate") && reply.contains("private_key")) << reply.dump();
    EXPECT_EQ(reply["device"]["role"], "operator");
    std::string cert = server->data_dir() + "/../" + name + ".pem";
    std::string key = server->data_dir() + "/../" + name + ".key";
    WriteText(cert, reply["certificate"]);
    WriteText(key, reply["private_key"]);
    certs[name] = {cert, key};
    ids[name] = reply["device"]["id"];
  }
  json duplicate = {{"name", "kiosk-1"}};
  ErrorOf(admin_client->Post("/v1/devices", Auth(admin), duplicate.dump(), "application/json"), 409,
          "already_exists");

  // A device acts as itself without a token.
  auto kiosk1 = server->TlsClient(certs["kiosk-1"].first, certs["kiosk-1"].second);
  EXPECT_TRUE(JsonOf(kiosk1->Get("/v1/galleries"), 200).contains("galleries"));
  ErrorOf(kiosk1->Get("/v1/tokens"), 403, "permission_denied");  // An operator's role.
  auto kiosk2 = server->TlsClient(certs["kiosk-2"].first, certs["kiosk-2"].second);
  EXPECT_EQ(kiosk2->Get("/v1/galleries")->status, 200);

  // Revoked: refused on the very next request, on the same connection.
  std::string path = "/v1/devices/" + std::to_string(ids["kiosk-2"]);
  EXPECT_EQ(JsonOf(admin_client->Delete(path.c_str(), Auth(admin)), 200)["device"]["revoked"],
            true);
  json refused = ErrorOf(kiosk2->Get("/v1/galleries"), 401, "permission_denied");
  EXPECT_EQ(refused["details"].value("reason", ""), "device_revoked");
  // Even with a valid person's token: the device itself is no longer trusted.
  ErrorOf(kiosk2->Get("/v1/galleries", Auth(admin)), 401, "permission_denied");

  json devices = JsonOf(admin_client->Get("/v1/devices", Auth(admin)), 200);
  ASSERT_EQ(devices["devices"].size(), 2u);
  EXPECT_EQ(devices["devices"][1]["revoked"], true);
  EXPECT_EQ(devices["devices"][0]["fingerprint_sha256"].get<std::string>().size(), 64u);

  std::vector<json> events = AuditEvents(*admin_client, admin);
  int kiosk1_lists = 0;
  for (const json& e : events) {
    if (e["action"] == "gallery.list" && e["result"] == "ok" && e["device"] == "kiosk-1") {
      EXPECT_EQ(e["actor"], "kiosk-1");
      ++kiosk1_lists;
    }
  }
  EXPECT_EQ(kiosk1_lists, 1);
  json revoked_event = FindEvent(events, "login_failed", "permission_denied");
  ASSERT_TRUE(revoked_event.is_object());
  EXPECT_EQ(revoked_event["device"], "kiosk-2");
  EXPECT_NE(revoked_event["details"].get<std::string>().find("device_revoked"), std::string::npos);
}

TEST(HttpsDeviceTest, ClientsWithoutACertificateAreRefusedWhenCertificatesAreRequired) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  // Devices registered before the start, through the same stores the
  // server uses.
  std::string root = MakeTempDir();
  std::string data = root + "/data";
  std::filesystem::create_directories(data);
  std::map<std::string, std::pair<std::string, std::string>> certs;
  {
    auto ca = DeviceCa::Open(data);
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    auto principals = PrincipalStore::Open(data + "/principals.db");
    ASSERT_TRUE(principals.ok());
    for (const char* name : {"kiosk-1", "kiosk-2"}) {
      auto issued = (*ca)->Issue(name, "");
      ASSERT_TRUE(issued.ok()) << issued.status().ToString();
      auto device = (*principals)->RegisterDevice(name, Role::kOperator, issued->fingerprint, {});
      ASSERT_TRUE(device.ok()) << device.status().ToString();
      if (std::string(name) == "kiosk-2") {
        ASSERT_TRUE((*principals)->RevokeDevice(device->id).ok());
      }
      certs[name] = {root + "/" + name + ".pem", root + "/" + name + ".key"};
      WriteText(certs[name].first, issued->certificate_pem);
      WriteText(certs[name].second, issued->private_key_pem);
    }
  }
  auto strict = TestServer::Start(0, {}, root, [](ServerOptions& o) {
    o.tls = true;
    o.require_client_cert = true;
  });
  ASSERT_NE(strict, nullptr);
  auto anonymous = strict->TlsClient();
  auto no_cert = anonymous->Get("/v1/galleries");
  EXPECT_FALSE(no_cert) << "a client without a certificate got a response";
  auto kiosk = strict->TlsClient(certs["kiosk-1"].first, certs["kiosk-1"].second);
  EXPECT_EQ(kiosk->Get("/v1/galleries")->status, 200);
  auto revoked = strict->TlsClient(certs["kiosk-2"].first, certs["kiosk-2"].second);
  json refused = ErrorOf(revoked->Get("/v1/galleries"), 401, "permission_denied");
  EXPECT_EQ(refused["details"].value("reason", ""), "device_revoked");
  // A plain-HTTP client gets nothing from an HTTPS port.
  httplib::Client plain("127.0.0.1", strict->port());
  plain.set_read_timeout(5, 0);
  auto plain_result = plain.Get("/healthz");
  EXPECT_TRUE(!plain_result || plain_result->status != 200);
}

// One GET over a new TCP connection with OpenSSL (client certificate in
// `ctx`), offering `resume` for TLS session resumption as browsers do on
// every new connection. Returns the raw response ("" when the handshake
// failed); `reused` says whether the session was resumed, `session` is the
// session to resume next (caller frees).
std::string RawTlsGet(int port, SSL_CTX* ctx, const std::string& path, SSL_SESSION* resume,
                      bool* reused, SSL_SESSION** session) {
  *reused = false;
  *session = nullptr;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (resume != nullptr) SSL_set_session(ssl, resume);
  std::string response;
  if (SSL_connect(ssl) == 1) {
    std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char buffer[4096];
    int n = 0;
    while ((n = SSL_read(ssl, buffer, sizeof buffer)) > 0) response.append(buffer, n);
    *reused = SSL_session_reused(ssl) == 1;
    *session = SSL_get1_session(ssl);
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ::close(fd);
  return response;
}

// The capture web app over mTLS (docs/web_app.md, "Device sign-in"): the
// page is served to any TLS client, then asks GET /v1/session who it is. A
// registered device's certificate alone is the device's principal (its
// role); with a token it is the token's principal on that device, so a
// person's role is never widened by the device's. A revoked device is
// refused with device_revoked, token or not; an unregistered certificate
// without a token with unknown_device.
TEST(HttpsDeviceTest, SessionNamesTheDeviceOverMutualTls) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  auto server = TestServer::Start(0, {}, "", [](ServerOptions& o) { o.tls = true; });
  ASSERT_NE(server, nullptr);
  std::ifstream in(server->data_dir() + "/bootstrap-token");
  std::string bootstrap;
  std::getline(in, bootstrap);
  auto admin_client = server->TlsClient();
  std::map<Role, std::string> tokens;
  for (Role role : {Role::kOperator, Role::kReviewer, Role::kAuditor, Role::kAdmin}) {
    json body = {{"name", std::string(RoleName(role)) + "-1"},
                 {"role", std::string(RoleName(role))}};
    json reply = JsonOf(
        admin_client->Post("/v1/tokens", Auth(bootstrap), body.dump(), "application/json"), 201);
    tokens[role] = reply.value("token", "");
  }
  const std::string& admin = tokens[Role::kAdmin];
  json registration = {{"name", "kiosk-1"}};
  json registered = JsonOf(
      admin_client->Post("/v1/devices", Auth(admin), registration.dump(), "application/json"), 201);
  ASSERT_TRUE(registered.contains("private_key")) << registered.dump();
  std::string cert = server->data_dir() + "/../kiosk-1.pem";
  std::string key = server->data_dir() + "/../kiosk-1.key";
  WriteText(cert, registered["certificate"]);
  WriteText(key, registered["private_key"]);
  auto kiosk = server->TlsClient(cert, key);

  // The page itself is served over HTTPS with its security headers.
  auto page = kiosk->Get("/app/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);

  // The certificate alone: the device is its own principal.
  json alone = JsonOf(kiosk->Get("/v1/session"), 200);
  EXPECT_EQ(alone["principal"]["name"], "kiosk-1");
  EXPECT_EQ(alone["principal"]["role"], "operator");
  EXPECT_EQ(alone["authenticated_by"], "device_certificate");
  EXPECT_EQ(alone["device"], "kiosk-1");
  EXPECT_EQ(alone["tls"], true);
  EXPECT_FALSE(alone.contains("token_id"));
  // With a token: the token's principal, on this device.
  json person = JsonOf(kiosk->Get("/v1/session", Auth(tokens[Role::kOperator])), 200);
  EXPECT_EQ(person["principal"]["name"], "operator-1");
  EXPECT_EQ(person["authenticated_by"], "token");
  EXPECT_EQ(person["device"], "kiosk-1");
  // A reviewer on an operator device is a reviewer: it may not search.
  json reviewer = JsonOf(kiosk->Get("/v1/session", Auth(tokens[Role::kReviewer])), 200);
  EXPECT_EQ(reviewer["principal"]["role"], "reviewer");
  json search = {{"galleries", {"g"}}, {"image", "AAAA"}};
  json denied = ErrorOf(kiosk->Post("/v1/identifications", Auth(tokens[Role::kReviewer]),
                                    search.dump(), "application/json"),
                        403, "permission_denied");
  EXPECT_EQ(denied["details"].value("reason", ""), "role");
  // A search by the device alone still needs an authority (the governance
  // rules apply to devices as to people).
  if (std::filesystem::exists(testing::SamplePhotoPath(2))) {
    json probe = {{"galleries", {"g"}},
                  {"image", Base64(testing::ReadBytes(testing::SamplePhotoPath(2)))}};
    json unauthorised =
        ErrorOf(kiosk->Post("/v1/identifications", probe.dump(), "application/json"), 403,
                "permission_denied");
    EXPECT_EQ(unauthorised["details"].value("reason", ""), "authority_missing");
  }
  // Without a certificate: no device.
  json plain = JsonOf(admin_client->Get("/v1/session", Auth(tokens[Role::kOperator])), 200);
  EXPECT_TRUE(plain["device"].is_null());
  EXPECT_EQ(plain["tls"], true);

  // Browsers resume TLS sessions on new connections: a resumed session
  // still carries the device's certificate and is looked up again.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> raw(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  ASSERT_EQ(SSL_CTX_use_certificate_file(raw.get(), cert.c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(raw.get(), key.c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_load_verify_locations(raw.get(),
                                          server->server().tls_certificate_path().c_str(), nullptr),
            1);
  SSL_CTX_set_verify(raw.get(), SSL_VERIFY_PEER, nullptr);
  bool reused = false;
  SSL_SESSION* session = nullptr;
  std::string first =
      RawTlsGet(server->port(), raw.get(), "/v1/session", nullptr, &reused, &session);
  EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  ASSERT_NE(session, nullptr);
  SSL_SESSION* next = nullptr;
  std::string resumed =
      RawTlsGet(server->port(), raw.get(), "/v1/session", session, &reused, &next);
  EXPECT_TRUE(reused) << "the server did not resume the TLS session";
  EXPECT_EQ(resumed.rfind("HTTP/1.1 200", 0), 0u) << resumed;
  EXPECT_NE(resumed.find("device_certificate"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("kiosk-1"), std::string::npos) << resumed;
  SSL_SESSION_free(session);
  session = next;

  // A certificate from the device CA that was never registered.
  {
    auto ca = DeviceCa::Open(server->data_dir());
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    auto stray = (*ca)->Issue("stray", "");
    ASSERT_TRUE(stray.ok()) << stray.status().ToString();
    WriteText(server->data_dir() + "/../stray.pem", stray->certificate_pem);
    WriteText(server->data_dir() + "/../stray.key", stray->private_key_pem);
  }
  auto stray =
      server->TlsClient(server->data_dir() + "/../stray.pem", server->data_dir() + "/../stray.key");
  json unknown = ErrorOf(stray->Get("/v1/session"), 401, "permission_denied");
  EXPECT_EQ(unknown["details"].value("reason", ""), "unknown_device");

  // Revoked: the page still loads (static files need no principal), and
  // the session answer is the refusal the page shows, token or not.
  std::string path = "/v1/devices/" + std::to_string(registered["device"]["id"].get<int>());
  JsonOf(admin_client->Delete(path.c_str(), Auth(admin)), 200);
  EXPECT_EQ(kiosk->Get("/app/")->status, 200);
  std::string after = RawTlsGet(server->port(), raw.get(), "/v1/session", session, &reused, &next);
  EXPECT_EQ(after.rfind("HTTP/1.1 401", 0), 0u) << after;
  EXPECT_NE(after.find("device_revoked"), std::string::npos) << after;
  SSL_SESSION_free(session);
  if (next != nullptr) SSL_SESSION_free(next);
  auto refused = kiosk->Get("/v1/session");
  json revoked = ErrorOf(refused, 401, "permission_denied");
  EXPECT_EQ(revoked["details"].value("reason", ""), "device_revoked");
  EXPECT_NE(revoked.value("message", "").find("revoked"), std::string::npos);
  EXPECT_NE(refused->get_header_value("WWW-Authenticate").find("invalid_token"), std::string::npos);
  json with_token =
      ErrorOf(kiosk->Get("/v1/session", Auth(tokens[Role::kOperator])), 401, "permission_denied");
  EXPECT_EQ(with_token["details"].value("reason", ""), "device_revoked");

  // Audited: the device's own session views name it as actor and device.
  std::vector<json> events = AuditEvents(*admin_client, tokens[Role::kAuditor]);
  int device_views = 0;
  int person_views = 0;
  for (const json& e : events) {
    if (e["action"] != "session.view" || e["result"] != "ok") continue;
    if (e["actor"] == "kiosk-1" && e["device"] == "kiosk-1") ++device_views;
    if (e["actor"] == "operator-1" && e["device"] == "kiosk-1") ++person_views;
  }
  EXPECT_EQ(device_views, 3);  // httplib's, then a new and a resumed TLS session.
  EXPECT_EQ(person_views, 1);
  json refusal = FindEvent(events, "login_failed", "permission_denied");
  ASSERT_TRUE(refusal.is_object());
  EXPECT_EQ(refusal["device"], "kiosk-1");
}

TEST(HttpApiRateLimitTest, EachPrincipalIsLimitedSeparately) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  auto server = TestServer::Start(/*rate_limit_per_minute=*/3);
  ASSERT_NE(server, nullptr);
  std::ifstream in(server->data_dir() + "/bootstrap-token");
  std::string bootstrap;
  std::getline(in, bootstrap);
  auto client = server->Client();
  json body = {{"name", "op"}, {"role", "operator"}};
  std::string token =
      JsonOf(client->Post("/v1/tokens", Auth(bootstrap), body.dump(), "application/json"), 201)
          .value("token", "");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client->Get("/v1/galleries", Auth(token))->status, 200);
  auto limited = client->Get("/v1/galleries", Auth(token));
  json error = ErrorOf(limited, 429, "resource_exhausted");
  EXPECT_EQ(error["details"].value("reason", ""), "rate_limit");
  EXPECT_FALSE(limited->get_header_value("Retry-After").empty());
  // Another principal has its own budget.
  EXPECT_EQ(client->Get("/v1/openapi.json", Auth(bootstrap))->status, 200);
}

TEST(HttpServerOptionsTest, PlainHttpOnlyOnLoopback) {
  ServerOptions options;
  options.data_dir = "/nonexistent/never-created";
  for (const char* host : {"0.0.0.0", "192.168.1.10", "example.org", "::"}) {
    options.host = host;
    auto server = HttpServer::Create(options);
    EXPECT_EQ(server.status().code(), StatusCode::kFailedPrecondition) << host;
  }
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
}

TEST(HttpServerOptionsTest, ParsesListenAddresses) {
  auto v4 = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 8080);
  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 0);
  for (const char* bad : {"127.0.0.1", ":80", "host:", "host:99999", "::1:80", "h:8x"}) {
    EXPECT_EQ(ParseListenAddress(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace abis::server
