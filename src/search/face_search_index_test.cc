#include "search/face_search_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "search/synthetic_gallery.h"

namespace abis::search {
namespace {

struct Row {
  std::int64_t reference;
  std::int64_t identity;
  std::vector<float> vector;
  bool deleted = false;
};

// The specification: brute force over every live, allowed row.
std::vector<SearchHit> BruteForce(const std::vector<Row>& rows, std::span<const float> query, int k,
                                  bool per_identity, const SearchFilter* filter = nullptr) {
  std::map<std::int64_t, std::tuple<double, std::int64_t, std::int64_t>> best;  // key -> hit
  for (const Row& row : rows) {
    if (row.deleted || (filter != nullptr && !filter->Allows(row.reference, row.identity))) {
      continue;
    }
    double d2 =
        ExactSquaredDistance(query.data(), row.vector.data(), static_cast<int>(row.vector.size()));
    std::int64_t key = per_identity ? row.identity : row.reference;
    auto candidate = std::make_tuple(d2, row.identity, row.reference);
    auto it = best.find(key);
    if (it == best.end() || candidate < it->second) best[key] = candidate;
  }
  std::vector<std::tuple<double, std::int64_t, std::int64_t>> sorted;
  for (auto& [key, hit] : best) sorted.push_back(hit);
  std::sort(sorted.begin(), sorted.end());
  std::vector<SearchHit> hits;
  for (std::size_t i = 0; i < sorted.size() && static_cast<int>(i) < k; ++i) {
    auto [d2, identity, reference] = sorted[i];
    hits.push_back({identity, reference, std::sqrt(d2), 0});
  }
  return hits;
}

void ExpectSameHits(const std::vector<SearchHit>& got, const std::vector<SearchHit>& expected,
                    const std::string& context) {
  ASSERT_EQ(got.size(), expected.size()) << context;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].identity_id, expected[i].identity_id) << context << " rank " << i;
    EXPECT_EQ(got[i].reference_id, expected[i].reference_id) << context << " rank " << i;
    EXPECT_EQ(got[i].distance, expected[i].distance) << context << " rank " << i;
  }
}

std::unique_ptr<FaceSearchIndex> OpenIndex(int dims, int threads = 2, int shortlist = 256,
                                           std::optional<KernelKind> kernel = std::nullopt) {
  FaceSearchOptions options;
  options.dimensions = dims;
  options.threads = threads;
  options.shortlist = shortlist;
  options.kernel = kernel;
  auto index = FaceSearchIndex::Open(options);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return std::move(index).value();
}

// Clustered gallery with exact duplicates (ties) of some rows.
std::vector<Row> ClusteredRows(int count, int dims, int references_per_identity,
                               std::uint64_t seed) {
  SyntheticGalleryOptions options;
  options.dims = dims;
  options.seed = seed;
  options.references_per_identity = references_per_identity;
  SyntheticGallery gallery(options);
  std::vector<Row> rows;
  for (int i = 0; i < count; ++i) {
    Row row{1000 + i, gallery.IdentityOfRow(i), std::vector<float>(dims)};
    gallery.Row(i, row.vector);
    rows.push_back(row);
  }
  for (int i = 0; i < count / 20; ++i) {  // Duplicates under other identities and ids.
    Row copy = rows[static_cast<std::size_t>(i * 7 % count)];
    copy.reference = 500000 + i;
    copy.identity = 900000 + i % 3;
    rows.push_back(copy);
  }
  return rows;
}

std::vector<float> QueryFor(const std::vector<Row>& rows, std::mt19937& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, rows.size() - 1);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::vector<float> query = rows[pick(rng)].vector;
  int kind = static_cast<int>(rng() % 4);
  if (kind == 0) return query;  // Exact duplicate of a row: many ties at distance 0.
  if (kind == 1) {              // A stranger.
    for (float& v : query) v = noise(rng) * 20;
    return query;
  }
  for (float& v : query) v += noise(rng);
  return query;
}

