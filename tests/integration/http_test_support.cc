#include "tests/integration/http_test_support.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include <gtest/gtest.h>
#include <sodium.h>

#include "governance/governance_types.h"
#include "tests/integration/test_photos.h"

namespace abis::server::testing_http {

using nlohmann::json;

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "abis_http_XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  return made ? std::string(made) : "";
}

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string AsString(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

json JsonOf(const httplib::Result& result, int http_status) {
  EXPECT_TRUE(result) << "no response";
  if (!result) return {};
  EXPECT_EQ(result->status, http_status) << result->body;
  // Responses never carry server paths.
  EXPECT_EQ(result->body.find(ABIS_SOURCE_DIR), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find("abis_http_"), std::string::npos) << result->body;
  return json::parse(result->body, nullptr, false);
}

json ErrorOf(const httplib::Result& result, int http_status, const std::string& code,
             const std::string& mention) {
  EXPECT_TRUE(result) << "no response";
  if (!result) return {};
  EXPECT_EQ(result->status, http_status) << result->body;
  json body = json::parse(result->body, nullptr, false);
  EXPECT_TRUE(body.is_object()) << result->body;
  if (!body.is_object()) return {};
  EXPECT_EQ(body.value("code", ""), code) << result->body;
  EXPECT_TRUE(body.contains("message") && body["message"].is_string()) << result->body;
  EXPECT_TRUE(body.contains("details") && body["details"].is_object()) << result->body;
  if (!mention.empty()) {
    EXPECT_NE(body.value("message", "").find(mention), std::string::npos) << result->body;
  }
  // Never internal paths or stack traces.
  EXPECT_EQ(result->body.find("/tmp"), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find("/work"), std::string::npos) << result->body;
  EXPECT_EQ(result->body.find(".cc"), std::string::npos) << result->body;
  return body;
}

json ConsentedGalleryRegistration(const std::string& name) {
  return {{"name", name},
          {"legal_basis", kDefaultLegalBasis},
          {"provenance", "consented_enrolment"},
          {"subject_category", "other"},
          {"retention_rule", "review yearly"},
          {"review_interval_days", 365},
          {"owner", "test"}};
}

json ConsentAuthority(const std::string& reference, const std::vector<std::string>& galleries,
                      const std::vector<std::string>& modalities, const std::string& case_id,
                      int max_searches) {
  auto now = std::chrono::system_clock::now();
  return {{"kind", "consent"},
          {"reference", reference},
          {"issuing_body", "test"},
          {"legal_basis", kDefaultLegalBasis},
          {"scope",
           {{"galleries", galleries},
            {"modalities", modalities},
            {"purpose", "missing_person"},
            {"case_id", case_id},
            {"not_before", governance::FormatTime(now - std::chrono::hours(1))},
            {"not_after", governance::FormatTime(now + std::chrono::hours(24))},
            {"max_searches", max_searches}}}};
}

std::unique_ptr<TestServer> TestServer::Start(double rate_limit_per_minute,
                                              AppendFileOpener audit_open_file, std::string root,
                                              std::function<void(ServerOptions&)> configure) {
  auto test = std::unique_ptr<TestServer>(new TestServer());
  test->root_ = root.empty() ? MakeTempDir() : root;
  ServerOptions options;
  options.audit_open_file = std::move(audit_open_file);
  options.data_dir = test->root_ + "/data";
  options.host = "127.0.0.1";
  options.port = 0;
  options.model_dir = testing::ModelDir();
  options.rate_limit_per_minute = rate_limit_per_minute;
  options.access_log = false;
  if (configure) configure(options);
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

TestServer::~TestServer() {
  StopServing();
  std::error_code error;
  if (!root_.empty() && !keep_files_) std::filesystem::remove_all(root_, error);
}

void TestServer::StopServing() {
  if (server_) {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
}

std::string TestServer::KeepFiles() {
  keep_files_ = true;
  return root_;
}

std::unique_ptr<httplib::Client> TestServer::Client() const {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
  client->set_read_timeout(120, 0);
  client->set_write_timeout(120, 0);
  return client;
}

std::unique_ptr<httplib::SSLClient> TestServer::TlsClient(const std::string& cert_path,
                                                          const std::string& key_path) const {
  auto client = cert_path.empty()
                    ? std::make_unique<httplib::SSLClient>("127.0.0.1", port_)
                    : std::make_unique<httplib::SSLClient>("127.0.0.1", port_, cert_path, key_path);
  client->set_ca_cert_path(server_->tls_certificate_path().c_str());
  client->enable_server_certificate_verification(true);
  client->set_read_timeout(60, 0);
  return client;
}

}  // namespace abis::server::testing_http
