// int8_kernels.h
//
// The first-pass arithmetic of FaceSearchIndex: per-vector int8 scalar
// quantisation with a stored error bound, the blocked code layout, the int8
// dot-product kernels (AVX-512 VNNI, AVX-VNNI, AVX2, scalar; chosen at run
// time with __builtin_cpu_supports), and the lower bound on the Euclidean
// distance that makes the compressed scan exact after re-ranking.
//
// Quantisation: x ~= s * q with q in [-127, 127]^d, s = max|x_i| / 127. We
// keep s, n = ||s q||^2 and r = ||x - s q|| (rounded up). For a query y with
// (s_y, q_y, n_y, r_y), the triangle inequality gives
//   ||x - y|| >= ||s q - s_y q_y|| - r - r_y,
// and ||s q - s_y q_y||^2 = n + n_y - 2 s s_y <q, q_y> where <q, q_y> is an
// exact int32. LowerBound() evaluates this in float with a relative slack
// that covers every rounding step, so it never exceeds the true distance.
//
// Code layout: rows in blocks of kBlockRows (16); in a block, dimensions in
// groups of 4; group g of a block is 64 contiguous bytes = 16 rows x 4 codes.
// Codes are stored biased (q + 128, as uint8) so that the VNNI instruction
// (u8 x s8) takes them directly; the bias adds 128 * sum(q_y), a per-query
// constant removed after the scan.
//
// Thread safety: every function here is pure.

#ifndef ABIS_SEARCH_INT8_KERNELS_H_
#define ABIS_SEARCH_INT8_KERNELS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace abis::search {

inline constexpr int kBlockRows = 16;

inline int PaddedDims(int dims) { return (dims + 3) / 4 * 4; }
inline std::size_t BlockBytes(int dims) {
  return static_cast<std::size_t>(kBlockRows) * static_cast<std::size_t>(PaddedDims(dims));
}

// Per-vector quantisation of one float vector.
struct QuantizedVector {
  std::vector<std::int8_t> codes;  // PaddedDims(d) entries; padding is 0.
  float scale = 0;
  float norm2 = 0;     // ||scale * codes||^2, nearest float.
  float residual = 0;  // ||x - scale * codes||, rounded up.
};
QuantizedVector Quantize(std::span<const float> vector);

// Writes `codes` (biased by +128) as row `row_in_block` of a block.
void StoreCodesInBlock(std::span<const std::int8_t> codes, int row_in_block, std::uint8_t* block);

// A prepared query: codes packed 4 per int32 word, plus the constants of the
// lower bound.
struct PreparedQuery {
  std::vector<std::int32_t> words;  // PaddedDims(d) / 4 entries.
  std::int32_t bias = 0;            // 128 * sum(codes): subtract from kernel sums.
  float scale_times_two = 0;
  float norm2 = 0;
  float residual = 0;
};
PreparedQuery PrepareQuery(std::span<const float> query);

enum class KernelKind { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };
std::string_view KernelName(KernelKind kind);
// Every kind this CPU runs, scalar first.
std::vector<KernelKind> SupportedKernels();
KernelKind BestKernel();

// Biased dot products of `num_queries` queries (each `groups` words) against
// every row of `num_blocks` blocks: out[q * out_stride + row].
using DotKernel = void (*)(const std::uint8_t* blocks, std::size_t num_blocks, int groups,
                           const std::int32_t* const* queries, int num_queries, std::int32_t* out,
                           std::size_t out_stride);
DotKernel KernelFor(KernelKind kind);

// Lower bound on the distance from the query to a row (see top comment).
// Inline so every caller (vectorised or not) rounds the same way.
inline float LowerBound(std::int32_t dot, float scale, float norm2, float residual,
                        const PreparedQuery& query) {
  float norms = norm2 + query.norm2;
  float cross = query.scale_times_two * (scale * static_cast<float>(dot));
  float approx2 = norms - cross - 4e-6f * norms;
  float root = std::sqrt(approx2 > 0.0f ? approx2 : 0.0f);
  float residuals = residual + query.residual;
  return (root - residuals) - 1e-5f * (root + residuals);
}

// Lower bounds of `rows` rows from biased kernel sums; the best SIMD clone
// the CPU runs (the results are bit-identical across clones).
void LowerBounds(const std::int32_t* sums, const float* scale, const float* norm2,
                 const float* residual, std::size_t rows, const PreparedQuery& query, float* out);

// Writes the indices i < rows with bounds[i] < limit (<= when `inclusive`)
// to `out` in increasing order; returns how many. SIMD where the CPU has it.
std::size_t SelectBelow(const float* bounds, std::size_t rows, float limit, bool inclusive,
                        std::uint32_t* out);

// Squared Euclidean distance in double precision, summed in index order: the
// "exact" distance the index ranks by (deterministic, so tests can compare).
double ExactSquaredDistance(const float* a, const float* b, int dims);

}  // namespace abis::search

#endif  // ABIS_SEARCH_INT8_KERNELS_H_
