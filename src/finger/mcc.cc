#include "finger/mcc.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <numeric>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;
constexpr float kTwoPi = 2 * kPi;
constexpr int kNs = kMccSpatialCells;
constexpr int kNd = kMccDirectionCells;
constexpr int kWords = kMccWordsPerCylinder;
constexpr float kCellSize = 2 * kMccRadius / kNs;
constexpr float kNeighbourCellRadius = 3 * kMccSigmaS;  // contributions beyond are negligible

constexpr int CountDiscCells() {
  int count = 0;
  for (int i = 0; i < kNs; ++i) {
    for (int j = 0; j < kNs; ++j) {
      const float u = (i - (kNs - 1) / 2.0f) * kCellSize;
      const float v = (j - (kNs - 1) / 2.0f) * kCellSize;
      if (u * u + v * v <= kMccRadius * kMccRadius) ++count;
    }
  }
  return count;
}
constexpr int kDiscCells = CountDiscCells();
static_assert(kDiscCells * kNd <= kWords * 64, "cylinder does not fit its packed width");
static_assert(kWords % 8 == 0);
// Words that hold bits at all; the rest is padding for the AVX-512 kernel.
constexpr int kUsedWords = (kDiscCells * kNd + 63) / 64;
constexpr int kMinValidCells = static_cast<int>(kMccMinValidCells * kDiscCells + 0.999f);
constexpr int kMinMatchableBits = static_cast<int>(kMccMinMatchableCells * kDiscCells * kNd);

// LSS-R parameters (paper, Table 2 of the 2010 article).
constexpr int kRelaxIterations = 5;
constexpr float kRelaxWeight = 0.5f;
constexpr float kRhoMu1 = 5.0f, kRhoTau1 = -8.0f / 5.0f;
constexpr float kRhoMu2 = kPi / 12, kRhoTau2 = -30.0f;
constexpr float kRhoMu3 = kPi / 12, kRhoTau3 = -30.0f;
constexpr int kMinNp = 4, kMaxNp = 12;
constexpr float kNpMu = 20.0f, kNpTau = 2.0f / 5.0f;
constexpr int kMaxRelaxPairs = 64;

// Global consistency: a pair agrees with an alignment when its minutiae land
// within this distance (growing with the distance from the anchor, to allow
// for skin distortion) and direction.
constexpr float kAlignBaseTolerance = 12.0f;
constexpr float kAlignToleranceSlope = 0.1f;
constexpr float kAlignAngleTolerance = kPi / 8;
constexpr int kAlignAnchors = 4;

float NormalizeAngle(float a) {  // to [-pi, pi); exact for |a| < 3 pi, as all callers pass
  if (a >= kPi) a -= kTwoPi;
  if (a < -kPi) a += kTwoPi;
  return a;
}

float Sigmoid(float v, float mu, float tau) { return 1.0f / (1.0f + std::exp(-tau * (v - mu))); }

struct DiscCell {
  float u, v;
};

// Lookup tables built once.
struct Tables {
  static constexpr int kGsSteps = 2048;  // over squared distance [0, (3 sigma_S)^2]
  static constexpr int kGdSteps = 2048;  // over angle [-pi, pi]
  static constexpr int kZ1Steps = 1024;  // over distance difference [0, 64) px, 1/16 px steps
  static constexpr int kZaSteps = 1024;  // over angle difference [0, pi]: 32768 / 32
  std::array<DiscCell, kDiscCells> disc{};
  std::array<float, kGsSteps + 1> gs{};
  std::array<float, kGdSteps + 1> gd{};
  std::array<float, kZ1Steps + 1> z1{};
  std::array<float, kZaSteps + 1> z2{};
  std::array<float, kZaSteps + 1> z3{};
  std::array<float, kNd> direction_centre{};

  Tables() {
    int c = 0;
    for (int i = 0; i < kNs; ++i) {
      for (int j = 0; j < kNs; ++j) {
        const float u = (i - (kNs - 1) / 2.0f) * kCellSize;
        const float v = (j - (kNs - 1) / 2.0f) * kCellSize;
        if (u * u + v * v <= kMccRadius * kMccRadius) disc[c++] = {u, v};
      }
    }
    const double max_d2 = kNeighbourCellRadius * kNeighbourCellRadius;
    for (int s = 0; s <= kGsSteps; ++s) {
      const double d2 = max_d2 * s / kGsSteps;
      gs[s] = static_cast<float>(std::exp(-d2 / (2.0 * kMccSigmaS * kMccSigmaS)) /
                                 (kMccSigmaS * std::sqrt(2.0 * std::numbers::pi)));
    }
    const double half_bin = std::numbers::pi / kNd;  // Delta_D / 2
    for (int s = 0; s <= kGdSteps; ++s) {
      const double alpha = -std::numbers::pi + 2 * std::numbers::pi * s / kGdSteps;
      const double k = 1.0 / (kMccSigmaD * std::sqrt(2.0));
      gd[s] = static_cast<float>(
          0.5 * (std::erf((alpha + half_bin) * k) - std::erf((alpha - half_bin) * k)));
    }
    for (int s = 0; s <= kZ1Steps; ++s) z1[s] = Sigmoid(s / 16.0f, kRhoMu1, kRhoTau1);
    for (int s = 0; s <= kZaSteps; ++s) {
      z2[s] = Sigmoid(kPi * s / kZaSteps, kRhoMu2, kRhoTau2);
      z3[s] = Sigmoid(kPi * s / kZaSteps, kRhoMu3, kRhoTau3);
    }
    for (int k = 0; k < kNd; ++k) direction_centre[k] = -kPi + (k + 0.5f) * kTwoPi / kNd;
  }

  float Gs(float d2) const {
    return gs[static_cast<int>(d2 * (kGsSteps / (kNeighbourCellRadius * kNeighbourCellRadius)))];
  }
  float Gd(float alpha) const {  // alpha in [-pi, pi]
    return gd[static_cast<int>((alpha + kPi) * (kGdSteps / kTwoPi) + 0.5f)];
  }
  // Distance difference in 1/16 px; the table has 1/16-px steps. Beyond
  // 12 px the factor is below 2e-5 and treated as 0.
  static constexpr int kZ1Cutoff = 12 * 16;
  float Z1Fixed(int d) const { return z1[d]; }
  // Angle difference in 65536ths of a turn, 0..32768 (half a turn).
  float ZAngle2(int d) const { return z2[d >> 5]; }
  float ZAngle3(int d) const { return z3[d >> 5]; }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}

// ---------------------------------------------------------------------------
// Convex hull (Andrew's monotone chain) and the distance of a point to it.

struct Point {
  float x, y;
};

