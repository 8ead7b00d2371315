#include "finger/synthetic_minutiae.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;
constexpr float kTwoPi = 2 * kPi;
constexpr int kCanvasWidth = 360;
constexpr int kCanvasHeight = 460;
constexpr float kMinMinutiaDistance = 14.0f;  // ~1.5 ridge periods at 500 ppi

// SplitMix64: tiny, fast, and identical everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  float Uniform(float low, float high) {
    return low + (high - low) * static_cast<float>(Uniform());
  }
  bool Chance(float p) { return Uniform() < p; }
  float Normal(float sigma) {  // Box-Muller
    const double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    return sigma *
           static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2));
  }
  int Poisson(float mean) {  // Knuth; means here are small
    const double limit = std::exp(-static_cast<double>(mean));
    double product = Uniform();
    int count = 0;
    while (product > limit) {
      ++count;
      product *= Uniform();
    }
    return count;
  }

 private:
  std::uint64_t state_;
};

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  Random r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull));
  r.Next();
  return r.Next();
}

float WrapTwoPi(float a) {
  a = std::fmod(a, kTwoPi);
  return a < 0 ? a + kTwoPi : a;
}

bool InsideEllipse(float x, float y, float cx, float cy, float ax, float ay) {
  const float u = (x - cx) / ax, v = (y - cy) / ay;
  return u * u + v * v <= 1.0f;
}

}  // namespace

float SyntheticFingerGenerator::RidgeOrientation(const MasterFinger& master, float x, float y) {
  // Canvas coordinates have y down; the model works in math orientation.
  float theta = 0.0f;
  if (master.singular_points.empty()) {
    // Arch: ridges run across the finger and bulge upward in the middle.
    const float u = (x - master.centre_x) / master.semi_axis_x;
    const float v = (master.centre_y + master.semi_axis_y - y) / (2 * master.semi_axis_y);
    theta = -0.6f * u * std::exp(-u * u) * (1.2f - v);
  } else {
    for (const SingularPoint& p : master.singular_points) {
      const float arg = std::atan2(-(y - p.y), x - p.x);
      theta += (p.type == SingularPointType::kCore ? 0.5f : -0.5f) * arg;
    }
  }
  theta = std::fmod(theta, kPi);
  return theta < 0 ? theta + kPi : theta;
}

MasterFinger SyntheticFingerGenerator::Master(std::uint64_t finger_id,
                                              FingerPosition position) const {
  Random random(Mix(seed_, finger_id));
  MasterFinger master;
  master.id = finger_id;
  master.position = position;
  master.centre_x = kCanvasWidth / 2.0f + random.Normal(6.0f);
  master.centre_y = kCanvasHeight / 2.0f + random.Normal(6.0f);
  master.semi_axis_x = random.Uniform(140.0f, 170.0f);
  master.semi_axis_y = random.Uniform(195.0f, 225.0f);
  // Class frequencies roughly as in NIST data (arches rare, loops common).
  const double draw = random.Uniform();
  master.pattern = draw < 0.04   ? PatternClass::kArch
                   : draw < 0.07 ? PatternClass::kTentedArch
                   : draw < 0.41 ? PatternClass::kLeftLoop
                   : draw < 0.73 ? PatternClass::kRightLoop
                                 : PatternClass::kWhorl;
  const float cx = master.centre_x + random.Normal(15.0f);
  const float cy = master.centre_y - 40.0f + random.Normal(25.0f);
  auto add = [&](SingularPointType type, float x, float y) {
    master.singular_points.push_back(
        {type, static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)), 0.0f});
  };
  switch (master.pattern) {
    case PatternClass::kArch:
      break;
    case PatternClass::kTentedArch:
      add(SingularPointType::kCore, cx, cy);
      add(SingularPointType::kDelta, cx + random.Normal(5.0f), cy + random.Uniform(40.0f, 70.0f));
      break;
    case PatternClass::kLeftLoop:
    case PatternClass::kRightLoop: {
      const float side = master.pattern == PatternClass::kLeftLoop ? 1.0f : -1.0f;
      add(SingularPointType::kCore, cx, cy);
      add(SingularPointType::kDelta, cx + side * random.Uniform(70.0f, 120.0f),
          cy + random.Uniform(90.0f, 150.0f));
      break;
    }
    case PatternClass::kWhorl: {
      const float gap = random.Uniform(15.0f, 40.0f);
      add(SingularPointType::kCore, cx, cy - gap / 2);
      add(SingularPointType::kCore, cx + random.Normal(8.0f), cy + gap / 2);
      add(SingularPointType::kDelta, cx - random.Uniform(90.0f, 130.0f),
          cy + random.Uniform(90.0f, 140.0f));
      add(SingularPointType::kDelta, cx + random.Uniform(90.0f, 130.0f),
          cy + random.Uniform(90.0f, 140.0f));
      break;
    }
  }
  for (SingularPoint& p : master.singular_points) {
    p.angle = RidgeOrientation(master, p.x + 1.0f, static_cast<float>(p.y));
  }

  // Dart throwing inside the finger ellipse.
  const int target = 40 + static_cast<int>(random.Uniform() * 31);
  const float min_d2 = kMinMinutiaDistance * kMinMinutiaDistance;
  for (int attempt = 0; attempt < target * 40 && static_cast<int>(master.minutiae.size()) < target;
       ++attempt) {
    const float x = master.centre_x + random.Uniform(-1.0f, 1.0f) * master.semi_axis_x;
    const float y = master.centre_y + random.Uniform(-1.0f, 1.0f) * master.semi_axis_y;
    if (!InsideEllipse(x, y, master.centre_x, master.centre_y, master.semi_axis_x * 0.97f,
                       master.semi_axis_y * 0.97f)) {
      continue;
    }
    bool too_close = false;
    for (const Minutia& m : master.minutiae) {
      const float dx = m.x - x, dy = m.y - y;
      if (dx * dx + dy * dy < min_d2) {
        too_close = true;
        break;
      }
    }
    if (too_close) continue;
    Minutia m;
    m.x = static_cast<int>(std::lround(x));
    m.y = static_cast<int>(std::lround(y));
    m.angle = WrapTwoPi(RidgeOrientation(master, x, y) + (random.Chance(0.5f) ? kPi : 0.0f));
    m.type = random.Chance(0.5f) ? MinutiaType::kEnding : MinutiaType::kBifurcation;
    m.quality = static_cast<std::uint8_t>(40 + random.Uniform() * 61);
    master.minutiae.push_back(m);
  }
  return master;
}

