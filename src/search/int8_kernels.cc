#include "search/int8_kernels.h"

#include <algorithm>
#include <cstring>

#include <immintrin.h>

namespace abis::search {
namespace {

float RoundUpToFloat(double value) {
  float rounded = static_cast<float>(value);
  if (static_cast<double>(rounded) < value) {
    rounded = std::nextafter(rounded, std::numeric_limits<float>::infinity());
  }
  return rounded;
}

// ---- Dot-product kernels. All compute sum_j (code_j + 128) * query_j exactly.

void DotScalar(const std::uint8_t* blocks, std::size_t num_blocks, int groups,
               const std::int32_t* const* queries, int num_queries, std::int32_t* out,
               std::size_t out_stride) {
  const std::size_t block_bytes = static_cast<std::size_t>(groups) * 64;
  for (int q = 0; q < num_queries; ++q) {
    const auto* query = reinterpret_cast<const std::int8_t*>(queries[q]);
    for (std::size_t b = 0; b < num_blocks; ++b) {
      const std::uint8_t* block = blocks + b * block_bytes;
      for (int r = 0; r < kBlockRows; ++r) {
        std::int32_t sum = 0;
        for (int g = 0; g < groups; ++g) {
          const std::uint8_t* codes = block + g * 64 + r * 4;
          for (int j = 0; j < 4; ++j) sum += static_cast<std::int32_t>(codes[j]) * query[g * 4 + j];
        }
        out[q * out_stride + b * kBlockRows + r] = sum;
      }
    }
  }
}

// AVX2 without VNNI: widen codes to int16 and use vpmaddwd (no saturation).
__attribute__((target("avx2"))) void DotAvx2(const std::uint8_t* blocks, std::size_t num_blocks,
                                             int groups, const std::int32_t* const* queries,
                                             int num_queries, std::int32_t* out,
                                             std::size_t out_stride) {
  const std::size_t block_bytes = static_cast<std::size_t>(groups) * 64;
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (int q = 0; q < num_queries; ++q) {
    const std::int32_t* words = queries[q];
    for (std::size_t b = 0; b < num_blocks; ++b) {
      const std::uint8_t* block = blocks + b * block_bytes;
      __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      for (int g = 0; g < groups; ++g) {
        __m256i pattern = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(words[g])));
        const auto* p = reinterpret_cast<const __m128i*>(block + g * 64);
        // (A lambda would not inherit this function's target.)
        __m256i rows0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p));
        __m256i rows1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p + 1));
        __m256i rows2 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p + 2));
        __m256i rows3 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p + 3));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(rows0, pattern));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(rows1, pattern));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(rows2, pattern));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(rows3, pattern));
      }
      std::int32_t* dst = out + q * out_stride + b * kBlockRows;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                          _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(acc0, acc1), order));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8),
                          _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(acc2, acc3), order));
    }
  }
}