TEST(FaceSearchIndexTest, ExactTopKOnClusteredDataForEveryK) {
  constexpr int kDims = 128;
  auto rows = ClusteredRows(3000, kDims, 3, 11);
  // A small shortlist forces the second pass and the widening path too.
  for (int shortlist : {256, 4}) {
    auto index = OpenIndex(kDims, 2, shortlist);
    for (const Row& row : rows)
      ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
    std::mt19937 rng(17);
    int multi_pass = 0;
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<float> query = QueryFor(rows, rng);
      for (bool per_identity : {true, false}) {
        // The top-k is a prefix of the top-50.
        std::vector<SearchHit> top50 = BruteForce(rows, query, 50, per_identity);
        for (int k : {1, 2, 10, 50}) {
          std::vector<SearchHit> expected(top50.begin(),
                                          top50.begin() + std::min<std::size_t>(k, top50.size()));
          SearchRequest request;
          request.k = k;
          request.one_per_identity = per_identity;
          SearchStats stats;
          auto hits = index->Search(query, request, &stats);
          ASSERT_TRUE(hits.ok()) << hits.status().ToString();
          multi_pass += stats.passes > 1;
          ExpectSameHits(*hits, expected,
                         "trial " + std::to_string(trial) + " k " + std::to_string(k));
        }
      }
    }
    if (shortlist == 4) {
      EXPECT_GT(multi_pass, 0) << "the fallback path was never exercised";
    }
  }
}

TEST(FaceSearchIndexTest, ExactOnUniformDataWithOddDimensions) {
  constexpr int kDims = 13;
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<Row> rows;
  for (int i = 0; i < 700; ++i) {
    Row row{i, i % 50, std::vector<float>(kDims)};
    for (float& v : row.vector) v = uniform(rng);
    rows.push_back(row);
  }
  auto index = OpenIndex(kDims, 1);
  for (const Row& row : rows) ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<float> query(kDims);
    for (float& v : query) v = uniform(rng);
    int k = 1 + trial % 50;
    SearchRequest request;
    request.k = k;
    auto hits = index->Search(query, request);
    ASSERT_TRUE(hits.ok());
    ExpectSameHits(*hits, BruteForce(rows, query, k, true), "trial " + std::to_string(trial));
  }
}

TEST(FaceSearchIndexTest, EveryKernelGivesTheSameResults) {
  constexpr int kDims = 128;
  auto rows = ClusteredRows(1500, kDims, 2, 5);
  std::vector<std::vector<SearchHit>> reference;
  for (KernelKind kind : SupportedKernels()) {
    auto index = OpenIndex(kDims, 2, 64, kind);
    EXPECT_EQ(index->kernel(), kind);
    for (const Row& row : rows)
      ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
    std::mt19937 rng(29);
    for (int trial = 0; trial < 30; ++trial) {
      std::vector<float> query = QueryFor(rows, rng);
      SearchRequest request;
      request.k = 10;
      auto hits = index->Search(query, request);
      ASSERT_TRUE(hits.ok());
      if (kind == KernelKind::kScalar) {
        reference.push_back(*hits);
      } else {
        ExpectSameHits(*hits, reference[trial], std::string(KernelName(kind)));
      }
    }
  }
}

TEST(FaceSearchIndexTest, BatchEqualsSingleQueries) {
  constexpr int kDims = 128;
  auto rows = ClusteredRows(2000, kDims, 2, 7);
  auto index = OpenIndex(kDims);
  for (const Row& row : rows) ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
  std::mt19937 rng(31);
  std::vector<float> batch;
  const int count = 37;  // Not a multiple of the batch group.
  for (int q = 0; q < count; ++q) {
    auto query = QueryFor(rows, rng);
    batch.insert(batch.end(), query.begin(), query.end());
  }
  SearchRequest request;
  request.k = 5;
  auto results = index->SearchBatch(batch, request);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), static_cast<std::size_t>(count));
  for (int q = 0; q < count; ++q) {
    std::span<const float> query(batch.data() + q * kDims, kDims);
    ExpectSameHits((*results)[q], BruteForce(rows, query, 5, true), "query " + std::to_string(q));
  }
}

