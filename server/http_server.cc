#include "server/http_server.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "governance/governance_json.h"
#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/routes.h"
#include "server/status_to_http.h"
#include "server/tls.h"

namespace abis::server {
namespace {

using Clock = std::chrono::steady_clock;

// One request is handled on one thread from pre-routing to the logger, so
// its start time, route and principal travel in thread-locals.
thread_local Clock::time_point t_request_start;
thread_local std::string t_route;
thread_local std::string t_principal;
thread_local std::string t_request_id;

std::string NewRequestId() {
  std::array<unsigned char, 8> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

// "/v1/galleries/{name}" -> "/v1/galleries/([^/]+)" and the names.
std::string PathRegex(const std::string& path, std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '{') {
      std::size_t close = path.find('}', i);
      names.push_back(path.substr(i + 1, close - i - 1));
      out += "([^/]+)";
      i = close;
    } else if (std::string_view(".+*?()[]^$|\\").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

void SendJson(httplib::Response& response, int http_status, const nlohmann::json& body) {
  response.status = http_status;
  response.set_content(DumpJson(body), "application/json");
}

void SendError(httplib::Response& response, const Status& status, nlohmann::json details = {},
               int http_status = 0) {
  if (!details.is_object()) details = nlohmann::json::object();
  details["request_id"] = t_request_id;
  int code = http_status != 0 ? http_status : HttpStatusFor(status.code());
  if (code >= 500) {
    std::cerr << "abis serve: request " << t_request_id << ": " << status.ToString() << "\n";
  }
  SendJson(response, code, ErrorBody(status, std::move(details)));
}

// The one answer when an audit event cannot be made durable: nothing the
// operation produced leaves the server.
void SendAuditUnavailable(httplib::Response& response, const Status& cause) {
  std::cerr << "abis serve: request " << t_request_id << ": audit log: " << cause.ToString()
            << "\n";
  response.set_header("Retry-After", "30");
  SendError(response,
            UnavailableError("the audit log cannot record this request; the operation was "
                             "refused"),
            {{"reason", "audit_unavailable"}}, 503);
}

Status WriteSecretFile(const std::string& path, const std::string& contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot write " + path);
  bool ok =
      ::fchmod(fd, 0600) == 0 &&
      ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
      ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) return UnavailableError("cannot write " + path);
  return Status::Ok();
}

}  // namespace

Status ServerContext::WithEngine(const std::function<Status(Engine&)>& fn, int wait_ms) {
  if (wait_ms < 0) wait_ms = options_.engine_wait_ms;
  std::unique_lock<std::timed_mutex> lock(engine_mutex_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::milliseconds(wait_ms))) {
    return UnavailableError("the engine is busy; retry later");
  }
  std::unique_lock<std::mutex> handoff(handoff_mutex_);
  pending_ = &fn;
  pending_done_ = false;
  handoff_cv_.notify_all();
  handoff_cv_.wait(handoff, [this] { return pending_done_; });
  return std::move(pending_result_);
}

void ServerContext::RunEngineThread() {
  std::unique_lock<std::mutex> handoff(handoff_mutex_);
  while (true) {
    handoff_cv_.wait(handoff, [this] { return stopping_ || pending_ != nullptr; });
    if (pending_ == nullptr) return;  // Stopping, nothing left to run.
    const std::function<Status(Engine&)>* task = pending_;
    handoff.unlock();
    Status result;
    try {
      result = (*task)(*engine_);
    } catch (const std::exception& e) {
      result = InternalError(std::string("engine: ") + e.what());
    }
    handoff.lock();
    pending_ = nullptr;
    pending_result_ = std::move(result);
    pending_done_ = true;
    handoff_cv_.notify_all();
  }
}

ServerContext::~ServerContext() {
  {
    std::lock_guard<std::mutex> handoff(handoff_mutex_);
    stopping_ = true;
  }
  handoff_cv_.notify_all();
  if (engine_thread_.joinable()) engine_thread_.join();
}

void ServerContext::set_device_ca(std::unique_ptr<DeviceCa> ca) { device_ca_ = std::move(ca); }

void ServerContext::set_governance(std::unique_ptr<governance::AuditSink> sink,
                                   std::unique_ptr<governance::Governance> governance) {
  governance_sink_ = std::move(sink);
  governance_ = std::move(governance);
}

Status ServerContext::RecordIntent(const RequestContext& request) {
  auto receipt = audit_->Append(MakeAuditEvent(request, "started"));
  if (!receipt.ok()) return UnavailableError("audit: " + receipt.status().message());
  return Status::Ok();
}

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  std::string host;
  std::string port_text;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find("]:");
    if (close == std::string::npos) return InvalidArgumentError("listen address: [IPv6]:PORT");
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return InvalidArgumentError("listen address must be HOST:PORT (IPv6 as [ADDR]:PORT)");
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  if (host.empty() || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("listen address must be HOST:PORT");
  }
  int port = std::stoi(port_text);
  if (port > 65535) return InvalidArgumentError("port must be 0..65535");
  return std::make_pair(host, port);
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

std::vector<Route> BuildRouteTable() {
  std::vector<Route> routes;
  AddHealthRoutes(routes);
  AddMetricsRoutes(routes);
  AddOpenApiRoutes(routes);
  AddTokenRoutes(routes);
  AddGalleryRoutes(routes);
  AddIdentityRoutes(routes);
  AddEnrolmentRoutes(routes);
  AddIdentificationRoutes(routes);
  AddVerificationRoutes(routes);
  AddAuditRoutes(routes);
  AddDeviceRoutes(routes);
  AddSessionRoutes(routes);
  AddFaceCheckRoutes(routes);
  AddAuthorityRoutes(routes);
  AddReviewRoutes(routes);
  AddOversightRoutes(routes);
  return routes;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options) {
  const bool use_tls = options.tls || !options.tls_cert_path.empty() ||
                       !options.client_ca_path.empty() || options.require_client_cert;
  if (!use_tls && !IsLoopbackHost(options.host)) {
    return FailedPreconditionError(
        "plain HTTP is served only on a loopback address (127.0.0.1, ::1, localhost); use HTTPS "
        "to listen on " +
        options.host);
  }
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (options.data_dir.empty()) return InvalidArgumentError("a data folder is required");
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  std::error_code error;
  std::filesystem::path dir(options.data_dir);
  if (!std::filesystem::exists(dir, error)) {
    if (!std::filesystem::create_directories(dir, error)) {
      return UnavailableError("cannot create data folder " + options.data_dir);
    }
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  } else if (!std::filesystem::is_directory(dir, error)) {
    return InvalidArgumentError("data path is not a folder: " + options.data_dir);
  }

  ABIS_ASSIGN_OR_RETURN(auto principals, PrincipalStore::Open((dir / "principals.db").string()));
  EngineOptions engine_options;
  engine_options.database_path = (dir / "abis.db").string();
  engine_options.model_dir = options.model_dir;
  engine_options.master_key_path = options.master_key_path;
  engine_options.master_key = options.master_key;
  engine_options.landmark_model_path = options.landmark_model_path;
  ABIS_ASSIGN_OR_RETURN(auto engine, Engine::Open(engine_options));

  AuditLogOptions audit_options;
  audit_options.checkpoint_interval = options.audit_checkpoint_interval;
  if (options.audit_open_file) audit_options.open_file = options.audit_open_file;
  ABIS_ASSIGN_OR_RETURN(auto audit, AuditLog::Open(dir.string(), audit_options));
  // Events acknowledged after the last checkpoint of a previous run that
  // died (checkpoint interval > 1) are sealed before anything new happens.
  ABIS_RETURN_IF_ERROR(audit->WriteCheckpoint().status());

  ABIS_ASSIGN_OR_RETURN(auto device_ca, DeviceCa::Open(dir.string()));
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->tls_ = use_tls;
  if (use_tls && options.tls_cert_path.empty()) {
    ABIS_ASSIGN_OR_RETURN(ServerCertificatePaths paths,
                          EnsureSelfSignedServerCertificate(dir.string(), options.host));
    server->options_.tls_cert_path = paths.cert_path;
    server->options_.tls_key_path = paths.key_path;
  }
  if (use_tls && server->options_.client_ca_path.empty()) {
    server->options_.client_ca_path = device_ca->certificate_path();
  } else if (use_tls) {
    server->options_.require_client_cert = true;  // The deployment's own PKI: mTLS for all.
  }
  AuditEvent start;
  start.actor = "abis-serve";
  start.action = "server.start";
  start.result = "ok";
  ABIS_ASSIGN_OR_RETURN(auto bootstrap, principals->CreateBootstrapTokenIfEmpty());
  if (bootstrap.has_value()) {
    std::string path = (dir / "bootstrap-token").string();
    ABIS_RETURN_IF_ERROR(WriteSecretFile(path, *bootstrap + "\n"));
    server->bootstrap_token_path_ = path;
    server->bootstrap_token_ = *bootstrap;
    start.details = "first start: bootstrap admin token issued";
  }
  ABIS_RETURN_IF_ERROR(audit->Append(start).status());
  server->context_ = std::make_unique<ServerContext>(server->options_, std::move(engine),
                                                     std::move(principals), std::move(audit));
  server->context_->set_device_ca(std::move(device_ca));
  // The accountability core writes to the same fail-closed audit log.
  governance::GovernanceOptions governance_options = options.governance;
  governance_options.data_dir = dir.string();
  if (governance_options.legal_bases.empty()) governance_options.legal_bases = {kDefaultLegalBasis};
  if (governance_options.model_card_json.empty()) {
    // Disclosure packages carry the algorithm's published accuracy: the
    // model card the engine calibrates with, when it has one.
    std::string card_path;
    (void)server->context_->WithEngine([&](Engine& engine) {
      card_path = engine.face_algorithm().calibration_card;
      return Status::Ok();
    });
    std::ifstream card(card_path);
    if (!card_path.empty() && card) {
      governance_options.model_card_json.assign(std::istreambuf_iterator<char>(card),
                                                std::istreambuf_iterator<char>());
    }
  }
  auto governance_sink =
      std::make_unique<governance::AuditLogSink>(&server->context_->audit(), dir.string());
  ABIS_ASSIGN_OR_RETURN(auto governance, governance::Governance::Open(std::move(governance_options),
                                                                      governance_sink.get()));
  server->context_->set_governance(std::move(governance_sink), std::move(governance));
  server->rate_limiter_ = std::make_unique<RateLimiter>(options.rate_limit_per_minute);
  server->routes_ = BuildRouteTable();
  ABIS_RETURN_IF_ERROR(server->InstallHandlers());
  server->StartCheckpointTimer();
  return server;
}

HttpServer::~HttpServer() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wake_.notify_all();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  if (context_) {
    AuditEvent stop;
    stop.actor = "abis-serve";
    stop.action = "server.stop";
    stop.result = "ok";
    (void)context_->audit().Append(stop);
    Status closed = context_->audit().Close();  // Writes the final checkpoint.
    if (!closed.ok()) std::cerr << "abis serve: audit log: " << closed.ToString() << "\n";
  }
}

