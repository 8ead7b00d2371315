// face_analyzer.h
//
// Finds faces in a photo and prepares each for embedding: dlib's HOG frontal
// detector, the 68-point shape predictor, and an aligned 150x150 chip, plus
// the capture-quality measures of every face. It decides nothing: quality
// gates and detection-score floors are applied by policy/ through engine/.
//
// HOG finds frontal faces of roughly 80 px and up, so small photos are
// upsampled before detection and large ones downsampled (speed); tightly
// cropped faces get a plain border added when the first pass finds nothing.
// All coordinates in results are in the pixels of the photo as given.
//
// Thread safety: Analyze() mutates detector scratch state; use one
// FaceAnalyzer per thread.

#ifndef ABIS_FACE_FACE_ANALYZER_H_
#define ABIS_FACE_FACE_ANALYZER_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <dlib/image_processing/generic_image.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>
#include <opencv2/core.hpp>

#include "abis/status.h"

namespace abis::face {

inline constexpr int kChipSize = 150;
inline constexpr int kLandmarkCount = 68;

struct FaceQuality {
  double detection_score = 0;   // HOG SVM margin; > 0 for every returned face.
  double face_width_px = 0;     // Landmark jaw width, in photo pixels.
  double inter_eye_px = 0;      // Distance between eye centres, in photo pixels.
  double sharpness = 0;         // Laplacian variance of the grey aligned chip.
  double exposure_mean = 0;     // Mean grey level of the chip, 0..255.
  double clipped_fraction = 0;  // Share of chip pixels at <= 10 or >= 245.
  double yaw_deg = 0;           // Estimate from landmark asymmetry (+ = subject's left).
  double roll_deg = 0;          // Angle of the eye line.
  double score = 0;             // Overall, 0..100 (see docs/algorithms.md).
};

struct AnalyzedFace {
  cv::Rect2d box;  // Detection rectangle in photo pixels.
  std::array<cv::Point2d, kLandmarkCount> landmarks;
  FaceQuality quality;
  dlib::matrix<dlib::rgb_pixel> chip;  // kChipSize x kChipSize, RGB.
};

struct FaceAnalyzerOptions {
  int max_working_side = 1280;  // Larger photos are downsampled before HOG.
  int min_working_side = 200;   // Smaller photos are upsampled (x2..x4).
  bool pad_when_none_found = true;
};

// Wall time of each stage of one Analyze() call, for benchmarks.
struct AnalysisTimings {
  double detect_ms = 0;     // Scaling, colour conversion and HOG (both passes).
  double landmarks_ms = 0;  // 68-point shape prediction, all faces.
  double align_ms = 0;      // Chip extraction and quality, all faces.
};

class FaceAnalyzer {
 public:
  // Loads the 68-point model (e.g. /usr/share/dlib/shape_predictor_68_face_landmarks.dat).
  static Result<std::unique_ptr<FaceAnalyzer>> Load(const std::string& shape_predictor_path,
                                                    const FaceAnalyzerOptions& options = {});
  ~FaceAnalyzer();
  FaceAnalyzer(const FaceAnalyzer&) = delete;
  FaceAnalyzer& operator=(const FaceAnalyzer&) = delete;

  // All faces found in `bgr` (CV_8UC3), ordered by detection score,
  // highest first. An empty list is not an error here.
  Result<std::vector<AnalyzedFace>> Analyze(const cv::Mat& bgr, AnalysisTimings* timings = nullptr);

 private:
  struct Impl;
  explicit FaceAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Pure function of the landmarks and the chip; exposed for tests.
FaceQuality MeasureFaceQuality(const std::array<cv::Point2d, kLandmarkCount>& landmarks,
                               const dlib::matrix<dlib::rgb_pixel>& chip, double detection_score);

}  // namespace abis::face

#endif  // ABIS_FACE_FACE_ANALYZER_H_