float Cross(const Point& o, const Point& a, const Point& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

std::vector<Point> ConvexHull(std::vector<Point> points) {
  std::sort(points.begin(), points.end(),
            [](const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  points.erase(std::unique(points.begin(), points.end(),
                           [](const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }),
               points.end());
  if (points.size() < 3) return points;
  std::vector<Point> hull(2 * points.size());
  std::size_t k = 0;
  for (const Point& p : points) {
    while (k >= 2 && Cross(hull[k - 2], hull[k - 1], p) <= 0) --k;
    hull[k++] = p;
  }
  for (std::size_t i = points.size() - 1, lower = k + 1; i-- > 0;) {
    while (k >= lower && Cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  hull.resize(k - 1);  // counter-clockwise, no repeated first point
  return hull;
}

float SegmentDistanceSquared(const Point& p, const Point& a, const Point& b) {
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float length2 = dx * dx + dy * dy;
  float t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0.0f;
  t = std::clamp(t, 0.0f, 1.0f);
  const float ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
  return ex * ex + ey * ey;
}

bool WithinHull(const std::vector<Point>& hull, const Point& p, float margin) {
  if (hull.empty()) return false;
  const std::size_t n = hull.size();
  if (n >= 3) {
    bool inside = Cross(hull[n - 1], hull[0], p) >= 0;
    for (std::size_t i = 0; i + 1 < n && inside; ++i) inside = Cross(hull[i], hull[i + 1], p) >= 0;
    if (inside) return true;
  }
  const float margin2 = margin * margin;
  if (SegmentDistanceSquared(p, hull[n - 1], hull[0]) <= margin2) return true;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (SegmentDistanceSquared(p, hull[i], hull[i + 1]) <= margin2) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Cylinder similarity kernels. The AVX-512 one needs VPOPCNTDQ; both are
// compiled and one is picked at run time.

// One stored compatibility rho(t, k) of the LSS-R relaxation.
struct SparseEntry {
  float value;
  int k;
};

// Appends rho = z1 * z2 * z3 at rho[nonzero] and keeps it when above
// kRhoKeep. Every factor is in (0, 1], so a product is at most its smallest
// factor: when one factor is <= kRhoKeep the entry is dropped whatever the
// others are. Those are the products that underflow into denormals (each
// one a slow microcode assist on x86), so they are never formed: factors
// are raised to kRhoKeep first, which changes no kept product. Written
// unconditionally, so there is no branch to mispredict.
constexpr float kRhoKeep = 1e-4f;
inline void AppendCompatibility(float z1, float z2, float z3, int k, SparseEntry* rho,
                                int& nonzero) {
  const float value = std::max(z1, kRhoKeep) * std::max(z2, kRhoKeep) * std::max(z3, kRhoKeep);
  rho[nonzero] = {value, k};
  nonzero +=
      static_cast<int>((z1 > kRhoKeep) & (z2 > kRhoKeep) & (z3 > kRhoKeep) & (value > kRhoKeep));
}

struct PairSimilarity {
  float similarity;
  std::uint8_t a, b;  // cylinder indices
};

inline float SimilarityFromCounts(int common, int na, int nb, int nx) {
  if (common < kMinMatchableBits || na + nb == 0) return 0.0f;
  return 1.0f - static_cast<float>(nx) / static_cast<float>(na + nb);
}

#if defined(__x86_64__)
#define ABIS_MCC_SCALAR_TARGET __attribute__((target("popcnt")))
#else
#define ABIS_MCC_SCALAR_TARGET
#endif

ABIS_MCC_SCALAR_TARGET inline float SimilarityScalar(const std::uint64_t* a,
                                                     const std::uint64_t* va,
                                                     const std::uint64_t* b,
                                                     const std::uint64_t* vb) {
  int common = 0, na = 0, nb = 0, nx = 0;
  for (int w = 0; w < kUsedWords; ++w) {
    const std::uint64_t v = va[w] & vb[w];
    const std::uint64_t ma = a[w] & v, mb = b[w] & v;
    common += std::popcount(v);
    na += std::popcount(ma);
    nb += std::popcount(mb);
    nx += std::popcount(ma ^ mb);
  }
  return SimilarityFromCounts(common, na, nb, nx);
}

#if defined(__x86_64__)
// GCC 12 reports a false "may be used uninitialized" inside its own AVX-512
// shift intrinsics (the undefined pass-through operand).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define ABIS_MCC_AVX512_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vpopcntdq")))

// One cylinder of `a` against eight of `b` per step, so that there is no
// horizontal sum per pair: b's used words are transposed (word w of
// cylinders j..j+7 in one register) and each lane counts one pair. The
// counts are integers and the similarity is the same IEEE expression, so the
// result is bit-identical to SimilarityScalar / SimilarityFromCounts.
struct TransposedCylinders {
  static constexpr int kMaxCylinders = kMccMaxMinutiae;
  static_assert(kMaxCylinders % 8 == 0);
  alignas(64) std::uint64_t bits[kUsedWords][kMaxCylinders];
  alignas(64) std::uint64_t valid[kUsedWords][kMaxCylinders];
  alignas(64) float cos[kMaxCylinders];
  alignas(64) float sin[kMaxCylinders];
};

ABIS_MCC_AVX512_TARGET int FillAvx512(const PreparedFinger& a, const PreparedFinger& b,
                                      PairSimilarity* out) {
  thread_local TransposedCylinders t;
  const int na = static_cast<int>(a.cylinder_count());
  const int nb = static_cast<int>(b.cylinder_count());
  const int blocks = (nb + 7) / 8;
  // Padding lanes: empty masks (common = 0, never emitted) and excluded below.
  for (int j = 0; j < blocks * 8; ++j) {
    const bool real = j < nb;
    for (int w = 0; w < kUsedWords; ++w) {
      t.bits[w][j] = real ? b.cylinder_bits(j)[w] : 0;
      t.valid[w][j] = real ? b.cylinder_valid(j)[w] : 0;
    }
    t.cos[j] = real ? b.cylinder_cos[j] : 0.0f;
    t.sin[j] = real ? b.cylinder_sin[j] : 0.0f;
  }
  const __m512i min_common = _mm512_set1_epi64(kMinMatchableBits);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m512i lane_index = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  static_assert(sizeof(PairSimilarity) == 8 && offsetof(PairSimilarity, a) == 4 &&
                offsetof(PairSimilarity, b) == 5);
  int count = 0;
  for (int i = 0; i < na; ++i) {
    const std::uint64_t* bits_i = a.cylinder_bits(i);
    const std::uint64_t* valid_i = a.cylinder_valid(i);
    __m512i ai[kUsedWords], vi[kUsedWords];
    for (int w = 0; w < kUsedWords; ++w) {
      ai[w] = _mm512_set1_epi64(static_cast<long long>(bits_i[w]));
      vi[w] = _mm512_set1_epi64(static_cast<long long>(valid_i[w]));
    }
    const __m256 ci = _mm256_set1_ps(a.cylinder_cos[i]), si = _mm256_set1_ps(a.cylinder_sin[i]);
    // i in byte 4 and lane offsets 0..7 in byte 5 of each record.
    const __m512i row_ids = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t{i} << 32),
                                             _mm512_slli_epi64(lane_index, 40));
    for (int block = 0; block < blocks; ++block) {
      const int j0 = block * 8;
      // |angle difference| <= pi/2  <=>  cos(difference) >= 0. The former
      // per-pair AVX-512 build had GCC contract ci * cb + si * sb into
      // fma(ci, cb, si * sb); written out the same way so exactly the same
      // pairs are pruned (scores unchanged). Tested first: it skips popcounts.
      const __m256 dot = _mm256_fmadd_ps(ci, _mm256_load_ps(t.cos + j0),
                                         _mm256_mul_ps(si, _mm256_load_ps(t.sin + j0)));
      __mmask8 keep =
          static_cast<__mmask8>(_mm256_cmp_ps_mask(dot, _mm256_setzero_ps(), _CMP_GE_OQ) &
                                (nb - j0 >= 8 ? 0xFF : (1u << (nb - j0)) - 1));
      if (keep == 0) continue;
      __m512i common = _mm512_setzero_si512(), sum = common, different = common;
      for (int w = 0; w < kUsedWords; ++w) {
        const __m512i bj = _mm512_load_si512(t.bits[w] + j0);
        const __m512i vj = _mm512_load_si512(t.valid[w] + j0);
        // Value bits are zero outside their own mask, so a & vb == a & va & vb.
        const __m512i ma = _mm512_and_si512(ai[w], vj), mb = _mm512_and_si512(bj, vi[w]);
        common = _mm512_add_epi64(common, _mm512_popcnt_epi64(_mm512_and_si512(vi[w], vj)));
        sum = _mm512_add_epi64(sum,
                               _mm512_add_epi64(_mm512_popcnt_epi64(ma), _mm512_popcnt_epi64(mb)));
        different = _mm512_add_epi64(different, _mm512_popcnt_epi64(_mm512_xor_si512(ma, mb)));
      }
      keep &= _mm512_cmpge_epi64_mask(common, min_common) &
              _mm512_cmpneq_epi64_mask(sum, _mm512_setzero_si512());
      const __m256 similarity =
          _mm256_sub_ps(one, _mm256_div_ps(_mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(different)),
                                           _mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(sum))));
      keep &= _mm256_cmp_ps_mask(similarity, _mm256_setzero_ps(), _CMP_GT_OQ);
      // Emit the kept lanes in ascending j as whole PairSimilarity records
      // (similarity in the low half, i and j in the next two bytes):
      // compress, then one unconditional 8-record store; out has room.
      const __m512i records =
          _mm512_or_si512(_mm512_cvtepu32_epi64(_mm256_castps_si256(similarity)),
                          _mm512_add_epi64(row_ids, _mm512_slli_epi64(_mm512_set1_epi64(j0), 40)));
      _mm512_storeu_si512(out + count, _mm512_maskz_compress_epi64(keep, records));
      count += std::popcount(static_cast<unsigned>(keep));
    }
  }
  return count;
}
#endif

// ---------------------------------------------------------------------------
// Selection of the nR best pairs. The scores depend on the exact order in
// which std::nth_element (libstdc++'s introselect) leaves the pairs, ties
// included: the relaxation sums each row in that order and the later sorts
// break ties by it. The AVX-512 path below reproduces that algorithm step
// for step (same pivots, same swaps, same fallbacks) and only computes each
// Hoare partition differently; the scalar path calls std::nth_element.

bool BySimilarity(const PairSimilarity& l, const PairSimilarity& r) {
  return l.similarity > r.similarity;
}

void StdSelect(PairSimilarity* first, PairSimilarity* nth, PairSimilarity* last) {
  std::nth_element(first, nth, last, BySimilarity);
}

#if defined(__x86_64__)
// libstdc++'s __move_median_to_first.
void MoveMedianToFirst(PairSimilarity* result, PairSimilarity* a, PairSimilarity* b,
                       PairSimilarity* c) {
  if (BySimilarity(*a, *b)) {
    if (BySimilarity(*b, *c))
      std::iter_swap(result, b);
    else if (BySimilarity(*a, *c))
      std::iter_swap(result, c);
    else
      std::iter_swap(result, a);
  } else if (BySimilarity(*a, *c)) {
    std::iter_swap(result, a);
  } else if (BySimilarity(*b, *c)) {
    std::iter_swap(result, c);
  } else {
    std::iter_swap(result, b);
  }
}

// libstdc++'s __heap_select: a heap of [first, middle), then every later
// element that beats its top replaces the top (__pop_heap(first, middle, i),
// written with the public pop_heap by parking the element at *middle).
void HeapSelect(PairSimilarity* first, PairSimilarity* middle, PairSimilarity* last) {
  std::make_heap(first, middle, BySimilarity);
  for (PairSimilarity* i = middle; i < last; ++i) {
    if (!BySimilarity(*i, *first)) continue;
    if (i == middle) {
      std::pop_heap(first, middle + 1, BySimilarity);
    } else {
      const PairSimilarity parked = *middle;
      *middle = *i;
      std::pop_heap(first, middle + 1, BySimilarity);
      *i = *middle;
      *middle = parked;
    }
  }
}

// libstdc++'s __insertion_sort.
void InsertionSort(PairSimilarity* first, PairSimilarity* last) {
  if (first == last) return;
  for (PairSimilarity* i = first + 1; i != last; ++i) {
    const PairSimilarity value = *i;
    if (BySimilarity(value, *first)) {
      std::move_backward(first, i, i + 1);
      *first = value;
    } else {
      PairSimilarity* hole = i;
      for (PairSimilarity* next = i - 1; BySimilarity(value, *next); --next) {
        *hole = *next;
        hole = next;
      }
      *hole = value;
    }
  }
}

// Hoare partition of [lo, hi) around the pivot at lo, as libstdc++'s
// __unguarded_partition(lo + 1, hi, lo) does it. Its left scan stops at the
// elements that do not beat the pivot (in ascending order), its right scan
// at those the pivot does not beat (descending), and the k-th stops of the
// two are swapped while they have not crossed. Every stop is at a position
// not yet written (the scans only move inwards), so both stop lists can be
// computed up front from the original values, 16 records at a time; the
// swaps then follow in the same order. Returns the same cut.
ABIS_MCC_AVX512_TARGET int PartitionAvx512(PairSimilarity* pairs, int lo, int hi, std::int32_t* low,
                                           std::int32_t* high) {
  const __m512 pivot = _mm512_set1_ps(pairs[lo].similarity);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  __m512i index =
      _mm512_add_epi32(_mm512_set1_epi32(lo),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i sixteen = _mm512_set1_epi32(16);
  int low_count = 0, high_count = 0;
  for (int base = lo; base < hi; base += 16) {
    const int left = hi - base;
    const __mmask16 in = left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << left) - 1);
    const __m512i r0 = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(in), pairs + base);
    const __m512i r1 = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(in >> 8), pairs + base + 8);
    // Similarities are positive and finite: <= and >= are !(>) and !(<).
    const __m512 similarity = _mm512_castsi512_ps(_mm512_permutex2var_epi32(r0, even, r1));
    const __mmask16 le = _mm512_mask_cmp_ps_mask(in, similarity, pivot, _CMP_LE_OQ);
    const __mmask16 ge = _mm512_mask_cmp_ps_mask(in, similarity, pivot, _CMP_GE_OQ);
    _mm512_storeu_si512(low + low_count, _mm512_maskz_compress_epi32(le, index));
    _mm512_storeu_si512(high + high_count, _mm512_maskz_compress_epi32(ge, index));
    low_count += std::popcount(static_cast<unsigned>(le));
    high_count += std::popcount(static_cast<unsigned>(ge));
    index = _mm512_add_epi32(index, sixteen);
  }
  // low[0] is the pivot itself (the left scan starts at lo + 1); high ends
  // with it, the right scan's guard.
  const std::int32_t* left_stops = low + 1;
  const int left_count = low_count - 1;
  int swaps = 0;
  while (swaps < left_count && left_stops[swaps] < high[high_count - 1 - swaps]) {
    std::swap(pairs[left_stops[swaps]], pairs[high[high_count - 1 - swaps]]);
    ++swaps;
  }
  int cut = swaps < left_count ? left_stops[swaps] : hi;
  if (swaps > 0) cut = std::min(cut, high[high_count - swaps]);
  return cut;
}

