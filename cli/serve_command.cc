// abis serve: the HTTP/JSON API (docs/http_api.md) on one data folder.
// Plain HTTP on loopback addresses only until TLS lands.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

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
  std::cout << "abis serve: listening on http://" << host << ":" << *port << "/ (data "
            << options.data_dir << "); API description at /v1/openapi.json\n";
  if (!(*server)->bootstrap_token_path().empty()) {
    std::cout << "abis serve: first start: one-time admin token written to "
              << (*server)->bootstrap_token_path()
              << " (mode 0600); it is revoked once it has created an admin principal\n";
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
  command->add_option("--listen", flags->listen, "HOST:PORT (loopback only until TLS lands)")
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
  command->add_flag("--quiet", flags->quiet, "No access log on stderr");
  command->callback([flags] {
    int code = RunServe(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
