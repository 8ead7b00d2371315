// cli_common.h
//
// What every `abis` subcommand shares: engine options from flags and
// environment, reading captures, JSON renderings of results, and one way to
// report errors (stderr text, or a JSON error object with --json).

#ifndef ABIS_CLI_CLI_COMMON_H_
#define ABIS_CLI_CLI_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "abis/engine.h"

#include "engine/result_json.h"

namespace abis::cli {

struct GlobalFlags {
  std::string database_path;
  std::string model_dir;
  std::string master_key_path;  // --key; empty: environment, then "<db>.key".
  bool json = false;
};

// Adds --db, --models, --key and (unless the command gives --json its own
// meaning) the --json output flag to `command`.
void AddGlobalFlags(CLI::App& command, GlobalFlags& flags, bool with_json_flag = true);

// --modality and the fingerprint capture flags of enroll/identify/verify.
struct ModalityFlags {
  std::string modality = "face";
  std::string finger_position = "0";
  double ppi = 0;
  bool contactless = false;
};

void AddModalityFlags(CLI::App& command, ModalityFlags& flags);

// The parsed modality and finger capture; InvalidArgument for an unknown
// modality or finger position, or finger flags given for a face.
struct ParsedModality {
  Modality modality = Modality::kFace;
  FingerCapture finger;
};
Result<ParsedModality> ParseModalityFlags(const ModalityFlags& flags);

// Opens the engine on the flags' store. The master key sealing the store's
// templates comes from --key FILE, else env ABIS_MASTER_KEY (the key itself,
// hex or base64), else env ABIS_MASTER_KEY_FILE, else "<db>.key" (created
// with mode 0600 on first use); see docs/store.md.
// Engine settings from the flags and the environment (ABIS_MASTER_KEY,
// ABIS_MASTER_KEY_FILE); `database_override` replaces --db when not empty.
EngineOptions EngineOptionsFromFlags(const GlobalFlags& flags,
                                     const std::string& database_override = "");

Result<std::unique_ptr<Engine>> OpenEngine(const GlobalFlags& flags,
                                           const std::string& database_override = "");

// Reads a capture file (bounded size).
Result<std::vector<std::uint8_t>> ReadCapture(const std::string& path);

// Prints `status` and returns the process exit code for it (1).
int ReportError(const GlobalFlags& flags, const Status& status);

// Progress of a bulk job on stderr: a live line on a terminal, and a line
// per tenth of the work otherwise (logs stay readable).
void ShowProgress(std::size_t done, std::size_t total, const std::string& what);

// Prints a JSON document to stdout.
void PrintJson(const nlohmann::json& document);

// Subcommands; each registers itself on `app` and runs when chosen.
void RegisterEnrolCommand(CLI::App& app);
void RegisterIdentifyCommand(CLI::App& app);
void RegisterVerifyCommand(CLI::App& app);
void RegisterCompareCommand(CLI::App& app);
void RegisterFacesCommand(CLI::App& app);
void RegisterGalleryCommand(CLI::App& app);
void RegisterEvalCommand(CLI::App& app);
void RegisterAuditCommand(CLI::App& app);
void RegisterServeCommand(CLI::App& app);

}  // namespace abis::cli

#endif  // ABIS_CLI_CLI_COMMON_H_
