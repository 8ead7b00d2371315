// http_server.h
//
// HttpServer is `abis serve`: the REST/JSON API of docs/http_api.md over one
// Engine, with bearer-token principals, a role table, per-principal rate
// limits, body limits, Prometheus metrics and an OpenAPI document.
//
// Plain HTTP is served only on loopback addresses until TLS lands; Create()
// refuses any other host.
//
// Thread safety: Serve() blocks and runs handlers on a thread pool; Stop()
// may be called from any thread (for example a signal-handling thread).

#ifndef ABIS_SERVER_HTTP_SERVER_H_
#define ABIS_SERVER_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "abis/status.h"

#include "server/rate_limiter.h"
#include "server/route.h"

namespace abis::server {

// "HOST:PORT" or "[IPv6]:PORT"; port 0..65535.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// Every route of the API, in registration order (without handlers bound to
// a server): what the OpenAPI document must list.
std::vector<Route> BuildRouteTable();

class HttpServer {
 public:
  // Creates the data folder if needed (mode 0700), opens the gallery store
  // (DIR/abis.db), the principals (DIR/principals.db) and the models, and on
  // the first start writes the bootstrap admin token to DIR/bootstrap-token
  // (mode 0600). FailedPrecondition for a non-loopback host.
  static Result<std::unique_ptr<HttpServer>> Create(const ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::vector<Route>& routes() const { return routes_; }

  // Path of the bootstrap token file when this start created it, else "".
  const std::string& bootstrap_token_path() const { return bootstrap_token_path_; }

  // True while Serve() is accepting connections.
  bool running() const { return http_ && http_->is_running(); }

  // Binds the listening socket and returns the port (the chosen one when
  // options.port is 0). Unavailable when the address is taken.
  Result<int> Bind();

  // Serves until Stop(). REQUIRES: Bind() succeeded.
  Status Serve();

  void Stop();

 private:
  HttpServer() = default;
  void Handle(const Route& route, const httplib::Request& request, httplib::Response& response);
  void InstallHandlers();

  ServerOptions options_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<httplib::Server> http_;
  std::vector<Route> routes_;
  std::string bootstrap_token_path_;
  std::unique_ptr<RateLimiter> rate_limiter_;
};

}  // namespace abis::server

#endif  // ABIS_SERVER_HTTP_SERVER_H_