// std::nth_element(first, nth, last, BySimilarity), same result bit for bit.
ABIS_MCC_AVX512_TARGET void SelectAvx512(PairSimilarity* first, PairSimilarity* nth,
                                         PairSimilarity* last) {
  if (first == last || nth == last) return;
  struct Stops {
    alignas(64) std::int32_t low[kMccMaxMinutiae * kMccMaxMinutiae + 16];
    alignas(64) std::int32_t high[kMccMaxMinutiae * kMccMaxMinutiae + 16];
  };
  thread_local Stops stops;
  int lo = 0, hi = static_cast<int>(last - first);
  const int n = static_cast<int>(nth - first);
  int depth_limit = 2 * (std::bit_width(static_cast<unsigned>(hi)) - 1);
  while (hi - lo > 3) {
    if (depth_limit == 0) {
      HeapSelect(first + lo, nth + 1, first + hi);
      std::iter_swap(first + lo, nth);
      return;
    }
    --depth_limit;
    MoveMedianToFirst(first + lo, first + lo + 1, first + lo + (hi - lo) / 2, first + hi - 1);
    const int cut = PartitionAvx512(first, lo, hi, stops.low, stops.high);
    if (cut <= n)
      lo = cut;
    else
      hi = cut;
  }
  InsertionSort(first + lo, first + hi);
}
#endif

