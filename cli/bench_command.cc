// abis bench search --gallery-size N [--dim 128] [--queries Q] [--k 10] --json FILE
//
// Builds a synthetic clustered gallery on disk, reopens it, and measures
// single-query and batched exact search (see docs/search.md). The JSON
// fields are a contract that scripts read.

#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "search/search_benchmark.h"

namespace abis::cli {
namespace {

struct BenchSearchFlags {
  search::SearchBenchmarkOptions options;
  std::string json_path;
};

int RunBenchSearch(const BenchSearchFlags& flags) {
  auto report = search::RunSearchBenchmark(flags.options);
  if (!report.ok()) {
    std::cerr << "abis bench search: " << report.status().ToString() << "\n";
    return 1;
  }
  const search::SearchBenchmarkOptions& o = flags.options;
  nlohmann::json document = {
      {"gallery_size", o.gallery_size},
      {"dim", o.dims},
      {"queries", o.queries},
      {"k", o.k},
      {"threads", report->threads},
      {"kernel", report->kernel},
      {"build_s", report->build_s},
      {"load_s", report->load_s},
      {"single_ms_per_query", report->single_ms_per_query},
      {"single_p50_ms", report->single_p50_ms},
      {"single_p99_ms", report->single_p99_ms},
      {"batch_ms_per_query", report->batch_ms_per_query},
      {"single_cpu_ms_per_query", report->single_cpu_ms_per_query},
      {"batch_cpu_ms_per_query", report->batch_cpu_ms_per_query},
      {"load_average", report->load_average},
      {"recall_at_k_vs_exact", report->recall_at_k_vs_exact},
      {"exact_list_fraction", report->exact_list_fraction},
      {"truth_queries", std::min(o.truth_queries, o.queries)},
      {"mean_reranked_rows", report->mean_reranked},
      {"bytes_per_template", report->bytes_per_template},
      {"disk_bytes_per_template", report->disk_bytes_per_template},
      {"rss_mb", report->rss_mb},
      {"peak_rss_mb", report->peak_rss_mb},
      {"checksums_verified_at_load", o.verify_checksums},
  };
  std::ofstream out(flags.json_path);
  out << document.dump(2) << "\n";
  if (!out) {
    std::cerr << "abis bench search: cannot write " << flags.json_path << "\n";
    return 1;
  }
  std::cout << document.dump(2) << "\n";
  return 0;
}

}  // namespace

void RegisterBenchCommand(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure abis components on synthetic data");
  bench->require_subcommand(1);
  auto flags = std::make_shared<BenchSearchFlags>();
  CLI::App* search = bench->add_subcommand(
      "search", "1:N face search on a synthetic clustered gallery (exact top-k)");
  search::SearchBenchmarkOptions& o = flags->options;
  search->add_option("--gallery-size", o.gallery_size, "Templates in the gallery")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{4'000'000'000}));
  search->add_option("--dim", o.dims, "Embedding dimensions")->check(CLI::Range(1, 4096));
  search->add_option("--queries", o.queries, "Probes to time")->check(CLI::Range(1, 1'000'000));
  search->add_option("--k", o.k, "Candidates per probe")->check(CLI::Range(1, 1000));
  search->add_option("--threads", o.threads, "Search threads (0: all cores)");
  search->add_option("--truth-queries", o.truth_queries,
                     "Probes checked against a brute-force scan");
  search->add_option("--dir", o.directory, "Gallery folder (default: a temporary one)");
  search->add_flag("--reuse", o.reuse, "Reuse the gallery in --dir if it has the right size");
  search->add_flag("--verify-checksums", o.verify_checksums, "Verify every CRC at reopen");
  search->add_option("--seed", o.seed, "Synthetic data seed");
  search->add_option("--json", flags->json_path, "Write the report here")->required();
  search->callback([flags] {
    int code = RunBenchSearch(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli
