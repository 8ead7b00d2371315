// abis faces: every face in a photo with its quality measures and whether it
// passes the probe gate; --crop writes one PNG per face (for review, or to
// cut group photos into single-face enrolment captures).

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/cli_common.h"
#include "core/file_io.h"

namespace abis::cli {
namespace {

struct FacesFlags {
  GlobalFlags global;
  std::string image_path;
  std::string crop_dir;
};

int RunFaces(const FacesFlags& flags) {
  auto image = ReadCapture(flags.image_path);
  if (!image.ok()) return ReportError(flags.global, image.status());
  auto engine = OpenEngine(flags.global, ":memory:");
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  auto faces = (*engine)->DetectFaces(*image);
  if (!faces.ok()) return ReportError(flags.global, faces.status());
  std::vector<std::string> crops;
  if (!flags.crop_dir.empty()) {
    std::filesystem::create_directories(flags.crop_dir);
    std::string stem = std::filesystem::path(flags.image_path).stem().string();
    for (const ProbeFace& face : *faces) {
      auto png = (*engine)->CropFace(*image, face.index);
      if (!png.ok()) return ReportError(flags.global, png.status());
      std::string path = (std::filesystem::path(flags.crop_dir) /
                          (stem + "_face" + std::to_string(face.index) + ".png"))
                             .string();
      Status written = WriteFileAtomically(
          path, std::string_view(reinterpret_cast<const char*>(png->data()), png->size()));
      if (!written.ok()) return ReportError(flags.global, written);
      crops.push_back(path);
    }
  }
  if (flags.global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const ProbeFace& face : *faces) list.push_back(ToJson(face));
    nlohmann::json document = {{"image", flags.image_path}, {"faces", list}};
    if (!crops.empty()) document["crops"] = crops;
    PrintJson(document);
    return 0;
  }
  std::cout << faces->size() << " face(s) in " << flags.image_path << "\n";
  for (const ProbeFace& f : *faces) {
    std::printf(
        "face %d: box %.0f,%.0f %.0fx%.0f det %.2f eyes %.1f px yaw %.1f roll %.1f sharpness %.0f "
        "exposure %.0f quality %.1f %s\n",
        f.index, f.box.x, f.box.y, f.box.width, f.box.height, f.quality.detection_score,
        f.quality.inter_eye_px, f.quality.yaw_deg, f.quality.roll_deg, f.quality.sharpness,
        f.quality.exposure_mean, f.quality.score,
        f.gate_failure.empty() ? "" : ("[" + f.gate_failure + "]").c_str());
  }
  for (const std::string& crop : crops) std::cout << "wrote " << crop << "\n";
  return 0;
}

}  // namespace

void RegisterFacesCommand(CLI::App& app) {
  auto flags = std::make_shared<FacesFlags>();
  CLI::App* command = app.add_subcommand("faces", "Faces in a photo with their quality measures");
  AddGlobalFlags(*command, flags->global);
  command->add_option("--crop", flags->crop_dir, "Write one PNG per face into this folder");
  command->add_option("image", flags->image_path, "Photo")->required();
  command->callback([flags] {
    int code = RunFaces(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
