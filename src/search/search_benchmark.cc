#include "search/search_benchmark.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>
#include <tuple>

#include <stdlib.h>
#include <time.h>

#include "search/int8_kernels.h"

namespace abis::search {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int ThreadCount(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

double CpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double value = 0;
  file >> value;
  return value;
}

}  // namespace

double ResidentMiB(bool peak) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string key = peak ? "VmHWM:" : "VmRSS:";
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  }
  return 0;
}

std::vector<float> MakeProbes(const SyntheticGallery& gallery, std::uint64_t gallery_size,
                              int count, std::uint64_t seed) {
  const std::size_t dims = static_cast<std::size_t>(gallery.dims());
  std::vector<float> probes(static_cast<std::size_t>(count) * dims);
  const std::int64_t identities = gallery.IdentityOfRow(gallery_size - 1) + 1;
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int q = 0; q < count; ++q) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    std::int64_t identity =
        static_cast<std::int64_t>((state >> 17) % static_cast<std::uint64_t>(identities));
    if (q % 2 == 1) identity += identities + 1;  // A stranger.
    gallery.Probe(identity, static_cast<std::uint64_t>(q),
                  std::span<float>(probes.data() + static_cast<std::size_t>(q) * dims, dims));
  }
  return probes;
}

std::vector<std::vector<std::int64_t>> BruteForceTopIdentities(const SyntheticGallery& gallery,
                                                               std::uint64_t gallery_size,
                                                               const std::vector<float>& probes,
                                                               int k, int threads) {
  const int dims = gallery.dims();
  const std::size_t count = probes.size() / static_cast<std::size_t>(dims);
  using Entry = std::tuple<double, std::int64_t>;  // (distance^2, identity)
  const int workers = ThreadCount(threads);
  std::vector<std::vector<std::vector<Entry>>> partial(static_cast<std::size_t>(workers),
                                                       std::vector<std::vector<Entry>>(count));
  auto work = [&](int worker) {
    // Whole identities per worker (rows of an identity are contiguous).
    std::int64_t identities = gallery.IdentityOfRow(gallery_size - 1) + 1;
    std::int64_t first = identities * worker / workers, last = identities * (worker + 1) / workers;
    std::vector<float> row(static_cast<std::size_t>(dims));
    std::vector<double> best(count);
    std::uint64_t r = 0;
    // Find the first row of `first` (rows per identity is constant).
    while (r < gallery_size && gallery.IdentityOfRow(r) < first) r += 1;
    for (std::int64_t identity = first; identity < last; ++identity) {
      std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
      for (; r < gallery_size && gallery.IdentityOfRow(r) == identity; ++r) {
        gallery.Row(r, row);
        for (std::size_t q = 0; q < count; ++q) {
          best[q] =
              std::min(best[q], ExactSquaredDistance(probes.data() + q * dims, row.data(), dims));
        }
      }
      for (std::size_t q = 0; q < count; ++q) {
        auto& heap = partial[static_cast<std::size_t>(worker)][q];
        Entry entry{best[q], identity};
        if (static_cast<int>(heap.size()) < k) {
          heap.push_back(entry);
          std::push_heap(heap.begin(), heap.end());
        } else if (entry < heap.front()) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = entry;
          std::push_heap(heap.begin(), heap.end());
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  std::vector<std::vector<std::int64_t>> result(count);
  for (std::size_t q = 0; q < count; ++q) {
    std::vector<Entry> merged;
    for (auto& worker : partial) merged.insert(merged.end(), worker[q].begin(), worker[q].end());
    std::sort(merged.begin(), merged.end());
    for (std::size_t i = 0; i < merged.size() && static_cast<int>(i) < k; ++i) {
      result[q].push_back(std::get<1>(merged[i]));
    }
  }
  return result;
}

Status ImportSyntheticGallery(FaceSearchIndex& index, const SyntheticGallery& gallery,
                              std::uint64_t gallery_size, int threads) {
  // Rows are generated in parallel a chunk ahead of the (serial) writer.
  const std::size_t dims = static_cast<std::size_t>(gallery.dims());
  constexpr std::size_t kChunk = 1 << 16;
  const int workers = ThreadCount(threads);
  std::vector<float> chunk(kChunk * dims);
  std::uint64_t chunk_first = std::numeric_limits<std::uint64_t>::max();
  auto fill = [&](std::uint64_t first) {
    std::uint64_t rows = std::min<std::uint64_t>(kChunk, gallery_size - first);
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        for (std::uint64_t i = rows * w / workers; i < rows * (w + 1) / workers; ++i) {
          gallery.Row(first + i, std::span<float>(chunk.data() + i * dims, dims));
        }
      });
    }
    for (auto& t : pool) t.join();
    chunk_first = first;
  };
  return index.ImportSegment(gallery_size, [&](std::size_t row, SegmentRow& out) {
    std::uint64_t first = row / kChunk * kChunk;
    if (first != chunk_first) fill(first);
    out.reference_id = static_cast<std::int64_t>(row);
    out.identity_id = gallery.IdentityOfRow(row);
    out.vector = std::span<const float>(chunk.data() + (row - first) * dims, dims);
    return Status::Ok();
  });
}

