// Cross-extractor accuracy of the MCC matcher on ISO/IEC 19794-2 templates
// (default: ../shared/data/fingerprint_templates, the FVC 2002/2004 B-set
// templates made by another extractor). Prints JSON: per database EER and
// FNMR at FMR 1e-3, pooled impostor threshold, mean time per comparison.
//   finger_template_eval [--templates DIR] [--images DIR] [--no-restretch]
//                        [--threads N] [--print-calibration]

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "finger/mcc_evaluation.h"

int main(int argc, char** argv) {
  CLI::App app("MCC accuracy on ISO finger templates");
  const std::string shared = std::string(ABIS_SOURCE_DIR) + "/../shared/data";
  abis::finger::TemplateEvaluationOptions options;
  options.template_dir = shared + "/fingerprint_templates";
  options.image_dir = shared + "/fingerprints";
  bool no_restretch = false, print_calibration = false;
  app.add_option("--templates", options.template_dir, "folder of <finger>/<n>.iso");
  app.add_option("--images", options.image_dir, "folder of <finger>/<n>.png (real image sizes)");
  app.add_flag("--no-restretch", no_restretch, "use the coordinates as the records declare them");
  app.add_option("--threads", options.threads, "worker threads");
  app.add_flag("--print-calibration", print_calibration, "include the fitted calibration knots");
  CLI11_PARSE(app, argc, argv);
  if (no_restretch) options.image_dir.clear();

  auto report = abis::finger::EvaluateIsoTemplates(options);
  if (!report.ok()) {
    std::cerr << report.status().ToString() << "\n";
    return 1;
  }
  nlohmann::json out;
  out["template_dir"] = options.template_dir;
  out["restretched_to_image_size"] = !options.image_dir.empty();
  for (const auto& db : report->databases) {
    out["databases"].push_back({{"name", db.name},
                                {"fingers", db.fingers},
                                {"templates", db.templates},
                                {"mean_minutiae", db.mean_minutiae},
                                {"genuine_pairs", db.genuine_pairs},
                                {"impostor_pairs", db.impostor_pairs},
                                {"eer", db.eer},
                                {"fnmr_at_fmr_1e3_own_impostors", db.fnmr_at_fmr_1e3},
                                {"fnmr_at_pooled_fmr_1e3", db.fnmr_at_pooled_fmr_1e3}});
  }
  out["mean_eer_fvc2002"] = report->mean_eer_fvc2002;
  out["mean_eer_fvc2004"] = report->mean_eer_fvc2004;
  out["mean_eer"] = report->mean_eer;
  out["pooled_impostor_pairs"] = report->pooled_impostor_pairs;
  out["pooled_raw_threshold_fmr_1e3"] = report->pooled_threshold_fmr_1e3;
  out["match_microseconds"] = report->match_microseconds;
  if (print_calibration) {
    for (const auto& knot : report->calibration.knots()) {
      out["calibration"].push_back({knot.raw, knot.log10_fmr});
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
