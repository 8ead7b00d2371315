#include "finger/contactless.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "finger/ridge_analysis.h"

namespace abis::finger {
namespace {

// Largest 8-connected component of a binary mask, holes filled.
cv::Mat LargestComponent(const cv::Mat& binary) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  cv::Mat mask = cv::Mat::zeros(binary.size(), CV_8U);
  double best_area = 0;
  int best = -1;
  for (size_t i = 0; i < contours.size(); ++i) {
    const double area = cv::contourArea(contours[i]);
    if (area > best_area) {
      best_area = area;
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) cv::drawContours(mask, contours, best, cv::Scalar(255), cv::FILLED);
  return mask;
}

// Dominant ridge period (px) of the central square of `gray` inside `mask`:
// peak of the radially averaged power spectrum between 5 and 48 px.
float SpectralPeriod(const cv::Mat& gray, const cv::Mat& mask) {
  const cv::Rect box = cv::boundingRect(mask);
  const int n = std::min({512, box.width, box.height}) / 2 * 2;
  if (n < 64) return 0;
  const cv::Rect roi(box.x + (box.width - n) / 2, box.y + (box.height - n) / 2, n, n);
  cv::Mat patch;
  gray(roi).convertTo(patch, CV_32F);
  patch -= cv::mean(patch)[0];
  cv::Mat window;
  cv::createHanningWindow(window, patch.size(), CV_32F);
  patch = patch.mul(window);
  cv::Mat spectrum;
  cv::dft(patch, spectrum, cv::DFT_COMPLEX_OUTPUT);
  std::vector<double> power(n / 2 + 1, 0.0), count(n / 2 + 1, 0.0);
  for (int v = 0; v < n; ++v) {
    for (int u = 0; u < n; ++u) {
      const int fu = u <= n / 2 ? u : u - n, fv = v <= n / 2 ? v : v - n;
      const int r = static_cast<int>(std::lround(std::hypot(fu, fv)));
      if (r > n / 2) continue;
      const cv::Vec2f c = spectrum.at<cv::Vec2f>(v, u);
      power[r] += c[0] * c[0] + c[1] * c[1];
      count[r] += 1;
    }
  }
  const int r_min = std::max(2, static_cast<int>(std::floor(n / 48.0)));
  const int r_max = std::min(n / 2 - 1, static_cast<int>(std::ceil(n / 5.0)));
  int best = -1;
  double best_power = 0;
  for (int r = r_min; r <= r_max; ++r) {
    const double p = power[r] / std::max(1.0, count[r]) * r;  // r: ridges are a ring
    if (p > best_power) {
      best_power = p;
      best = r;
    }
  }
  if (best <= r_min || best >= r_max) return 0;
  auto value = [&](int r) { return power[r] / std::max(1.0, count[r]) * r; };
  const double a = value(best - 1), b = value(best), c = value(best + 1);
  const double denom = a - 2 * b + c;
  const double offset = std::abs(denom) > 1e-12 ? std::clamp(0.5 * (a - c) / denom, -0.5, 0.5) : 0;
  return static_cast<float>(n / (best + offset));
}

// Counter-clockwise rotation (degrees, cv::getRotationMatrix2D's sense) that
// turns the finger in `mask` tip-up. The axis is the long side of the
// minimum-area rectangle; the tip is the end away from where the finger
// leaves the frame (its base), or, when it lies wholly inside the frame, the
// end nearer the top of the photo (the smallest rotation to vertical).
double UprightAngle(const cv::Mat& mask, const std::vector<cv::Point>& points) {
  const cv::RotatedRect box = cv::minAreaRect(points);
  double axis = box.angle * CV_PI / 180;  // direction of the `width` side
  if (box.size.width < box.size.height) axis += CV_PI / 2;
  cv::Point2d tip(std::cos(axis), std::sin(axis));  // image coordinates, y down
  // Base: mean of the finger's pixels on the frame's outermost rows/columns.
  cv::Point2d base(0, 0);
  int on_border = 0;
  for (const cv::Point& p : points) {
    if (p.x <= 1 || p.y <= 1 || p.x >= mask.cols - 2 || p.y >= mask.rows - 2) {
      base += cv::Point2d(p);
      ++on_border;
    }
  }
  const cv::Point2d centre(box.center);
  if (on_border >= 3) {
    base /= on_border;
    if (tip.dot(centre - base) < 0) tip = -tip;
  } else if (tip.y > 0) {
    tip = -tip;  // point up
  }
  // Turn the tip direction, math angle atan2(-y, x), to +90 degrees.
  return 90.0 - std::atan2(-tip.y, tip.x) * 180 / CV_PI;
}

cv::Mat Affine3(const cv::Mat& affine2x3) {
  cv::Mat m = cv::Mat::eye(3, 3, CV_64F);
  affine2x3.copyTo(m(cv::Rect(0, 0, 3, 2)));
  return m;
}

}  // namespace

ContactlessPreprocessor::ContactlessPreprocessor(ContactlessOptions options) : options_(options) {}

Result<PreprocessedFinger> ContactlessPreprocessor::Preprocess(const cv::Mat& bgr) const {
  if (bgr.empty()) return InvalidArgumentError("contactless: image is empty");
  if (bgr.type() != CV_8UC3) {
    return InvalidArgumentError("contactless: image must be 8-bit BGR (3 channels)");
  }
  if (std::min(bgr.cols, bgr.rows) < 128 || static_cast<double>(bgr.cols) * bgr.rows > kMaxPixels) {
    return InvalidArgumentError("contactless: image size " + std::to_string(bgr.cols) + "x" +
                                std::to_string(bgr.rows) + " is out of range");
  }
  try {
    // 1. Skin segmentation on a working copy of at most 640 px.
    const double work_scale = std::min(1.0, 640.0 / std::max(bgr.cols, bgr.rows));
    cv::Mat small, ycrcb, skin;
    cv::resize(bgr, small, cv::Size(), work_scale, work_scale, cv::INTER_AREA);
    cv::cvtColor(small, ycrcb, cv::COLOR_BGR2YCrCb);
    cv::inRange(ycrcb, cv::Scalar(40, 135, 75), cv::Scalar(255, 180, 130), skin);
    const cv::Mat disk = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(9, 9));
    cv::morphologyEx(skin, skin, cv::MORPH_OPEN, disk);
    cv::morphologyEx(skin, skin, cv::MORPH_CLOSE, disk);
    cv::Mat finger_small = LargestComponent(skin);
    if (cv::countNonZero(finger_small) < 0.02 * small.total()) {
      return NotFoundError("contactless: no finger-sized skin region in the photo");
    }
    cv::Mat finger;
    cv::resize(finger_small, finger, bgr.size(), 0, 0, cv::INTER_LINEAR);
    finger = finger > 127;

    // 2. Finger axis: rotate so the finger points up with its tip at the top,
    // like a contact impression (the MCC matcher only pairs minutiae whose
    // directions differ by <= 90 degrees, so an upside-down or sideways
    // fingertip cannot match its contact print).
    std::vector<cv::Point> points;
    cv::findNonZero(finger_small, points);
    const double angle = UprightAngle(finger_small, points);
    cv::RotatedRect box = cv::minAreaRect(points);
    const cv::Point2f centre(box.center.x / work_scale, box.center.y / work_scale);
    cv::Mat rotation = cv::getRotationMatrix2D(centre, angle, 1.0);
    cv::Mat upright, upright_mask;
    cv::warpAffine(bgr, upright, rotation, bgr.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    cv::warpAffine(finger, upright_mask, rotation, bgr.size(), cv::INTER_NEAREST);
    const cv::Rect extent = cv::boundingRect(upright_mask);
    if (extent.width < 64 || extent.height < 64) {
      return NotFoundError("contactless: the finger region is too small");
    }
    // Fingertip: the distal ~1.5 finger widths, at the top after the rotation.
    cv::Rect crop = extent;
    const int tip_length = static_cast<int>(1.5 * extent.width);
    if (crop.height > tip_length) crop.height = tip_length;
    cv::Mat tip = upright(crop).clone();
    cv::Mat tip_mask = upright_mask(crop).clone();

    // 3. Grey: the green channel carries the best ridge contrast on skin.
    std::vector<cv::Mat> channels;
    cv::split(tip, channels);
    cv::Mat grey;
    channels[1].convertTo(grey, CV_32F);

    // 4. Flatten illumination (divide by a broad blur), then CLAHE.
    // (computed at 1/8 size: the light varies slowly and a wide blur at
    // full resolution costs seconds on a 12 MP photo)
    cv::Mat illumination, coarse;
    cv::resize(grey, coarse, cv::Size(), 0.125, 0.125, cv::INTER_AREA);
    cv::GaussianBlur(coarse, coarse, cv::Size(), std::max(1.0, coarse.cols / 16.0));
    cv::resize(coarse, illumination, grey.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat flat;
    cv::divide(grey, illumination + 1.0, flat);
    cv::Mat flat8 = cv::Mat::zeros(flat.size(), CV_8U);  // normalize writes only the mask
    cv::normalize(flat, flat8, 0, 255, cv::NORM_MINMAX, CV_8U, tip_mask);
    auto clahe = cv::createCLAHE(2.5, cv::Size(8, 8));
    cv::Mat contrast;
    clahe->apply(flat8, contrast);
    // 5. Polarity: make ridges dark.
    if (options_.ridges_bright) contrast = 255 - contrast;

    // 6. Scale so the ridge period becomes the target: spectral estimate,
    // then up to kRefinements corrections with the x-signature at the new
    // scale (one was not enough: the spectral peak can be 20-35 % off, and
    // at that scale the x-signature itself is biased towards the target,
    // leaving up to 17 % of scale error on simulated photos).
    cv::Mat inner_mask;
    cv::erode(tip_mask, inner_mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15)));
    const float period = SpectralPeriod(contrast, inner_mask);
    if (period <= 0) {
      return FailedPreconditionError(
          "contactless: no ridge period found (out of focus, or finger too far)");
    }
    double scale = options_.target_period / period;
    cv::Mat scaled, scaled_mask;
    auto rescale = [&] {
      cv::resize(contrast, scaled, cv::Size(), scale, scale,
                 scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
      cv::resize(tip_mask, scaled_mask, scaled.size(), 0, 0, cv::INTER_NEAREST);
    };
    rescale();
    constexpr int kRefinements = 3;
    for (int iteration = 0; iteration < kRefinements; ++iteration) {
      const int pw = scaled.cols / kBlockSize * kBlockSize,
                ph = scaled.rows / kBlockSize * kBlockSize;
      if (pw < 64 || ph < 64) break;
      const cv::Mat image = NormalizeGlobally(scaled(cv::Rect(0, 0, pw, ph)));
      const OrientationField field = EstimateOrientation(image, 1.5);
      // Blocks with ridges (the extractor's own segmentation) on the finger:
      // plain skin gives no period and only drags the median.
      cv::Mat blocks;
      cv::resize(scaled_mask(cv::Rect(0, 0, pw, ph)) & SegmentForeground(image), blocks,
                 field.orientation.size(), 0, 0, cv::INTER_AREA);
      cv::erode(blocks > 250, blocks, cv::Mat());
      cv::Mat period_map = EstimateRidgePeriod(image, field.orientation, blocks / 255);
      std::vector<float> values;
      for (int r = 0; r < blocks.rows; ++r) {
        for (int c = 0; c < blocks.cols; ++c) {
          if (blocks.at<uchar>(r, c)) values.push_back(period_map.at<float>(r, c));
        }
      }
      if (values.empty()) break;
      std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
      const double refine = options_.target_period / values[values.size() / 2];
      if (std::abs(refine - 1) <= 0.03 || refine <= 0.7 || refine >= 1.4) break;
      scale *= refine;
      rescale();
    }

    // 7. Stricter mask (drop the rim), flat background outside it.
    const int rim = static_cast<int>(options_.rim_fraction * 0.5 * extent.width * scale);
    if (rim > 0) {
      cv::erode(scaled_mask, scaled_mask,
                cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * rim + 1, 2 * rim + 1)));
    }
    const cv::Scalar inside_mean = cv::mean(scaled, scaled_mask);
    scaled.setTo(inside_mean, scaled_mask == 0);

