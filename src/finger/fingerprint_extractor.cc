#include "finger/fingerprint_extractor.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include <opencv2/imgproc.hpp>

#include "finger/minutiae_detection.h"
#include "finger/ridge_analysis.h"

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;
constexpr int kOrientationBins = 24;  // 7.5 degrees
constexpr float kPeriodStep = 0.5f;
constexpr int kPeriodBins = static_cast<int>((kMaxRidgePeriod - kMinRidgePeriod) / kPeriodStep) + 1;

// Zero-mean, unit-deviation image over a neighbourhood of a few ridges: takes
// out uneven pressure, illumination and contrast before orientation and
// Gabor filtering.
cv::Mat NormalizeLocally(const cv::Mat& image) {
  cv::Mat mean, centred, var, sd;
  cv::GaussianBlur(image, mean, cv::Size(), 8.0);
  centred = image - mean;
  cv::GaussianBlur(centred.mul(centred), var, cv::Size(), 10.0);
  cv::sqrt(var, sd);
  cv::Mat result;
  cv::divide(centred, sd + 0.05, result);
  return result;
}

}  // namespace

FingerprintExtractor::FingerprintExtractor(ExtractorOptions options) : options_(options) {
  bank_.resize(kPeriodBins * kOrientationBins);
  for (int pb = 0; pb < kPeriodBins; ++pb) {
    const float period = kMinRidgePeriod + pb * kPeriodStep;
    // Across the ridges the envelope spans about one period each side (Hong
    // et al. 1998 use sigma 4 at period 9); along them a little longer to
    // bridge small gaps without blurring curvature.
    const float sigma_across = 0.42f * period;
    const float sigma_along = 0.5f * period;
    const int radius = static_cast<int>(std::ceil(2.5f * std::max(sigma_across, sigma_along)));
    for (int ob = 0; ob < kOrientationBins; ++ob) {
      const float theta = ob * kPi / kOrientationBins;
      const float tx = std::cos(theta), ty = std::sin(theta);
      GaborKernel& k = bank_[pb * kOrientationBins + ob];
      k.radius = radius;
      k.weights.create(2 * radius + 1, 2 * radius + 1, CV_32F);
      cv::Mat envelope(k.weights.size(), CV_32F);
      double env_sum = 0, carrier_sum = 0;
      for (int y = -radius; y <= radius; ++y) {
        for (int x = -radius; x <= radius; ++x) {
          const float along = x * tx + y * ty;
          const float across = -x * ty + y * tx;
          const float env = std::exp(-0.5f * (across * across / (sigma_across * sigma_across) +
                                              along * along / (sigma_along * sigma_along)));
          const float w = env * std::cos(2 * kPi * across / period);
          envelope.at<float>(y + radius, x + radius) = env;
          k.weights.at<float>(y + radius, x + radius) = w;
          env_sum += env;
          carrier_sum += w;
        }
      }
      // Zero DC response, so flat regions give 0 whatever their grey level.
      k.weights -= envelope * static_cast<float>(carrier_sum / env_sum);
      k.weights /= static_cast<float>(cv::norm(k.weights, cv::NORM_L1) / 2);
    }
  }
}

const FingerprintExtractor::GaborKernel& FingerprintExtractor::Kernel(float orientation,
                                                                      float period) const {
  int ob = static_cast<int>(std::lround(orientation / kPi * kOrientationBins)) % kOrientationBins;
  if (ob < 0) ob += kOrientationBins;
  const int pb = std::clamp(static_cast<int>(std::lround((period - kMinRidgePeriod) / kPeriodStep)),
                            0, kPeriodBins - 1);
  return bank_[pb * kOrientationBins + ob];
}

