// Fingerprint matching throughput and 1:N search on synthetic fingers.
// A plain program printing JSON (the numbers are ratios and percentiles that
// Google Benchmark's per-iteration model does not express):
//   finger_match_benchmark [--pairs N] [--minutiae-min 35 --minutiae-max 45]
//       [--gallery N] [--queries Q] [--threads T] [--penetration P]
// Without --gallery, 1:1: mean time of MatchPrepared over pairs of prepared
//   synthetic impressions (mostly non-mated), one thread -> comparisons/s
//   per core.
// 1:N: a FingerIndex of --gallery synthetic fingers (impression 0 of each
//   master), queried with impression 1 of --queries of them: latency
//   percentiles, penetration, rank-1 and shortlist mate retention, memory.
// --all-pairs N [--iso-dir DIR] [--dump FILE] [--repeat R]: all ordered pairs
//   (i != j) of N prepared synthetic impressions (plus every *.iso template
//   under DIR/*/), one thread, R timed passes (best reported); FILE gets
//   every raw score as hex float bits, one per line, so a matcher change can
//   be checked bit for bit with cmp. Reports wall time and the thread's CPU
//   time (which leaves out a shared VM's steal time).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <time.h>

#include "finger/finger_index.h"
#include "finger/iso19794_2.h"
#include "finger/mcc.h"
#include "finger/minutiae_record.h"
#include "finger/synthetic_minutiae.h"

