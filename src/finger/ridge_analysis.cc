#include "finger/ridge_analysis.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

float WrapHalfPi(float d) {  // to (-pi/2, pi/2]
  while (d > kPi / 2) d -= kPi;
  while (d <= -kPi / 2) d += kPi;
  return d;
}

float Bilinear(const cv::Mat& img, float x, float y) {
  x = std::clamp(x, 0.0f, static_cast<float>(img.cols - 1.001f));
  y = std::clamp(y, 0.0f, static_cast<float>(img.rows - 1.001f));
  const int x0 = static_cast<int>(x);
  const int y0 = static_cast<int>(y);
  const float fx = x - x0;
  const float fy = y - y0;
  const float* r0 = img.ptr<float>(y0);
  const float* r1 = img.ptr<float>(y0 + 1);
  return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x0 + 1]) +
         fy * ((1 - fx) * r1[x0] + fx * r1[x0 + 1]);
}

// Extrema positions (sub-pixel) of a short signal.
void FindExtrema(const std::vector<float>& s, std::vector<float>* maxima,
                 std::vector<float>* minima) {
  for (size_t k = 1; k + 1 < s.size(); ++k) {
    const bool is_max = s[k] > s[k - 1] && s[k] >= s[k + 1];
    const bool is_min = s[k] < s[k - 1] && s[k] <= s[k + 1];
    if (!is_max && !is_min) continue;
    const float denom = s[k - 1] - 2 * s[k] + s[k + 1];
    const float offset = std::abs(denom) > 1e-6f ? 0.5f * (s[k - 1] - s[k + 1]) / denom : 0.0f;
    (is_max ? maxima : minima)->push_back(static_cast<float>(k) + std::clamp(offset, -0.5f, 0.5f));
  }
}

// Mean spacing of sorted positions; 0 if fewer than two or too irregular.
float RegularSpacing(const std::vector<float>& positions) {
  if (positions.size() < 2) return 0;
  const float mean = (positions.back() - positions.front()) / (positions.size() - 1);
  float var = 0;
  for (size_t i = 1; i < positions.size(); ++i) {
    const float d = positions[i] - positions[i - 1] - mean;
    var += d * d;
  }
  var /= positions.size() - 1;
  return std::sqrt(var) > 0.3f * mean ? 0.0f : mean;
}

// Fills zero-weight cells of `values` from weighted neighbours, growing the
// kernel until everything is covered.
cv::Mat FillFromValid(const cv::Mat& values, const cv::Mat& weights, float fallback) {
  cv::Mat result = values.clone();
  cv::Mat vw = values.mul(weights);
  for (double sigma = 1.0; sigma <= 64; sigma *= 2) {
    cv::Mat num, den;
    cv::GaussianBlur(vw, num, cv::Size(), sigma, sigma, cv::BORDER_REPLICATE);
    cv::GaussianBlur(weights, den, cv::Size(), sigma, sigma, cv::BORDER_REPLICATE);
    bool missing = false;
    for (int r = 0; r < result.rows; ++r) {
      for (int c = 0; c < result.cols; ++c) {
        if (weights.at<float>(r, c) > 0) continue;
        const float d = den.at<float>(r, c);
        if (d > 1e-3f) {
          result.at<float>(r, c) = num.at<float>(r, c) / d;
        } else {
          missing = true;
        }
      }
    }
    if (!missing) return result;
  }
  for (int r = 0; r < result.rows; ++r) {
    for (int c = 0; c < result.cols; ++c) {
      if (weights.at<float>(r, c) <= 0 && result.at<float>(r, c) <= 0)
        result.at<float>(r, c) = fallback;
    }
  }
  return result;
}

}  // namespace

cv::Mat NormalizeGlobally(const cv::Mat& gray8) {
  cv::Mat f;
  gray8.convertTo(f, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(f, mean, stddev);
  const double sd = std::max(stddev[0], 1e-3);
  f = (f - mean[0]) / sd;
  return f;
}

cv::Mat SegmentForeground(const cv::Mat& image) {
  cv::Mat mean, mean_sq;
  const double sigma = 6.0;
  cv::GaussianBlur(image, mean, cv::Size(), sigma);
  cv::GaussianBlur(image.mul(image), mean_sq, cv::Size(), sigma);
  cv::Mat variance = cv::max(mean_sq - mean.mul(mean), 0.0);
  cv::Mat sd;
  cv::sqrt(variance, sd);

  // Robust scale: the 95th percentile of the local deviation.
  std::vector<float> values(sd.begin<float>(), sd.end<float>());
  std::nth_element(values.begin(), values.begin() + values.size() * 95 / 100, values.end());
  const float p95 = std::max(values[values.size() * 95 / 100], 1e-3f);
  cv::Mat sd8;
  sd.convertTo(sd8, CV_8U, 255.0 / p95);
  cv::Mat binary;
  const double otsu = cv::threshold(sd8, binary, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  // Otsu splits a print that fills the frame into two halves; never ask more
  // than a third of the strong-ridge contrast.
  const double threshold = std::min(otsu, 255.0 * 0.33);
  cv::threshold(sd8, binary, threshold, 255, cv::THRESH_BINARY);

  const cv::Mat disk = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(17, 17));
  cv::morphologyEx(binary, binary, cv::MORPH_CLOSE, disk);
  cv::morphologyEx(binary, binary, cv::MORPH_OPEN, disk);

  // Largest component, holes filled.
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  cv::Mat mask = cv::Mat::zeros(image.size(), CV_8U);
  if (contours.empty()) return mask;
  size_t best = 0;
  double best_area = -1;
  for (size_t i = 0; i < contours.size(); ++i) {
    const double area = cv::contourArea(contours[i]);
    if (area > best_area) {
      best_area = area;
      best = i;
    }
  }
  cv::drawContours(mask, contours, static_cast<int>(best), cv::Scalar(255), cv::FILLED);
  // The deviation window spreads the print by about its radius: take it back.
  cv::erode(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(7, 7)));
  return mask;
}