// All direction-compatible cylinder pairs with a positive similarity.
#define ABIS_MCC_DEFINE_FILL(NAME, TARGET, KERNEL)                                         \
  TARGET int NAME(const PreparedFinger& a, const PreparedFinger& b, PairSimilarity* out) { \
    int count = 0;                                                                         \
    const std::size_t nb = b.cylinder_count();                                             \
    for (std::size_t i = 0; i < a.cylinder_count(); ++i) {                                 \
      const float ci = a.cylinder_cos[i], si = a.cylinder_sin[i];                          \
      const std::uint64_t* bits_i = a.cylinder_bits(i);                                    \
      const std::uint64_t* valid_i = a.cylinder_valid(i);                                  \
      for (std::size_t j = 0; j < nb; ++j) {                                               \
        /* |angle difference| <= pi/2  <=>  cos(difference) >= 0 */                        \
        if (ci * b.cylinder_cos[j] + si * b.cylinder_sin[j] < 0) continue;                 \
        const float s = KERNEL(bits_i, valid_i, b.cylinder_bits(j), b.cylinder_valid(j));  \
        if (s > 0) {                                                                       \
          out[count++] = {s, static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(j)};  \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
    return count;                                                                          \
  }

ABIS_MCC_DEFINE_FILL(FillScalar, ABIS_MCC_SCALAR_TARGET, SimilarityScalar)
#if defined(__x86_64__)
#pragma GCC diagnostic pop
#endif

// Compatibilities rho(t, k) of the nr selected pairs (minutiae minutia_a[t],
// minutia_b[t]; turn[t] = their direction difference), kept sparse: for
// most pairs of pairs at least one factor is negligible, so only the others
// are stored, row by row in ascending k (the relaxation sums each row in
// this order). Returns the number stored; row_start gets nr + 1 offsets.
int CompatibilitiesScalar(const PreparedFinger& a, const PreparedFinger& b, const int* minutia_a,
                          const int* minutia_b, const std::uint16_t* turn, int nr, SparseEntry* rho,
                          int* row_start, std::uint64_t* near) {
  const Tables& tables = T();
  int nonzero = 0;
  // Most pairs of pairs fail the distance cutoff. The distance difference
  // is symmetric in (t, k) (pair_distance is a symmetric matrix), so test
  // each unordered pair once and keep the survivors as one bit mask per row.
  static_assert(kMaxRelaxPairs <= 64);
  std::fill(near, near + nr, std::uint64_t{0});
  const std::size_t ma_count = a.minutia_count(), mb_count = b.minutia_count();
  for (int t = 0; t < nr; ++t) {
    const std::uint16_t* distance_a = a.pair_distance.data() + minutia_a[t] * ma_count;
    const std::uint16_t* distance_b = b.pair_distance.data() + minutia_b[t] * mb_count;
    std::uint64_t row = 0;
    for (int k = t + 1; k < nr; ++k) {
      const int d1 = std::abs(int{distance_a[minutia_a[k]]} - int{distance_b[minutia_b[k]]});
      const std::uint64_t hit = d1 < Tables::kZ1Cutoff;
      row |= hit << k;
      near[k] |= hit << t;
    }
    near[t] |= row;
  }
  for (int t = 0; t < nr; ++t) {
    row_start[t] = nonzero;
    const int at = minutia_a[t], bt = minutia_b[t];
    const std::uint16_t* distance_a = a.pair_distance.data() + at * ma_count;
    const std::uint16_t* distance_b = b.pair_distance.data() + bt * mb_count;
    const std::uint16_t* radial_a = a.pair_radial_angle.data() + at * ma_count;
    const std::uint16_t* radial_b = b.pair_radial_angle.data() + bt * mb_count;
    // Ascending k, as a plain loop would visit them (the relaxation sums
    // each row in this order).
    for (std::uint64_t m = near[t]; m != 0; m &= m - 1) {
      const int k = std::countr_zero(m);
      const int ak = minutia_a[k], bk = minutia_b[k];
      // Distances in 1/16 px; angles are 16-bit fractions of a turn, so
      // their differences wrap by themselves.
      const int d1 = std::abs(int{distance_a[ak]} - int{distance_b[bk]});
      const int d2 = std::abs(int{static_cast<std::int16_t>(turn[t] - turn[k])});
      const int d3 = std::abs(int{static_cast<std::int16_t>(radial_a[ak] - radial_b[bk])});
      AppendCompatibility(tables.Z1Fixed(d1), tables.ZAngle2(d2), tables.ZAngle3(d3), k, rho,
                          nonzero);
    }
  }
  row_start[nr] = nonzero;
  return nonzero;
}

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define ABIS_MCC_AVX512BW_TARGET \
  __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512vpopcntdq")))

ABIS_MCC_AVX512BW_TARGET inline __mmask32 FirstLanes16(int count) {
  return count >= 32 ? ~__mmask32{0} : count <= 0 ? __mmask32{0} : (__mmask32{1} << count) - 1;
}

// row[index[k]] for 32 lanes of 16-bit indices into a row of `length`
// (<= kMccMaxMinutiae) 16-bit entries, by permutes from registers (masked
// loads never touch memory past the row).
ABIS_MCC_AVX512BW_TARGET inline __m512i LookupRow(const std::uint16_t* row, int length,
                                                  __m512i index) {
  const __m512i t0 = _mm512_maskz_loadu_epi16(FirstLanes16(length), row);
  const __m512i t1 = _mm512_maskz_loadu_epi16(FirstLanes16(length - 32), row + 32);
  const __m512i low = _mm512_permutex2var_epi16(t0, index, t1);
  if (length <= 64) return low;
  const __m512i t2 = _mm512_maskz_loadu_epi16(FirstLanes16(length - 64), row + 64);
  const __m512i t3 = _mm512_maskz_loadu_epi16(FirstLanes16(length - 96), row + 96);
  const __m512i high = _mm512_permutex2var_epi16(t2, index, t3);
  return _mm512_mask_blend_epi16(_mm512_test_epi16_mask(index, _mm512_set1_epi16(64)), low, high);
}

// CompatibilitiesScalar with the three differences of a whole row (all k at
// once, 32 per register) from permuted rows of the pair tables; the distance
// test is the same (|d_a - d_b| < the Z1 cutoff, symmetric, so a full row
// equals the scalar code's two triangles) and the stored values are the
// same products in the same order.
ABIS_MCC_AVX512BW_TARGET int CompatibilitiesAvx512(const PreparedFinger& a, const PreparedFinger& b,
                                                   const int* minutia_a, const int* minutia_b,
                                                   const std::uint16_t* turn, int nr,
                                                   SparseEntry* rho, int* row_start,
                                                   std::uint64_t* near) {
  static_assert(kMaxRelaxPairs <= 64 && kMccMaxMinutiae <= 128);
  const Tables& tables = T();
  const int ma_count = static_cast<int>(a.minutia_count());
  const int mb_count = static_cast<int>(b.minutia_count());
  alignas(64) std::uint16_t index_a[64] = {}, index_b[64] = {}, turns[64] = {};
  for (int k = 0; k < nr; ++k) {
    index_a[k] = static_cast<std::uint16_t>(minutia_a[k]);
    index_b[k] = static_cast<std::uint16_t>(minutia_b[k]);
    turns[k] = turn[k];
  }
  const int halves = nr > 32 ? 2 : 1;
  __m512i ia[2], ib[2], tk[2];
  for (int h = 0; h < halves; ++h) {
    ia[h] = _mm512_load_si512(index_a + 32 * h);
    ib[h] = _mm512_load_si512(index_b + 32 * h);
    tk[h] = _mm512_load_si512(turns + 32 * h);
  }
  const __m512i cutoff = _mm512_set1_epi16(Tables::kZ1Cutoff);
  const std::uint64_t in_range = nr >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << nr) - 1;
  // All rows first, then the stored values: reading a 16-bit lane right
  // after its 64-byte store stalls (no store forwarding), so the scalar pass
  // only starts once the whole table is written.
  struct Differences {
    alignas(64) std::uint16_t distance[kMaxRelaxPairs][64];
    alignas(64) std::uint16_t direction[kMaxRelaxPairs][64];  // >> 5, the table step
    alignas(64) std::uint16_t radial[kMaxRelaxPairs][64];     // >> 5
  };
  thread_local Differences d;
  for (int t = 0; t < nr; ++t) {
    const std::uint16_t* distance_a = a.pair_distance.data() + minutia_a[t] * ma_count;
    const std::uint16_t* distance_b = b.pair_distance.data() + minutia_b[t] * mb_count;
    const std::uint16_t* radial_a = a.pair_radial_angle.data() + minutia_a[t] * ma_count;
    const std::uint16_t* radial_b = b.pair_radial_angle.data() + minutia_b[t] * mb_count;
    const __m512i turn_t = _mm512_set1_epi16(static_cast<short>(turn[t]));
    std::uint64_t row = 0;
    for (int h = 0; h < halves; ++h) {
      const __m512i da = LookupRow(distance_a, ma_count, ia[h]);
      const __m512i db = LookupRow(distance_b, mb_count, ib[h]);
      // |da - db| of unsigned 16-bit values.
      const __m512i distance =
          _mm512_or_si512(_mm512_subs_epu16(da, db), _mm512_subs_epu16(db, da));
      row |= std::uint64_t{_mm512_cmplt_epu16_mask(distance, cutoff)} << (32 * h);
      // Angle differences wrap modulo 2^16; |int16| of 0x8000 is 0x8000
      // (unsigned 32768), as the scalar code's int arithmetic gives.
      const __m512i radial = _mm512_abs_epi16(_mm512_sub_epi16(
          LookupRow(radial_a, ma_count, ia[h]), LookupRow(radial_b, mb_count, ib[h])));
      const __m512i direction = _mm512_abs_epi16(_mm512_sub_epi16(turn_t, tk[h]));
      _mm512_store_si512(d.distance[t] + 32 * h, distance);
      _mm512_store_si512(d.direction[t] + 32 * h, _mm512_srli_epi16(direction, 5));
      _mm512_store_si512(d.radial[t] + 32 * h, _mm512_srli_epi16(radial, 5));
    }
    near[t] = row & in_range & ~(std::uint64_t{1} << t);
  }
  int nonzero = 0;
  for (int t = 0; t < nr; ++t) {
    row_start[t] = nonzero;
    for (std::uint64_t m = near[t]; m != 0; m &= m - 1) {
      const int k = std::countr_zero(m);
      AppendCompatibility(tables.z1[d.distance[t][k]], tables.z2[d.direction[t][k]],
                          tables.z3[d.radial[t][k]], k, rho, nonzero);
    }
  }
  row_start[nr] = nonzero;
  return nonzero;
}
#pragma GCC diagnostic pop
#endif

// order[0, n) by decreasing lambda, as std::sort leaves it (ties in the
// order its introsort happens to give, which the greedy pairing depends on).
void SortByRelaxedStd(int* order, const float* lambda, int n) {
  std::sort(order, order + n, [&](int l, int r) { return lambda[l] > lambda[r]; });
}

#if defined(__x86_64__)
// Without ties the sorted order is unique, so any sort gives std::sort's
// result: here each element's rank is the number of larger values, counted
// 16 at a time. With a tie (equal relaxed similarities happen) it falls back
// to std::sort on the unchanged input.
ABIS_MCC_AVX512BW_TARGET void SortByRelaxedAvx512(int* order, const float* lambda, int n) {
  static_assert(kMaxRelaxPairs <= 64);
  alignas(64) float values[64];
  for (int k = 0; k < 64; ++k) values[k] = k < n ? lambda[k] : 0.0f;
  const int blocks = (n + 15) / 16;
  __m512 v[4];
  __mmask16 lanes[4];
  for (int q = 0; q < blocks; ++q) {
    v[q] = _mm512_load_ps(values + 16 * q);
    const int left = n - 16 * q;
    lanes[q] = left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << left) - 1);
  }
  std::array<int, kMaxRelaxPairs> rank;
  bool tie = false;
  for (int t = 0; t < n; ++t) {
    const __m512 x = _mm512_set1_ps(lambda[t]);
    int larger = 0, equal = 0;
    for (int q = 0; q < blocks; ++q) {
      larger += std::popcount(
          static_cast<unsigned>(_mm512_mask_cmp_ps_mask(lanes[q], v[q], x, _CMP_GT_OQ)));
      equal += std::popcount(
          static_cast<unsigned>(_mm512_mask_cmp_ps_mask(lanes[q], v[q], x, _CMP_EQ_OQ)));
    }
    rank[t] = larger;
    tie |= equal != 1;
  }
  if (tie) {
    SortByRelaxedStd(order, lambda, n);
    return;
  }
  for (int t = 0; t < n; ++t) order[rank[t]] = t;
}
#endif

