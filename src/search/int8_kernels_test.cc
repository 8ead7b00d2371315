#include "search/int8_kernels.h"

#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "search/crc32c.h"

namespace abis::search {
namespace {

TEST(Int8KernelsTest, EverySupportedKernelMatchesScalar) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255), code(-127, 127);
  auto scalar = KernelFor(KernelKind::kScalar);
  for (int groups : {1, 2, 3, 8, 32, 33}) {
    const std::size_t blocks = 5;
    std::vector<std::uint8_t> codes(blocks * kBlockRows * 4 * groups);
    for (auto& c : codes) c = static_cast<std::uint8_t>(byte(rng));
    for (int query_count = 1; query_count <= 9; ++query_count) {
      std::vector<std::vector<std::int32_t>> queries(query_count);
      std::vector<const std::int32_t*> pointers;
      for (auto& query : queries) {
        std::vector<std::int8_t> bytes(4 * groups);
        for (auto& b : bytes) b = static_cast<std::int8_t>(code(rng));
        query.resize(groups);
        std::memcpy(query.data(), bytes.data(), bytes.size());
        pointers.push_back(query.data());
      }
      const std::size_t stride = blocks * kBlockRows + 3;
      std::vector<std::int32_t> expected(query_count * stride, -1);
      scalar(codes.data(), blocks, groups, pointers.data(), query_count, expected.data(), stride);
      for (KernelKind kind : SupportedKernels()) {
        std::vector<std::int32_t> got(query_count * stride, -1);
        KernelFor(kind)(codes.data(), blocks, groups, pointers.data(), query_count, got.data(),
                        stride);
        EXPECT_EQ(got, expected) << KernelName(kind) << " groups=" << groups
                                 << " queries=" << query_count;
      }
    }
  }
}

TEST(Int8KernelsTest, LowerBoundNeverExceedsTheExactDistance) {
  std::mt19937 rng(5);
  for (int dims : {1, 3, 13, 128, 512}) {
    for (int trial = 0; trial < 300; ++trial) {
      // Mix of scales, near-duplicates and exact duplicates.
      std::normal_distribution<float> normal(0.0f, trial % 3 == 0 ? 1e-3f : 0.1f);
      std::vector<float> x(dims), y(dims);
      for (float& v : x) v = normal(rng);
      for (int i = 0; i < dims; ++i) y[i] = trial % 5 == 0 ? x[i] : x[i] * 0.5f + normal(rng);
      QuantizedVector row = Quantize(x);
      PreparedQuery query = PrepareQuery(y);
      std::vector<std::uint8_t> block(BlockBytes(dims), 128);
      StoreCodesInBlock(row.codes, 7, block.data());
      std::vector<std::int32_t> sums(kBlockRows);
      const std::int32_t* words = query.words.data();
      KernelFor(BestKernel())(block.data(), 1, PaddedDims(dims) / 4, &words, 1, sums.data(),
                              kBlockRows);
      float bound = LowerBound(sums[7] - query.bias, row.scale, row.norm2, row.residual, query);
      double exact = std::sqrt(ExactSquaredDistance(x.data(), y.data(), dims));
      ASSERT_LE(static_cast<double>(bound), exact) << "dims=" << dims << " trial=" << trial;
      // And it is useful: within a few percent plus the quantisation error.
      EXPECT_GE(static_cast<double>(bound), exact - 3 * (row.residual + query.residual) - 1e-3);
      // The batch routine gives the same bits.
      float batch_bound;
      LowerBounds(&sums[7], &row.scale, &row.norm2, &row.residual, 1, query, &batch_bound);
      EXPECT_EQ(batch_bound, bound);
    }
  }
}

TEST(Int8KernelsTest, ZeroVectorQuantisesExactly) {
  std::vector<float> zero(8, 0.0f);
  QuantizedVector q = Quantize(zero);
  EXPECT_EQ(q.scale, 0.0f);
  EXPECT_EQ(q.residual, 0.0f);
}

TEST(Crc32cTest, KnownValueAndFastPathAgree) {
  const char* text = "123456789";
  EXPECT_EQ(Crc32cPortable(0, text, 9), 0xE3069283u);  // The CRC-32C check value.
  EXPECT_EQ(Crc32c(0, text, 9), 0xE3069283u);
  std::vector<std::uint8_t> bytes(1000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  EXPECT_EQ(Crc32c(Crc32c(0, bytes.data(), 333), bytes.data() + 333, 667),
            Crc32cPortable(0, bytes.data(), 1000));
}

}  // namespace
}  // namespace abis::search
