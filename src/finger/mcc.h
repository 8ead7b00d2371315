// mcc.h
//
// 1:1 fingerprint comparison with the bit-based Minutia Cylinder-Code
// (Cappelli, Ferrara, Maltoni, TPAMI 32(12), 2010), our own implementation:
//   1. PrepareFinger turns FingerFeatures into a PreparedFinger: one
//      cylinder per minutia (radius R, NS x NS spatial cells x ND direction
//      cells, bit = "the neighbourhood contribution reaches mu_psi"), a
//      validity mask per cylinder (cells inside the minutiae convex hull
//      enlarged by Omega), packed into 64-bit words, plus the pairwise
//      geometry the consolidation needs. Done once per template.
//   2. MatchPrepared: local similarities of all direction-compatible
//      cylinder pairs (XOR/AND + popcount), LSS-R consolidation (relaxation
//      over the top pairs, rewarding pairs whose relative geometry agrees),
//      then a global consistency check (how many one-to-one pairs agree with
//      a single rigid alignment), fused into a raw score in [0, 1].
//   3. ScoreCalibration maps a raw score to the false match rate measured on
//      impostor comparisons and to a calibrated score = -10 log10(FMR), so a
//      threshold of 30 reads as FMR 1e-3 and 40 as 1e-4 (the SourceAFIS
//      convention).
// Parameters and the reasons for them: docs/fingerprint-matching.md.
//
// Thread safety: PreparedFinger is immutable after preparation; the match
// functions are pure (they use a thread-local scratch area, so they never
// allocate after a thread's first call) and may run concurrently.

#ifndef ABIS_FINGER_MCC_H_
#define ABIS_FINGER_MCC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "abis/status.h"

#include "finger/finger_features.h"

namespace abis::finger {

// Cylinder geometry (the paper's values; NS = 16 is the accurate variant).
inline constexpr float kMccRadius = 70.0f;
inline constexpr int kMccSpatialCells = 8;    // NS
inline constexpr int kMccDirectionCells = 6;  // ND
inline constexpr float kMccSigmaS = 28.0f / 3.0f;
inline constexpr float kMccSigmaD = 2.0f * 3.14159265358979f / 9.0f;
inline constexpr float kMccMuPsi = 0.01f;             // bit threshold
inline constexpr float kMccHullMargin = 50.0f;        // Omega, pixels
inline constexpr float kMccMinValidCells = 0.75f;     // of the cells in the disc
inline constexpr int kMccMinNeighbours = 2;           // within R + 3 sigma_S
inline constexpr float kMccMinMatchableCells = 0.6f;  // common valid cells, of the disc
// Templates with more minutiae keep the best-quality ones.
inline constexpr std::size_t kMccMaxMinutiae = 128;

// Number of spatial cells whose centre lies inside the radius-R disc, and the
// packed width of one cylinder (value bits or validity bits) in 64-bit words,
// padded to a multiple of 8 words (one AVX-512 register holds 8).
int MccCellsInDisc();
// Distance from the minutia of the centre of disc cell `cell` (0 <= cell <
// MccCellsInDisc()). Bit (k * MccCellsInDisc() + cell) of a packed cylinder
// is direction cell k of that spatial cell.
float MccDiscCellDistance(int cell);
// Offset of that centre in the cylinder's own frame (along and across the
// minutia direction), pixels.
void MccDiscCellOffset(int cell, float& along, float& across);
inline constexpr int kMccWordsPerCylinder = kMccSpatialCells == 16 ? 24 : 8;

struct PreparedFinger {
  FingerPosition position = FingerPosition::kUnknown;
  CaptureType capture = CaptureType::kContact;
  // Minutiae kept (at most kMccMaxMinutiae), in math orientation: x right,
  // y up (image y negated), angle counter-clockwise.
  std::vector<float> x, y, angle;
  std::vector<std::uint16_t> angle_units;  // angle in 65536ths of a turn
  // Cylinders that passed the validity rules, densely packed: cylinder c
  // belongs to minutia cylinder_minutia[c]; its value bits are
  // bits[c * kMccWordsPerCylinder ...] and its validity mask likewise in
  // valid. Value bits are zero wherever the mask is.
  std::vector<std::uint8_t> cylinder_minutia;
  std::vector<float> cylinder_cos, cylinder_sin;
  std::vector<std::uint64_t> bits;
  std::vector<std::uint64_t> valid;
  // Pairwise geometry of the kept minutiae, row-major n x n: distance in
  // 1/16 px and the direction of minutia j seen from minutia i relative to
  // i's own direction, in 65536ths of a turn.
  std::vector<std::uint16_t> pair_distance;
  std::vector<std::uint16_t> pair_radial_angle;