FingerFeatures SyntheticFingerGenerator::Impression(const MasterFinger& master,
                                                    std::uint64_t impression_id,
                                                    const ImpressionOptions& o) const {
  Random random(Mix(Mix(seed_, master.id), impression_id + 1));
  FingerFeatures features;
  features.width = o.width;
  features.height = o.height;
  features.position = master.position;
  features.capture = CaptureType::kContact;
  features.ridge_period = 9.0f;

  // Contact area: a smaller, shifted ellipse of the finger.
  const float contact = random.Uniform(o.contact_min, o.contact_max);
  const float contact_cx = master.centre_x + random.Normal(15.0f);
  const float contact_cy = master.centre_y + random.Normal(20.0f);
  const float contact_ax = master.semi_axis_x * contact, contact_ay = master.semi_axis_y * contact;

  // Elastic distortion: three Gaussian bumps of random displacement.
  struct Bump {
    float x, y, dx, dy;
  };
  Bump bumps[3];
  for (Bump& b : bumps) {
    b = {contact_cx + random.Normal(60.0f), contact_cy + random.Normal(80.0f),
         random.Normal(o.distortion / 2), random.Normal(o.distortion / 2)};
  }
  constexpr float kBumpSigma = 90.0f;

  const float rotation = random.Uniform(-o.max_rotation, o.max_rotation);
  const float cr = std::cos(rotation), sr = std::sin(rotation);
  const float tx = random.Uniform(-o.max_translation, o.max_translation);
  const float ty = random.Uniform(-o.max_translation, o.max_translation);
  // Maps a canvas point to the output image: distort, rotate about the
  // contact centre (counter-clockwise on screen), centre in the image.
  auto transform = [&](float x, float y, float& out_x, float& out_y) {
    for (const Bump& b : bumps) {
      const float d2 = (x - b.x) * (x - b.x) + (y - b.y) * (y - b.y);
      const float w = std::exp(-d2 / (2 * kBumpSigma * kBumpSigma));
      x += w * b.dx;
      y += w * b.dy;
    }
    const float u = x - contact_cx, v = y - contact_cy;
    out_x = o.width / 2.0f + tx + cr * u + sr * v;
    out_y = o.height / 2.0f + ty - sr * u + cr * v;
  };
  auto emit = [&](float x, float y, float angle, MinutiaType type, std::uint8_t quality) {
    const int ix = static_cast<int>(std::lround(x)), iy = static_cast<int>(std::lround(y));
    if (ix < 0 || iy < 0 || ix >= o.width || iy >= o.height) return;
    features.minutiae.push_back({ix, iy, WrapTwoPi(angle), type, quality});
  };

  for (const Minutia& m : master.minutiae) {
    if (!InsideEllipse(static_cast<float>(m.x), static_cast<float>(m.y), contact_cx, contact_cy,
                       contact_ax, contact_ay)) {
      continue;
    }
    if (random.Chance(o.dropout)) continue;
    float x = 0, y = 0;
    transform(static_cast<float>(m.x), static_cast<float>(m.y), x, y);
    MinutiaType type = m.type;
    if (random.Chance(o.type_flip)) {
      type = type == MinutiaType::kEnding ? MinutiaType::kBifurcation : MinutiaType::kEnding;
    }
    emit(x + random.Normal(o.position_jitter), y + random.Normal(o.position_jitter),
         m.angle + rotation + random.Normal(o.angle_jitter), type, m.quality);
  }
  const int spurious =
      random.Poisson(o.spurious * static_cast<float>(features.minutiae.size()) + 0.5f);
  for (int s = 0; s < spurious; ++s) {
    // Uniform in the contact ellipse (rejection sampling).
    for (int attempt = 0; attempt < 20; ++attempt) {
      const float u = random.Uniform(-1.0f, 1.0f), v = random.Uniform(-1.0f, 1.0f);
      if (u * u + v * v > 1.0f) continue;
      float x = 0, y = 0;
      transform(contact_cx + u * contact_ax, contact_cy + v * contact_ay, x, y);
      emit(x, y, random.Uniform(0.0f, kTwoPi),
           random.Chance(0.5f) ? MinutiaType::kEnding : MinutiaType::kBifurcation,
           static_cast<std::uint8_t>(20 + random.Uniform() * 41));
      break;
    }
  }
  // Order as an extractor would report them (by position), so list order
  // carries no identity.
  std::sort(features.minutiae.begin(), features.minutiae.end(),
            [](const Minutia& a, const Minutia& b) { return a.y != b.y ? a.y < b.y : a.x < b.x; });
  features.quality = 60;
  return features;
}

}  // namespace abis::finger