void HttpServer::StartCheckpointTimer() {
  if (options_.audit_checkpoint_interval == 1 || options_.audit_checkpoint_seconds <= 0) return;
  checkpoint_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(checkpoint_mutex_);
    while (!stopping_) {
      checkpoint_wake_.wait_for(lock, std::chrono::seconds(options_.audit_checkpoint_seconds));
      if (stopping_) break;
      auto checkpoint = context_->audit().WriteCheckpoint();
      if (!checkpoint.ok()) {
        std::cerr << "abis serve: audit checkpoint: " << checkpoint.status().ToString() << "\n";
      }
    }
  });
}

Status HttpServer::InstallHandlers() {
  if (tls_) {
    const ServerOptions& o = options_;
    auto https = std::make_unique<httplib::SSLServer>([&o](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert_path.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(&ctx) != 1 ||
          SSL_CTX_load_verify_locations(&ctx, o.client_ca_path.c_str(), nullptr) != 1) {
        return false;
      }
      SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(o.client_ca_path.c_str()));
      // Client certificates are requested from every client and checked
      // against the CA in the handshake; people with tokens may go without
      // one unless certificates are required.
      int mode = SSL_VERIFY_PEER;
      if (o.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(&ctx, mode, nullptr);
      // Browsers resume TLS sessions on new connections; with peer
      // verification on, OpenSSL refuses a resumption (internal_error
      // alert) unless sessions are bound to a context. A resumed session
      // keeps its client certificate, which is looked up on every request.
      static constexpr unsigned char kSessionContext[] = "abis-serve";
      SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof(kSessionContext) - 1);
      return true;
    });
    if (!https->is_valid()) {
      return InvalidArgumentError(
          "cannot use the TLS certificate, key or client CA (check --tls-cert, --tls-key, "
          "--client-ca)");
    }
    http_ = std::move(https);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *http_;
  http.set_payload_max_length(options_.max_body_bytes);
  http.set_read_timeout(options_.read_timeout_s, 0);
  http.set_write_timeout(options_.write_timeout_s, 0);
  http.set_keep_alive_timeout(5);
  http.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response& response) {
    t_request_start = Clock::now();
    t_route.clear();
    t_principal.clear();
    t_request_id = NewRequestId();
    response.set_header("X-Request-Id", t_request_id);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Called for every response with status >= 400; fills in the error shape
  // for the ones httplib makes itself (413, unmatched routes, bad framing).
  const std::size_t max_body = options_.max_body_bytes;
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        int http_status = response.status;
        if (http_status == 413) {
          SendError(response,
                    ResourceExhaustedError("request body is larger than " +
                                           std::to_string(max_body) + " bytes"),
                    {{"limit_bytes", max_body}}, 413);
        } else if (http_status == 404) {
          SendError(response, NotFoundError("no such route; see /v1/openapi.json"), {}, 404);
        } else if (http_status == 400) {
          SendError(response, InvalidArgumentError("malformed HTTP request"), {}, 400);
        } else {
          SendError(response, InvalidArgumentError("request refused"), {}, http_status);
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        SendError(response, InternalError("unhandled exception in handler"));
      });

  Metrics* metrics = &context_->metrics();
  const bool access_log = options_.access_log;
  http.set_logger(
      [metrics, access_log](const httplib::Request& request, const httplib::Response& response) {
        double seconds = std::chrono::duration<double>(Clock::now() - t_request_start).count();
        const std::string& route = t_route.empty() ? std::string("unmatched") : t_route;
        metrics->Record(request.method, route, response.status, seconds);
        if (access_log) {
          std::fprintf(stderr, "abis serve: %s %s %s %d %.1fms principal=%s\n",
                       t_request_id.c_str(), request.method.c_str(), route.c_str(), response.status,
                       seconds * 1000, t_principal.empty() ? "-" : t_principal.c_str());
        }
      });

  AddWebAppHandlers(http);
  for (const Route& route : routes_) {
    std::vector<std::string> names;
    std::string pattern = PathRegex(route.path, names);
    const Route* bound = &route;
    auto handler = [this, bound](const httplib::Request& request, httplib::Response& response) {
      Handle(*bound, request, response);
    };
    if (route.method == "GET") {
      http.Get(pattern, handler);
    } else if (route.method == "POST") {
      http.Post(pattern, handler);
    } else if (route.method == "DELETE") {
      http.Delete(pattern, handler);
    } else if (route.method == "PUT") {
      http.Put(pattern, handler);
    }
  }
  return Status::Ok();
}