OrientationField EstimateOrientation(const cv::Mat& image, double smoothing_blocks) {
  CV_Assert(image.type() == CV_32F && image.cols % kBlockSize == 0 && image.rows % kBlockSize == 0);
  cv::Mat smooth, gx, gy;
  cv::GaussianBlur(image, smooth, cv::Size(), 1.0);
  cv::Sobel(smooth, gx, CV_32F, 1, 0, 3);
  cv::Sobel(smooth, gy, CV_32F, 0, 1, 3);
  const cv::Size blocks(image.cols / kBlockSize, image.rows / kBlockSize);
  cv::Mat gxx, gyy, gxy;
  cv::resize(gx.mul(gx), gxx, blocks, 0, 0, cv::INTER_AREA);
  cv::resize(gy.mul(gy), gyy, blocks, 0, 0, cv::INTER_AREA);
  cv::resize(gx.mul(gy), gxy, blocks, 0, 0, cv::INTER_AREA);

  cv::Mat a = gxx - gyy;
  cv::Mat b = 2 * gxy;
  cv::Mat e = gxx + gyy;
  OrientationField field;
  field.energy = e.clone();

  cv::Mat a1, b1, e1;  // Coherence over about 3 x 3 blocks.
  cv::GaussianBlur(a, a1, cv::Size(), 1.0, 1.0, cv::BORDER_REPLICATE);
  cv::GaussianBlur(b, b1, cv::Size(), 1.0, 1.0, cv::BORDER_REPLICATE);
  cv::GaussianBlur(e, e1, cv::Size(), 1.0, 1.0, cv::BORDER_REPLICATE);
  cv::Mat as = a1, bs = b1;
  if (smoothing_blocks > 0) {
    cv::GaussianBlur(a, as, cv::Size(), smoothing_blocks, smoothing_blocks, cv::BORDER_REPLICATE);
    cv::GaussianBlur(b, bs, cv::Size(), smoothing_blocks, smoothing_blocks, cv::BORDER_REPLICATE);
  }
  field.orientation.create(blocks, CV_32F);
  field.coherence.create(blocks, CV_32F);
  for (int r = 0; r < blocks.height; ++r) {
    for (int c = 0; c < blocks.width; ++c) {
      // Dominant gradient direction, turned by 90 degrees: the ridge direction.
      float theta = 0.5f * std::atan2(bs.at<float>(r, c), as.at<float>(r, c)) + kPi / 2;
      if (theta >= kPi) theta -= kPi;
      if (theta < 0) theta += kPi;
      field.orientation.at<float>(r, c) = theta;
      const float ea = a1.at<float>(r, c), eb = b1.at<float>(r, c), ee = e1.at<float>(r, c);
      field.coherence.at<float>(r, c) = ee > 1e-6f ? std::sqrt(ea * ea + eb * eb) / ee : 0.0f;
    }
  }
  return field;
}

