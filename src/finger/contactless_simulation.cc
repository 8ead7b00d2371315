#include "finger/contactless_simulation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "finger/ridge_analysis.h"

namespace abis::finger {

Result<SimulatedContactlessPhoto> SimulateContactlessPhoto(const cv::Mat& contact_gray,
                                                           std::uint64_t seed) {
  if (contact_gray.empty() || contact_gray.type() != CV_8UC1) {
    return InvalidArgumentError("contactless simulation: need a non-empty 8-bit grey print");
  }
  if (std::min(contact_gray.cols, contact_gray.rows) < 64 ||
      std::max(contact_gray.cols, contact_gray.rows) > 2000) {
    return InvalidArgumentError("contactless simulation: print size out of range");
  }
  cv::RNG rng(seed);
  SimulatedContactlessPhoto out;
  out.scale = rng.uniform(1.5, 3.0);
  const double s = out.scale;
  // The print's ridge area: a photographed finger has ridges all over its
  // pad, so the finger is sized to this box, not to the scanner's frame
  // (FVC2004 DB1 prints fill a small part of a 640x480 frame).
  const cv::Mat normalized = NormalizeGlobally(contact_gray);
  const cv::Mat mask = SegmentForeground(normalized);
  cv::Rect box = cv::boundingRect(mask);
  if (box.width < 32 || box.height < 32) box = cv::Rect(0, 0, contact_gray.cols, contact_gray.rows);
  const int w = box.width, h = box.height;

  // The finger: an ellipse somewhat larger than the print, in photo pixels.
  const int margin = static_cast<int>(0.15 * s * std::max(w, h));
  // Below the print the finger goes on to leave the frame at the bottom (its
  // base), so the skin region is longer than wide and points up, like a
  // fingertip photographed for identification, whatever the print's aspect.
  const int print_height = static_cast<int>(s * h) + 2 * margin;
  const int below = static_cast<int>(0.5 * (s * w + 2 * margin));
  const cv::Size canvas(static_cast<int>(s * w) + 2 * margin, print_height + below);

  // Contact -> photo: mirror, scale, place; then a mild random perspective.
  const cv::Mat place = (cv::Mat_<double>(3, 3) << -s, 0, s * (box.x + w - 1) + margin, 0, s,
                         margin - s * box.y, 0, 0, 1);
  std::vector<cv::Point2f> src = {{0, 0},
                                  {float(canvas.width), 0},
                                  {float(canvas.width), float(canvas.height)},
                                  {0, float(canvas.height)}};
  std::vector<cv::Point2f> dst = src;
  for (cv::Point2f& p : dst) {
    p.x += static_cast<float>(rng.uniform(-0.04, 0.04) * canvas.width);
    p.y += static_cast<float>(rng.uniform(-0.04, 0.04) * canvas.height);
  }
  const cv::Mat perspective = cv::getPerspectiveTransform(src, dst);
  out.contact_to_photo = perspective * place;

  // Ridge signal: inverted (ridges bright), only where the print has ridges.
  cv::Mat ridge_signal = -normalized;  // ridges positive
  ridge_signal.setTo(0, mask == 0);
  cv::Mat ridge_photo;
  cv::warpPerspective(ridge_signal, ridge_photo, out.contact_to_photo, canvas, cv::INTER_CUBIC,
                      cv::BORDER_CONSTANT, cv::Scalar(0));

  // Skin-coloured finger on a darker, bluish background: an ellipse round
  // the print (the tip) and the finger's body from its centre down out of
  // the frame, both tilted by up to 8 degrees.
  cv::Mat finger_mask = cv::Mat::zeros(canvas, CV_8U);
  const cv::Point2f centre(canvas.width / 2.0f, print_height / 2.0f);
  const cv::Size axes(static_cast<int>(canvas.width * 0.42), static_cast<int>(print_height * 0.47));
  const double tilt_degrees = rng.uniform(-8.0, 8.0);
  cv::ellipse(finger_mask, centre, axes, tilt_degrees, 0, 360, cv::Scalar(255), cv::FILLED);
  {
    const double t = tilt_degrees * CV_PI / 180, length = 2.0 * canvas.height;
    const cv::Point2f middle(centre.x - static_cast<float>(std::sin(t) * length / 2),
                             centre.y + static_cast<float>(std::cos(t) * length / 2));
    const cv::RotatedRect body(middle, cv::Size2f(2.0f * axes.width, static_cast<float>(length)),
                               static_cast<float>(tilt_degrees));
    cv::Point2f corners[4];
    body.points(corners);
    std::vector<cv::Point> polygon(corners, corners + 4);
    cv::fillConvexPoly(finger_mask, polygon, cv::Scalar(255));
  }
  const cv::Vec3f skin(rng.uniform(95.0, 130.0), rng.uniform(125.0, 160.0),
                       rng.uniform(185.0, 225.0));
  const cv::Vec3f background(70, 60, 55);
  // Uneven light: a tilted ramp times a broad highlight.
  const double tilt = rng.uniform(0.0, 2 * CV_PI);
  const cv::Point2f highlight(static_cast<float>(rng.uniform(0.3, 0.7) * canvas.width),
                              static_cast<float>(rng.uniform(0.3, 0.7) * canvas.height));
  cv::Mat photo(canvas, CV_32FC3);
  for (int y = 0; y < canvas.height; ++y) {
    for (int x = 0; x < canvas.width; ++x) {
      const double u = (x - centre.x) / canvas.width, v = (y - centre.y) / canvas.height;
      const double ramp = 1.0 + 0.35 * (u * std::cos(tilt) + v * std::sin(tilt));
      const double dx = (x - highlight.x) / canvas.width, dy = (y - highlight.y) / canvas.height;
      const double light = ramp * (0.8 + 0.35 * std::exp(-(dx * dx + dy * dy) / 0.05));
      cv::Vec3f colour = background;
      if (finger_mask.at<uchar>(y, x)) {
        const float ridge = std::clamp(ridge_photo.at<float>(y, x), -2.5f, 2.5f);
        colour = skin * (1.0f + 0.12f * ridge);
      }
      photo.at<cv::Vec3f>(y, x) = colour * static_cast<float>(light);
    }
  }
  // Optics and sensor: defocus blur, then noise.
  cv::GaussianBlur(photo, photo, cv::Size(), rng.uniform(0.6, 1.2) * s / 2);
  cv::Mat noise(canvas, CV_32FC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 3);
  photo += noise;
  photo.convertTo(out.bgr, CV_8UC3);
  return out;
}

}  // namespace abis::finger