using FillFunction = int (*)(const PreparedFinger&, const PreparedFinger&, PairSimilarity*);

FillFunction ChooseFill() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("fma")) {
    return FillAvx512;
  }
#endif
  return FillScalar;
}

const FillFunction kFill = ChooseFill();

using SelectFunction = void (*)(PairSimilarity*, PairSimilarity*, PairSimilarity*);
const SelectFunction kSelect =
#if defined(__x86_64__)
    kFill == FillAvx512 ? SelectAvx512 :
#endif
                        StdSelect;

using CompatibilitiesFunction = int (*)(const PreparedFinger&, const PreparedFinger&, const int*,
                                        const int*, const std::uint16_t*, int, SparseEntry*, int*,
                                        std::uint64_t*);
const CompatibilitiesFunction kCompatibilities =
#if defined(__x86_64__)
    kFill == FillAvx512 ? CompatibilitiesAvx512 :
#endif
                        CompatibilitiesScalar;

using SortFunction = void (*)(int*, const float*, int);
const SortFunction kSortByRelaxed =
#if defined(__x86_64__)
    kFill == FillAvx512 ? SortByRelaxedAvx512 :
#endif
                        SortByRelaxedStd;

// Per-thread scratch so matching never allocates after warm-up.
struct Scratch {
  // + 8: FillAvx512 stores 8 records at a time.
  std::array<PairSimilarity, kMccMaxMinutiae * kMccMaxMinutiae + 8> pairs;
  std::array<SparseEntry, kMaxRelaxPairs * kMaxRelaxPairs> rho;
  std::array<int, kMaxRelaxPairs + 1> row_start;
  std::array<int, kMaxRelaxPairs> minutia_a, minutia_b;
  std::array<std::uint16_t, kMaxRelaxPairs> turn;
  std::array<std::uint64_t, kMaxRelaxPairs> near;
  std::array<float, kMaxRelaxPairs> lambda, next, initial, sum;
  std::array<int, kMaxRelaxPairs * kMaxRelaxPairs> entry_row;
  std::array<int, kMaxRelaxPairs> order;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

void PrefetchBytes(const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  for (std::size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset);
}

void PrefetchPairTables(const PreparedFinger& f) {
  PrefetchBytes(f.pair_distance.data(), f.pair_distance.size() * sizeof(std::uint16_t));
  PrefetchBytes(f.pair_radial_angle.data(), f.pair_radial_angle.size() * sizeof(std::uint16_t));
}

float AbsAngleDifference(float a, float b) { return std::fabs(NormalizeAngle(a - b)); }

}  // namespace

