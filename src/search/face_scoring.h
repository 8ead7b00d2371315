// face_scoring.h
//
// How two face embeddings become a comparison score. The dlib ResNet places
// same-person faces close in Euclidean distance (its training margin is at
// 0.6); abis reports a similarity so that higher always means more similar
// across modalities: score = 1 - distance / 2, clamped to [0, 1]. The
// distance is reported alongside. Neither is a probability: calibration
// (eval/) maps scores to false-match rates.

#ifndef ABIS_SEARCH_FACE_SCORING_H_
#define ABIS_SEARCH_FACE_SCORING_H_

#include <span>

#include "abis/biometric_template.h"
#include "abis/status.h"

namespace abis::search {

float SquaredL2(std::span<const float> a, std::span<const float> b);
double FaceScoreFromDistance(double distance);
double FaceDistanceFromScore(double score);

struct FaceComparison {
  double score = 0;     // Similarity in [0, 1]; higher = more similar.
  double distance = 0;  // Euclidean distance between embeddings.
};

// FailedPrecondition when the templates come from different algorithms or
// models (never a meaningless score); InvalidArgument on empty or mismatched
// feature vectors.
Result<FaceComparison> CompareFaceTemplates(const Template& probe, const Template& reference);

}  // namespace abis::search

#endif  // ABIS_SEARCH_FACE_SCORING_H_