cv::Mat FingerprintExtractor::Enhance(const cv::Mat& image, const cv::Mat& orientation,
                                      const cv::Mat& period, const cv::Mat& block_mask) const {
  int max_radius = 0;
  for (const GaborKernel& k : bank_) max_radius = std::max(max_radius, k.radius);
  cv::Mat padded;
  cv::copyMakeBorder(image, padded, max_radius, max_radius, max_radius, max_radius,
                     cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat out = cv::Mat::zeros(image.size(), CV_32F);
  float acc[kBlockSize][kBlockSize];
  for (int br = 0; br < orientation.rows; ++br) {
    for (int bc = 0; bc < orientation.cols; ++bc) {
      if (!block_mask.at<uchar>(br, bc)) continue;
      const GaborKernel& k = Kernel(orientation.at<float>(br, bc), period.at<float>(br, bc));
      const int x0 = bc * kBlockSize + max_radius - k.radius;
      const int y0 = br * kBlockSize + max_radius - k.radius;
      std::fill(&acc[0][0], &acc[0][0] + kBlockSize * kBlockSize, 0.0f);
      const int size = 2 * k.radius + 1;
      for (int ky = 0; ky < size; ++ky) {
        const float* krow = k.weights.ptr<float>(ky);
        for (int kx = 0; kx < size; ++kx) {
          const float w = krow[kx];
          for (int py = 0; py < kBlockSize; ++py) {
            const float* src = padded.ptr<float>(y0 + ky + py) + x0 + kx;
            for (int px = 0; px < kBlockSize; ++px) acc[py][px] += w * src[px];
          }
        }
      }
      for (int py = 0; py < kBlockSize; ++py) {
        float* dst = out.ptr<float>(br * kBlockSize + py) + bc * kBlockSize;
        for (int px = 0; px < kBlockSize; ++px) dst[px] = acc[py][px];
      }
    }
  }
  return out;
}

Result<FingerFeatures> FingerprintExtractor::Extract(const cv::Mat& gray, double ppi,
                                                     CaptureType capture,
                                                     FingerPosition position) const {
  ExtractionMaps maps;
  return ExtractWithMaps(gray, ppi, capture, position, &maps);
}

Result<FingerFeatures> FingerprintExtractor::ExtractWithMaps(const cv::Mat& gray, double ppi,
                                                             CaptureType capture,
                                                             FingerPosition position,
                                                             ExtractionMaps* maps) const {
  if (maps == nullptr) return InvalidArgumentError("fingerprint: maps must not be null");
  if (gray.empty()) return InvalidArgumentError("fingerprint: image is empty");
  if (gray.type() != CV_8UC1) {
    return InvalidArgumentError("fingerprint: image must be 8-bit single-channel grey (type " +
                                std::to_string(gray.type()) + ")");
  }
  if (!(ppi > 0)) {
    if (options_.assumed_ppi <= 0) {
      return InvalidArgumentError(
          "fingerprint: resolution (ppi) is missing; state it or set an assumed resolution");
    }
    ppi = options_.assumed_ppi;
  }
  if (!std::isfinite(ppi) || ppi < kMinPpi || ppi > kMaxPpi) {
    return InvalidArgumentError("fingerprint: resolution " + std::to_string(ppi) +
                                " ppi is outside [" + std::to_string(int(kMinPpi)) + ", " +
                                std::to_string(int(kMaxPpi)) + "]");
  }
  const double scale = 500.0 / ppi;
  const int width = static_cast<int>(std::lround(gray.cols * scale));
  const int height = static_cast<int>(std::lround(gray.rows * scale));
  if (std::min(width, height) < kMinSide || std::max(width, height) > kMaxSide) {
    return InvalidArgumentError("fingerprint: image is " + std::to_string(width) + "x" +
                                std::to_string(height) + " px at 500 ppi; sides must be in [" +
                                std::to_string(kMinSide) + ", " + std::to_string(kMaxSide) + "]");
  }

  try {
    cv::Mat img500;
    if (std::abs(scale - 1.0) < 1e-3) {
      img500 = gray;
    } else {
      cv::resize(gray, img500, cv::Size(width, height), 0, 0,
                 scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    }
    // Pad to whole blocks (multiples of 2 blocks keep pyramids simple).
    const int padded_w = (width + 15) / 16 * 16;
    const int padded_h = (height + 15) / 16 * 16;
    cv::copyMakeBorder(img500, maps->image, 0, padded_h - height, 0, padded_w - width,
                       cv::BORDER_REPLICATE);

    const cv::Mat global = NormalizeGlobally(maps->image);
    maps->mask = SegmentForeground(global);
    maps->mask(cv::Rect(width, 0, padded_w - width, padded_h)).setTo(0);
    maps->mask(cv::Rect(0, height, padded_w, padded_h - height)).setTo(0);
    const cv::Mat local = NormalizeLocally(global);

    const OrientationField field = EstimateOrientation(local, 1.5f);
    maps->orientation = field.orientation;
    maps->coherence = field.coherence;
    cv::Mat block_mask_area;
    cv::resize(maps->mask, block_mask_area, field.orientation.size(), 0, 0, cv::INTER_AREA);
    maps->block_mask = block_mask_area > 127;
    maps->block_mask /= 255;

    float period_valid = 0;
    maps->period = EstimateRidgePeriod(local, field.orientation, maps->block_mask, &period_valid);

    cv::Mat enhance_mask;
    cv::dilate(maps->block_mask, enhance_mask, cv::Mat());
    maps->enhanced = Enhance(local, field.orientation, maps->period, enhance_mask);

    cv::Mat ridges = (maps->enhanced < 0) & maps->mask;
    cv::medianBlur(ridges, ridges, 3);
    maps->skeleton = ThinRidges(ridges);

    cv::Mat frame = maps->mask.clone();
    frame.row(0).setTo(0);
    frame.row(frame.rows - 1).setTo(0);
    frame.col(0).setTo(0);
    frame.col(frame.cols - 1).setTo(0);
    cv::Mat distance;
    cv::distanceTransform(frame, distance, cv::DIST_L2, 3);

    // Mean ridge period over the foreground.
    double period_sum = 0;
    int blocks = 0;
    for (int r = 0; r < maps->period.rows; ++r) {
      for (int c = 0; c < maps->period.cols; ++c) {
        if (!maps->block_mask.at<uchar>(r, c)) continue;
        period_sum += maps->period.at<float>(r, c);
        ++blocks;
      }
    }
    const float mean_period = blocks > 0 ? static_cast<float>(period_sum / blocks) : 9.0f;

    MinutiaeDetectionInput detection;
    detection.skeleton = maps->skeleton;
    detection.distance_to_border = distance;
    detection.orientation = field.orientation;
    detection.ridge_period = mean_period;
    std::vector<Minutia> minutiae = DetectMinutiae(detection);

    // Local clarity: correlation of the normalised image with the ridge model.
    cv::Mat cross, local_sq, enh_sq;
    const cv::Size block_grid = field.orientation.size();
    cv::resize(local.mul(maps->enhanced), cross, block_grid, 0, 0, cv::INTER_AREA);
    cv::resize(local.mul(local), local_sq, block_grid, 0, 0, cv::INTER_AREA);
    cv::resize(maps->enhanced.mul(maps->enhanced), enh_sq, block_grid, 0, 0, cv::INTER_AREA);
    cv::Mat clarity(block_grid, CV_32F);
    for (int r = 0; r < block_grid.height; ++r) {
      for (int c = 0; c < block_grid.width; ++c) {
        const float d = std::sqrt(local_sq.at<float>(r, c) * enh_sq.at<float>(r, c));
        clarity.at<float>(r, c) = d > 1e-6f ? std::max(0.0f, cross.at<float>(r, c) / d) : 0.0f;
      }
    }
    cv::Mat clarity_smooth, coherence_smooth;
    cv::GaussianBlur(clarity, clarity_smooth, cv::Size(), 1.0);

    // Per-minutia quality: local ridge clarity and orientation certainty,
    // lowered near the edge of the print.
    for (Minutia& m : minutiae) {
      const int br = std::min(m.y / kBlockSize, block_grid.height - 1);
      const int bc = std::min(m.x / kBlockSize, block_grid.width - 1);
      const float local_quality = 0.5f * clarity_smooth.at<float>(br, bc) +
                                  0.5f * std::min(1.0f, field.coherence.at<float>(br, bc) / 0.8f);
      const float edge = std::min(1.0f, distance.at<float>(m.y, m.x) / (3 * mean_period));
      m.quality = static_cast<std::uint8_t>(
          std::clamp(std::lround(100 * local_quality * (0.5f + 0.5f * edge)), 1L, 100L));
    }
    std::stable_sort(minutiae.begin(), minutiae.end(),
                     [](const Minutia& a, const Minutia& b) { return a.quality > b.quality; });
    if (static_cast<int>(minutiae.size()) > options_.max_minutiae) {
      minutiae.resize(std::max(0, options_.max_minutiae));
    }

    // Singular points on a more strongly smoothed field.
    const OrientationField smooth_field = EstimateOrientation(local, 3.0);
    std::vector<SingularPoint> singular =
        FindSingularPoints(smooth_field.orientation, maps->block_mask);

    // Image quality measurements over the foreground blocks.
    cv::Mat highpass, hp_mean;
    cv::GaussianBlur(global, hp_mean, cv::Size(), mean_period / 2);
    highpass = global - hp_mean;
    cv::Mat hp_var;
    cv::resize(highpass.mul(highpass), hp_var, block_grid, 0, 0, cv::INTER_AREA);
    double raw_min, raw_max;
    {
      std::vector<uchar> values(maps->image.begin<uchar>(), maps->image.end<uchar>());
      const size_t lo = values.size() / 100, hi = values.size() * 99 / 100;
      std::nth_element(values.begin(), values.begin() + lo, values.end());
      raw_min = values[lo];
      std::nth_element(values.begin(), values.begin() + hi, values.end());
      raw_max = values[hi];
    }
    cv::Scalar g_mean, g_sd;
    cv::Mat image_f;
    maps->image.convertTo(image_f, CV_32F);
    cv::meanStdDev(image_f, g_mean, g_sd);
    const double range_in_sd = std::max(1.0, raw_max - raw_min) / std::max(g_sd[0], 1e-3);

    QualityMeasurements qm;
    double coh_sum = 0, clar_sum = 0, hp_sum = 0;
    for (int r = 0; r < block_grid.height; ++r) {
      for (int c = 0; c < block_grid.width; ++c) {
        if (!maps->block_mask.at<uchar>(r, c)) continue;
        coh_sum += field.coherence.at<float>(r, c);
        clar_sum += clarity.at<float>(r, c);
        hp_sum += std::sqrt(hp_var.at<float>(r, c));
      }
    }
    qm.foreground_pixels = cv::countNonZero(maps->mask);
    if (blocks > 0) {
      qm.mean_coherence = coh_sum / blocks;
      qm.mean_clarity = clar_sum / blocks;
      qm.ridge_contrast = hp_sum / blocks / range_in_sd;
    }
    qm.period_valid_fraction = period_valid;
    qm.minutiae_count = static_cast<int>(minutiae.size());
    double mq = 0;
    for (const Minutia& m : minutiae) mq += m.quality;
    qm.mean_minutia_quality = minutiae.empty() ? 0 : mq / minutiae.size();
    maps->quality = ScoreFingerprintQuality(qm);

    FingerFeatures features;
    features.width = width;
    features.height = height;
    features.capture = capture;
    features.position = position;
    features.quality = maps->quality.score;
    features.ridge_period = mean_period;
    features.minutiae = std::move(minutiae);
    features.singular_points = std::move(singular);
    return features;
  } catch (const cv::Exception& e) {
    return InternalError(std::string("fingerprint: OpenCV failed: ") + e.what());
  }
}

}  // namespace abis::finger
