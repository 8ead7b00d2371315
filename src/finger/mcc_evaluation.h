// mcc_evaluation.h
//
// Verification accuracy of the MCC matcher on a folder of ISO/IEC 19794-2
// templates laid out as <finger_id>/<n>.iso, where the finger id starts with
// the database name ("fvc2002_db1_101" -> database "fvc2002_db1"), as in
// shared/data/fingerprint_templates. Per database: all genuine pairs and all
// cross-finger impostor pairs; EER and FNMR at FMR = 1e-3. Pooled over all
// databases: every cross-finger pair, which also fits the score calibration.
// Used by tools/finger_template_eval and by the accuracy test.
//
// Thread safety: pure functions.

#ifndef ABIS_FINGER_MCC_EVALUATION_H_
#define ABIS_FINGER_MCC_EVALUATION_H_

#include <string>
#include <vector>

#include "abis/status.h"

#include "finger/mcc.h"

namespace abis::finger {

struct TemplateEvaluationOptions {
  std::string template_dir;
  // When set, <image_dir>/<finger_id>/<n>.png gives the real image size and
  // coordinates are mapped from the record's declared size to it (the shared
  // templates were extracted from images stretched to 300x400).
  std::string image_dir;
  int threads = 2;
  // Also score every cross-database pair (pooled impostors, calibration).
  // Without it only pairs within a database are compared (8x fewer).
  bool pooled_impostors = true;
};

struct DatabaseAccuracy {
  std::string name;
  int fingers = 0;
  int templates = 0;
  int genuine_pairs = 0;
  int impostor_pairs = 0;
  double eer = 0;
  // Threshold from this database's own impostors (coarse: ~640 impostors).
  double fnmr_at_fmr_1e3 = 0;
  // Threshold at FMR 1e-3 of the pooled cross-database impostors.
  double fnmr_at_pooled_fmr_1e3 = 0;
  double mean_minutiae = 0;
};

struct TemplateEvaluation {
  std::vector<DatabaseAccuracy> databases;
  int pooled_impostor_pairs = 0;
  float pooled_threshold_fmr_1e3 = 0;
  double mean_eer_fvc2002 = 0;
  double mean_eer_fvc2004 = 0;
  double mean_eer = 0;
  double match_microseconds = 0;  // mean wall time per comparison, one thread
  ScoreCalibration calibration;   // fitted on the pooled impostors
};

// Equal error rate: where the false match rate (impostors >= t) meets the
// false non-match rate (genuines < t); the mean of the two at the crossing.
double EqualErrorRate(std::vector<float> genuine, std::vector<float> impostor);
// FNMR at the lowest threshold whose FMR is <= fmr.
double FnmrAtFmr(std::vector<float> genuine, std::vector<float> impostor, double fmr);

// NotFound when the folder is missing or holds no templates; the error of
// the first template that fails to decode otherwise.
Result<TemplateEvaluation> EvaluateIsoTemplates(const TemplateEvaluationOptions& options);

}  // namespace abis::finger

#endif  // ABIS_FINGER_MCC_EVALUATION_H_
