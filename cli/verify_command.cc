// abis verify (1:1 against an enrolled identity) and abis compare (two
// photos). Both report the comparison score, the distance behind it and the
// threshold in force, so a reader can see how close the call was.

#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"

namespace abis::cli {
namespace {

struct VerifyFlags {
  GlobalFlags global;
  std::string gallery;
  std::string identity;
  std::string image_path;
  int face_index = -1;
  ModalityFlags modality;
};

struct CompareFlags {
  GlobalFlags global;
  std::string image_a;
  std::string image_b;
};

int RunVerify(const VerifyFlags& flags) {
  auto modality = ParseModalityFlags(flags.modality);
  if (!modality.ok()) return ReportError(flags.global, modality.status());
  auto image = ReadCapture(flags.image_path);
  if (!image.ok()) return ReportError(flags.global, image.status());
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  VerificationRequest request;
  request.gallery = flags.gallery;
  request.identity = flags.identity;
  request.image = std::move(*image);
  request.face_index = flags.face_index;
  request.modality = modality->modality;
  request.finger = modality->finger;
  auto result = (*engine)->Verify(request);
  if (!result.ok()) return ReportError(flags.global, result.status());
  const AlgorithmInfo& algorithm = modality->modality == Modality::kFinger
                                       ? (*engine)->finger_algorithm()
                                       : (*engine)->face_algorithm();
  if (flags.global.json) {
    PrintJson(VerificationToJson(flags.gallery, flags.identity, *result, algorithm));
    return 0;
  }
  std::printf("verification of %s against %s/%s: score %.4f (distance %.4f), threshold %.4f: %s\n",
              flags.image_path.c_str(), flags.gallery.c_str(), flags.identity.c_str(),
              result->score, result->distance, result->threshold,
              result->meets_threshold ? "meets the threshold" : "below the threshold");
  if (result->fmr) {
    std::printf("calibrated FMR at this score: %s%.3g\n", result->fmr_is_upper_bound ? "< " : "",
                *result->fmr);
  }
  return 0;
}

int RunCompare(const CompareFlags& flags) {
  auto a = ReadCapture(flags.image_a);
  if (!a.ok()) return ReportError(flags.global, a.status().WithContext(flags.image_a));
  auto b = ReadCapture(flags.image_b);
  if (!b.ok()) return ReportError(flags.global, b.status().WithContext(flags.image_b));
  auto engine = OpenEngine(flags.global, ":memory:");
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  auto result = (*engine)->Compare(*a, *b);
  if (!result.ok()) return ReportError(flags.global, result.status());
  const AlgorithmInfo& algorithm = (*engine)->face_algorithm();
  if (flags.global.json) {
    PrintJson({{"score", result->score},
               {"distance", result->distance},
               {"verification_threshold", algorithm.verification_threshold},
               {"face_a", ToJson(result->face_a)},
               {"face_b", ToJson(result->face_b)},
               {"algorithm", ToJson(algorithm)}});
    return 0;
  }
  std::printf("score %.4f (distance %.4f); verification threshold %.4f\n", result->score,
              result->distance, algorithm.verification_threshold);
  return 0;
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* command =
      app.add_subcommand("verify", "1:1: compare a photo with an enrolled identity");
  AddGlobalFlags(*command, flags->global);
  command->add_option("--gallery,-g", flags->gallery, "Gallery of the identity")->required();
  command->add_option("--identity,-i", flags->identity, "Claimed identity")->required();
  command->add_option("--face", flags->face_index, "Face to use when the photo has several");
  AddModalityFlags(*command, flags->modality);
  command->add_option("image", flags->image_path, "Probe photo or fingerprint image")->required();
  command->callback([flags] {
    int code = RunVerify(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

void RegisterCompareCommand(CLI::App& app) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* command = app.add_subcommand("compare", "Comparison score of two photos");
  AddGlobalFlags(*command, flags->global);
  command->add_option("image_a", flags->image_a, "First photo")->required();
  command->add_option("image_b", flags->image_b, "Second photo")->required();
  command->callback([flags] {
    int code = RunCompare(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