TEST(FaceSearchIndexTest, FiltersAndTombstonesApplyBeforeRanking) {
  constexpr int kDims = 64;
  auto rows = ClusteredRows(2000, kDims, 2, 13);
  auto index = OpenIndex(kDims, 2, 16);
  for (const Row& row : rows) ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
  std::mt19937 rng(37);
  for (std::size_t i = 0; i < rows.size(); i += 3) {
    ASSERT_TRUE(index->Delete(rows[i].reference).ok());
    rows[i].deleted = true;
  }
  ASSERT_TRUE(index->DeleteIdentity(rows[1].identity).ok());
  for (Row& row : rows) row.deleted |= row.identity == rows[1].identity;
  EXPECT_EQ(index->Delete(rows[0].reference).code(), StatusCode::kNotFound);
  std::size_t live = 0;
  for (const Row& row : rows) live += !row.deleted;
  EXPECT_EQ(index->size(), live);

  std::unordered_set<std::int64_t> identities, references;
  for (int i = 0; i < 40; ++i) identities.insert(static_cast<std::int64_t>(rng() % 1000));
  for (int i = 0; i < 300; ++i) references.insert(rows[rng() % rows.size()].reference);
  SearchFilter by_identity{nullptr, &identities};
  SearchFilter by_reference{&references, nullptr};
  SearchFilter both{&references, &identities};
  for (int trial = 0; trial < 40; ++trial) {
    auto query = QueryFor(rows, rng);
    const SearchFilter* filters[] = {nullptr, &by_identity, &by_reference, &both};
    for (const SearchFilter* filter : filters) {
      SearchRequest request;
      request.k = 1 + trial % 20;
      request.filter = filter;
      auto hits = index->Search(query, request);
      ASSERT_TRUE(hits.ok());
      ExpectSameHits(*hits, BruteForce(rows, query, request.k, true, filter),
                     "trial " + std::to_string(trial));
    }
  }
}

TEST(FaceSearchIndexTest, MaxDistanceAndDuplicates) {
  constexpr int kDims = 32;
  auto rows = ClusteredRows(800, kDims, 4, 19);
  auto index = OpenIndex(kDims);
  for (const Row& row : rows) ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
  const std::vector<float>& probe = rows[10].vector;
  for (double threshold : {0.0, 0.2, 0.45}) {
    auto found = index->FindDuplicates(probe, threshold);
    ASSERT_TRUE(found.ok());
    std::size_t expected = 0;
    for (const Row& row : rows) {
      expected +=
          std::sqrt(ExactSquaredDistance(probe.data(), row.vector.data(), kDims)) <= threshold;
    }
    EXPECT_EQ(found->size(), expected) << threshold;
    EXPECT_GE(found->size(), 1u);  // The row itself.
    for (std::size_t i = 1; i < found->size(); ++i) {
      EXPECT_LE((*found)[i - 1].distance, (*found)[i].distance);
    }
  }
  SearchRequest request;
  request.k = 50;
  request.max_distance = 0.3;
  auto hits = index->Search(probe, request);
  ASSERT_TRUE(hits.ok());
  for (const SearchHit& hit : *hits) EXPECT_LE(hit.distance, 0.3);
  auto all = BruteForce(rows, probe, 50, true);
  std::size_t within =
      std::count_if(all.begin(), all.end(), [](const SearchHit& h) { return h.distance <= 0.3; });
  EXPECT_EQ(hits->size(), within);
}