Result<SearchBenchmarkReport> RunSearchBenchmark(const SearchBenchmarkOptions& options) {
  if (options.gallery_size < 1) return InvalidArgumentError("gallery size must be positive");
  if (options.queries < 1) return InvalidArgumentError("queries must be positive");
  if (options.k < 1 || options.k > FaceSearchIndex::kMaxK) {
    return InvalidArgumentError("k must be in 1.." + std::to_string(FaceSearchIndex::kMaxK));
  }
  std::string dir = options.directory;
  bool temporary = dir.empty();
  if (temporary) {
    std::string pattern = (std::filesystem::temp_directory_path() / "abis_bench_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return UnavailableError("cannot make a temp folder");
    dir = pattern;
  }
  struct Cleanup {
    std::string dir;
    bool active;
    ~Cleanup() {
      std::error_code ignored;
      if (active) std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir, temporary};

  SyntheticGalleryOptions gallery_options;
  gallery_options.dims = options.dims;
  gallery_options.seed = options.seed;
  SyntheticGallery gallery(gallery_options);
  FaceSearchOptions index_options;
  index_options.dimensions = options.dims;
  index_options.threads = options.threads;
  index_options.directory = dir;
  index_options.verify_checksums = options.verify_checksums;
  SearchBenchmarkReport report;
  {
    ABIS_ASSIGN_OR_RETURN(auto index, FaceSearchIndex::Open(index_options));
    bool reuse = options.reuse && index->size() == options.gallery_size;
    if (!reuse) {
      if (index->size() != 0) {
        return FailedPreconditionError("gallery folder " + dir + " already holds " +
                                       std::to_string(index->size()) + " rows");
      }
      auto start = std::chrono::steady_clock::now();
      ABIS_RETURN_IF_ERROR(
          ImportSyntheticGallery(*index, gallery, options.gallery_size, options.threads));
      report.build_s = Seconds(start);
    }
  }
  auto start = std::chrono::steady_clock::now();
  ABIS_ASSIGN_OR_RETURN(auto index, FaceSearchIndex::Open(index_options));
  report.load_s = Seconds(start);
  report.threads = index->threads();
  report.kernel = std::string(KernelName(index->kernel()));
  report.bytes_per_template = static_cast<double>(index->scan_bytes_per_row());
  std::uintmax_t disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) disk += entry.file_size();
  }
  report.disk_bytes_per_template = static_cast<double>(disk) / options.gallery_size;

  const std::size_t dims = static_cast<std::size_t>(options.dims);
  std::vector<float> probes =
      MakeProbes(gallery, options.gallery_size, options.queries, options.seed + 1000);
  SearchRequest request;
  request.k = options.k;
  // Warm-up: the first scan faults the mapped codes in.
  ABIS_RETURN_IF_ERROR(
      index->Search(std::span<const float>(probes.data(), dims), request).status());
  std::vector<double> times;
  std::vector<std::vector<std::int64_t>> found;
  double reranked = 0;
  double cpu_start = CpuSeconds();
  for (int q = 0; q < options.queries; ++q) {
    SearchStats stats;
    auto query_start = std::chrono::steady_clock::now();
    ABIS_ASSIGN_OR_RETURN(
        auto hits,
        index->Search(std::span<const float>(probes.data() + q * dims, dims), request, &stats));
    times.push_back(Seconds(query_start) * 1e3);
    reranked += static_cast<double>(stats.reranked);
    std::vector<std::int64_t> ids;
    for (const SearchHit& hit : hits) ids.push_back(hit.identity_id);
    found.push_back(ids);
  }
  report.single_cpu_ms_per_query = (CpuSeconds() - cpu_start) * 1e3 / options.queries;
  report.single_ms_per_query = std::accumulate(times.begin(), times.end(), 0.0) / times.size();
  std::sort(times.begin(), times.end());
  report.single_p50_ms = times[times.size() / 2];
  report.single_p99_ms = times[std::min(times.size() - 1, times.size() * 99 / 100)];
  report.mean_reranked = reranked / options.queries;
  start = std::chrono::steady_clock::now();
  cpu_start = CpuSeconds();
  ABIS_ASSIGN_OR_RETURN(auto batch, index->SearchBatch(probes, request));
  report.batch_ms_per_query = Seconds(start) * 1e3 / options.queries;
  report.batch_cpu_ms_per_query = (CpuSeconds() - cpu_start) * 1e3 / options.queries;
  report.load_average = LoadAverage();
  for (int q = 0; q < options.queries; ++q) {
    std::vector<std::int64_t> ids;
    for (const SearchHit& hit : batch[static_cast<std::size_t>(q)]) ids.push_back(hit.identity_id);
    if (ids != found[static_cast<std::size_t>(q)]) {
      return InternalError("batched and single-query results differ for query " +
                           std::to_string(q));
    }
  }
  report.rss_mb = ResidentMiB(false);
  report.peak_rss_mb = ResidentMiB(true);
  // Recall against brute force on a subset of the queries.
  const int truth = std::min(options.truth_queries, options.queries);
  if (truth > 0) {
    std::vector<float> subset(probes.begin(), probes.begin() + truth * static_cast<long>(dims));
    auto exact =
        BruteForceTopIdentities(gallery, options.gallery_size, subset, options.k, options.threads);
    double shared = 0, total = 0, equal = 0;
    for (int q = 0; q < truth; ++q) {
      std::set<std::int64_t> expected(exact[q].begin(), exact[q].end());
      for (std::int64_t id : found[q]) shared += expected.count(id);
      total += static_cast<double>(expected.size());
      equal += exact[q] == found[q];
    }
    report.recall_at_k_vs_exact = total > 0 ? shared / total : 1.0;
    report.exact_list_fraction = equal / truth;
  }
  return report;
}

}  // namespace abis::search