cv::Mat EstimateRidgePeriod(const cv::Mat& image, const cv::Mat& orientation,
                            const cv::Mat& block_mask, float* valid_fraction) {
  cv::Mat smooth;
  cv::GaussianBlur(image, smooth, cv::Size(), 1.0);
  cv::Mat period = cv::Mat::zeros(orientation.size(), CV_32F);
  cv::Mat weight = cv::Mat::zeros(orientation.size(), CV_32F);
  constexpr int kHalfLength = 18;  // across the ridges
  constexpr int kHalfWidth = 8;    // along the ridges
  std::vector<float> signature(2 * kHalfLength);
  std::vector<float> maxima, minima;
  int masked = 0, valid = 0;
  for (int r = 0; r < orientation.rows; ++r) {
    for (int c = 0; c < orientation.cols; ++c) {
      if (!block_mask.empty() && !block_mask.at<uchar>(r, c)) continue;
      ++masked;
      const float theta = orientation.at<float>(r, c);
      const float tx = std::cos(theta), ty = std::sin(theta);  // along ridges
      const float nx = -ty, ny = tx;                           // across ridges
      const float cx = c * kBlockSize + kBlockSize / 2.0f;
      const float cy = r * kBlockSize + kBlockSize / 2.0f;
      for (int k = -kHalfLength; k < kHalfLength; ++k) {
        float sum = 0;
        int n = 0;
        for (int j = -kHalfWidth; j <= kHalfWidth; j += 2, ++n) {
          sum += Bilinear(smooth, cx + k * nx + j * tx, cy + k * ny + j * ty);
        }
        signature[k + kHalfLength] = sum / n;
      }
      maxima.clear();
      minima.clear();
      FindExtrema(signature, &maxima, &minima);
      const float pmax = RegularSpacing(maxima);
      const float pmin = RegularSpacing(minima);
      float p = 0;
      if (pmax > 0 && pmin > 0) {
        p = 0.5f * (pmax + pmin);
      } else {
        p = std::max(pmax, pmin);
      }
      if (p >= kMinRidgePeriod && p <= kMaxRidgePeriod) {
        period.at<float>(r, c) = p;
        weight.at<float>(r, c) = 1;
        ++valid;
      }
    }
  }
  if (valid_fraction != nullptr) *valid_fraction = masked > 0 ? float(valid) / masked : 0.0f;
  cv::Mat filled = FillFromValid(period, weight, 9.0f);
  cv::Mat smoothed;
  cv::GaussianBlur(filled, smoothed, cv::Size(), 1.5, 1.5, cv::BORDER_REPLICATE);
  return cv::min(cv::max(smoothed, kMinRidgePeriod), kMaxRidgePeriod);
}

std::vector<SingularPoint> FindSingularPoints(const cv::Mat& orientation,
                                              const cv::Mat& block_mask) {
  // A closed ring of radius 2 blocks, ordered by increasing image angle.
  struct Step {
    int dr, dc;
    float phi;
  };
  std::vector<Step> ring;
  for (int dr = -2; dr <= 2; ++dr) {
    for (int dc = -2; dc <= 2; ++dc) {
      if (std::max(std::abs(dr), std::abs(dc)) != 2) continue;
      ring.push_back({dr, dc, std::atan2(static_cast<float>(dr), static_cast<float>(dc))});
    }
  }
  std::sort(ring.begin(), ring.end(), [](const Step& a, const Step& b) { return a.phi < b.phi; });

  cv::Mat inner;
  cv::erode(block_mask, inner, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)),
            cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat cores = cv::Mat::zeros(orientation.size(), CV_8U);
  cv::Mat deltas = cv::Mat::zeros(orientation.size(), CV_8U);
  for (int r = 2; r + 2 < orientation.rows; ++r) {
    for (int c = 2; c + 2 < orientation.cols; ++c) {
      if (!inner.at<uchar>(r, c)) continue;
      float sum = 0;
      for (size_t k = 0; k < ring.size(); ++k) {
        const Step& a = ring[k];
        const Step& b = ring[(k + 1) % ring.size()];
        sum += WrapHalfPi(orientation.at<float>(r + b.dr, c + b.dc) -
                          orientation.at<float>(r + a.dr, c + a.dc));
      }
      if (std::abs(sum - kPi) < kPi / 2) cores.at<uchar>(r, c) = 255;
      if (std::abs(sum + kPi) < kPi / 2) deltas.at<uchar>(r, c) = 255;
    }
  }

  std::vector<SingularPoint> points;
  for (const SingularPointType type : {SingularPointType::kCore, SingularPointType::kDelta}) {
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(
        type == SingularPointType::kCore ? cores : deltas, labels, stats, centroids, 8);
    for (int i = 1; i < n; ++i) {
      const double bc = centroids.at<double>(i, 0), br = centroids.at<double>(i, 1);
      const int r = std::clamp(static_cast<int>(std::lround(br)), 2, orientation.rows - 3);
      const int c = std::clamp(static_cast<int>(std::lround(bc)), 2, orientation.cols - 3);
      // Core: theta = phi/2 + k around it, its axis (towards the opening of
      // the loop) is phi = 2k. Delta: theta = -phi/2 + k, arms at 2k/3 + n 2pi/3.
      std::complex<float> acc(0, 0);
      for (const Step& s : ring) {
        const float theta = orientation.at<float>(r + s.dr, c + s.dc);
        const float k = type == SingularPointType::kCore ? theta - s.phi / 2 : theta + s.phi / 2;
        acc += std::polar(1.0f, 2 * k);
      }
      const float k = 0.5f * std::arg(acc);
      const float phi = type == SingularPointType::kCore ? 2 * k : 2 * k / 3;
      float iso = std::atan2(-std::sin(phi), std::cos(phi));
      if (iso < 0) iso += 2 * kPi;
      SingularPoint p;
      p.type = type;
      p.x = static_cast<int>(std::lround((bc + 0.5) * kBlockSize));
      p.y = static_cast<int>(std::lround((br + 0.5) * kBlockSize));
      p.angle = iso;
      points.push_back(p);
    }
  }
  return points;
}

}  // namespace abis::finger