TEST(FaceSearchIndexTest, BadInputGivesClearErrors) {
  auto index = OpenIndex(4);
  EXPECT_EQ(index->Add(1, 1, std::vector<float>{1, 2, 3}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Add(1, 1, std::vector<float>{1, 2, 3, NAN}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Add(1, 1, std::vector<float>{1, 2, 3, INFINITY}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Add(1, 1, std::vector<float>{1, 2, 3, 1e30f}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(index->Add(1, 1, std::vector<float>{1, 2, 3, 4}).ok());
  SearchRequest request;
  EXPECT_EQ(index->Search(std::vector<float>{1, 2}, request).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Search(std::vector<float>{1, 2, 3, NAN}, request).status().code(),
            StatusCode::kInvalidArgument);
  request.k = 0;
  EXPECT_EQ(index->Search(std::vector<float>{1, 2, 3, 4}, request).status().code(),
            StatusCode::kInvalidArgument);
  request.k = FaceSearchIndex::kMaxK + 1;
  EXPECT_EQ(index->Search(std::vector<float>{1, 2, 3, 4}, request).status().code(),
            StatusCode::kInvalidArgument);
  request.k = 3;
  EXPECT_EQ(index->SearchBatch(std::vector<float>{1, 2, 3, 4, 5}, request).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index->FindDuplicates(std::vector<float>{1, 2, 3, 4}, -1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Flush().code(), StatusCode::kFailedPrecondition);  // Memory only.
  FaceSearchOptions bad;
  bad.dimensions = 0;
  EXPECT_EQ(FaceSearchIndex::Open(bad).status().code(), StatusCode::kInvalidArgument);
  auto hits = index->Search(std::vector<float>{1, 2, 3, 4}, request);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);  // Fewer rows than k: all of them.
  EXPECT_EQ((*hits)[0].distance, 0.0);
  EXPECT_DOUBLE_EQ((*hits)[0].score, 1.0);
}

TEST(FaceSearchIndexTest, EmptyIndexGivesEmptyList) {
  auto index = OpenIndex(8);
  auto hits = index->Search(std::vector<float>(8, 0.5f), SearchRequest{});
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
}

TEST(FaceSearchIndexTest, ConcurrentAddDeleteAndSearch) {
  constexpr int kDims = 32;
  auto rows = ClusteredRows(1200, kDims, 2, 41);
  auto index = OpenIndex(kDims);
  for (std::size_t i = 0; i < 400; ++i) {
    ASSERT_TRUE(index->Add(rows[i].reference, rows[i].identity, rows[i].vector).ok());
  }
  std::map<std::int64_t, const Row*> by_reference;
  for (const Row& row : rows) by_reference[row.reference] = &row;
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  std::thread adder([&] {
    for (std::size_t i = 400; i < rows.size(); ++i) {
      if (!index->Add(rows[i].reference, rows[i].identity, rows[i].vector).ok()) ++failures;
    }
  });
  std::thread deleter([&] {
    for (std::size_t i = 0; i < 400; i += 2) {
      if (!index->Delete(rows[i].reference).ok()) ++failures;
    }
  });
  auto searcher = [&](std::uint64_t seed) {
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    while (!writers_done) {
      auto query = QueryFor(rows, rng);
      SearchRequest request;
      request.k = 10;
      auto hits = index->Search(query, request);
      if (!hits.ok()) {
        ++failures;
        continue;
      }
      for (std::size_t i = 0; i < hits->size(); ++i) {
        const SearchHit& hit = (*hits)[i];
        const Row* row = by_reference.at(hit.reference_id);
        // Every hit is a real row with its true distance, in order.
        if (row->identity != hit.identity_id ||
            hit.distance !=
                std::sqrt(ExactSquaredDistance(query.data(), row->vector.data(), kDims)) ||
            (i > 0 && hit.distance < (*hits)[i - 1].distance)) {
          ++failures;
        }
      }
    }
  };
  std::thread search1(searcher, 1), search2(searcher, 2);
  adder.join();
  deleter.join();
  writers_done = true;
  search1.join();
  search2.join();
  EXPECT_EQ(failures.load(), 0);
  for (std::size_t i = 0; i < 400; i += 2) rows[i].deleted = true;
  std::mt19937 rng(43);
  for (int trial = 0; trial < 20; ++trial) {
    auto query = QueryFor(rows, rng);
    SearchRequest request;
    request.k = 10;
    auto hits = index->Search(query, request);
    ASSERT_TRUE(hits.ok());
    ExpectSameHits(*hits, BruteForce(rows, query, 10, true), "after writers");
  }
}

TEST(FaceSearchIndexTest, ApproximateModeReturnsPlausibleHits) {
  constexpr int kDims = 64;
  auto rows = ClusteredRows(1000, kDims, 2, 47);
  auto index = OpenIndex(kDims);
  for (const Row& row : rows) ASSERT_TRUE(index->Add(row.reference, row.identity, row.vector).ok());
  SearchRequest request;
  request.k = 5;
  request.mode = SearchMode::kApproximate;
  auto hits = index->Search(rows[3].vector, request);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].distance, 0.0);
}

}  // namespace
}  // namespace abis::search
