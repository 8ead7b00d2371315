// Shared by the HTTP integration tests: an in-process server on a free
// loopback port serving on its own thread, and checks of the reply shapes.
#ifndef ABIS_TESTS_INTEGRATION_HTTP_TEST_SUPPORT_H_
#define ABIS_TESTS_INTEGRATION_HTTP_TEST_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "server/http_server.h"

namespace abis::server::testing_http {

// A new folder under the temporary directory (abis_http_XXXXXX); "" on failure.
std::string MakeTempDir();
std::string Base64(const std::vector<std::uint8_t>& bytes);
std::string AsString(const std::vector<std::uint8_t>& bytes);
httplib::Headers Auth(const std::string& token);

// The reply's JSON body after checking its status; the body must carry no
// server paths.
nlohmann::json JsonOf(const httplib::Result& result, int http_status);

// The one error shape {code, message, details} with `code` (and `mention`
// in the message when given), free of internal paths and stack traces.
nlohmann::json ErrorOf(const httplib::Result& result, int http_status, const std::string& code,
                       const std::string& mention = "");

// A gallery registration body (POST /v1/galleries/registrations) for
// volunteers' consented enrolments under the default legal basis.
nlohmann::json ConsentedGalleryRegistration(const std::string& name);

// A consent authority request body (POST /v1/authorities; an authoriser's
// request is granted at once) for `galleries` and `modalities`, purpose
// missing_person, valid from an hour ago for a day.
nlohmann::json ConsentAuthority(const std::string& reference,
                                const std::vector<std::string>& galleries,
                                const std::vector<std::string>& modalities,
                                const std::string& case_id, int max_searches);

// A running server with its data folder (`root`/data; a new temporary
// folder when `root` is empty); stopped, and the folder removed, on
// destruction. Null (with a test failure) when it cannot start.
class TestServer {
 public:
  static std::unique_ptr<TestServer> Start(double rate_limit_per_minute = 0,
                                           AppendFileOpener audit_open_file = {},
                                           std::string root = "",
                                           std::function<void(ServerOptions&)> configure = {});
  ~TestServer();

  // Stops and closes the server (final audit checkpoint), keeping the files.
  void StopServing();
  // Leaves the data folder for a restart; returns its parent.
  std::string KeepFiles();

  HttpServer& server() { return *server_; }
  int port() const { return port_; }
  std::string data_dir() const { return root_ + "/data"; }

  std::unique_ptr<httplib::Client> Client() const;
  // An HTTPS client trusting the server's certificate, with an optional
  // client certificate (PEM files).
  std::unique_ptr<httplib::SSLClient> TlsClient(const std::string& cert_path = "",
                                                const std::string& key_path = "") const;

 private:
  TestServer() = default;
  std::string root_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
  bool keep_files_ = false;
};

}  // namespace abis::server::testing_http

#endif  // ABIS_TESTS_INTEGRATION_HTTP_TEST_SUPPORT_H_
