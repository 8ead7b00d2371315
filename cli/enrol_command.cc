// abis enroll: enrol face photos or fingerprints into a gallery, one identity at a time or
// a whole <identity>/<images> folder with progress. Each enrolment is its
// own transaction: a bad photo is reported and skipped, never half-stored.

#include <iostream>

#include "cli/cli_common.h"
#include "cli/labelled_folder.h"

namespace abis::cli {
namespace {

struct EnrolFlags {
  GlobalFlags global;
  std::string gallery;
  std::string identity;
  ModalityFlags modality;
  std::vector<std::string> paths;
};

int RunEnrol(const EnrolFlags& flags) {
  auto modality = ParseModalityFlags(flags.modality);
  if (!modality.ok()) return ReportError(flags.global, modality.status());
  std::vector<LabelledImage> work;
  if (!flags.identity.empty()) {
    for (const std::string& path : flags.paths) work.push_back({flags.identity, path, path});
  } else {
    for (const std::string& folder : flags.paths) {
      auto listed = ListLabelledFolder(folder);
      if (!listed.ok()) {
        return ReportError(flags.global,
                           listed.status().WithContext("without --identity, give folders laid "
                                                       "out as <identity>/<images>"));
      }
      work.insert(work.end(), listed->begin(), listed->end());
    }
  }
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());

  nlohmann::json outcomes = nlohmann::json::array();
  int enrolled = 0;
  const bool show_progress = work.size() > 1;
  for (std::size_t i = 0; i < work.size(); ++i) {
    const LabelledImage& item = work[i];
    nlohmann::json outcome = {{"file", item.relative_path}, {"identity", item.identity}};
    auto image = ReadCapture(item.path);
    Result<EnrolmentResult> result =
        image.ok() ? (*engine)->Enrol({flags.gallery, item.identity, std::move(*image),
                                       modality->modality, true, modality->finger})
                   : Result<EnrolmentResult>(image.status());
    if (result.ok()) {
      ++enrolled;
      outcome["reference_id"] = result->reference_id;
      if (result->finger) {
        outcome["finger"] = ToJson(*result->finger);
      } else {
        outcome["quality"] = ToJson(result->face.quality);
      }
      outcome["source_sha256"] = result->source_sha256;
      nlohmann::json duplicates = nlohmann::json::array();
      for (const Candidate& c : result->possible_duplicates) duplicates.push_back(ToJson(c));
      outcome["possible_duplicates"] = duplicates;
    } else {
      outcome["error"] = {{"code", std::string(StatusCodeName(result.status().code()))},
                          {"message", result.status().message()}};
    }
    if (show_progress) {
      ShowProgress(
          i + 1, work.size(),
          "enrolled " + std::to_string(enrolled) + ", failed " + std::to_string(i + 1 - enrolled));
    }
    if (!flags.global.json) {
      if (result.ok()) {
        if (!show_progress) {
          std::cout << "enrolled " << item.relative_path << " as " << item.identity
                    << " in gallery " << flags.gallery << " (reference " << result->reference_id
                    << ", quality "
                    << static_cast<int>(result->finger ? result->finger->quality
                                                       : result->face.quality.score)
                    << ")\n";
        }
        for (const Candidate& c : result->possible_duplicates) {
          std::cout << "  possible duplicate of " << c.identity << " (score " << c.score << ") for "
                    << item.relative_path << ": needs review\n";
        }
      } else {
        std::cout << "FAILED " << item.relative_path << ": " << result.status().ToString() << "\n";
      }
    }
    outcomes.push_back(std::move(outcome));
  }
  int failed = static_cast<int>(work.size()) - enrolled;
  if (flags.global.json) {
    PrintJson({{"gallery", flags.gallery},
               {"enrolled", enrolled},
               {"failed", failed},
               {"algorithm",
                ToJson(modality->modality == Modality::kFinger ? (*engine)->finger_algorithm()
                                                               : (*engine)->face_algorithm())},
               {"results", outcomes}});
  } else if (show_progress) {
    std::cout << "gallery " << flags.gallery << ": enrolled " << enrolled << ", failed " << failed
              << " of " << work.size() << "\n";
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

void RegisterEnrolCommand(CLI::App& app) {
  auto flags = std::make_shared<EnrolFlags>();
  CLI::App* command = app.add_subcommand(
      "enroll", "Enrol photos: IMAGE... with --identity, or FOLDER... of <identity>/<images>");
  command->alias("enrol");
  AddGlobalFlags(*command, flags->global);
  command->add_option("--gallery,-g", flags->gallery, "Gallery name (created if missing)")
      ->required();
  command->add_option("--identity,-i", flags->identity, "Identity of the given images");
  AddModalityFlags(*command, flags->modality);
  command->add_option("paths", flags->paths, "Images, or folders without --identity")->required();
  command->callback([flags] {
    int code = RunEnrol(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
