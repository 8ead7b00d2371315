// search_vs_faiss: abis FaceSearchIndex against FAISS on the same synthetic
// clustered galleries (search/synthetic_gallery.h), single-query and batched.
//
//   search_vs_faiss [--sizes 1000000,10000000] [--dim 128] [--queries 100] [--k 10]
//                   [--threads 2] [--skip-flat-above N]
//
// Row-level top-k (FAISS has no identities), L2 (FAISS IndexFlatL2 is the exact
// peer; IndexFlatIP costs the same but ranks by inner product, which differs
// for embeddings that are not unit length; SQ8 is approximate). Recall is
// measured against abis exact mode, itself checked against FlatL2. Built only
// when CMake finds FAISS (bench/CMakeLists.txt). Times are wall clock and
// process CPU; on a shared machine, compare the CPU columns.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <omp.h>
#include <time.h>

#include "search/face_search_index.h"
#include "search/search_benchmark.h"
#include "search/synthetic_gallery.h"

namespace {

using abis::search::FaceSearchIndex;

struct Timing {
  double wall_ms = 0, cpu_ms = 0;
};

double Cpu() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec * 1e-6;
}

template <typename F>
Timing Time(int divisor, F&& run) {
  auto wall = std::chrono::steady_clock::now();
  double cpu = Cpu();
  run();
  Timing t;
  t.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall).count() /
      divisor;
  t.cpu_ms = (Cpu() - cpu) / divisor;
  return t;
}

double Recall(const std::vector<std::vector<std::int64_t>>& got,
              const std::vector<std::vector<std::int64_t>>& truth) {
  double shared = 0, total = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    std::set<std::int64_t> expected(truth[q].begin(), truth[q].end());
    for (std::int64_t id : got[q]) shared += expected.count(id);
    total += expected.size();
  }
  return total > 0 ? shared / total : 1;
}

void PrintRow(const char* name, Timing single, Timing batch, double recall, Timing abis_single,
              Timing abis_batch) {
  std::printf(
      "  %-22s single %8.2f ms (cpu %8.2f)  batch %7.3f ms/q (cpu %7.3f)  recall@k %.4f"
      "  abis speed-up: single %.1fx (cpu %.1fx), batch %.1fx (cpu %.1fx)\n",
      name, single.wall_ms, single.cpu_ms, batch.wall_ms, batch.cpu_ms, recall,
      single.wall_ms / abis_single.wall_ms, single.cpu_ms / abis_single.cpu_ms,
      batch.wall_ms / abis_batch.wall_ms, batch.cpu_ms / abis_batch.cpu_ms);
  std::fflush(stdout);
}

