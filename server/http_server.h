// http_server.h
//
// HttpServer is `abis serve`: the REST/JSON API of docs/http_api.md over one
// Engine, with bearer-token principals, a role table, per-principal rate
// limits, body limits, Prometheus metrics and an OpenAPI document.
//
// Plain HTTP is served only on loopback addresses; any other host needs
// HTTPS (ServerOptions::tls), with a self-signed certificate made on first
// start when none is given. Over HTTPS a client certificate issued by the
// device CA authenticates a capture device (mTLS). Every authenticated
// request, and every refused authentication, appends an audit event before
// its response leaves (fail-closed; see docs/http_api.md "Audit").
//
// Thread safety: Serve() blocks and runs handlers on a thread pool; Stop()
// may be called from any thread (for example a signal-handling thread).

#ifndef ABIS_SERVER_HTTP_SERVER_H_
#define ABIS_SERVER_HTTP_SERVER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
  // (DIR/abis.db), the principals (DIR/principals.db), the audit log
  // (DIR/audit, sealing any unsigned tail) and the models, and on
  // the first start writes the bootstrap admin token to DIR/bootstrap-token
  // (mode 0600). FailedPrecondition for a non-loopback host.
  static Result<std::unique_ptr<HttpServer>> Create(const ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::vector<Route>& routes() const { return routes_; }

  // Path of the bootstrap token file when this start created it, else "".
  const std::string& bootstrap_token_path() const { return bootstrap_token_path_; }
  // The bootstrap token itself when this start created it (to print once).
  const std::string& bootstrap_token() const { return bootstrap_token_; }

  // True when serving HTTPS; then the certificate in use (self-signed in
  // DIR/tls/ unless given) and the CA that client certificates must chain to.
  bool tls() const { return tls_; }
  const std::string& tls_certificate_path() const { return options_.tls_cert_path; }
  const std::string& client_ca_path() const { return options_.client_ca_path; }

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
  // Runs the handler, appends the outcome event and sends the reply.
  void RunHandler(const Route& route, RequestContext& context, httplib::Response& response);
  Status InstallHandlers();
  void StartCheckpointTimer();

  ServerOptions options_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<httplib::Server> http_;
  std::vector<Route> routes_;
  std::string bootstrap_token_path_;
  std::string bootstrap_token_;
  bool tls_ = false;
  std::unique_ptr<RateLimiter> rate_limiter_;
  // Periodic checkpoints when the interval is more than one event.
  std::thread checkpoint_thread_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool stopping_ = false;
};

}  // namespace abis::server

#endif  // ABIS_SERVER_HTTP_SERVER_H_
