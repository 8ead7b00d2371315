#include "finger/fvc_test_support.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace abis::finger::fvc {
namespace {

constexpr double kPi = std::numbers::pi;

int Be16(const std::vector<std::uint8_t>& b, size_t at) { return (b[at] << 8) | b[at + 1]; }

}  // namespace

std::optional<double> ResolutionFor(std::string_view folder) {
  for (const Database& db : kDatabases) {
    if (folder.substr(0, db.prefix.size()) == db.prefix) return db.ppi;
  }
  return std::nullopt;
}

std::optional<IsoRecord> ParseIsoMinimal(const std::vector<std::uint8_t>& b) {
  // 'FMR\0' ' 20\0' length(4) equipment(2) width(2) height(2) xres(2) yres(2)
  // views(1) reserved(1); view: position, impression, quality, count; 6 bytes
  // per minutia.
  constexpr size_t kHeader = 24, kView = 4, kMinutia = 6;
  if (b.size() < kHeader + kView || b[0] != 'F' || b[1] != 'M' || b[2] != 'R' || b[3] != 0) {
    return std::nullopt;
  }
  IsoRecord r;
  r.width = Be16(b, 14);
  r.height = Be16(b, 16);
  const size_t count = b[kHeader + 3];
  if (b.size() < kHeader + kView + count * kMinutia) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    const size_t at = kHeader + kView + i * kMinutia;
    Minutia m;
    m.type = static_cast<MinutiaType>(b[at] >> 6);
    m.x = Be16(b, at) & 0x3FFF;
    m.y = Be16(b, at + 2) & 0x3FFF;
    m.angle = static_cast<float>(b[at + 4] * 2 * kPi / 256);
    m.quality = b[at + 5];
    r.minutiae.push_back(m);
  }
  return r;
}

std::vector<Minutia> MapIsoToImage500(const IsoRecord& record, int png_w, int png_h, double ppi) {
  const double sx = static_cast<double>(png_w) / record.width * 500.0 / ppi;
  const double sy = static_cast<double>(png_h) / record.height * 500.0 / ppi;
  std::vector<Minutia> out;
  for (Minutia m : record.minutiae) {
    const double dx = std::cos(m.angle) * sx;
    const double dy = std::sin(m.angle) * sy;  // upward component, scaled the same
    m.x = static_cast<int>(std::lround(m.x * sx));
    m.y = static_cast<int>(std::lround(m.y * sy));
    double a = std::atan2(dy, dx);
    if (a < 0) a += 2 * kPi;
    m.angle = static_cast<float>(a);
    out.push_back(m);
  }
  return out;
}

double PairedFraction(const std::vector<Minutia>& reference, const std::vector<Minutia>& ours,
                      double max_distance, double max_angle) {
  if (reference.empty()) return 0;
  std::vector<bool> used(ours.size(), false);
  int paired = 0;
  for (const Minutia& r : reference) {
    int best = -1;
    double best_d = max_distance;
    for (size_t i = 0; i < ours.size(); ++i) {
      if (used[i]) continue;
      const double d = std::hypot(ours[i].x - r.x, ours[i].y - r.y);
      double da = std::abs(ours[i].angle - r.angle);
      da = std::min(da, 2 * kPi - da);
      if (d <= best_d && da <= max_angle) {
        best_d = d;
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) {
      used[best] = true;
      ++paired;
    }
  }
  return static_cast<double>(paired) / reference.size();
}

}  // namespace abis::finger::fvc