int MccCellsInDisc() { return kDiscCells; }

void MccDiscCellOffset(int cell, float& along, float& across) {
  const DiscCell& c = T().disc[static_cast<std::size_t>(cell)];
  along = c.u;
  across = c.v;
}

float MccDiscCellDistance(int cell) {
  const DiscCell& c = T().disc[static_cast<std::size_t>(cell)];
  return std::sqrt(c.u * c.u + c.v * c.v);
}

std::size_t PreparedFinger::MemoryBytes() const {
  return sizeof(*this) + (x.size() + y.size() + angle.size()) * sizeof(float) +
         angle_units.size() * 2 + cylinder_minutia.size() +
         (cylinder_cos.size() + cylinder_sin.size()) * sizeof(float) +
         (bits.size() + valid.size()) * sizeof(std::uint64_t) +
         (pair_distance.size() + pair_radial_angle.size()) * sizeof(std::uint16_t);
}

Result<PreparedFinger> PrepareFinger(const FingerFeatures& features) {
  for (const Minutia& m : features.minutiae) {
    if (!std::isfinite(m.angle)) return InvalidArgumentError("minutia angle is not finite");
  }
  const Tables& tables = T();
  std::vector<std::size_t> kept(features.minutiae.size());
  std::iota(kept.begin(), kept.end(), std::size_t{0});
  if (kept.size() > kMccMaxMinutiae) {
    std::stable_sort(kept.begin(), kept.end(), [&](std::size_t a, std::size_t b) {
      return features.minutiae[a].quality > features.minutiae[b].quality;
    });
    kept.resize(kMccMaxMinutiae);
  }
  const std::size_t n = kept.size();
  PreparedFinger prepared;
  prepared.position = features.position;
  prepared.capture = features.capture;
  prepared.x.resize(n);
  prepared.y.resize(n);
  prepared.angle.resize(n);
  prepared.angle_units.resize(n);
  std::vector<Point> points(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Minutia& m = features.minutiae[kept[i]];
    prepared.x[i] = static_cast<float>(m.x);
    prepared.y[i] = -static_cast<float>(m.y);
    float angle = std::fmod(m.angle, kTwoPi);
    if (angle < 0) angle += kTwoPi;
    prepared.angle[i] = angle;
    prepared.angle_units[i] =
        static_cast<std::uint16_t>(std::lround(angle * (65536.0f / kTwoPi)) & 0xFFFF);
    points[i] = {prepared.x[i], prepared.y[i]};
  }
  const std::vector<Point> hull = ConvexHull(points);

  prepared.pair_distance.resize(n * n);
  prepared.pair_radial_angle.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const float dx = prepared.x[j] - prepared.x[i], dy = prepared.y[j] - prepared.y[i];
      const float distance = std::sqrt(dx * dx + dy * dy);
      prepared.pair_distance[i * n + j] =
          static_cast<std::uint16_t>(std::min(65535.0f, std::round(distance * 16.0f)));
      float radial = i == j ? 0.0f : std::atan2(dy, dx) - prepared.angle[i];
      radial = std::fmod(radial, kTwoPi);
      if (radial < 0) radial += kTwoPi;
      prepared.pair_radial_angle[i * n + j] = static_cast<std::uint16_t>(
          static_cast<std::uint32_t>(std::lround(radial * (65536.0f / kTwoPi))) & 0xFFFF);
    }
  }

  const float neighbour_range = kMccRadius + 3 * kMccSigmaS;
  std::vector<int> neighbours;
  std::array<bool, kDiscCells> cell_valid{};
  std::array<float, kNd> contribution{};
  std::array<std::uint64_t, kWords> bits{}, valid{};
  for (std::size_t i = 0; i < n; ++i) {
    neighbours.clear();
    for (std::size_t j = 0; j < n; ++j) {
      if (j != i && prepared.pair_distance[i * n + j] <= neighbour_range * 16.0f) {
        neighbours.push_back(static_cast<int>(j));
      }
    }
    if (static_cast<int>(neighbours.size()) < kMccMinNeighbours) continue;
    const float xi = prepared.x[i], yi = prepared.y[i], ti = prepared.angle[i];
    const float ct = std::cos(ti), st = std::sin(ti);
    int valid_cells = 0;
    for (int c = 0; c < kDiscCells; ++c) {
      const DiscCell& cell = tables.disc[c];
      const Point centre{xi + ct * cell.u - st * cell.v, yi + st * cell.u + ct * cell.v};
      cell_valid[c] = WithinHull(hull, centre, kMccHullMargin);
      valid_cells += cell_valid[c];
    }
    if (valid_cells < kMinValidCells) continue;
    bits.fill(0);
    valid.fill(0);
    const float max_d2 = kNeighbourCellRadius * kNeighbourCellRadius;
    for (int c = 0; c < kDiscCells; ++c) {
      if (!cell_valid[c]) continue;
      const DiscCell& cell = tables.disc[c];
      const float px = xi + ct * cell.u - st * cell.v, py = yi + st * cell.u + ct * cell.v;
      contribution.fill(0.0f);
      for (int j : neighbours) {
        const float dx = prepared.x[j] - px, dy = prepared.y[j] - py;
        const float d2 = dx * dx + dy * dy;
        if (d2 >= max_d2) continue;
        const float spatial = tables.Gs(d2);
        const float direction = NormalizeAngle(ti - prepared.angle[j]);
        for (int k = 0; k < kNd; ++k) {
          contribution[k] +=
              spatial * tables.Gd(NormalizeAngle(tables.direction_centre[k] - direction));
        }
      }
      for (int k = 0; k < kNd; ++k) {
        const int bit = k * kDiscCells + c;
        valid[bit / 64] |= std::uint64_t{1} << (bit % 64);
        if (contribution[k] >= kMccMuPsi) bits[bit / 64] |= std::uint64_t{1} << (bit % 64);
      }
    }
    prepared.cylinder_minutia.push_back(static_cast<std::uint8_t>(i));
    prepared.cylinder_cos.push_back(ct);
    prepared.cylinder_sin.push_back(st);
    prepared.bits.insert(prepared.bits.end(), bits.begin(), bits.end());
    prepared.valid.insert(prepared.valid.end(), valid.begin(), valid.end());
  }
  return prepared;
}

