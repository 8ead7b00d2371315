// The HTTP API end to end over real HTTP on loopback: an in-process server
// on a random free port with a temporary data folder, driven by
// httplib::Client. Covers the bootstrap token, principals and the role
// table for every registered route, enrolment (base64 and multipart),
// identification, verification, the error shape for bad input, limits,
// metrics, and the OpenAPI document against the route table.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <sodium.h>
#include <sys/stat.h>

#include "server/http_server.h"
#include "tests/integration/test_photos.h"

namespace abis::server {
namespace {

using nlohmann::json;

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "abis_http_XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  return made ? std::string(made) : "";
}

// A running server with its data folder; stopped and removed on destruction.
class TestServer {
 public:
  static std::unique_ptr<TestServer> Start(double rate_limit_per_minute = 0) {
    auto test = std::unique_ptr<TestServer>(new TestServer());
    test->root_ = MakeTempDir();
    ServerOptions options;
    options.data_dir = test->root_ + "/data";
    options.host = "127.0.0.1";
    options.port = 0;
    options.model_dir = testing::ModelDir();
    options.rate_limit_per_minute = rate_limit_per_minute;
    options.access_log = false;
    auto server = HttpServer::Create(options);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    test->server_ = std::move(*server);
    auto port = test->server_->Bind();
    if (!port.ok()) {
      ADD_FAILURE() << port.status().ToString();
      return nullptr;
    }
    test->port_ = *port;
    test->thread_ = std::thread([server = test->server_.get()] { (void)server->Serve(); });
    for (int i = 0; i < 500 && !test->server_->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return test;
  }

  ~TestServer() {
    if (server_) {
      server_->Stop();
      if (thread_.joinable()) thread_.join();
      server_.reset();
    }
    std::error_code error;
    if (!root_.empty()) std::filesystem::remove_all(root_, error);
  }

  HttpServer& server() { return *server_; }
  std::string data_dir() const { return root_ + "/data"; }

  std::unique_ptr<httplib::Client> Client() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(120, 0);
    client->set_write_timeout(120, 0);
    return client;
  }

 private:
  TestServer() = default;
  std::string root_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Checks the one error shape and returns the body.
json ErrorOf(const httplib::Result& result, int http_status, const std::string& code) {
  EXPECT_TRUE(result) << "no response";
  if (!result) return {};
  EXPECT_EQ(result->status, http_status) << result->body;
  json body = json::parse(result->body, nullptr, false);
  EXPECT_TRUE(body.is_object()) << result->body;
  if (!body.is_object()) return {};
  EXPECT_EQ(body.value("code", ""), code) << result->body;
  EXPECT_TRUE(body.contains("message") && body["message"].is_string()) << result->body;
  EXPECT_TRUE(body.contains("details") && body["details"].is_object()) << result->body;
  // Never internal paths or stack traces.
  EXPECT_EQ(result->body.find("/tmp"), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find("/work"), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find(".cc"), std::string::npos) << result->body;
  return body;
}

json JsonOf(const httplib::Result& result, int http_status) {
  EXPECT_TRUE(result) << "no response";
  if (!result) return {};
  EXPECT_EQ(result->status, http_status) << result->body;
  // Responses never carry server paths.
  EXPECT_EQ(result->body.find(ABIS_SOURCE_DIR), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find("abis_http_"), std::string::npos) << result->body;
  return json::parse(result->body, nullptr, false);
}

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::FaceModelAvailable()) return;
    server_ = TestServer::Start().release();
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
      JsonOf(client_->Get("/v1/identities?gallery=visitors", Auth(Token(Role::kReviewer))), 200);
  EXPECT_EQ(identities["identities"], json::array({"alice"}));

  std::string probe = Base64(testing::ReadBytes(testing::SamplePhotoPath(2)));
  json found =
      JsonOf(PostJson("/v1/identifications", {{"gallery", "visitors"}, {"image", probe}}), 200);
  ASSERT_FALSE(found["candidates"].empty()) << found.dump();
  EXPECT_EQ(found["candidates"][0]["identity"], "alice");
  EXPECT_EQ(found["candidates"][0]["rank"], 1);
  EXPECT_EQ(found["searched_face"], 0);
  for (const char* key : {"gallery", "gallery_identities", "gallery_references", "faces",
                          "candidates", "algorithm", "note"}) {
    EXPECT_TRUE(found.contains(key)) << key;
  }

  // A group photo: the faces to choose from, then the chosen one.
  std::string group = Base64(testing::ReadBytes(testing::SamplePhotoPath(3)));
  json listed =
      JsonOf(PostJson("/v1/identifications", {{"gallery", "visitors"}, {"image", group}}), 200);
  EXPECT_EQ(listed["faces"].size(), 3u);
  EXPECT_TRUE(listed["searched_face"].is_null());
  EXPECT_EQ(listed["needs_face_selection"], true);
  EXPECT_TRUE(listed["candidates"].empty());
  json chosen = JsonOf(PostJson("/v1/identifications",
                                {{"gallery", "visitors"}, {"image", group}, {"face_index", 1}}),
                       200);
  EXPECT_EQ(chosen["searched_face"], 1);
  EXPECT_EQ(chosen["candidates"].size(), 1u);
  ErrorOf(PostJson("/v1/identifications",
                   {{"gallery", "visitors"}, {"image", group}, {"face_index", 7}}),
          400, "out_of_range");

  json verified =
      JsonOf(PostJson("/v1/verifications",
                      {{"gallery", "visitors"}, {"identity", "alice"}, {"image", probe}}),
             200);
  EXPECT_EQ(verified["meets_threshold"], true) << verified.dump();
  EXPECT_GT(verified["score"].get<double>(), verified["threshold"].get<double>());
  ErrorOf(PostJson("/v1/verifications",
                   {{"gallery", "visitors"}, {"identity", "nobody"}, {"image", probe}}),
          404, "not_found");

  // A supervisor deletes a gallery; searching it then finds no gallery.
  JsonOf(client_->Delete("/v1/galleries/uploads", Auth(Token(Role::kSupervisor))), 200);
  ErrorOf(PostJson("/v1/identifications", {{"gallery", "uploads"}, {"image", probe}}), 404,
          "not_found");
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
  ErrorOf(PostJson("/v1/identifications", {{"gallery", "no-such-gallery"}, {"image", probe}}), 404,
          "not_found");
  ErrorOf(client_->Get("/v1/identities?gallery=no-such-gallery", Auth(Token(Role::kOperator))), 404,
          "not_found");

  // A body over the 16 MiB limit, refused before any handler.
  std::string huge(17u << 20, 'a');
  json too_big = ErrorOf(
      client_->Post("/v1/enrolments", Auth(Token(Role::kOperator)), huge, "application/json"), 413,
      "resource_exhausted");
  EXPECT_EQ(too_big["details"].value("limit_bytes", 0), 16 << 20);

  // Unknown routes get the same shape.
  ErrorOf(client_->Get("/v1/nothing-here", Auth(Token(Role::kOperator))), 404, "not_found");
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