    // 8. Mirror to the handedness of a contact impression.
    cv::Mat to_output =
        (cv::Mat_<double>(3, 3) << scale, 0, -scale * crop.x, 0, scale, -scale * crop.y, 0, 0, 1);
    to_output = to_output * Affine3(rotation);
    if (options_.mirror) {
      cv::flip(scaled, scaled, 1);
      cv::flip(scaled_mask, scaled_mask, 1);
      const cv::Mat flip = (cv::Mat_<double>(3, 3) << -1, 0, scaled.cols - 1, 0, 1, 0, 0, 0, 1);
      to_output = flip * to_output;
    }

    PreprocessedFinger out;
    out.gray = scaled;
    out.mask = scaled_mask;
    out.measured_period = period;
    out.scale = scale;
    out.photo_to_output = to_output;
    return out;
  } catch (const cv::Exception& e) {
    return InternalError(std::string("contactless: OpenCV failed: ") + e.what());
  }
}

Result<FingerFeatures> ContactlessPreprocessor::Extract(const cv::Mat& bgr,
                                                        const FingerprintExtractor& extractor,
                                                        FingerPosition position) const {
  ABIS_ASSIGN_OR_RETURN(PreprocessedFinger finger, Preprocess(bgr));
  // The output is at 500 ppi by construction (period normalised).
  return extractor.Extract(finger.gray, 500, CaptureType::kContactless, position);
}

}  // namespace abis::finger