float CylinderSimilarity(const std::uint64_t* bits_a, const std::uint64_t* valid_a,
                         const std::uint64_t* bits_b, const std::uint64_t* valid_b) {
  return SimilarityScalar(bits_a, valid_a, bits_b, valid_b);
}

float MatchPrepared(const PreparedFinger& a, const PreparedFinger& b, MatchDetails* details) {
  MatchDetails local;
  MatchDetails& out = details ? *details : local;
  out = MatchDetails{};
  const std::size_t na = a.cylinder_count(), nb = b.cylinder_count();
  if (na == 0 || nb == 0) return 0.0f;
  Scratch& scratch = ThreadScratch();
  // The consolidation reads rows of both pair tables in an order known only
  // after the selection; in a 1:N scan (or all pairs) the gallery side is
  // usually not cached. Ask for all of it now, so it arrives during the fill.
  PrefetchPairTables(a);
  PrefetchPairTables(b);
  PairSimilarity* pairs = scratch.pairs.data();
  const int pair_count = kFill(a, b, pairs);
  out.compared_cylinders = pair_count;
  if (pair_count == 0) return 0.0f;

  // LSS-R: relax the top nR pairs.
  const int nr = std::min({pair_count, static_cast<int>(std::min(na, nb)), kMaxRelaxPairs});
  // The nr best, in the order std::nth_element leaves them.
  kSelect(pairs, pairs + (nr - 1), pairs + pair_count);
  SparseEntry* rho = scratch.rho.data();
  int* row_start = scratch.row_start.data();
  int* minutia_a = scratch.minutia_a.data();
  int* minutia_b = scratch.minutia_b.data();
  // Relative directions only enter as differences mod 2^16, so
  // (ua_t - ua_k) - (ub_t - ub_k) == turn[t] - turn[k] with turn = ua - ub.
  std::uint16_t* turn = scratch.turn.data();
  for (int t = 0; t < nr; ++t) {
    minutia_a[t] = a.cylinder_minutia[pairs[t].a];
    minutia_b[t] = b.cylinder_minutia[pairs[t].b];
    turn[t] = static_cast<std::uint16_t>(a.angle_units[minutia_a[t]] - b.angle_units[minutia_b[t]]);
  }
  kCompatibilities(a, b, minutia_a, minutia_b, turn, nr, rho, row_start, scratch.near.data());
  float* lambda = scratch.lambda.data();
  float* next = scratch.next.data();
  float* initial = scratch.initial.data();
  for (int t = 0; t < nr; ++t) lambda[t] = initial[t] = pairs[t].similarity;
  const float spread = nr > 1 ? (1.0f - kRelaxWeight) / (nr - 1) : 0.0f;
  // Each row's sum is accumulated in its own slot, entry by entry in
  // storage order (so in ascending k from 0.0f, as a per-row loop would add
  // them); one loop over all entries instead of nr short loops of varying
  // length, whose exits the branch predictor keeps missing.
  int* entry_row = scratch.entry_row.data();
  float* sum = scratch.sum.data();
  const int entries = row_start[nr];
  for (int t = 0; t < nr; ++t) std::fill(entry_row + row_start[t], entry_row + row_start[t + 1], t);
  for (int iteration = 0; iteration < kRelaxIterations; ++iteration) {
    std::fill(sum, sum + nr, 0.0f);
    for (int e = 0; e < entries; ++e) sum[entry_row[e]] += rho[e].value * lambda[rho[e].k];
    for (int t = 0; t < nr; ++t) next[t] = kRelaxWeight * lambda[t] + spread * sum[t];
    std::copy(next, next + nr, lambda);
  }
  const int min_count = static_cast<int>(std::min(na, nb));
  const int np = std::min(
      nr, kMinNp + static_cast<int>(std::lround(
                       Sigmoid(static_cast<float>(min_count), kNpMu, kNpTau) * (kMaxNp - kMinNp))));
  int* order = scratch.order.data();
  std::iota(order, order + nr, 0);
  // Highest efficiency (relaxed / initial) first.
  std::partial_sort(order, order + np, order + nr,
                    [&](int l, int r) { return lambda[l] * initial[r] > lambda[r] * initial[l]; });
  float lss_r = 0.0f;
  for (int t = 0; t < np; ++t) lss_r += lambda[order[t]];
  lss_r /= static_cast<float>(np);
  out.lss_r = lss_r;

  // Global consistency: one-to-one pairs by relaxed similarity, then the
  // largest set that a single rigid alignment (anchored on one of the best
  // pairs) explains.
  kSortByRelaxed(order, lambda, nr);
  std::array<int, kMaxRelaxPairs> chosen{};
  int chosen_count = 0;
  {
    std::array<bool, kMccMaxMinutiae> used_a{}, used_b{};
    for (int t = 0; t < nr; ++t) {
      const int ma = a.cylinder_minutia[pairs[order[t]].a];
      const int mb = b.cylinder_minutia[pairs[order[t]].b];
      if (used_a[ma] || used_b[mb]) continue;
      used_a[ma] = used_b[mb] = true;
      chosen[chosen_count++] = order[t];
    }
  }
  int best_consistent = 0;
  for (int anchor = 0; anchor < std::min(chosen_count, kAlignAnchors); ++anchor) {
    const int aa = a.cylinder_minutia[pairs[chosen[anchor]].a];
    const int ab = b.cylinder_minutia[pairs[chosen[anchor]].b];
    const float rotation = b.angle[ab] - a.angle[aa];
    const float cr = std::cos(rotation), sr = std::sin(rotation);
    int consistent = 0;
    for (int t = 0; t < chosen_count; ++t) {
      const int ma = a.cylinder_minutia[pairs[chosen[t]].a];
      const int mb = b.cylinder_minutia[pairs[chosen[t]].b];
      const float dx = a.x[ma] - a.x[aa], dy = a.y[ma] - a.y[aa];
      const float tx = b.x[ab] + cr * dx - sr * dy, ty = b.y[ab] + sr * dx + cr * dy;
      const float ex = tx - b.x[mb], ey = ty - b.y[mb];
      const float tolerance =
          kAlignBaseTolerance + kAlignToleranceSlope * std::sqrt(dx * dx + dy * dy);
      if (ex * ex + ey * ey > tolerance * tolerance) continue;
      if (AbsAngleDifference(a.angle[ma] + rotation, b.angle[mb]) > kAlignAngleTolerance) continue;
      ++consistent;
    }
    best_consistent = std::max(best_consistent, consistent);
  }
  out.consistent_pairs = best_consistent;

  // Fusion: LSS-R scaled by how much of the expected overlap the aligned
  // pairs cover (saturating at np pairs).
  const float coverage = std::min(1.0f, static_cast<float>(best_consistent) / np);
  out.raw_score = lss_r * (0.5f + 0.5f * coverage);
  return out.raw_score;
}

