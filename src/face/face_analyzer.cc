#include "face/face_analyzer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <numbers>
#include <sstream>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#include "core/file_io.h"
#include "imaging/image_quality.h"

namespace abis::face {
namespace {

// The photo as HOG sees it: scaled by `scale`, then shifted by `pad` pixels.
struct WorkingImage {
  dlib::matrix<dlib::rgb_pixel> rgb;
  double scale = 1.0;
  int pad = 0;

  cv::Point2d ToPhoto(double x, double y) const { return {(x - pad) / scale, (y - pad) / scale}; }
};

WorkingImage MakeWorkingImage(const cv::Mat& bgr, double scale, int pad_fraction_percent) {
  cv::Mat resized;
  if (scale == 1.0) {
    resized = bgr;
  } else {
    cv::resize(bgr, resized, cv::Size(), scale, scale,
               scale < 1.0 ? cv::INTER_AREA : cv::INTER_CUBIC);
  }
  WorkingImage working;
  working.scale = scale;
  if (pad_fraction_percent > 0) {
    working.pad = std::max(resized.cols, resized.rows) * pad_fraction_percent / 100;
    cv::Scalar mean_colour = cv::mean(resized);
    cv::copyMakeBorder(resized, resized, working.pad, working.pad, working.pad, working.pad,
                       cv::BORDER_CONSTANT, mean_colour);
  }
  cv::Mat rgb;
  cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
  dlib::assign_image(working.rgb, dlib::cv_image<dlib::rgb_pixel>(rgb));
  return working;
}

double WorkingScale(const cv::Mat& bgr, const FaceAnalyzerOptions& options) {
  int long_side = std::max(bgr.cols, bgr.rows);
  int short_side = std::min(bgr.cols, bgr.rows);
  if (long_side > options.max_working_side) {
    return static_cast<double>(options.max_working_side) / long_side;
  }
  if (short_side < options.min_working_side) {
    return std::min(4.0, std::ceil(static_cast<double>(options.min_working_side) / short_side));
  }
  return 1.0;
}

cv::Point2d Centroid(const std::array<cv::Point2d, kLandmarkCount>& points, int first, int last) {
  cv::Point2d sum(0, 0);
  for (int i = first; i <= last; ++i) sum += points[i];
  return sum / static_cast<double>(last - first + 1);
}

double Clamp01(double value) { return std::clamp(value, 0.0, 1.0); }

}  // namespace

FaceQuality MeasureFaceQuality(const std::array<cv::Point2d, kLandmarkCount>& landmarks,
                               const dlib::matrix<dlib::rgb_pixel>& chip, double detection_score) {
  FaceQuality quality;
  quality.detection_score = detection_score;
  // iBUG 68-point scheme: 0..16 jaw, 30 nose tip, 36..41 and 42..47 the eyes.
  cv::Point2d eye_a = Centroid(landmarks, 36, 41);
  cv::Point2d eye_b = Centroid(landmarks, 42, 47);
  quality.inter_eye_px = cv::norm(eye_b - eye_a);
  cv::Point2d jaw_vector = landmarks[16] - landmarks[0];
  double jaw_width = cv::norm(jaw_vector);
  quality.face_width_px = jaw_width;
  quality.roll_deg = std::atan2(eye_b.y - eye_a.y, eye_b.x - eye_a.x) * 180.0 / std::numbers::pi;
  if (jaw_width > 0) {
    // Cylinder model: the nose tip sits on the face's front, so its offset
    // from the jaw midline over half the jaw width is about sin(yaw).
    cv::Point2d midline = (landmarks[0] + landmarks[16]) * 0.5;
    double offset = (landmarks[30] - midline).dot(jaw_vector / jaw_width) / (jaw_width / 2);
    quality.yaw_deg = std::asin(std::clamp(offset, -1.0, 1.0)) * 180.0 / std::numbers::pi;
  }

  cv::Mat rgb(kChipSize, kChipSize, CV_8UC3);
  for (int y = 0; y < kChipSize; ++y) {
    for (int x = 0; x < kChipSize; ++x) {
      const dlib::rgb_pixel& p = chip(y, x);
      rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(p.red, p.green, p.blue);
    }
  }
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  quality.sharpness = imaging::LaplacianVariance(gray);
  imaging::Exposure exposure = imaging::MeasureExposure(gray);
  quality.exposure_mean = exposure.mean;
  quality.clipped_fraction = exposure.dark_fraction + exposure.bright_fraction;

  // Each factor is 1 for a capture that meets ISO/IEC 19794-5-like practice
  // and falls towards 0; the overall score is their product.
  double size_factor = Clamp01(quality.inter_eye_px / 60.0);
  double sharpness_factor = Clamp01(quality.sharpness / 100.0);
  double exposure_factor = Clamp01(1.0 - std::abs(quality.exposure_mean - 128.0) / 128.0) *
                           Clamp01(1.0 - 2.0 * quality.clipped_fraction);
  double pose_factor = Clamp01(1.0 - std::abs(quality.yaw_deg) / 60.0) *
                       Clamp01(1.0 - std::abs(quality.roll_deg) / 60.0);
  quality.score = 100.0 * std::sqrt(size_factor) * std::sqrt(sharpness_factor) *
                  std::sqrt(exposure_factor) * pose_factor;
  return quality;
}

struct FaceAnalyzer::Impl {
  FaceAnalyzerOptions options;
  dlib::frontal_face_detector detector;
  dlib::shape_predictor shape_predictor;
};

FaceAnalyzer::FaceAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceAnalyzer::~FaceAnalyzer() = default;

Result<std::unique_ptr<FaceAnalyzer>> FaceAnalyzer::Load(const std::string& shape_predictor_path,
                                                         const FaceAnalyzerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes,
                        ReadFileBytes(shape_predictor_path, 512u << 20));
  try {
    std::istringstream stream(std::string(bytes.begin(), bytes.end()));
    dlib::deserialize(impl->shape_predictor, stream);
    impl->detector = dlib::get_frontal_face_detector();
  } catch (const std::exception& e) {
    return DataLossError("cannot load landmark model " + shape_predictor_path + ": " + e.what());
  }
  if (impl->shape_predictor.num_parts() != kLandmarkCount) {
    return FailedPreconditionError("landmark model has " +
                                   std::to_string(impl->shape_predictor.num_parts()) +
                                   " points; expected 68");
  }
  return std::unique_ptr<FaceAnalyzer>(new FaceAnalyzer(std::move(impl)));
}