void HttpServer::Handle(const Route& route, const httplib::Request& request,
                        httplib::Response& response) {
  t_route = route.path;
  RequestContext context{request, {}, {}, t_request_id};
  context.action = route.action;
  {
    std::vector<std::string> names;
    PathRegex(route.path, names);
    for (std::size_t i = 0; i < names.size() && i + 1 < request.matches.size(); ++i) {
      context.path_params[names[i]] = request.matches[i + 1].str();
    }
  }
  if (route.is_public) {
    RunHandler(route, context, response);
    return;
  }
  AuditLog& audit = context_->audit();
  // A log in fail-closed state refuses everything before any work is done.
  if (Status health = audit.health(); !health.ok()) {
    SendAuditUnavailable(response, health);
    return;
  }
  // Every refusal below is recorded first; if even that cannot be written
  // the answer is 503.
  auto refuse_unauthenticated = [&](const std::string& reason, const std::string& message) {
    auto receipt =
        audit.Append(MakeAuthFailureEvent(route.method, route.path, context.device, reason));
    if (!receipt.ok()) {
      SendAuditUnavailable(response, receipt.status());
      return;
    }
    response.set_header("WWW-Authenticate",
                        reason == "missing_token" ? "Bearer" : "Bearer error=\"invalid_token\"");
    SendError(response, PermissionDeniedError(message), {{"reason", reason}}, 401);
  };
  // A client certificate names a capture device; it is looked up on every
  // request, so a revoked device is refused from its next request on.
  std::optional<Principal> device_principal;
  bool unknown_certificate = false;
  if (tls_) {
    std::string fingerprint = PeerCertificateFingerprint(request.ssl);
    if (!fingerprint.empty()) {
      auto device = context_->principals().FindDevice(fingerprint);
      if (device.ok()) {
        context.device = device->name;
        if (!device->revoked_at.empty()) {
          refuse_unauthenticated("device_revoked", "this device's certificate has been revoked");
          return;
        }
        device_principal = device->principal;
      } else if (device.status().code() == StatusCode::kNotFound) {
        unknown_certificate = true;
      } else {
        SendError(response, device.status());
        return;
      }
    } else if (options_.require_client_cert) {
      refuse_unauthenticated("missing_client_certificate", "a client certificate is required");
      return;
    }
  }
  static constexpr std::string_view kBearer = "Bearer ";
  std::string header = request.get_header_value("Authorization");
  // Without a token a registered device acts as its own principal.
  if (header.empty() && unknown_certificate) {
    refuse_unauthenticated("unknown_device",
                           "the client certificate is not registered as a device");
    return;
  } else if (header.empty() && !device_principal.has_value()) {
    refuse_unauthenticated("missing_token", "an API token is required (Authorization: Bearer)");
    return;
  }
  if (!header.empty() && header.substr(0, kBearer.size()) != kBearer) {
    refuse_unauthenticated("invalid_token", "Authorization must be a Bearer token");
    return;
  }
  auto principal = header.empty()
                       ? Result<Principal>(*device_principal)
                       : context_->principals().Authenticate(header.substr(kBearer.size()));
  if (!principal.ok()) {
    if (principal.status().code() != StatusCode::kNotFound) {
      SendError(response, principal.status());
      return;
    }
    refuse_unauthenticated("invalid_token", "the API token is unknown or revoked");
    return;
  }
  context.principal = std::move(*principal);
  t_principal = context.principal.name;
  bool allowed = false;
  for (Role role : route.roles) allowed = allowed || role == context.principal.role;
  if (!allowed) {
    context.audit.details = "role " + std::string(RoleName(context.principal.role));
    auto receipt = audit.Append(MakeAuditEvent(context, "permission_denied"));
    if (!receipt.ok()) {
      SendAuditUnavailable(response, receipt.status());
      return;
    }
    nlohmann::json roles = nlohmann::json::array();
    for (Role role : route.roles) roles.push_back(std::string(RoleName(role)));
    SendError(response,
              PermissionDeniedError("role " + std::string(RoleName(context.principal.role)) +
                                    " may not call " + route.method + " " + route.path),
              {{"reason", "role"}, {"allowed_roles", roles}}, 403);
    return;
  }
  int retry_after_s = 0;
  if (!rate_limiter_->Allow(context.principal.id, retry_after_s)) {
    context.audit.details = "rate limit";
    auto receipt = audit.Append(MakeAuditEvent(context, "resource_exhausted"));
    if (!receipt.ok()) {
      SendAuditUnavailable(response, receipt.status());
      return;
    }
    response.set_header("Retry-After", std::to_string(retry_after_s));
    SendError(response, ResourceExhaustedError("request rate limit exceeded for this principal"),
              {{"reason", "rate_limit"}, {"retry_after_s", retry_after_s}});
    return;
  }
  RunHandler(route, context, response);
}