// ---------------------------------------------------------------------------
// Calibration.

ScoreCalibration::ScoreCalibration(std::vector<Knot> knots) : knots_(std::move(knots)) {}

Result<ScoreCalibration> ScoreCalibration::FromImpostorScores(std::span<const float> scores) {
  if (scores.size() < 10) {
    return InvalidArgumentError("calibration needs at least 10 impostor scores, got " +
                                std::to_string(scores.size()));
  }
  std::vector<float> sorted(scores.begin(), scores.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const double total = static_cast<double>(sorted.size());
  std::vector<Knot> knots;
  for (int step = 0;; ++step) {
    const double log10_fmr = -step / 4.0;
    const double fmr = std::pow(10.0, log10_fmr);
    const double rank = fmr * total;  // impostors allowed at or above the threshold
    if (rank < 1.0) break;
    // Threshold just above the (rank+1)-th highest impostor score.
    const std::size_t index = static_cast<std::size_t>(rank);
    float raw = index < sorted.size() ? sorted[index] : sorted.back();
    raw = std::nextafter(raw, 2.0f);
    if (!knots.empty() && raw <= knots.back().raw) {
      knots.back().log10_fmr = static_cast<float>(log10_fmr);  // ties: keep the lower FMR
      continue;
    }
    knots.push_back({raw, static_cast<float>(log10_fmr)});
  }
  // Just above the highest impostor nothing was seen: FMR < 1/N, read as
  // half an impostor so the curve keeps falling beyond it.
  const float top = std::nextafter(sorted.front(), 2.0f);
  const auto floor_log = static_cast<float>(-std::log10(2.0 * total));
  if (knots.empty() || top > knots.back().raw) knots.push_back({top, floor_log});
  return ScoreCalibration(std::move(knots));
}

double ScoreCalibration::Fmr(float raw) const {
  if (knots_.empty()) return 1.0;
  if (raw <= knots_.front().raw) return std::pow(10.0, std::min(0.0f, knots_.front().log10_fmr));
  for (std::size_t i = 1; i < knots_.size(); ++i) {
    if (raw <= knots_[i].raw) {
      const Knot& l = knots_[i - 1];
      const Knot& r = knots_[i];
      const double t = (raw - l.raw) / (r.raw - l.raw);
      return std::pow(10.0, l.log10_fmr + t * (r.log10_fmr - l.log10_fmr));
    }
  }
  double slope = -4.0;  // decades per unit raw score when a single knot exists
  if (knots_.size() >= 2) {
    const Knot& l = knots_[knots_.size() - 2];
    const Knot& r = knots_.back();
    slope = (r.log10_fmr - l.log10_fmr) / (r.raw - l.raw);
  }
  const double log10_fmr = knots_.back().log10_fmr + slope * (raw - knots_.back().raw);
  return std::pow(10.0, std::max(-12.0, log10_fmr));
}

double ScoreCalibration::CalibratedScore(float raw) const { return -10.0 * std::log10(Fmr(raw)); }

float ScoreCalibration::RawThresholdForFmr(double fmr) const {
  // Fmr is non-increasing in raw: bisect.
  float low = 0.0f, high = 1.0f;
  if (Fmr(high) > fmr) return std::nextafter(1.0f, 2.0f);
  for (int i = 0; i < 40; ++i) {
    const float mid = 0.5f * (low + high);
    (Fmr(mid) <= fmr ? high : low) = mid;
  }
  return high;
}

namespace {
// Raw score -> log10(FMR) over the 49,920 cross-finger pairs of the 320
// shared FVC 2002/2004 ISO templates (restretched to their image sizes),
// NS = 8: `finger_template_eval --print-calibration`. Refit when the
// matcher or the extractor changes.
const ScoreCalibration::Knot kDefaultKnots[] = {
    {0.001918f, 0.00f},  {0.006581f, -0.25f}, {0.008073f, -0.50f}, {0.009565f, -0.75f},
    {0.011094f, -1.00f}, {0.012757f, -1.25f}, {0.014559f, -1.50f}, {0.016416f, -1.75f},
    {0.018522f, -2.00f}, {0.020938f, -2.25f}, {0.023171f, -2.50f}, {0.025728f, -2.75f},
    {0.029532f, -3.00f}, {0.031991f, -3.25f}, {0.035378f, -3.50f}, {0.038620f, -3.75f},
    {0.041256f, -4.00f}, {0.045936f, -4.25f}, {0.046895f, -4.50f}, {0.048689f, -5.00f}};
}  // namespace

const ScoreCalibration& ScoreCalibration::Default() {
  static const ScoreCalibration calibration(
      std::vector<Knot>(std::begin(kDefaultKnots), std::end(kDefaultKnots)));
  return calibration;
}

double MatchScore(const PreparedFinger& probe, const PreparedFinger& gallery) {
  return ScoreCalibration::Default().CalibratedScore(MatchPrepared(probe, gallery));
}

}  // namespace abis::finger