Result<std::vector<AnalyzedFace>> FaceAnalyzer::Analyze(const cv::Mat& bgr,
                                                        AnalysisTimings* timings) {
  using Clock = std::chrono::steady_clock;
  AnalysisTimings local;
  auto elapsed_ms = [](Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
  };
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    return InvalidArgumentError("face analysis needs a non-empty 8-bit three-channel image");
  }
  std::vector<AnalyzedFace> faces;
  try {
    Clock::time_point started = Clock::now();
    double scale = WorkingScale(bgr, impl_->options);
    WorkingImage working = MakeWorkingImage(bgr, scale, 0);
    std::vector<dlib::rect_detection> detections;
    impl_->detector(working.rgb, detections, 0.0);
    if (detections.empty() && impl_->options.pad_when_none_found) {
      // Tight crops leave HOG no context around the face: add a border.
      working = MakeWorkingImage(bgr, scale, 25);
      impl_->detector(working.rgb, detections, 0.0);
    }
    local.detect_ms = elapsed_ms(started);
    for (const dlib::rect_detection& detection : detections) {
      started = Clock::now();
      dlib::full_object_detection shape = impl_->shape_predictor(working.rgb, detection.rect);
      local.landmarks_ms += elapsed_ms(started);
      started = Clock::now();
      AnalyzedFace face;
      for (int i = 0; i < kLandmarkCount; ++i) {
        face.landmarks[i] = working.ToPhoto(shape.part(i).x(), shape.part(i).y());
      }
      cv::Point2d top_left = working.ToPhoto(detection.rect.left(), detection.rect.top());
      cv::Point2d bottom_right =
          working.ToPhoto(detection.rect.right() + 1, detection.rect.bottom() + 1);
      face.box = cv::Rect2d(top_left, bottom_right);
      dlib::extract_image_chip(working.rgb, dlib::get_face_chip_details(shape, kChipSize, 0.25),
                               face.chip);
      face.quality = MeasureFaceQuality(face.landmarks, face.chip, detection.detection_confidence);
      faces.push_back(std::move(face));
      local.align_ms += elapsed_ms(started);
    }
  } catch (const std::exception& e) {
    return InternalError(std::string("face analysis failed: ") + e.what());
  }
  std::sort(faces.begin(), faces.end(), [](const AnalyzedFace& a, const AnalyzedFace& b) {
    return a.quality.detection_score > b.quality.detection_score;
  });
  if (timings != nullptr) *timings = local;
  return faces;
}

}  // namespace abis::face
