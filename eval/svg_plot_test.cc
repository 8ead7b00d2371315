#include "eval/svg_plot.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace abis::eval {
namespace {

TEST(NormalDeviateTest, MatchesReferenceQuantiles) {
  // Reference values: Python's statistics.NormalDist().inv_cdf.
  EXPECT_EQ(NormalDeviate(0.5), 0.0);
  EXPECT_NEAR(NormalDeviate(0.975), 1.9599639845400536, 1e-13);
  EXPECT_NEAR(NormalDeviate(0.02425), -1.9729610513118845, 1e-13);
  EXPECT_NEAR(NormalDeviate(0.01), -2.3263478740408408, 1e-13);
  EXPECT_NEAR(NormalDeviate(0.3), -0.5244005127080407, 1e-13);
  EXPECT_NEAR(NormalDeviate(1e-6), -4.753424308822899, 1e-12);
  EXPECT_NEAR(NormalDeviate(1e-12), -7.034483825301132, 1e-12);
  EXPECT_NEAR(NormalDeviate(0.999999), 4.753424308817089, 1e-9);
}

TEST(NormalDeviateTest, MapsTheEndsToInfinity) {
  EXPECT_EQ(NormalDeviate(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(NormalDeviate(1.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(NormalDeviate(std::nan(""))));
}

TEST(FormatTickTest, WritesSmallDecadesInExponentForm) {
  EXPECT_EQ(FormatTick(1e-6), "1e-6");
  EXPECT_EQ(FormatTick(1e-4), "1e-4");
  EXPECT_EQ(FormatTick(1e-3), "0.001");
  EXPECT_EQ(FormatTick(0.5), "0.5");
  EXPECT_EQ(FormatTick(20), "20");
  EXPECT_EQ(FormatTick(0), "0");
}

TEST(LinearTicksTest, UsesRoundSteps) {
  EXPECT_EQ(LinearTicks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(LinearTicks(1.0, 20.0, 6), (std::vector<double>{5.0, 10.0, 15.0, 20.0}));
  EXPECT_EQ(LinearTicks(-0.3, 0.31, 6), (std::vector<double>{-0.2, 0.0, 0.2}));
  EXPECT_EQ(LinearTicks(0.0, 0.033, 4), (std::vector<double>{0.0, 0.01, 0.02, 0.03}));
  EXPECT_EQ(LinearTicks(0.0, 4000.0, 2), (std::vector<double>{0.0, 2000.0, 4000.0}));
  EXPECT_TRUE(LinearTicks(1.0, 1.0, 5).empty());
}

TEST(EscapeXmlTest, EscapesMarkupCharacters) {
  EXPECT_EQ(EscapeXml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(RenderSvgPlotTest, DrawsSeriesInsideAClippedArea) {
  Plot plot;
  plot.title = "DET <test>";
  plot.x = Axis{"FMR", AxisScale::kProbit, 1e-3, 0.5, {1e-3, 1e-2, 0.1, 0.5}};
  plot.y = Axis{"FNMR", AxisScale::kProbit, 1e-3, 0.5, {1e-3, 1e-2, 0.1, 0.5}};
  plot.series.push_back(PlotSeries{
      "curve", "#123456", PlotSeries::Style::kLine, {{1.0, 0.0}, {0.1, 0.01}, {0.0, 1.0}}, 0.0});
  plot.guides.push_back(VerticalGuide{0.01, "t"});
  const std::string svg = RenderSvgPlot(plot, "det");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"det\"", 0), 0u);
  EXPECT_NE(svg.find("<clipPath id=\"det-clip\">"), std::string::npos);
  EXPECT_NE(svg.find("clip-path=\"url(#det-clip)\""), std::string::npos);
  EXPECT_NE(svg.find("<title>DET &lt;test&gt;</title>"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  // Infinite deviates (rates 0 and 1) are clamped to plain coordinates.
  const std::size_t points_start = svg.find("points=\"") + 8;
  const std::string points = svg.substr(points_start, svg.find('"', points_start) - points_start);
  EXPECT_EQ(points.find_first_not_of("0123456789.,- "), std::string::npos) << points;
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(RenderSvgPlotTest, LogAxisCategoryLabelsAndAnnotations) {
  Plot plot;
  plot.title = "Differentials";
  plot.x = Axis{"Group", AxisScale::kLinear, 0.5, 2.5, {1.0, 2.0}, {"women & girls", "men"}};
  plot.y = Axis{"Rate", AxisScale::kLog10, 1e-4, 1.0, {1e-4, 1e-3, 1e-2, 0.1, 1.0}, {}};
  // 1e-2 lies half-way up the axis; 0 has no place on a log axis.
  plot.series.push_back(
      PlotSeries{"FMR", "#d62728", PlotSeries::Style::kMarkers, {{1.0, 1e-2}, {2.0, 0.0}}, 0.0});
  plot.annotations = {"FMR max/min: 2 (highest <a>)"};
  const std::string svg = RenderSvgPlot(plot, "differentials");
  EXPECT_NE(svg.find(">women &amp; girls</text>"), std::string::npos);
  EXPECT_NE(svg.find(">men</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">2</text>"), std::string::npos);  // Labels replace x values.
  EXPECT_NE(svg.find(">1e-4</text>"), std::string::npos);
  EXPECT_NE(svg.find(">FMR max/min: 2 (highest &lt;a&gt;)</text>"), std::string::npos);
  // The plot area spans y 52 .. 368, so 1e-2 (log10 -2 of -4 .. 0) is at 210.
  EXPECT_NE(svg.find("cy=\"210.0\""), std::string::npos) << svg;
  // The zero lands below the area, clipped, with finite coordinates.
  const std::size_t second = svg.find("<circle", svg.find("<circle") + 1);
  ASSERT_NE(second, std::string::npos);
  const std::size_t cy = svg.find("cy=\"", second) + 4;
  EXPECT_GT(std::stod(svg.substr(cy, svg.find('"', cy) - cy)), 368.0);
}

}  // namespace
}  // namespace abis::eval