  std::size_t minutia_count() const { return x.size(); }
  std::size_t cylinder_count() const { return cylinder_minutia.size(); }
  const std::uint64_t* cylinder_bits(std::size_t c) const {
    return bits.data() + c * kMccWordsPerCylinder;
  }
  const std::uint64_t* cylinder_valid(std::size_t c) const {
    return valid.data() + c * kMccWordsPerCylinder;
  }
  // Bytes held, for memory accounting in the index.
  std::size_t MemoryBytes() const;
};

// Builds the cylinders. InvalidArgument when a minutia has a non-finite
// angle; a template with fewer than 2 minutiae prepares fine but has no
// valid cylinder (every comparison with it scores 0).
Result<PreparedFinger> PrepareFinger(const FingerFeatures& features);

struct MatchDetails {
  float lss_r = 0.0f;          // LSS-R consolidated local similarity, [0, 1]
  int consistent_pairs = 0;    // one-to-one pairs agreeing with the best alignment
  int compared_cylinders = 0;  // direction-compatible, matchable cylinder pairs
  float raw_score = 0.0f;      // fused, [0, 1]
};

// The raw fused similarity in [0, 1] (symmetric up to floating-point
// rounding). `details` may be null.
float MatchPrepared(const PreparedFinger& probe, const PreparedFinger& gallery,
                    MatchDetails* details = nullptr);

// Local similarity of two packed cylinders (1 - |a^b| / (|a| + |b|) over
// the cells valid in both), or 0 when fewer than kMccMinMatchableCells of
// the disc is valid in both. Exposed for the index and for tests.
float CylinderSimilarity(const std::uint64_t* bits_a, const std::uint64_t* valid_a,
                         const std::uint64_t* bits_b, const std::uint64_t* valid_b);

// Monotone map from raw score to false match rate, fitted on impostor
// comparisons. Between knots log10(FMR) is interpolated linearly; above the
// last knot it is extrapolated with the last slope (floored at 1e-12).
class ScoreCalibration {
 public:
  struct Knot {
    float raw;        // increasing
    float log10_fmr;  // decreasing, <= 0
  };
  ScoreCalibration() = default;
  explicit ScoreCalibration(std::vector<Knot> knots);

  // Knots at FMR = 10^(-k/4), k = 0, 1, ... down to 1 / impostors.
  // InvalidArgument when fewer than 10 scores are given.
  static Result<ScoreCalibration> FromImpostorScores(std::span<const float> impostor_raw_scores);
  // Fitted on all cross-finger pairs of the 320 FVC 2002/2004 ISO templates
  // in shared/data (about 50k impostors); see docs/fingerprint-matching.md.
  static const ScoreCalibration& Default();

  double Fmr(float raw) const;
  // -10 log10(FMR): 30 = FMR 1e-3, 40 = 1e-4.
  double CalibratedScore(float raw) const;
  // Smallest raw score whose FMR is <= fmr.
  float RawThresholdForFmr(double fmr) const;
  const std::vector<Knot>& knots() const { return knots_; }

 private:
  std::vector<Knot> knots_;
};

// MatchPrepared calibrated with ScoreCalibration::Default().
double MatchScore(const PreparedFinger& probe, const PreparedFinger& gallery);

}  // namespace abis::finger

#endif  // ABIS_FINGER_MCC_H_