// AVX-VNNI (VEX, 256-bit vpdpbusd): one ymm = 8 rows x 4 codes.
__attribute__((target("avx2,avxvnni"))) void DotAvxVnni(const std::uint8_t* blocks,
                                                        std::size_t num_blocks, int groups,
                                                        const std::int32_t* const* queries,
                                                        int num_queries, std::int32_t* out,
                                                        std::size_t out_stride) {
  const std::size_t block_bytes = static_cast<std::size_t>(groups) * 64;
  for (int q = 0; q < num_queries; ++q) {
    const std::int32_t* words = queries[q];
    for (std::size_t b = 0; b < num_blocks; ++b) {
      const std::uint8_t* block = blocks + b * block_bytes;
      __m256i lo0 = _mm256_setzero_si256(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
      int g = 0;
      for (; g + 1 < groups; g += 2) {
        const std::uint8_t* p = block + g * 64;
        __m256i w0 = _mm256_set1_epi32(words[g]);
        __m256i w1 = _mm256_set1_epi32(words[g + 1]);
        lo0 = _mm256_dpbusd_avx_epi32(lo0, _mm256_loadu_si256((const __m256i*)p), w0);
        hi0 = _mm256_dpbusd_avx_epi32(hi0, _mm256_loadu_si256((const __m256i*)(p + 32)), w0);
        lo1 = _mm256_dpbusd_avx_epi32(lo1, _mm256_loadu_si256((const __m256i*)(p + 64)), w1);
        hi1 = _mm256_dpbusd_avx_epi32(hi1, _mm256_loadu_si256((const __m256i*)(p + 96)), w1);
      }
      if (g < groups) {
        const std::uint8_t* p = block + g * 64;
        __m256i w0 = _mm256_set1_epi32(words[g]);
        lo0 = _mm256_dpbusd_avx_epi32(lo0, _mm256_loadu_si256((const __m256i*)p), w0);
        hi0 = _mm256_dpbusd_avx_epi32(hi0, _mm256_loadu_si256((const __m256i*)(p + 32)), w0);
      }
      std::int32_t* dst = out + q * out_stride + b * kBlockRows;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_add_epi32(lo0, lo1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), _mm256_add_epi32(hi0, hi1));
    }
  }
}

// AVX-512 VNNI: one zmm = a whole group of a block (16 rows x 4 codes). Up to
// four queries share each load, so batches cost less memory traffic.
template <int kQueries>
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) inline void DotAvx512Batch(
    const std::uint8_t* blocks, std::size_t num_blocks, int groups,
    const std::int32_t* const* queries, std::int32_t* out, std::size_t out_stride) {
  const std::size_t block_bytes = static_cast<std::size_t>(groups) * 64;
  for (std::size_t b = 0; b < num_blocks; ++b) {
    const std::uint8_t* block = blocks + b * block_bytes;
    if (kQueries == 1 && b + 8 < num_blocks) {
      // A lone query is memory-bound: ask for the block 8 ahead now.
      const std::uint8_t* ahead = block + 8 * block_bytes;
      for (std::size_t line = 0; line < block_bytes; line += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + line), _MM_HINT_T0);
      }
    }
    __m512i even[kQueries], odd[kQueries];
    for (int q = 0; q < kQueries; ++q) even[q] = odd[q] = _mm512_setzero_si512();
    int g = 0;
    for (; g + 1 < groups; g += 2) {
      __m512i data0 = _mm512_loadu_si512(block + g * 64);
      __m512i data1 = _mm512_loadu_si512(block + g * 64 + 64);
      for (int q = 0; q < kQueries; ++q) {
        even[q] = _mm512_dpbusd_epi32(even[q], data0, _mm512_set1_epi32(queries[q][g]));
        odd[q] = _mm512_dpbusd_epi32(odd[q], data1, _mm512_set1_epi32(queries[q][g + 1]));
      }
    }
    if (g < groups) {
      __m512i data0 = _mm512_loadu_si512(block + g * 64);
      for (int q = 0; q < kQueries; ++q) {
        even[q] = _mm512_dpbusd_epi32(even[q], data0, _mm512_set1_epi32(queries[q][g]));
      }
    }
    for (int q = 0; q < kQueries; ++q) {
      _mm512_storeu_si512(out + q * out_stride + b * kBlockRows, _mm512_add_epi32(even[q], odd[q]));
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void DotAvx512Vnni(
    const std::uint8_t* blocks, std::size_t num_blocks, int groups,
    const std::int32_t* const* queries, int num_queries, std::int32_t* out,
    std::size_t out_stride) {
  int q = 0;
  for (; q + 4 <= num_queries; q += 4) {
    DotAvx512Batch<4>(blocks, num_blocks, groups, queries + q, out + q * out_stride, out_stride);
  }
  switch (num_queries - q) {
    case 3:
      DotAvx512Batch<3>(blocks, num_blocks, groups, queries + q, out + q * out_stride, out_stride);
      break;
    case 2:
      DotAvx512Batch<2>(blocks, num_blocks, groups, queries + q, out + q * out_stride, out_stride);
      break;
    case 1:
      DotAvx512Batch<1>(blocks, num_blocks, groups, queries + q, out + q * out_stride, out_stride);
      break;
    default:
      break;
  }
}

// ---- Lower bounds: one loop, cloned per target so the compiler vectorises it.

__attribute__((always_inline)) inline void LowerBoundsLoop(const std::int32_t* sums,
                                                           const float* scale, const float* norm2,
                                                           const float* residual, std::size_t rows,
                                                           const PreparedQuery& query, float* out) {
  const std::int32_t bias = query.bias;
  for (std::size_t i = 0; i < rows; ++i) {
    out[i] = LowerBound(sums[i] - bias, scale[i], norm2[i], residual[i], query);
  }
}

void LowerBoundsGeneric(const std::int32_t* sums, const float* scale, const float* norm2,
                        const float* residual, std::size_t rows, const PreparedQuery& query,
                        float* out) {
  LowerBoundsLoop(sums, scale, norm2, residual, rows, query, out);
}

__attribute__((target("avx2"))) void LowerBoundsAvx2(const std::int32_t* sums, const float* scale,
                                                     const float* norm2, const float* residual,
                                                     std::size_t rows, const PreparedQuery& query,
                                                     float* out) {
  LowerBoundsLoop(sums, scale, norm2, residual, rows, query, out);
}

__attribute__((target("avx512f"))) void LowerBoundsAvx512(const std::int32_t* sums,
                                                          const float* scale, const float* norm2,
                                                          const float* residual, std::size_t rows,
                                                          const PreparedQuery& query, float* out) {
  LowerBoundsLoop(sums, scale, norm2, residual, rows, query, out);
}

std::size_t SelectBelowGeneric(const float* bounds, std::size_t rows, float limit, bool inclusive,
                               std::uint32_t* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    if (inclusive ? bounds[i] <= limit : bounds[i] < limit)
      out[count++] = static_cast<std::uint32_t>(i);
  }
  return count;
}

