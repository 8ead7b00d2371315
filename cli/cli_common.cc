#include "cli/cli_common.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include "core/file_io.h"

namespace abis::cli {

void AddGlobalFlags(CLI::App& command, GlobalFlags& flags, bool with_json_flag) {
  const char* db_env = std::getenv("ABIS_DB");
  const char* models_env = std::getenv("ABIS_MODELS");
  flags.database_path = db_env ? db_env : "abis.db";
  flags.model_dir = models_env ? models_env : ABIS_MODEL_DIR;
  command.add_option("--db", flags.database_path, "SQLite gallery store (env ABIS_DB)")
      ->capture_default_str();
  command.add_option("--models", flags.model_dir, "Model folder (env ABIS_MODELS)")
      ->capture_default_str();
  command.add_option("--key", flags.master_key_path,
                     "Master key file sealing the store's templates, mode 0600 (default: env"
                     " ABIS_MASTER_KEY, then env ABIS_MASTER_KEY_FILE, then <db>.key, created on"
                     " first use)");
  if (with_json_flag) command.add_flag("--json", flags.json, "Print JSON instead of a table");
}

EngineOptions EngineOptionsFromFlags(const GlobalFlags& flags,
                                     const std::string& database_override) {
  EngineOptions options;
  options.database_path = database_override.empty() ? flags.database_path : database_override;
  options.model_dir = flags.model_dir;
  // Finger, gallery and audit commands never touch the face networks.
  options.load_face_models_on_first_use = true;
  options.master_key_path = flags.master_key_path;
  if (options.master_key_path.empty()) {
    const char* key_env = std::getenv("ABIS_MASTER_KEY");
    const char* key_file_env = std::getenv("ABIS_MASTER_KEY_FILE");
    if (key_env != nullptr && *key_env != '\0') {
      options.master_key = key_env;
    } else if (key_file_env != nullptr) {
      options.master_key_path = key_file_env;
    }
  }
  return options;
}

Result<std::unique_ptr<Engine>> OpenEngine(const GlobalFlags& flags,
                                           const std::string& database_override) {
  return Engine::Open(EngineOptionsFromFlags(flags, database_override));
}

Result<std::vector<std::uint8_t>> ReadCapture(const std::string& path) {
  auto bytes = ReadFileBytes(path, 32u << 20);
  if (!bytes.ok()) return bytes.status();
  return bytes;
}

int ReportError(const GlobalFlags& flags, const Status& status) {
  if (flags.json) {
    PrintJson(
        {{"error",
          {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}});
  } else {
    std::cerr << "abis: " << status.ToString() << "\n";
  }
  return 1;
}

void ShowProgress(std::size_t done, std::size_t total, const std::string& what) {
  static const bool terminal = ::isatty(STDERR_FILENO) != 0;
  if (terminal) {
    std::cerr << "\r[" << done << "/" << total << "] " << what << "   " << std::flush;
    if (done == total) std::cerr << "\n";
    return;
  }
  std::size_t step = std::max<std::size_t>(1, total / 10);
  if (done % step == 0 || done == total) {
    std::cerr << "[" << done << "/" << total << "] " << what << "\n";
  }
}

void PrintJson(const nlohmann::json& document) { std::cout << document.dump(2) << "\n"; }

void AddModalityFlags(CLI::App& command, ModalityFlags& flags) {
  command.add_option("--modality", flags.modality, "face or finger")->capture_default_str();
  command.add_option("--finger-position", flags.finger_position,
                     "Finger: ISO 19794-2 code 0..10 or a name such as right-index (0 = unknown)");
  command.add_option("--ppi", flags.ppi,
                     "Finger: image resolution in pixels per inch (required for contact prints)");
  command.add_flag("--contactless", flags.contactless,
                   "Finger: the image is a phone photo of a fingertip");
}

Result<ParsedModality> ParseModalityFlags(const ModalityFlags& flags) {
  ParsedModality parsed;
  ABIS_ASSIGN_OR_RETURN(parsed.modality, ParseModality(flags.modality));
  ABIS_ASSIGN_OR_RETURN(parsed.finger.position, abis::ParseFingerPosition(flags.finger_position));
  parsed.finger.ppi = flags.ppi;
  parsed.finger.contactless = flags.contactless;
  if (parsed.modality == Modality::kFace &&
      (parsed.finger.position != 0 || flags.ppi != 0 || flags.contactless)) {
    return InvalidArgumentError(
        "--finger-position, --ppi and --contactless apply to --modality finger only");
  }
  if (flags.ppi < 0) return InvalidArgumentError("--ppi must be positive");
  return parsed;
}

}  // namespace abis::cli
