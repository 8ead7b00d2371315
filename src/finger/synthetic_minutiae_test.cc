#include "finger/synthetic_minutiae.h"

#include <cmath>
#include <numbers>
#include <set>

#include <gtest/gtest.h>

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

bool SameMinutiae(const std::vector<Minutia>& a, const std::vector<Minutia>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].x != b[i].x || a[i].y != b[i].y || a[i].angle != b[i].angle ||
        a[i].type != b[i].type) {
      return false;
    }
  }
  return true;
}

TEST(SyntheticMinutiaeTest, DeterministicPerSeedFingerAndImpression) {
  SyntheticFingerGenerator a(42), b(42), c(43);
  const MasterFinger master = a.Master(7);
  EXPECT_TRUE(SameMinutiae(master.minutiae, b.Master(7).minutiae));
  EXPECT_FALSE(SameMinutiae(master.minutiae, c.Master(7).minutiae));
  EXPECT_FALSE(SameMinutiae(master.minutiae, a.Master(8).minutiae));
  EXPECT_TRUE(SameMinutiae(a.Impression(master, 3).minutiae, b.Impression(master, 3).minutiae));
  EXPECT_FALSE(SameMinutiae(a.Impression(master, 3).minutiae, a.Impression(master, 4).minutiae));
}

TEST(SyntheticMinutiaeTest, MastersAreWellFormed) {
  SyntheticFingerGenerator generator(1);
  std::set<PatternClass> classes;
  for (std::uint64_t id = 0; id < 200; ++id) {
    const MasterFinger master = generator.Master(id, FingerPosition::kLeftRing);
    classes.insert(master.pattern);
    EXPECT_GE(master.minutiae.size(), 35u);
    EXPECT_LE(master.minutiae.size(), 70u);
    EXPECT_EQ(master.position, FingerPosition::kLeftRing);
    // Minutiae keep their distance (hard-core process).
    for (std::size_t i = 0; i < master.minutiae.size(); ++i) {
      for (std::size_t j = i + 1; j < master.minutiae.size(); ++j) {
        const float dx = master.minutiae[i].x - master.minutiae[j].x;
        const float dy = master.minutiae[i].y - master.minutiae[j].y;
        EXPECT_GE(std::sqrt(dx * dx + dy * dy), 13.0f);
      }
    }
    const std::size_t cores =
        std::count_if(master.singular_points.begin(), master.singular_points.end(),
                      [](const auto& p) { return p.type == SingularPointType::kCore; });
    switch (master.pattern) {
      case PatternClass::kArch:
        EXPECT_EQ(cores, 0u);
        break;
      case PatternClass::kWhorl:
        EXPECT_EQ(cores, 2u);
        break;
      default:
        EXPECT_EQ(cores, 1u);
    }
  }
  EXPECT_EQ(classes.size(), 5u);  // every class appears in 200 draws
}

// Around a core the zero-pole orientation turns by half a turn (Poincare
// index +1/2); around a delta by -1/2.
TEST(SyntheticMinutiaeTest, OrientationModelHasTheRightPoincareIndex) {
  SyntheticFingerGenerator generator(9);
  for (std::uint64_t id = 0; id < 50; ++id) {
    const MasterFinger master = generator.Master(id);
    if (master.pattern != PatternClass::kLeftLoop && master.pattern != PatternClass::kRightLoop) {
      continue;
    }
    for (const SingularPoint& p : master.singular_points) {
      float total = 0;
      float previous = SyntheticFingerGenerator::RidgeOrientation(master, p.x + 10.0f, p.y);
      for (int step = 1; step <= 64; ++step) {
        const float t = 2 * kPi * step / 64;
        const float o = SyntheticFingerGenerator::RidgeOrientation(master, p.x + 10 * std::cos(t),
                                                                   p.y - 10 * std::sin(t));
        float d = o - previous;
        if (d > kPi / 2) d -= kPi;
        if (d < -kPi / 2) d += kPi;
        total += d;
        previous = o;
      }
      EXPECT_NEAR(total, p.type == SingularPointType::kCore ? kPi : -kPi, 0.2f);
    }
    return;
  }
  FAIL() << "no loop among 50 masters";
}

TEST(SyntheticMinutiaeTest, ImpressionsStayInsideTheImageAndVary) {
  SyntheticFingerGenerator generator(11);
  const MasterFinger master = generator.Master(5);
  ImpressionOptions options;
  options.dropout = 0.0f;
  options.spurious = 0.0f;
  for (std::uint64_t i = 0; i < 20; ++i) {
    const FingerFeatures f = generator.Impression(master, i, options);
    EXPECT_EQ(f.width, 300);
    EXPECT_GT(f.minutiae.size(), 15u);
    EXPECT_LE(f.minutiae.size(), master.minutiae.size());
    for (const Minutia& m : f.minutiae) {
      EXPECT_GE(m.x, 0);
      EXPECT_LT(m.x, 300);
      EXPECT_GE(m.y, 0);
      EXPECT_LT(m.y, 400);
      EXPECT_GE(m.angle, 0.0f);
      EXPECT_LT(m.angle, 2 * kPi);
    }
  }
  options.spurious = 0.5f;
  const FingerFeatures noisy = generator.Impression(master, 0, options);
  EXPECT_GT(noisy.minutiae.size(),
            generator.Impression(master, 0, ImpressionOptions{}).minutiae.size());
}

}  // namespace
}  // namespace abis::finger
