// abis serve: the HTTP/JSON API (docs/http_api.md) on one data folder.
//   abis serve --data DIR --listen HOST:PORT [--tls-cert F --tls-key F --client-ca F]
//              [--legal-basis B].. [--probe-quality-floor Q] [--urgency-deadline-hours H]
//              [--trusted-authority-key HEX]..
// Plain HTTP on loopback addresses only; any other address gets HTTPS,
// with a self-signed certificate made in DIR/tls/ when none is given.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "server/http_server.h"

namespace abis::cli {
namespace {

int g_stop_pipe[2] = {-1, -1};

void OnStopSignal(int) {
  char byte = 1;
  ssize_t ignored = ::write(g_stop_pipe[1], &byte, 1);
  (void)ignored;
}

struct ServeFlags {
  GlobalFlags global;
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";
  double max_body_mib = 16;
  double rate_limit = 600;
  int engine_wait_s = 30;
  bool quiet = false;
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  bool require_client_cert = false;
  std::uint64_t audit_checkpoint_every = 1;
  // Governance (docs/governance.md): accepted legal bases (empty: the
  // server's default, kDefaultLegalBasis), the probe quality floor, the
  // urgency deadline and the trusted external authority keys.
  std::vector<std::string> legal_bases;
  double probe_quality_floor = 40;
  int urgency_deadline_hours = 24;
  std::vector<std::string> trusted_authority_keys;
};

int RunServe(const ServeFlags& flags) {
  auto address = server::ParseListenAddress(flags.listen);
  if (!address.ok()) return ReportError(flags.global, address.status());
  server::ServerOptions options;
  options.data_dir = flags.data_dir;
  options.host = address->first;
  options.port = address->second;
  EngineOptions engine_options = EngineOptionsFromFlags(flags.global);
  options.model_dir = engine_options.model_dir;
  options.master_key_path = engine_options.master_key_path;
  options.master_key = engine_options.master_key;
  options.max_body_bytes = static_cast<std::size_t>(flags.max_body_mib * (1 << 20));
  options.rate_limit_per_minute = flags.rate_limit;
  options.engine_wait_ms = flags.engine_wait_s * 1000;
  options.access_log = !flags.quiet;
  options.tls_cert_path = flags.tls_cert;
  options.tls_key_path = flags.tls_key;
  options.client_ca_path = flags.client_ca;
  options.require_client_cert = flags.require_client_cert;
  options.tls = flags.tls || !server::IsLoopbackHost(options.host);
  options.audit_checkpoint_interval = flags.audit_checkpoint_every;
  options.governance.legal_bases = flags.legal_bases;
  options.governance.probe_quality_floor = flags.probe_quality_floor;
  options.governance.urgency_deadline = std::chrono::hours(flags.urgency_deadline_hours);
  options.governance.trusted_authority_keys = flags.trusted_authority_keys;

  // SIGINT/SIGTERM write to a pipe (async-signal-safe); a waiting thread
  // reads it and stops the server. Library threads (OpenBLAS) exist before
  // main, so blocking the signals and sigwait() would not catch them all.
  if (::pipe(g_stop_pipe) != 0) return ReportError(flags.global, InternalError("pipe failed"));
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  auto server = server::HttpServer::Create(options);
  if (!server.ok()) return ReportError(flags.global, server.status());
  auto port = (*server)->Bind();
  if (!port.ok()) return ReportError(flags.global, port.status());
  std::string host =
      options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  const char* scheme = (*server)->tls() ? "https" : "http";
  std::cout << "abis serve: listening on " << scheme << "://" << host << ":" << *port << "/ (data "
            << options.data_dir << "); API description at /v1/openapi.json\n";
  if ((*server)->tls()) {
    std::cout << "abis serve: TLS certificate " << (*server)->tls_certificate_path()
              << "; client certificates checked against " << (*server)->client_ca_path() << "\n";
  }
  if (!(*server)->bootstrap_token_path().empty()) {
    std::cout << "abis serve: first start: one-time admin bootstrap token (also in "
              << (*server)->bootstrap_token_path() << ", mode 0600):\n"
              << "  " << (*server)->bootstrap_token() << "\n"
              << "abis serve: it is revoked once it has created an admin principal\n";
  }
  std::cout << std::flush;

  server::HttpServer* running = server->get();
  std::atomic<bool> served_done{false};
  std::thread waiter([running, &served_done] {
    char byte = 0;
    while (::read(g_stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    // A signal during start-up arrives before Serve() listens; Stop() is
    // a no-op until then, so repeat it until Serve() has returned.
    while (!served_done.load()) {
      running->Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Status served = (*server)->Serve();
  served_done.store(true);
  OnStopSignal(0);  // Wakes the waiter when Serve() ended on its own.
  waiter.join();
  if (!served.ok()) return ReportError(flags.global, served);
  std::cout << "abis serve: stopped\n";
  return 0;
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* command = app.add_subcommand("serve", "HTTP/JSON API (docs/http_api.md)");
  AddGlobalFlags(*command, flags->global, /*with_json_flag=*/false);
  command
      ->add_option("--data", flags->data_dir,
                   "Data folder: abis.db, principals.db, bootstrap-token")
      ->required();
  command
      ->add_option("--listen", flags->listen,
                   "HOST:PORT; plain HTTP on loopback only, HTTPS on any other address")
      ->capture_default_str();
  command->add_flag("--tls", flags->tls, "HTTPS on loopback too (self-signed unless --tls-cert)");
  command->add_option("--tls-cert", flags->tls_cert,
                      "Server certificate chain (PEM); implies HTTPS");
  command->add_option("--tls-key", flags->tls_key, "Private key of --tls-cert (PEM)");
  command->add_option("--client-ca", flags->client_ca,
                      "CA of client certificates (PEM); makes them mandatory (default: the "
                      "server's device CA, optional)");
  command->add_flag("--require-client-cert", flags->require_client_cert,
                    "Refuse clients without a certificate from the device CA");
  command
      ->add_option("--audit-checkpoint-every", flags->audit_checkpoint_every,
                   "Sign an audit checkpoint every N events (1: every event is sealed before "
                   "its response; otherwise also every 10 s and at shutdown)")
      ->capture_default_str();
  command->add_option("--max-body-mib", flags->max_body_mib, "Largest request body, MiB")
      ->capture_default_str();
  command
      ->add_option("--rate-limit", flags->rate_limit,
                   "Requests per minute per principal (0: unlimited)")
      ->capture_default_str();
  command
      ->add_option("--engine-wait", flags->engine_wait_s,
                   "Seconds a request waits for the engine before 503")
      ->capture_default_str();
  command
      ->add_option("--legal-basis", flags->legal_bases,
                   "A legal basis accepted for galleries, authorities and 1:1 verification "
                   "(repeat, or comma-separated; default: national-biometrics-statute)")
      ->delimiter(',');
  command
      ->add_option("--probe-quality-floor", flags->probe_quality_floor,
                   "Probe quality (0..100) below which a search needs an examiner's override")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  command
      ->add_option("--urgency-deadline-hours", flags->urgency_deadline_hours,
                   "Hours an urgent authority request may be searched under before it must be "
                   "granted (1..48)")
      ->check(CLI::Range(1, 48))
      ->capture_default_str();
  command
      ->add_option("--trusted-authority-key", flags->trusted_authority_keys,
                   "Hex Ed25519 public key of an external authority whose signed authorities "
                   "may be imported (repeat, or comma-separated)")
      ->delimiter(',');
  command->add_flag("--quiet", flags->quiet, "No access log on stderr");
  command->callback([flags] {
    int code = RunServe(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