template <typename Index>
void RunFaiss(const char* name, Index& index, const std::vector<float>& probes, int dims, int k,
              Timing abis_single, Timing abis_batch,
              const std::vector<std::vector<std::int64_t>>& truth) {
  const int count = static_cast<int>(probes.size() / dims);
  std::vector<float> distances(static_cast<std::size_t>(count) * k);
  std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(count) * k);
  index.search(1, probes.data(), k, distances.data(), labels.data());  // Warm-up.
  Timing single = Time(count, [&] {
    for (int q = 0; q < count; ++q) {
      index.search(1, probes.data() + q * dims, k, distances.data() + q * k, labels.data() + q * k);
    }
  });
  std::vector<std::vector<std::int64_t>> got(count);
  for (int q = 0; q < count; ++q)
    got[q].assign(labels.begin() + q * k, labels.begin() + (q + 1) * k);
  Timing batch =
      Time(count, [&] { index.search(count, probes.data(), k, distances.data(), labels.data()); });
  PrintRow(name, single, batch, Recall(got, truth), abis_single, abis_batch);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::uint64_t> sizes = {1'000'000};
  int dims = 128, queries = 100, k = 10, threads = 2;
  std::uint64_t skip_flat_above = ~0ull;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--sizes") {
      sizes.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoull(item));
    } else if (flag == "--dim") {
      dims = std::stoi(value);
    } else if (flag == "--queries") {
      queries = std::stoi(value);
    } else if (flag == "--k") {
      k = std::stoi(value);
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--skip-flat-above") {
      skip_flat_above = std::stoull(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  omp_set_num_threads(threads);
  std::printf(
      "abis vs FAISS: dim %d, %d queries, k %d, %d threads, load average at start: "
      "see /proc/loadavg\n",
      dims, queries, k, threads);
  for (std::uint64_t size : sizes) {
    abis::search::SyntheticGalleryOptions gallery_options;
    gallery_options.dims = dims;
    abis::search::SyntheticGallery gallery(gallery_options);
    std::vector<float> probes = abis::search::MakeProbes(gallery, size, queries, 7);
    std::printf("gallery %llu x %d\n", static_cast<unsigned long long>(size), dims);

    // abis: on-disk segment, memory-mapped.
    std::string dir = (std::filesystem::temp_directory_path() / "abis_vs_faiss_XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) return 1;
    abis::search::FaceSearchOptions options;
    options.dimensions = dims;
    options.threads = threads;
    options.directory = dir;
    options.verify_checksums = false;
    Timing abis_single, abis_batch;
    std::vector<std::vector<std::int64_t>> truth(queries);
    {
      auto start = std::chrono::steady_clock::now();
      auto index = FaceSearchIndex::Open(options);
      if (!index.ok() ||
          !abis::search::ImportSyntheticGallery(**index, gallery, size, threads).ok()) {
        std::fprintf(stderr, "abis build failed\n");
        return 1;
      }
      double build_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      abis::search::SearchRequest request;
      request.k = k;
      request.one_per_identity = false;
      (void)(*index)->Search(std::span<const float>(probes.data(), dims), request);  // Warm-up.
      abis_single = Time(queries, [&] {
        for (int q = 0; q < queries; ++q) {
          auto hits =
              (*index)->Search(std::span<const float>(probes.data() + q * dims, dims), request);
          for (const auto& hit : *hits) truth[q].push_back(hit.reference_id);
        }
      });
      abis_batch = Time(queries, [&] { (void)(*index)->SearchBatch(probes, request); });
      std::printf(
          "  %-22s single %8.2f ms (cpu %8.2f)  batch %7.3f ms/q (cpu %7.3f)  exact"
          "  build %.1f s, scan bytes/row %zu, RSS %.0f MiB\n",
          "abis exact (int8+rerank)", abis_single.wall_ms, abis_single.cpu_ms, abis_batch.wall_ms,
          abis_batch.cpu_ms, build_s, (*index)->scan_bytes_per_row(),
          abis::search::ResidentMiB(false));
      std::fflush(stdout);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);

    // FAISS needs the raw vectors in memory.
    std::vector<float> data(size * dims);
    {
      std::vector<std::thread> pool;
      for (int w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
          for (std::uint64_t r = size * w / threads; r < size * (w + 1) / threads; ++r) {
            gallery.Row(r, std::span<float>(data.data() + r * dims, dims));
          }
        });
      }
      for (auto& t : pool) t.join();
    }
    {
      faiss::IndexScalarQuantizer sq8(dims, faiss::ScalarQuantizer::QT_8bit, faiss::METRIC_L2);
      auto start = std::chrono::steady_clock::now();
      sq8.train(static_cast<faiss::Index::idx_t>(std::min<std::uint64_t>(size, 200'000)),
                data.data());
      sq8.add(static_cast<faiss::Index::idx_t>(size), data.data());
      std::printf("  (SQ8 build %.1f s)\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      RunFaiss("FAISS SQ8 (L2)", sq8, probes, dims, k, abis_single, abis_batch, truth);
    }
    if (size <= skip_flat_above) {
      faiss::IndexFlatL2 flat_l2(dims);
      flat_l2.add(static_cast<faiss::Index::idx_t>(size), data.data());
      RunFaiss("FAISS IndexFlatL2", flat_l2, probes, dims, k, abis_single, abis_batch, truth);
      flat_l2.reset();
      faiss::IndexFlatIP flat_ip(dims);
      flat_ip.add(static_cast<faiss::Index::idx_t>(size), data.data());
      data.clear();
      data.shrink_to_fit();
      RunFaiss("FAISS IndexFlatIP", flat_ip, probes, dims, k, abis_single, abis_batch, truth);
    }
    std::printf("  peak RSS %.0f MiB\n", abis::search::ResidentMiB(true));
  }
  return 0;
}
