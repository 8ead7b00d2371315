// svg_plot.h
//
// A small chart renderer for the HTML report: one plot becomes one inline
// <svg> element with axes, grid, legend and data series. No scripts and no
// external assets, so a report stays readable offline and archivable.
// Private to eval/; the report writer is its only user.
//
// Thread safety: pure functions over plain values.

#ifndef ABIS_EVAL_SVG_PLOT_H_
#define ABIS_EVAL_SVG_PLOT_H_

#include <string>
#include <string_view>
#include <vector>

namespace abis::eval {

// The inverse of the standard normal CDF (the probit), e.g. 0.975 -> 1.96.
// Returns -inf for p <= 0 and +inf for p >= 1. Accurate to about 1e-15.
double NormalDeviate(double p);

// Linear axes place values directly; probit axes place a rate p at
// NormalDeviate(p), the normal-deviate scale of DET plots; log axes place a
// positive value v at log10(v) (0 and below fall off the low end).
enum class AxisScale { kLinear, kProbit, kLog10 };

struct Axis {
  std::string label;
  AxisScale scale = AxisScale::kLinear;
  double min = 0.0;  // For probit axes, rates in (0, 1); for log axes, > 0.
  double max = 1.0;
  std::vector<double> ticks;
  // Optional, aligned with `ticks`: text written at each tick instead of its
  // value (e.g. category names on a linear axis at 1, 2, 3, ...).
  std::vector<std::string> tick_labels;
};

struct PlotPoint {
  double x = 0.0;
  double y = 0.0;
};

struct PlotSeries {
  enum class Style {
    kLine,      // A polyline through the points.
    kMarkers,   // A dot at each point.
    kStepArea,  // Histogram: point i is (left edge of bin i, height).
  };
  std::string label;
  std::string colour;  // Any SVG colour, e.g. "#1f77b4".
  Style style = Style::kLine;
  std::vector<PlotPoint> points;
  double step_width = 0.0;  // Bin width, for kStepArea only.
};

// A labelled vertical line at x, e.g. a decision threshold.
struct VerticalGuide {
  double x = 0.0;
  std::string label;
};

struct Plot {
  std::string title;
  Axis x;
  Axis y;
  std::vector<PlotSeries> series;
  std::vector<VerticalGuide> guides;
  // Lines of text written in the top right corner of the plot area.
  std::vector<std::string> annotations;
};

// Renders `plot` as an <svg> element. `id` must be unique in the document
// (it names the clip path) and consist of [A-Za-z0-9_-]. Data outside the
// axis ranges is clipped, and infinite probit values (rates 0 or 1) are
// drawn just beyond the plot edge.
std::string RenderSvgPlot(const Plot& plot, std::string_view id);

// About `approximate_count` evenly spaced round ticks (steps of 1, 2 or 5
// times a power of ten) within [min, max].
std::vector<double> LinearTicks(double min, double max, int approximate_count);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string EscapeXml(std::string_view text);

// Tick label for a rate or score: "1e-4" for decades below 0.001, else the
// shortest "%g" form ("0.01", "0.5", "20").
std::string FormatTick(double value);

}  // namespace abis::eval

#endif  // ABIS_EVAL_SVG_PLOT_H_
