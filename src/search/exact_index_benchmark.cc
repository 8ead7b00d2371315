// Exact 1:N scan cost per probe as the gallery grows (128-d float32).
#include <random>

#include <benchmark/benchmark.h>

#include "search/exact_index.h"

namespace abis::search {
namespace {

void BM_ExactFaceSearch(benchmark::State& state) {
  const int gallery_size = static_cast<int>(state.range(0));
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.13f);
  ExactFaceIndex index(128);
  std::vector<float> row(128);
  for (int i = 0; i < gallery_size; ++i) {
    for (float& x : row) x = normal(rng);
    if (!index.Add(i, "id" + std::to_string(i), row).ok()) state.SkipWithError("add failed");
  }
  for (float& x : row) x = normal(rng);
  for (auto _ : state) {
    auto hits = index.Search(row, 20);
    benchmark::DoNotOptimize(hits);
  }
  state.counters["references_per_second"] = benchmark::Counter(
      static_cast<double>(gallery_size) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExactFaceSearch)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace abis::search

BENCHMARK_MAIN();
