#include "eval/svg_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

namespace abis::eval {
namespace {

constexpr double kWidth = 560;
constexpr double kHeight = 420;
constexpr double kLeft = 64;
constexpr double kRight = 16;
constexpr double kTop = 52;
constexpr double kBottom = 52;
constexpr double kAreaWidth = kWidth - kLeft - kRight;
constexpr double kAreaHeight = kHeight - kTop - kBottom;

std::string Format(const char* format, double value) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

std::string Px(double value) { return Format("%.1f", value); }

// Maps data values of one axis to pixels along it.
class AxisMap {
 public:
  AxisMap(const Axis& axis, double pixel_start, double pixel_end)
      : axis_(axis),
        pixel_start_(pixel_start),
        pixel_end_(pixel_end),
        low_(Transform(axis.min)),
        high_(Transform(axis.max)) {}

  // Values beyond the range land a little outside the plot area, where the
  // clip path hides them; clamping keeps infinities out of the SVG.
  double ToPixel(double value) const {
    const double margin = 0.05 * (high_ - low_);
    const double t = std::clamp(Transform(value), low_ - margin, high_ + margin);
    return pixel_start_ + (t - low_) / (high_ - low_) * (pixel_end_ - pixel_start_);
  }

  bool Contains(double value) const { return value >= axis_.min && value <= axis_.max; }

 private:
  double Transform(double value) const {
    if (axis_.scale == AxisScale::kProbit) {
      const double deviate = NormalDeviate(value);
      return std::isnan(deviate) ? 0.0 : deviate;
    }
    if (axis_.scale == AxisScale::kLog10) {
      if (std::isnan(value)) return 0.0;
      return value > 0.0 ? std::log10(value) : -std::numeric_limits<double>::infinity();
    }
    return value;
  }