__attribute__((target("avx512f"))) std::size_t SelectBelowAvx512(const float* bounds,
                                                                 std::size_t rows, float limit,
                                                                 bool inclusive,
                                                                 std::uint32_t* out) {
  const __m512 threshold = _mm512_set1_ps(limit);
  std::size_t count = 0;
  for (std::size_t i = 0; i < rows; i += 16) {
    const std::size_t lanes = std::min<std::size_t>(16, rows - i);
    const __mmask16 valid = static_cast<__mmask16>((1u << lanes) - 1u);
    __m512 values = _mm512_maskz_loadu_ps(valid, bounds + i);
    __mmask16 below = inclusive ? _mm512_mask_cmp_ps_mask(valid, values, threshold, _CMP_LE_OQ)
                                : _mm512_mask_cmp_ps_mask(valid, values, threshold, _CMP_LT_OQ);
    unsigned bits = below;
    while (bits != 0) {
      out[count++] = static_cast<std::uint32_t>(i + static_cast<std::size_t>(__builtin_ctz(bits)));
      bits &= bits - 1;
    }
  }
  return count;
}

using LowerBoundsFn = void (*)(const std::int32_t*, const float*, const float*, const float*,
                               std::size_t, const PreparedQuery&, float*);

LowerBoundsFn ChooseLowerBounds() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return LowerBoundsAvx512;
  if (__builtin_cpu_supports("avx2")) return LowerBoundsAvx2;
  return LowerBoundsGeneric;
}

}  // namespace