namespace abis::finger {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of the calling thread: on a shared VM, wall time also counts the
// time the hypervisor ran someone else (steal), CPU time does not.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

struct Flags {
  std::size_t pairs = 20000;
  std::size_t minutiae_min = 35, minutiae_max = 45;
  std::size_t gallery = 0;
  std::size_t queries = 200;
  int threads = 2;
  double penetration = 0.02;
  std::uint64_t seed = 2026;
  std::size_t all_pairs = 0;
  std::string iso_dir, dump;
  int repeat = 1;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--pairs")
      flags.pairs = std::strtoull(value, nullptr, 10);
    else if (name == "--minutiae-min")
      flags.minutiae_min = std::strtoull(value, nullptr, 10);
    else if (name == "--minutiae-max")
      flags.minutiae_max = std::strtoull(value, nullptr, 10);
    else if (name == "--gallery")
      flags.gallery = std::strtoull(value, nullptr, 10);
    else if (name == "--queries")
      flags.queries = std::strtoull(value, nullptr, 10);
    else if (name == "--threads")
      flags.threads = std::max(1, std::atoi(value));
    else if (name == "--penetration")
      flags.penetration = std::atof(value);
    else if (name == "--all-pairs")
      flags.all_pairs = std::strtoull(value, nullptr, 10);
    else if (name == "--iso-dir")
      flags.iso_dir = value;
    else if (name == "--dump")
      flags.dump = value;
    else if (name == "--repeat")
      flags.repeat = std::max(1, std::atoi(value));
    else if (name == "--seed")
      flags.seed = std::strtoull(value, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return flags;
}

// Impressions whose minutia count lies in [min, max] (draws more masters
// until enough are found).
std::vector<PreparedFinger> PreparedImpressions(const SyntheticFingerGenerator& generator,
                                                std::size_t count, std::size_t min_minutiae,
                                                std::size_t max_minutiae, double& mean_minutiae) {
  std::vector<PreparedFinger> out;
  double total = 0;
  for (std::uint64_t id = 0; out.size() < count && id < count * 50; ++id) {
    const MasterFinger master = generator.Master(id);
    for (std::uint64_t impression = 0; impression < 2 && out.size() < count; ++impression) {
      FingerFeatures f = generator.Impression(master, impression);
      if (f.minutiae.size() < min_minutiae || f.minutiae.size() > max_minutiae) continue;
      total += static_cast<double>(f.minutiae.size());
      out.push_back(*PrepareFinger(f));
    }
  }
  mean_minutiae = out.empty() ? 0 : total / out.size();
  return out;
}

void OneToOne(const Flags& flags) {
  SyntheticFingerGenerator generator(flags.seed);
  double mean_minutiae = 0;
  const auto prepare_start = Clock::now();
  const std::vector<PreparedFinger> prepared =
      PreparedImpressions(generator, 400, flags.minutiae_min, flags.minutiae_max, mean_minutiae);
  const double prepare_ms = Seconds(prepare_start) * 1e3 / prepared.size();
  double cylinders = 0;
  for (const auto& p : prepared) cylinders += static_cast<double>(p.cylinder_count());
  // Warm-up, then timed pairs cycling through all combinations.
  float sink = 0;
  for (std::size_t i = 0; i < 1000; ++i)
    sink += MatchPrepared(prepared[i % 400], prepared[(i * 7 + 1) % 400]);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < flags.pairs; ++i) {
    sink += MatchPrepared(prepared[i % prepared.size()],
                          prepared[(i / prepared.size() + i * 13 + 1) % prepared.size()]);
  }
  const double seconds = Seconds(start);
  std::printf(
      "{\"benchmark\": \"finger_1to1\", \"pairs\": %zu, \"mean_minutiae\": %.1f, "
      "\"mean_valid_cylinders\": %.1f, \"microseconds_per_comparison\": %.3f, "
      "\"comparisons_per_second_per_core\": %.0f, \"prepare_ms_per_template\": %.3f, "
      "\"checksum\": %.3f}\n",
      flags.pairs, mean_minutiae, cylinders / prepared.size(), seconds * 1e6 / flags.pairs,
      flags.pairs / seconds, prepare_ms, sink);
}

void AllPairs(const Flags& flags) {
  SyntheticFingerGenerator generator(flags.seed);
  double mean_minutiae = 0;
  std::vector<PreparedFinger> prepared = PreparedImpressions(
      generator, flags.all_pairs, flags.minutiae_min, flags.minutiae_max, mean_minutiae);
  const std::size_t synthetic = prepared.size();
  if (!flags.iso_dir.empty()) {
    std::vector<std::filesystem::path> files;
    for (const auto& dir : std::filesystem::directory_iterator(flags.iso_dir)) {
      if (!dir.is_directory()) continue;
      for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
        if (file.path().extension() == ".iso") files.push_back(file.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      std::ifstream in(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      auto record = DecodeIso19794_2(bytes);
      if (!record.ok()) continue;
      auto features = ViewToFeatures(*record, 0);
      if (!features.ok()) continue;
      prepared.push_back(*PrepareFinger(*features));
    }
  }
  const std::size_t n = prepared.size();
  std::vector<float> scores(n * n, 0.0f);
  double best = 1e30, best_cpu = 1e30;
  for (int r = 0; r < flags.repeat; ++r) {
    const auto start = Clock::now();
    const double cpu_start = ThreadCpuSeconds();
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        if (i != j) scores[i * n + j] = MatchPrepared(prepared[i], prepared[j]);
      }
    }
    best = std::min(best, Seconds(start));
    best_cpu = std::min(best_cpu, ThreadCpuSeconds() - cpu_start);
  }
  const double pairs = static_cast<double>(n) * (n - 1);
  std::printf(
      "{\"benchmark\": \"finger_1to1_all_pairs\", \"synthetic\": %zu, \"iso\": %zu, "
      "\"pairs\": %.0f, \"best_of\": %d, \"microseconds_per_comparison\": %.3f, "
      "\"comparisons_per_second_per_core\": %.0f, \"cpu_microseconds_per_comparison\": %.3f, "
      "\"comparisons_per_cpu_second\": %.0f}\n",
      synthetic, n - synthetic, pairs, flags.repeat, best * 1e6 / pairs, pairs / best,
      best_cpu * 1e6 / pairs, pairs / best_cpu);
  if (!flags.dump.empty()) {
    std::FILE* out = std::fopen(flags.dump.c_str(), "w");
    for (float score : scores) {
      std::uint32_t bits;
      std::memcpy(&bits, &score, sizeof bits);
      std::fprintf(out, "%08x\n", bits);
    }
    std::fclose(out);
  }
}

long PeakResidentMegabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

void OneToMany(const Flags& flags) {
  SyntheticFingerGenerator generator(flags.seed);
  const std::size_t n = flags.gallery;
  // Prepare in parallel (cylinders dominate enrolment), then file.
  std::vector<PreparedFinger> prepared(n);
  const auto prepare_start = Clock::now();
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < flags.threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t i = t; i < n; i += flags.threads) {
          prepared[i] = *PrepareFinger(generator.Impression(generator.Master(i), 0));
        }
      });
    }
    for (auto& thread : pool) thread.join();
  }
  const double prepare_seconds = Seconds(prepare_start);
  FingerIndex index;
  const auto add_start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) (void)index.Add(i, std::move(prepared[i]));
  prepared.clear();
  prepared.shrink_to_fit();
  const double add_seconds = Seconds(add_start);

  const std::size_t queries = std::max<std::size_t>(1, std::min(flags.queries, n));
  FingerSearchOptions options;
  options.penetration = flags.penetration;
  options.threads = flags.threads;
  options.max_candidates = 10;
  std::vector<double> latency_ms;
  std::size_t rank_one = 0, retained = 0;
  double penetration = 0;
  for (std::size_t q = 0; q < queries; ++q) {
    // Spread the probes over the gallery.
    const std::uint64_t id = q * (n / queries);
    const PreparedFinger probe = *PrepareFinger(generator.Impression(generator.Master(id), 1));
    FingerSearchStats stats;
    const auto start = Clock::now();
    auto candidates = index.Search(std::span(&probe, 1), options, &stats);
    latency_ms.push_back(Seconds(start) * 1e3);
    penetration += stats.penetration;
    if (candidates.ok() && !candidates->empty() && (*candidates)[0].identity == id) ++rank_one;
    for (std::size_t finger : index.Shortlist(probe, stats.full_comparisons)) {
      retained += index.identity_of(finger) == id;
    }
  }
  std::sort(latency_ms.begin(), latency_ms.end());
  auto percentile = [&](double p) {
    return latency_ms[std::min(latency_ms.size() - 1,
                               static_cast<std::size_t>(p * latency_ms.size()))];
  };
  double mean = 0;
  for (double l : latency_ms) mean += l / latency_ms.size();
  std::printf(
      "{\"benchmark\": \"finger_1toN\", \"gallery_fingers\": %zu, \"queries\": %zu, "
      "\"threads\": %d, \"target_penetration\": %.4f, \"measured_penetration\": %.4f, "
      "\"shortlist_mate_retention\": %.4f, \"rank1_identification_rate\": %.4f, "
      "\"latency_ms_mean\": %.2f, \"latency_ms_p50\": %.2f, \"latency_ms_p95\": %.2f, "
      "\"prepare_seconds\": %.1f, \"index_add_seconds\": %.1f, \"index_megabytes\": %zu, "
      "\"peak_rss_megabytes\": %ld}\n",
      n, queries, flags.threads, flags.penetration, penetration / queries,
      static_cast<double>(retained) / queries, static_cast<double>(rank_one) / queries, mean,
      percentile(0.5), percentile(0.95), prepare_seconds, add_seconds, index.MemoryBytes() >> 20,
      PeakResidentMegabytes());
}

}  // namespace
}  // namespace abis::finger

int main(int argc, char** argv) {
  const abis::finger::Flags flags = abis::finger::ParseFlags(argc, argv);
  if (flags.all_pairs > 0) {
    abis::finger::AllPairs(flags);
  } else if (flags.gallery > 0) {
    abis::finger::OneToMany(flags);
  } else {
    abis::finger::OneToOne(flags);
  }
  return 0;
}
