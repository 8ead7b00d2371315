// search_benchmark.h
//
// The synthetic 1:N workload behind `abis bench search` and
// bench/search_vs_faiss: build a clustered gallery (synthetic_gallery.h) as
// an on-disk FaceSearchIndex, reopen it (load time), run single-query and
// batched exact searches, and compare with a brute-force float scan.
//
// Thread safety: functions are independent; each builds its own objects.

#ifndef ABIS_SEARCH_SEARCH_BENCHMARK_H_
#define ABIS_SEARCH_SEARCH_BENCHMARK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "abis/status.h"

#include "search/face_search_index.h"
#include "search/synthetic_gallery.h"

namespace abis::search {

struct SearchBenchmarkOptions {
  std::uint64_t gallery_size = 1'000'000;
  int dims = 128;
  int queries = 200;
  int k = 10;
  int threads = 0;
  int truth_queries = 20;         // Queries checked against brute force (costly at 100M).
  std::string directory;          // Gallery folder; empty: a temporary one, removed after.
  bool reuse = false;             // Use the gallery already in `directory` if its size matches.
  bool verify_checksums = false;  // At reopen (reads the whole gallery).
  std::uint64_t seed = 1;
};

struct SearchBenchmarkReport {
  double build_s = 0, load_s = 0;
  double single_ms_per_query = 0, single_p50_ms = 0, single_p99_ms = 0;
  double batch_ms_per_query = 0;
  // Process CPU time (all threads) per query: on a shared machine wall time
  // depends on the neighbours, CPU time much less.
  double single_cpu_ms_per_query = 0, batch_cpu_ms_per_query = 0;
  double load_average = 0;          // 1-minute load average when the timing ended.
  double recall_at_k_vs_exact = 0;  // Identity ids shared with brute force / k.
  double exact_list_fraction = 0;   // Queries whose whole list equals brute force.
  double mean_reranked = 0;         // Rows re-ranked exactly per query.
  double bytes_per_template = 0;    // What the scan reads per row (codes + bound floats).
  double disk_bytes_per_template = 0;
  double rss_mb = 0, peak_rss_mb = 0;
  int threads = 0;
  std::string kernel;
};

// Probes: even ones are new captures of enrolled identities, odd ones strangers.
std::vector<float> MakeProbes(const SyntheticGallery& gallery, std::uint64_t gallery_size,
                              int count, std::uint64_t seed);

// Identity-level exact top-k by brute force over regenerated rows (one pass
// for all probes, threaded): ids per probe, closest first.
std::vector<std::vector<std::int64_t>> BruteForceTopIdentities(const SyntheticGallery& gallery,
                                                               std::uint64_t gallery_size,
                                                               const std::vector<float>& probes,
                                                               int k, int threads);

// Writes the gallery into `index` as one imported segment.
Status ImportSyntheticGallery(FaceSearchIndex& index, const SyntheticGallery& gallery,
                              std::uint64_t gallery_size, int threads);

Result<SearchBenchmarkReport> RunSearchBenchmark(const SearchBenchmarkOptions& options);

// Resident and peak resident set of this process, MiB (from /proc).
double ResidentMiB(bool peak);

}  // namespace abis::search

#endif  // ABIS_SEARCH_SEARCH_BENCHMARK_H_