void HttpServer::RunHandler(const Route& route, RequestContext& context,
                            httplib::Response& response) {
  Result<Reply> reply = InternalError("handler did not run");
  try {
    reply = route.handler(context, *context_);
  } catch (const std::exception& e) {
    reply = InternalError(std::string("exception: ") + e.what());
  } catch (...) {
    reply = InternalError("unknown exception");
  }
  if (!route.is_public) {
    // The outcome event is durable before any of the result is sent; when
    // it cannot be written the result is dropped and an effect already made
    // is undone where the handler can undo it.
    auto receipt = context_->audit().Append(MakeAuditEvent(context, AuditResult(reply.status())));
    if (!receipt.ok()) {
      if (reply.ok() && context.audit.undo) context.audit.undo();
      SendAuditUnavailable(response, receipt.status());
      return;
    }
    response.set_header("X-Audit-Seq", std::to_string(receipt->seq));
  }
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kUnavailable) response.set_header("Retry-After", "5");
    // Governance refusals carry their stable reason and ABIS error code.
    SendError(response, reply.status(), governance::RefusalDetails(reply.status()));
    return;
  }
  if (!reply->text.empty() || !reply->content_type.empty()) {
    response.status = reply->http_status;
    response.set_content(reply->text, reply->content_type);
  } else {
    SendJson(response, reply->http_status, reply->body);
  }
}

Result<int> HttpServer::Bind() {
  if (options_.port == 0) {
    int port = http_->bind_to_any_port(options_.host);
    if (port <= 0) return UnavailableError("cannot listen on " + options_.host);
    return port;
  }
  if (!http_->bind_to_port(options_.host, options_.port)) {
    return UnavailableError("cannot listen on " + options_.host + ":" +
                            std::to_string(options_.port));
  }
  return options_.port;
}

Status HttpServer::Serve() {
  if (!http_->listen_after_bind()) return UnavailableError("the listening socket failed");
  return Status::Ok();
}

void HttpServer::Stop() {
  if (http_) http_->stop();
}

}  // namespace abis::server
