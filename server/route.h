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

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "abis/engine.h"
#include "abis/status.h"

#include "audit/audit_log.h"
#include "governance/governance.h"
#include "server/metrics.h"
#include "server/principals.h"
#include "server/tls.h"

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
  // Audit log (DIR/audit): a signed checkpoint after every N events (1: each
  // acknowledged event is sealed before its response leaves), and at most
  // every `audit_checkpoint_seconds` when N > 1, and on shutdown.
  std::uint64_t audit_checkpoint_interval = 1;
  int audit_checkpoint_seconds = 10;
  AppendFileOpener audit_open_file;  // Tests inject write failures; default POSIX files.
  // HTTPS: on when `tls` is set, a certificate or client CA is given, or
  // the host is not loopback (plain HTTP is loopback-only). Without
  // tls_cert_path a self-signed certificate is made in DIR/tls/.
  bool tls = false;
  std::string tls_cert_path;
  std::string tls_key_path;
  // Trust anchor for client certificates; empty: the server's own device
  // CA (DIR/tls/device-ca.pem). Giving one makes client certificates
  // mandatory; otherwise they are requested but optional unless
  // require_client_cert.
  std::string client_ca_path;
  bool require_client_cert = false;
  // The accountability core (docs/governance.md): data_dir is the server's;
  // tests pin `clock`. Empty legal_bases: kDefaultLegalBasis only.
  governance::GovernanceOptions governance;
};

// The legal basis a deployment accepts when none is configured.
inline constexpr char kDefaultLegalBasis[] = "national-biometrics-statute";

struct Reply {
  int http_status = 200;
  nlohmann::json body;  // Sent as JSON unless `text` is set.
  std::string text;
  std::string content_type;  // For `text`.
};

// What a handler adds to its request's audit event; the server fills in
// actor, device, action and result.
struct AuditNote {
  std::vector<std::string> object_ids;        // Gallery, identity, reference, token ids.
  std::map<std::string, std::string> hashes;  // e.g. probe_sha256; never images or templates.
  std::string details;
  // Set by handlers with side effects once the effect is made: the server
  // calls it when the outcome event cannot be written.
  std::function<void()> undo;
};

struct RequestContext {
  const httplib::Request& http;
  Principal principal;  // Empty for public routes.
  std::map<std::string, std::string> path_params;
  std::string request_id;
  std::string device;  // Capture device of an mTLS request, else "".
  std::string action;  // The route's audit action.
  AuditNote audit;
};

class ServerContext;

using RouteHandler = std::function<Result<Reply>(RequestContext&, ServerContext&)>;

struct Route {
  std::string method;       // "GET", "POST", "DELETE".
  std::string path;         // OpenAPI template, e.g. "/v1/galleries/{name}".
  bool is_public = false;   // No token needed (/healthz, /readyz only).
  std::vector<Role> roles;  // Roles allowed; ignored when is_public.
  RouteHandler handler;
  // Audit action of this route ([a-z0-9_.-]+, e.g. "enrol", "search").
  // Every non-public request appends one event with it.
  std::string action;
};

// What handlers share: the engine (one at a time), principals, metrics.
class ServerContext {
 public:
  ServerContext(const ServerOptions& options, std::unique_ptr<Engine> engine,
                std::unique_ptr<PrincipalStore> principals, std::unique_ptr<AuditLog> audit)
      : options_(options),
        engine_(std::move(engine)),
        principals_(std::move(principals)),
        audit_(std::move(audit)),
        engine_thread_([this] { RunEngineThread(); }) {}

  const ServerOptions& options() const { return options_; }
  PrincipalStore& principals() { return *principals_; }
  Metrics& metrics() { return metrics_; }
  AuditLog& audit() { return *audit_; }
  const DeviceCa& device_ca() const { return *device_ca_; }
  void set_device_ca(std::unique_ptr<DeviceCa> ca);
  // Authorities, searches, reviews (governance/governance.h); audited
  // through `sink`, which writes to audit().
  governance::Governance& governance() { return *governance_; }
  void set_governance(std::unique_ptr<governance::AuditSink> sink,
                      std::unique_ptr<governance::Governance> governance);
  ~ServerContext();

  // Handlers with side effects call this just before making the effect:
  // it durably appends the request's event with result "started" (so the
  // attempt is on record even if the process dies before the outcome
  // event), and fails with Unavailable (the operation must not proceed)
  // when it cannot.
  Status RecordIntent(const RequestContext& request);

  // Runs `fn` with exclusive use of the engine (it is single-threaded);
  // Unavailable when it stays busy longer than options().engine_wait_ms.
  // `fn` runs on the one engine thread, not the caller's: what the models
  // keep per thread (BLAS buffers, malloc arenas, scratch space) then
  // exists once, instead of once per HTTP worker that ever searched.
  Status WithEngine(const std::function<Status(Engine&)>& fn, int wait_ms = -1);

 private:
  void RunEngineThread();

  ServerOptions options_;
  std::timed_mutex engine_mutex_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<PrincipalStore> principals_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<DeviceCa> device_ca_;
  // After audit_: destroyed before the log they write to.
  std::unique_ptr<governance::AuditSink> governance_sink_;
  std::unique_ptr<governance::Governance> governance_;
  Metrics metrics_;
  // Hand-off of one task at a time to the engine thread (callers hold
  // engine_mutex_, so at most one is pending).
  std::mutex handoff_mutex_;
  std::condition_variable handoff_cv_;
  const std::function<Status(Engine&)>* pending_ = nullptr;
  Status pending_result_;
  bool pending_done_ = false;
  bool stopping_ = false;
  std::thread engine_thread_;  // Last: starts once everything above exists.
};

}  // namespace abis::server

#endif  // ABIS_SERVER_ROUTE_H_