QuantizedVector Quantize(std::span<const float> vector) {
  QuantizedVector result;
  const int dims = static_cast<int>(vector.size());
  result.codes.assign(static_cast<std::size_t>(PaddedDims(dims)), 0);
  float max_abs = 0;
  for (float v : vector) max_abs = std::max(max_abs, std::fabs(v));
  if (max_abs == 0) return result;  // All zero: exact, no error.
  result.scale = max_abs / 127.0f;
  double norm2 = 0, residual2 = 0;
  for (int i = 0; i < dims; ++i) {
    float code = std::clamp(std::nearbyint(vector[i] / result.scale), -127.0f, 127.0f);
    result.codes[i] = static_cast<std::int8_t>(code);
    double reconstructed = static_cast<double>(result.scale) * code;
    norm2 += reconstructed * reconstructed;
    double error = static_cast<double>(vector[i]) - reconstructed;
    residual2 += error * error;
  }
  result.norm2 = static_cast<float>(norm2);
  result.residual = RoundUpToFloat(std::sqrt(residual2));
  return result;
}

void StoreCodesInBlock(std::span<const std::int8_t> codes, int row_in_block, std::uint8_t* block) {
  const int groups = static_cast<int>(codes.size()) / 4;
  for (int g = 0; g < groups; ++g) {
    for (int j = 0; j < 4; ++j) {
      block[g * 64 + row_in_block * 4 + j] = static_cast<std::uint8_t>(codes[g * 4 + j] + 128);
    }
  }
}

PreparedQuery PrepareQuery(std::span<const float> query) {
  QuantizedVector quantized = Quantize(query);
  PreparedQuery prepared;
  prepared.words.resize(quantized.codes.size() / 4);
  std::memcpy(prepared.words.data(), quantized.codes.data(), quantized.codes.size());
  std::int32_t sum = 0;
  for (std::int8_t c : quantized.codes) sum += c;
  prepared.bias = 128 * sum;
  prepared.scale_times_two = 2.0f * quantized.scale;
  prepared.norm2 = quantized.norm2;
  prepared.residual = quantized.residual;
  return prepared;
}

std::string_view KernelName(KernelKind kind) {
  switch (kind) {
    case KernelKind::kScalar:
      return "scalar";
    case KernelKind::kAvx2:
      return "avx2";
    case KernelKind::kAvxVnni:
      return "avx-vnni";
    case KernelKind::kAvx512Vnni:
      return "avx512-vnni";
  }
  return "unknown";
}

std::vector<KernelKind> SupportedKernels() {
  __builtin_cpu_init();
  std::vector<KernelKind> kinds = {KernelKind::kScalar};
  if (__builtin_cpu_supports("avx2")) kinds.push_back(KernelKind::kAvx2);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni")) {
    kinds.push_back(KernelKind::kAvxVnni);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni")) {
    kinds.push_back(KernelKind::kAvx512Vnni);
  }
  return kinds;
}

KernelKind BestKernel() { return SupportedKernels().back(); }

DotKernel KernelFor(KernelKind kind) {
  switch (kind) {
    case KernelKind::kScalar:
      return DotScalar;
    case KernelKind::kAvx2:
      return DotAvx2;
    case KernelKind::kAvxVnni:
      return DotAvxVnni;
    case KernelKind::kAvx512Vnni:
      return DotAvx512Vnni;
  }
  return DotScalar;
}

void LowerBounds(const std::int32_t* sums, const float* scale, const float* norm2,
                 const float* residual, std::size_t rows, const PreparedQuery& query, float* out) {
  static const LowerBoundsFn chosen = ChooseLowerBounds();
  chosen(sums, scale, norm2, residual, rows, query, out);
}

std::size_t SelectBelow(const float* bounds, std::size_t rows, float limit, bool inclusive,
                        std::uint32_t* out) {
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return avx512 ? SelectBelowAvx512(bounds, rows, limit, inclusive, out)
                : SelectBelowGeneric(bounds, rows, limit, inclusive, out);
}

double ExactSquaredDistance(const float* a, const float* b, int dims) {
  double sum = 0;
  for (int i = 0; i < dims; ++i) {
    double diff = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += diff * diff;
  }
  return sum;
}

}  // namespace abis::search
