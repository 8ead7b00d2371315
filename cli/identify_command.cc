// abis identify: 1:N search of one probe photo in a gallery. Prints a ranked
// candidate list, never a "match": candidates are leads for human review.

#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"

namespace abis::cli {
namespace {

struct IdentifyFlags {
  GlobalFlags global;
  std::string gallery;
  std::string image_path;
  ModalityFlags modality;
  int max_candidates = 20;
  double min_score = 0.0;
  int face_index = -1;
  std::string with_finger;  // Multimodal: a finger probe of the same person.
};

void PrintFaces(const std::vector<ProbeFace>& faces) {
  std::printf("%-5s %-28s %8s %8s %8s %s\n", "face", "box (x,y,w,h)", "det", "eyes_px", "quality",
              "gate");
  for (const ProbeFace& f : faces) {
    char box[64];
    std::snprintf(box, sizeof box, "%.0f,%.0f,%.0f,%.0f", f.box.x, f.box.y, f.box.width,
                  f.box.height);
    std::printf("%-5d %-28s %8.2f %8.1f %8.1f %s\n", f.index, box, f.quality.detection_score,
                f.quality.inter_eye_px, f.quality.score,
                f.gate_failure.empty() ? "ok" : f.gate_failure.c_str());
  }
}

// --with-finger: the face photo and a finger probe of the same person,
// searched separately and fused per identity (Engine::IdentifyMultimodal).
// The finger flags (--finger-position, --ppi, --contactless) describe the
// finger probe here.
int RunMultimodal(const IdentifyFlags& flags) {
  if (flags.modality.modality != "face") {
    return ReportError(flags.global,
                       InvalidArgumentError("--with-finger needs the main image to be a face "
                                            "photo (--modality face)"));
  }
  ModalityFlags finger_flags = flags.modality;
  finger_flags.modality = "finger";
  auto finger = ParseModalityFlags(finger_flags);
  if (!finger.ok()) return ReportError(flags.global, finger.status());
  auto face_image = ReadCapture(flags.image_path);
  if (!face_image.ok()) return ReportError(flags.global, face_image.status());
  auto finger_image = ReadCapture(flags.with_finger);
  if (!finger_image.ok()) return ReportError(flags.global, finger_image.status());
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  IdentificationRequest face_probe;
  face_probe.gallery = flags.gallery;
  face_probe.image = std::move(*face_image);
  face_probe.min_score = flags.min_score;
  face_probe.face_index = flags.face_index;
  IdentificationRequest finger_probe;
  finger_probe.gallery = flags.gallery;
  finger_probe.image = std::move(*finger_image);
  finger_probe.modality = Modality::kFinger;
  finger_probe.finger = finger->finger;
  finger_probe.min_score = flags.min_score;
  auto result = (*engine)->IdentifyMultimodal({face_probe, finger_probe}, flags.max_candidates);
  if (!result.ok()) return ReportError(flags.global, result.status());

  if (flags.global.json) {
    nlohmann::json document = MultimodalIdentificationToJson(flags.gallery, *result);
    PrintJson(document);
    return 0;
  }
  std::cout << "face probe and finger probe searched in gallery " << flags.gallery << " ("
            << result->gallery_identities << " identities), fused per identity\n";
  std::printf("%4s  %-32s %9s %10s %12s %10s %10s\n", "rank", "identity", "evidence", "fused FMR",
              "exp. false", "face", "finger");
  for (const MultimodalCandidate& c : result->candidates) {
    auto score = [](const std::optional<Candidate>& listed) {
      char text[32] = "-";
      if (listed) std::snprintf(text, sizeof text, "%.4f", listed->score);
      return std::string(text);
    };
    const char* bound = c.fused_fmr_is_upper_bound ? "<" : "";
    char fmr[32];
    char expected[32];
    std::snprintf(fmr, sizeof fmr, "%s%.2g", bound, c.fused_fmr);
    std::snprintf(expected, sizeof expected, "%s%.3g", bound, c.expected_false_candidates);
    std::printf("%4d  %-32s %9.2f %10s %12s %10s %10s\n", c.rank, c.identity.c_str(), c.evidence,
                fmr, expected, score(c.per_probe[0]).c_str(), score(c.per_probe[1]).c_str());
  }
  if (result->candidates.empty()) std::cout << "(no candidates)\n";
  std::cout << "evidence: sum over the probes of -log10 FMR (a probe that did not list the "
               "identity adds 0); fused FMR = 10^-evidence, the product of the probes' FMRs "
               "if impostor scores of face and finger are independent.\n"
               "Candidates are leads for trained human review, not identifications.\n";
  return 0;
}

int RunIdentify(const IdentifyFlags& flags) {
  if (!flags.with_finger.empty()) return RunMultimodal(flags);
  auto modality = ParseModalityFlags(flags.modality);
  if (!modality.ok()) return ReportError(flags.global, modality.status());
  auto image = ReadCapture(flags.image_path);
  if (!image.ok()) return ReportError(flags.global, image.status());
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  IdentificationRequest request;
  request.gallery = flags.gallery;
  request.image = std::move(*image);
  request.modality = modality->modality;
  request.finger = modality->finger;
  request.max_candidates = flags.max_candidates;
  request.min_score = flags.min_score;
  request.face_index = flags.face_index;
  auto result = (*engine)->Identify(request);
  if (!result.ok()) return ReportError(flags.global, result.status());

  if (flags.global.json) {
    nlohmann::json document = IdentificationToJson(flags.gallery, *result);
    PrintJson(document);
    return 0;
  }
  if (result->finger) {
    std::cout << "probe finger (position " << result->finger->position << ", "
              << result->finger->minutiae << " minutiae, quality "
              << static_cast<int>(result->finger->quality) << ") searched in gallery "
              << flags.gallery << " (" << result->gallery_identities << " identities, "
              << result->gallery_references << " finger references)\n";
  } else if (result->searched_face < 0) {
    std::cout << result->faces.size()
              << " faces found; choose one with --face N and search again:\n";
    PrintFaces(result->faces);
    return 0;
  } else {
    std::cout << "probe face " << result->searched_face << " (quality "
              << static_cast<int>(result->faces[result->searched_face].quality.score)
              << ") searched in gallery " << flags.gallery << " (" << result->gallery_identities
              << " identities, " << result->gallery_references << " references)\n";
  }
  std::printf("%4s  %-32s %8s %9s %10s %10s %12s\n", "rank", "identity", "score", "distance",
              "reference", "FMR", "exp. false");
  for (const Candidate& c : result->candidates) {
    char fmr[32] = "n/a";
    char expected[32] = "n/a";
    if (c.fmr) {
      std::snprintf(fmr, sizeof fmr, "%s%.2g", c.fmr_is_upper_bound ? "<" : "", *c.fmr);
      std::snprintf(expected, sizeof expected, "%s%.3g", c.fmr_is_upper_bound ? "<" : "",
                    *c.expected_false_candidates);
    }
    std::printf("%4d  %-32s %8.4f %9.4f %10lld %10s %12s\n", c.rank, c.identity.c_str(), c.score,
                c.distance, static_cast<long long>(c.reference_id), fmr, expected);
  }
  if (result->candidates.empty()) std::cout << "(no candidates)\n";
  if (result->algorithm.calibration_card.empty()) {
    std::printf("Scores at or above %.2f meet the 1:1 verification threshold (uncalibrated).\n",
                result->algorithm.verification_threshold);
  } else {
    std::printf(
        "FMR: share of impostor comparisons scoring this high (model card %s); exp. false: "
        "expected false candidates this high in a gallery of %lld identities.\n",
        result->algorithm.calibration_card.c_str(),
        static_cast<long long>(result->gallery_identities));
  }
  std::cout << "Candidates are leads for trained human review, not identifications.\n";
  return 0;
}

}  // namespace

void RegisterIdentifyCommand(CLI::App& app) {
  auto flags = std::make_shared<IdentifyFlags>();
  CLI::App* command = app.add_subcommand("identify", "1:N search: ranked candidate list");
  AddGlobalFlags(*command, flags->global);
  command->add_option("--gallery,-g", flags->gallery, "Gallery to search")->required();
  command->add_option("--top,-k", flags->max_candidates, "Candidate list length")
      ->capture_default_str();
  command->add_option("--min-score", flags->min_score, "Drop candidates below this score")
      ->capture_default_str();
  command->add_option("--face", flags->face_index, "Face to search when the photo has several");
  AddModalityFlags(*command, flags->modality);
  command->add_option("--with-finger", flags->with_finger,
                      "Also search this finger image of the same person and fuse the two lists "
                      "per identity (the finger flags then describe it)");
  command->add_option("image", flags->image_path, "Probe photo or fingerprint image")->required();
  command->callback([flags] {
    int code = RunIdentify(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
