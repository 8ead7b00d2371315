// abis: the command-line front end. One file per subcommand; see
// docs/cli.md for the contract other tools script against.

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace abis::cli {
void RegisterBenchCommand(CLI::App& app);  // cli/bench_command.cc
}  // namespace abis::cli

int main(int argc, char** argv) {
  CLI::App app{"abis: accountable biometric identification (candidate lists, never bare matches)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "abis 0.1.0");
  abis::cli::RegisterEnrolCommand(app);
  abis::cli::RegisterIdentifyCommand(app);
  abis::cli::RegisterVerifyCommand(app);
  abis::cli::RegisterCompareCommand(app);
  abis::cli::RegisterFacesCommand(app);
  abis::cli::RegisterGalleryCommand(app);
  abis::cli::RegisterEvalCommand(app);
  abis::cli::RegisterAuditCommand(app);
  abis::cli::RegisterServeCommand(app);
  abis::cli::RegisterBenchCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