  const Axis& axis_;
  double pixel_start_;
  double pixel_end_;
  double low_;
  double high_;
};

// The text at tick `index` of `axis`.
std::string TickText(const Axis& axis, std::size_t index) {
  if (axis.tick_labels.size() == axis.ticks.size()) return EscapeXml(axis.tick_labels[index]);
  return EscapeXml(FormatTick(axis.ticks[index]));
}

std::string RenderAxes(const Plot& plot, const AxisMap& x_map, const AxisMap& y_map) {
  std::string svg;
  for (std::size_t tick_idx = 0; tick_idx < plot.x.ticks.size(); ++tick_idx) {
    const double tick = plot.x.ticks[tick_idx];
    if (!x_map.Contains(tick)) continue;
    const std::string x = Px(x_map.ToPixel(tick));
    svg += "<line class=\"grid\" x1=\"" + x + "\" y1=\"" + Px(kTop) + "\" x2=\"" + x + "\" y2=\"" +
           Px(kTop + kAreaHeight) + "\"/>\n";
    svg += "<text class=\"tick\" x=\"" + x + "\" y=\"" + Px(kTop + kAreaHeight + 16) +
           "\" text-anchor=\"middle\">" + TickText(plot.x, tick_idx) + "</text>\n";
  }
  for (std::size_t tick_idx = 0; tick_idx < plot.y.ticks.size(); ++tick_idx) {
    const double tick = plot.y.ticks[tick_idx];
    if (!y_map.Contains(tick)) continue;
    const std::string y = Px(y_map.ToPixel(tick));
    svg += "<line class=\"grid\" x1=\"" + Px(kLeft) + "\" y1=\"" + y + "\" x2=\"" +
           Px(kLeft + kAreaWidth) + "\" y2=\"" + y + "\"/>\n";
    svg += "<text class=\"tick\" x=\"" + Px(kLeft - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + TickText(plot.y, tick_idx) +
           "</text>\n";
  }
  svg += "<rect class=\"frame\" x=\"" + Px(kLeft) + "\" y=\"" + Px(kTop) + "\" width=\"" +
         Px(kAreaWidth) + "\" height=\"" + Px(kAreaHeight) + "\"/>\n";
  svg += "<text class=\"axis-label\" x=\"" + Px(kLeft + kAreaWidth / 2) + "\" y=\"" +
         Px(kHeight - 12) + "\" text-anchor=\"middle\">" + EscapeXml(plot.x.label) + "</text>\n";
  const std::string y_label_x = Px(16);
  const std::string y_label_y = Px(kTop + kAreaHeight / 2);
  svg += "<text class=\"axis-label\" x=\"" + y_label_x + "\" y=\"" + y_label_y +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 " + y_label_x + " " + y_label_y +
         ")\">" + EscapeXml(plot.y.label) + "</text>\n";
  return svg;
}

std::string RenderSeries(const PlotSeries& series, const AxisMap& x_map, const AxisMap& y_map) {
  const std::string colour = EscapeXml(series.colour);
  std::string svg;
  switch (series.style) {
    case PlotSeries::Style::kLine: {
      svg += "<polyline class=\"series\" stroke=\"" + colour + "\" points=\"";
      for (const PlotPoint& point : series.points) {
        svg += Px(x_map.ToPixel(point.x)) + "," + Px(y_map.ToPixel(point.y)) + " ";
      }
      svg += "\"/>\n";
      break;
    }
    case PlotSeries::Style::kMarkers: {
      for (const PlotPoint& point : series.points) {
        svg += "<circle class=\"marker\" fill=\"" + colour + "\" cx=\"" +
               Px(x_map.ToPixel(point.x)) + "\" cy=\"" + Px(y_map.ToPixel(point.y)) +
               "\" r=\"3.5\"/>\n";
      }
      break;
    }
    case PlotSeries::Style::kStepArea: {
      if (series.points.empty()) break;
      const std::string baseline = Px(y_map.ToPixel(0.0));
      svg += "<path class=\"step-area\" stroke=\"" + colour + "\" fill=\"" + colour + "\" d=\"M" +
             Px(x_map.ToPixel(series.points.front().x)) + "," + baseline;
      for (const PlotPoint& point : series.points) {
        svg += " L" + Px(x_map.ToPixel(point.x)) + "," + Px(y_map.ToPixel(point.y)) + " L" +
               Px(x_map.ToPixel(point.x + series.step_width)) + "," + Px(y_map.ToPixel(point.y));
      }
      svg += " L" + Px(x_map.ToPixel(series.points.back().x + series.step_width)) + "," + baseline +
             " Z\"/>\n";
      break;
    }
  }
  return svg;
}

std::string RenderLegend(const Plot& plot) {
  std::string svg;
  double x = kLeft;
  for (const PlotSeries& series : plot.series) {
    if (series.label.empty()) continue;
    svg += "<rect x=\"" + Px(x) + "\" y=\"" + Px(kTop - 20) +
           "\" width=\"12\" height=\"12\" fill=\"" + EscapeXml(series.colour) + "\"/>\n";
    svg += "<text class=\"legend\" x=\"" + Px(x + 16) + "\" y=\"" + Px(kTop - 10) + "\">" +
           EscapeXml(series.label) + "</text>\n";
    // Rough advance: enough for typical proportional fonts at 12px.
    x += 30 + 6.5 * static_cast<double>(series.label.size());
  }
  return svg;
}

}  // namespace

double NormalDeviate(double p) {
  if (std::isnan(p)) return p;
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  if (p >= 1.0) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximation (relative error 1.15e-9), then one
  // Halley step against erfc, which brings it to full double precision.
  static constexpr std::array<double, 6> kCentralNumerator = {
      -3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
      1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr std::array<double, 5> kCentralDenominator = {
      -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01};
  static constexpr std::array<double, 6> kTailNumerator = {
      -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr std::array<double, 4> kTailDenominator = {
      7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLowTail = 0.02425;
  auto tail = [&](double q) {
    const auto& c = kTailNumerator;
    const auto& d = kTailDenominator;
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  };
  double x;
  if (p < kLowTail) {
    x = tail(std::sqrt(-2.0 * std::log(p)));
  } else if (p <= 1.0 - kLowTail) {
    const auto& a = kCentralNumerator;
    const auto& b = kCentralDenominator;
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    x = -tail(std::sqrt(-2.0 * std::log1p(-p)));
  }
  const double error = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = error * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  return x - u / (1.0 + x * u / 2.0);
}

std::string RenderSvgPlot(const Plot& plot, std::string_view id) {
  const AxisMap x_map(plot.x, kLeft, kLeft + kAreaWidth);
  const AxisMap y_map(plot.y, kTop + kAreaHeight, kTop);  // SVG y grows downwards.
  const std::string clip_id = std::string(id) + "-clip";

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + std::string(id) +
                    "\" viewBox=\"0 0 " + Px(kWidth) + " " + Px(kHeight) + "\" width=\"" +
                    Px(kWidth) + "\" height=\"" + Px(kHeight) + "\" role=\"img\">\n";
  svg += "<title>" + EscapeXml(plot.title) + "</title>\n";
  svg += "<defs><clipPath id=\"" + clip_id + "\"><rect x=\"" + Px(kLeft) + "\" y=\"" + Px(kTop) +
         "\" width=\"" + Px(kAreaWidth) + "\" height=\"" + Px(kAreaHeight) +
         "\"/></clipPath></defs>\n";
  svg += "<text class=\"plot-title\" x=\"" + Px(kLeft) + "\" y=\"18\">" + EscapeXml(plot.title) +
         "</text>\n";
  svg += RenderLegend(plot);
  svg += RenderAxes(plot, x_map, y_map);
  svg += "<g clip-path=\"url(#" + clip_id + ")\">\n";
  for (const PlotSeries& series : plot.series) svg += RenderSeries(series, x_map, y_map);
  for (const VerticalGuide& guide : plot.guides) {
    const std::string x = Px(x_map.ToPixel(guide.x));
    svg += "<line class=\"guide\" x1=\"" + x + "\" y1=\"" + Px(kTop) + "\" x2=\"" + x + "\" y2=\"" +
           Px(kTop + kAreaHeight) + "\"/>\n";
    svg += "<text class=\"guide-label\" x=\"" + Px(x_map.ToPixel(guide.x) + 4) + "\" y=\"" +
           Px(kTop + 14) + "\">" + EscapeXml(guide.label) + "</text>\n";
  }
  svg += "</g>\n";
  for (std::size_t line = 0; line < plot.annotations.size(); ++line) {
    svg += "<text class=\"annotation\" x=\"" + Px(kLeft + kAreaWidth - 6) + "\" y=\"" +
           Px(kTop + 16 + 15 * static_cast<double>(line)) + "\" text-anchor=\"end\">" +
           EscapeXml(plot.annotations[line]) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

std::vector<double> LinearTicks(double min, double max, int approximate_count) {
  std::vector<double> ticks;
  if (!(max > min) || approximate_count < 1 || !std::isfinite(max - min)) return ticks;
  const double rough_step = (max - min) / approximate_count;
  const double exponent = std::floor(std::log10(rough_step));
  // Ticks are k * units * 10^exponent. Dividing exact integers by an exact
  // power of ten gives the nearest double to each decimal, so 0.6 prints as
  // 0.6 rather than 3 * 0.2 = 0.6000000000000001.
  const double scale = std::pow(10.0, std::abs(exponent));
  auto value = [&](double units) { return exponent < 0 ? units / scale : units * scale; };
  double units = 10.0;
  for (double multiple : {1.0, 2.0, 5.0}) {
    if (value(multiple) >= rough_step) {
      units = multiple;
      break;
    }
  }
  const auto first = static_cast<long long>(std::ceil(min / value(units) - 1e-9));
  for (long long k = first; value(static_cast<double>(k) * units) <= max + 1e-9 * value(units);
       ++k) {
    ticks.push_back(k == 0 ? 0.0 : value(static_cast<double>(k) * units));
  }
  return ticks;
}

std::string EscapeXml(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += ch;
    }
  }
  return escaped;
}

std::string FormatTick(double value) {
  if (value > 0.0 && value < 1e-3) {
    const double exponent = std::round(std::log10(value));
    if (std::abs(std::pow(10.0, exponent) - value) <= 1e-9 * value) {
      return "1e" + Format("%.0f", exponent);
    }
  }
  return Format("%g", value);
}

}  // namespace abis::eval
