// route.h
//
// A route is one (method, path) of the HTTP API with the roles allowed to
// call it and its handler. The route table is the single source for
// dispatch, authorisation, metrics labels and the OpenAPI cross-check.
//
// Handlers return a Reply or a Status; the server turns a Status into the
// one error shape (status_to_http.h). Handlers never see a request whose
// token or role has not been checked.

#ifndef ABIS_SERVER_ROUTE_H_
#define ABIS_SERVER_ROUTE_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "abis/engine.h"
#include "abis/status.h"

#include "server/metrics.h"
#include "server/principals.h"

namespace abis::server {

struct ServerOptions {
  std::string data_dir;  // Holds abis.db, principals.db, bootstrap-token.
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port (see HttpServer::Bind).
  std::string model_dir;  // As EngineOptions::model_dir.
  std::string landmark_model_path = EngineOptions{}.landmark_model_path;
  // Master key of the encrypted gallery store, as in EngineOptions; both
  // empty: DIR/abis.db.key, created with mode 0600 on first start.
  std::string master_key_path;
  std::string master_key;
  std::size_t max_body_bytes = 16u << 20;  // Larger bodies get 413.
  double rate_limit_per_minute = 600;      // Per principal; <= 0 disables.
  int engine_wait_ms = 30000;              // Longest wait for the engine before 503.
  int read_timeout_s = 30;                 // Socket read/write timeouts.
  int write_timeout_s = 30;
  bool access_log = true;  // One line per request on stderr.
};

struct Reply {
  int http_status = 200;
  nlohmann::json body;  // Sent as JSON unless `text` is set.
  std::string text;
  std::string content_type;  // For `text`.
};

struct RequestContext {
  const httplib::Request& http;
  Principal principal;  // Empty for public routes.
  std::map<std::string, std::string> path_params;
  std::string request_id;
};

class ServerContext;

using RouteHandler = std::function<Result<Reply>(RequestContext&, ServerContext&)>;

struct Route {
  std::string method;       // "GET", "POST", "DELETE".
  std::string path;         // OpenAPI template, e.g. "/v1/galleries/{name}".
  bool is_public = false;   // No token needed (/healthz, /readyz only).
  std::vector<Role> roles;  // Roles allowed; ignored when is_public.
  RouteHandler handler;
};

// What handlers share: the engine (one at a time), principals, metrics.
class ServerContext {
 public:
  ServerContext(const ServerOptions& options, std::unique_ptr<Engine> engine,
                std::unique_ptr<PrincipalStore> principals)
      : options_(options), engine_(std::move(engine)), principals_(std::move(principals)) {}

  const ServerOptions& options() const { return options_; }
  PrincipalStore& principals() { return *principals_; }
  Metrics& metrics() { return metrics_; }

  // Runs `fn` with exclusive use of the engine (it is single-threaded);
  // Unavailable when it stays busy longer than options().engine_wait_ms.
  Status WithEngine(const std::function<Status(Engine&)>& fn, int wait_ms = -1);

 private:
  ServerOptions options_;
  std::timed_mutex engine_mutex_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<PrincipalStore> principals_;
  Metrics metrics_;
};

}  // namespace abis::server

#endif  // ABIS_SERVER_ROUTE_H_
