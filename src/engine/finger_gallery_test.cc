#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/finger_pipeline.h"
#include "finger/synthetic_minutiae.h"

namespace abis::engine_internal {
namespace {

using finger::CaptureType;
using finger::FingerFeatures;
using finger::FingerPosition;
using finger::PreparedFinger;

// A contact print's ridge period varies between people (about 8-11 px at
// 500 ppi); the synthetic minutiae are drawn at 9 px, so a contact print of
// finger `id` is its impression scaled to that finger's period.
float ContactPeriod(std::uint64_t id) { return 8.0f + static_cast<float>(id % 7) * 0.5f; }

FingerFeatures ContactPrint(const finger::SyntheticFingerGenerator& generator,
                            const finger::MasterFinger& master, std::uint64_t impression) {
  FingerFeatures f = generator.Impression(master, impression);
  const float period = ContactPeriod(master.id);
  f = ScaledFeatures(f, period / f.ridge_period);
  f.ridge_period = period;
  return f;
}

// The contactless pipeline scales every print to the nominal 9 px period.
FingerFeatures ContactlessPrint(const finger::SyntheticFingerGenerator& generator,
                                const finger::MasterFinger& master, std::uint64_t impression) {
  FingerFeatures f = generator.Impression(master, impression);
  f.capture = CaptureType::kContactless;
  return f;
}

// Finger positions 0 (unknown) to 10 in turn; all unknown with
// ABIS_FINGER_GALLERY_UNKNOWN_POSITIONS set (the benchmark's worst case).
FingerPosition PositionOf(std::uint64_t id) {
  static const bool unknown = std::getenv("ABIS_FINGER_GALLERY_UNKNOWN_POSITIONS") != nullptr;
  return unknown ? FingerPosition::kUnknown : static_cast<FingerPosition>(id % 11);
}

std::string IdentityOf(std::uint64_t id) { return "person-" + std::to_string(id); }

struct Reference {
  std::int64_t reference_id;
  std::string identity;
  FingerFeatures features;
};

// Fingers 0..count-1, impression 0, one reference each; every tenth finger
// has a second reference (impression 2), so identities have 1 or 2.
std::vector<Reference> MakeReferences(std::size_t count, std::uint64_t seed) {
  finger::SyntheticFingerGenerator generator(seed);
  std::vector<Reference> references;
  for (std::uint64_t id = 0; id < count; ++id) {
    const finger::MasterFinger master = generator.Master(id, PositionOf(id));
    references.push_back({static_cast<std::int64_t>(references.size()) + 1, IdentityOf(id),
                          ContactPrint(generator, master, 0)});
    if (id % 10 == 0) {
      references.push_back({static_cast<std::int64_t>(references.size()) + 1, IdentityOf(id),
                            ContactPrint(generator, master, 2)});
    }
  }
  return references;
}

// Prepares on two threads (preparation dominates building a gallery).
std::vector<PreparedFinger> PrepareAll(const std::vector<Reference>& references) {
  std::vector<PreparedFinger> prepared(references.size());
  auto work = [&](std::size_t start) {
    for (std::size_t i = start; i < references.size(); i += 2) {
      auto p = finger::PrepareFinger(references[i].features);
      if (p.ok()) prepared[i] = std::move(*p);
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  return prepared;
}

FingerGallery MakeGallery(const std::vector<Reference>& references,
                          std::vector<PreparedFinger> prepared, FingerGalleryOptions options) {
  FingerGallery gallery(options);
  for (std::size_t i = 0; i < references.size(); ++i) {
    gallery.Add(references[i].reference_id, references[i].identity, references[i].features,
                std::move(prepared[i]));
  }
  return gallery;
}

struct Probe {
  std::string identity;  // the mate's
  FingerFeatures features;
  PreparedFinger prepared;
};

Probe MakeProbe(std::uint64_t seed, std::uint64_t id, bool contactless, FingerPosition position) {
  finger::SyntheticFingerGenerator generator(seed);
  const finger::MasterFinger master = generator.Master(id, position);
  Probe probe{
      IdentityOf(id),
      contactless ? ContactlessPrint(generator, master, 1) : ContactPrint(generator, master, 1),
      {}};
  probe.prepared = *finger::PrepareFinger(probe.features);
  return probe;
}

void ExpectSameHits(const std::vector<FingerHit>& a, const std::vector<FingerHit>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].reference_id, b[i].reference_id) << "rank " << i;
    EXPECT_EQ(a[i].identity, b[i].identity) << "rank " << i;
    EXPECT_EQ(a[i].position, b[i].position) << "rank " << i;
    EXPECT_EQ(a[i].score, b[i].score) << "rank " << i;
  }
}

// Reference id -> position in `references`.
std::map<std::int64_t, std::size_t> IndexByReferenceId(const std::vector<Reference>& references) {
  std::map<std::int64_t, std::size_t> index_of;
  for (std::size_t i = 0; i < references.size(); ++i) index_of[references[i].reference_id] = i;
  return index_of;
}

constexpr std::uint64_t kSeed = 41;
constexpr std::size_t kFingers = 600;  // 660 references

// The indexed path at test size: the threshold lowered, 5 % or 20 shortlisted.
FingerGalleryOptions SmallIndexOptions() {
  FingerGalleryOptions options;
  options.index_threshold = 500;
  options.penetration = 0.05;
  options.min_shortlist = 20;
  return options;
}

class FingerGalleryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    references_ = new std::vector<Reference>(MakeReferences(kFingers, kSeed));
    prepared_ = new std::vector<PreparedFinger>(PrepareAll(*references_));
  }
  static void TearDownTestSuite() {
    delete references_;
    delete prepared_;
  }
  static std::vector<Reference>* references_;
  static std::vector<PreparedFinger>* prepared_;
  FingerPipeline pipeline_;
};

std::vector<Reference>* FingerGalleryTest::references_ = nullptr;
std::vector<PreparedFinger>* FingerGalleryTest::prepared_ = nullptr;

TEST_F(FingerGalleryTest, DefaultThresholdIsTheNamedConstant) {
  std::vector<Reference> few(references_->begin(), references_->begin() + 50);
  FingerGallery gallery = MakeGallery(
      few, std::vector<PreparedFinger>(prepared_->begin(), prepared_->begin() + 50), {});
  EXPECT_FALSE(gallery.indexed());
  EXPECT_EQ(FingerGalleryOptions{}.index_threshold, kFingerIndexThreshold);
  // Brute force at ~75k comparisons per CPU-second: the threshold keeps the
  // exact scan under about 0.3 s.
  EXPECT_GE(kFingerIndexThreshold, 1000u);
  EXPECT_LE(kFingerIndexThreshold, 25000u);
}

TEST_F(FingerGalleryTest, BelowTheThresholdResultsAreTheExactScan) {
  // Default options: 660 references are far below the threshold.
  FingerGallery gallery = MakeGallery(*references_, *prepared_, {});
  ASSERT_FALSE(gallery.indexed());
  EXPECT_EQ(gallery.size(), references_->size());
  EXPECT_EQ(gallery.identity_count(), kFingers);
  EXPECT_TRUE(gallery.Shortlist(references_->front().features, prepared_->front()).empty());
  for (std::uint64_t id : {3u, 10u, 77u, 250u}) {
    const Probe probe = MakeProbe(kSeed, id, false, PositionOf(id));
    const auto hits = gallery.Search(pipeline_, probe.features, probe.prepared, 20, 0.0);
    ExpectSameHits(hits, gallery.SearchExact(pipeline_, probe.features, probe.prepared, 20, 0.0));
    // The exact scan written out: best reference per identity, sorted.
    std::map<std::string, FingerHit> best;
    for (std::size_t i = 0; i < references_->size(); ++i) {
      const int position = static_cast<int>((*prepared_)[i].position);
      const int probe_position = static_cast<int>(probe.prepared.position);
      if (probe_position != 0 && position != 0 && position != probe_position) continue;
      const float score = pipeline_.Match(probe.prepared, (*prepared_)[i]);
      auto [it, inserted] = best.try_emplace((*references_)[i].identity);
      if (inserted || score > it->second.score) {
        it->second = {(*references_)[i].reference_id, (*references_)[i].identity, position, score};
      }
    }
    std::vector<FingerHit> expected;
    for (auto& [identity, hit] : best) expected.push_back(hit);
    std::sort(expected.begin(), expected.end(), [](const FingerHit& a, const FingerHit& b) {
      return a.score != b.score ? a.score > b.score : a.reference_id < b.reference_id;
    });
    expected.resize(20);
    ExpectSameHits(hits, expected);
    EXPECT_EQ(hits.front().identity, probe.identity);
  }
}

TEST_F(FingerGalleryTest, RemovingAnIdentityEqualsAGalleryBuiltWithoutIt) {
  const Probe probe = MakeProbe(kSeed, 10, false, FingerPosition::kUnknown);
  FingerGallery gallery = MakeGallery(*references_, *prepared_, {});
  ASSERT_EQ(gallery.Search(pipeline_, probe.features, probe.prepared, 5, 0.0).front().identity,
            probe.identity);
  const std::size_t before = gallery.size();
  ASSERT_TRUE(gallery.RemoveIdentity(probe.identity));
  EXPECT_EQ(gallery.size(), before - 2);  // Finger 10 has two references.
  EXPECT_EQ(gallery.identity_count(), kFingers - 1);
  std::vector<Reference> others;
  std::vector<PreparedFinger> others_prepared;
  for (std::size_t i = 0; i < references_->size(); ++i) {
    if ((*references_)[i].identity == probe.identity) continue;
    others.push_back((*references_)[i]);
    others_prepared.push_back((*prepared_)[i]);
  }
  FingerGallery without = MakeGallery(others, others_prepared, {});
  const auto hits = gallery.Search(pipeline_, probe.features, probe.prepared, 20, 0.0);
  for (const FingerHit& hit : hits) EXPECT_NE(hit.identity, probe.identity);
  ExpectSameHits(hits, without.Search(pipeline_, probe.features, probe.prepared, 20, 0.0));
  // An indexed gallery cannot drop fingers: it says so and keeps them.
  FingerGallery indexed = MakeGallery(*references_, *prepared_, SmallIndexOptions());
  ASSERT_TRUE(indexed.indexed());
  EXPECT_FALSE(indexed.RemoveIdentity(probe.identity));
  EXPECT_EQ(indexed.size(), references_->size());
}

// Removal must leave the per-position counts true: they decide whether a
// probe of known position is scanned exactly once the gallery is indexed.
TEST_F(FingerGalleryTest, RemovalKeepsTheCountsThatChooseThePath) {
  FingerGalleryOptions options = SmallIndexOptions();
  options.index_threshold = 100;
  FingerGallery gallery(options);
  std::size_t next = 0;
  auto add = [&](FingerPosition position, const std::string& identity) {
    PreparedFinger prepared = (*prepared_)[next];
    prepared.position = position;
    gallery.Add(static_cast<std::int64_t>(next) + 1, identity, (*references_)[next].features,
                std::move(prepared));
    ++next;
  };
  for (int i = 0; i < 100; ++i) add(FingerPosition::kRightIndex, "old-" + std::to_string(i % 50));
  ASSERT_TRUE(gallery.RemoveIdentity("old-0"));  // 2 references
  for (int i = 1; i < 50; ++i) ASSERT_TRUE(gallery.RemoveIdentity("old-" + std::to_string(i)));
  ASSERT_EQ(gallery.size(), 0u);
  for (int i = 0; i < 100; ++i) add(FingerPosition::kRightIndex, "new-" + std::to_string(i));
  ASSERT_FALSE(gallery.indexed());
  add(FingerPosition::kRightThumb, "thumb");  // 101 > 100: indexed
  ASSERT_TRUE(gallery.indexed());
  // A right-index probe meets the 100 right-index references, not more:
  // scanned exactly, every one compared.
  const Probe probe = MakeProbe(kSeed, 3, false, FingerPosition::kRightIndex);
  const auto hits = gallery.Search(pipeline_, probe.features, probe.prepared, 1000, 0.0);
  ExpectSameHits(hits, gallery.SearchExact(pipeline_, probe.features, probe.prepared, 1000, 0.0));
  EXPECT_EQ(hits.size(), 100u);
}

TEST_F(FingerGalleryTest, AboveTheThresholdTheIndexFindsMatesWithExactScores) {
  FingerGallery gallery = MakeGallery(*references_, *prepared_, SmallIndexOptions());
  ASSERT_TRUE(gallery.indexed());
  EXPECT_EQ(gallery.size(), references_->size());
  EXPECT_EQ(gallery.identity_count(), kFingers);
  const std::map<std::int64_t, std::size_t> index_of = IndexByReferenceId(*references_);
  int probes = 0;
  int mate_first = 0;
  for (std::uint64_t id = 0; id < kFingers; id += 15) {
    // Of unknown position, the probe may meet all 660 references: indexed.
    const Probe probe = MakeProbe(kSeed, id, false, FingerPosition::kUnknown);
    const std::vector<std::size_t> shortlist = gallery.Shortlist(probe.features, probe.prepared);
    EXPECT_TRUE(std::is_sorted(shortlist.begin(), shortlist.end()));
    EXPECT_LT(shortlist.size(), references_->size() / 4);  // far from a full scan
    const auto hits = gallery.Search(pipeline_, probe.features, probe.prepared, 10, 0.0);
    ExpectSameHits(hits, gallery.SearchIndexed(pipeline_, probe.features, probe.prepared, 10, 0.0));
    const auto exact = gallery.SearchExact(pipeline_, probe.features, probe.prepared,
                                           static_cast<int>(kFingers), 0.0);
    ++probes;
    if (!hits.empty() && hits.front().identity == probe.identity) ++mate_first;
    for (const FingerHit& hit : hits) {
      // Every hit is a shortlisted reference scored exactly as the scan scores it.
      const std::size_t i = index_of.at(hit.reference_id);
      EXPECT_TRUE(std::binary_search(shortlist.begin(), shortlist.end(), i));
      EXPECT_EQ(hit.score, pipeline_.Match(probe.prepared, (*prepared_)[i]));
      auto same = std::find_if(exact.begin(), exact.end(),
                               [&](const FingerHit& e) { return e.identity == hit.identity; });
      ASSERT_NE(same, exact.end());
      EXPECT_LE(hit.score, same->score);  // the identity's best may not be shortlisted
      if (same->reference_id == hit.reference_id) {
        EXPECT_EQ(hit.score, same->score);
      }
    }
  }
  // Synthetic mates are easy; the candidate stage keeps most of them.
  EXPECT_GE(mate_first, probes * 8 / 10) << mate_first << " of " << probes;
}

TEST_F(FingerGalleryTest, TheIndexedPathRespectsPositions) {
  FingerGallery gallery = MakeGallery(*references_, *prepared_, SmallIndexOptions());
  ASSERT_TRUE(gallery.indexed());
  for (std::uint64_t id : {2u, 35u, 101u, 300u}) {
    const FingerPosition position =
        PositionOf(id) == FingerPosition::kUnknown ? FingerPosition::kRightThumb : PositionOf(id);
    // The probe claims the mate's position: only that position or unknown.
    const Probe probe = MakeProbe(kSeed, id, false, position);
    for (std::size_t i : gallery.Shortlist(probe.features, probe.prepared)) {
      const FingerPosition p = (*prepared_)[i].position;
      EXPECT_TRUE(p == position || p == FingerPosition::kUnknown) << i;
    }
    // A known position leaves about 2/11 of the gallery, under the
    // threshold: Search scans those exactly; the indexed path filters too.
    ExpectSameHits(gallery.Search(pipeline_, probe.features, probe.prepared, 50, 0),
                   gallery.SearchExact(pipeline_, probe.features, probe.prepared, 50, 0));
    for (const FingerHit& hit :
         gallery.SearchIndexed(pipeline_, probe.features, probe.prepared, 50, 0)) {
      EXPECT_TRUE(hit.position == static_cast<int>(position) || hit.position == 0);
    }
    // The same print claimed for another finger never meets its mate.
    const auto other = static_cast<FingerPosition>(static_cast<int>(position) % 10 + 1);
    Probe elsewhere = MakeProbe(kSeed, id, false, other);
    if (PositionOf(id) == FingerPosition::kUnknown) continue;  // the mate's position is unknown
    for (const FingerHit& hit :
         gallery.SearchIndexed(pipeline_, elsewhere.features, elsewhere.prepared, 50, 0)) {
      EXPECT_NE(hit.identity, elsewhere.identity);
      EXPECT_TRUE(hit.position == static_cast<int>(other) || hit.position == 0);
    }
  }
}

TEST_F(FingerGalleryTest, TheIndexedPathRespectsMinScore) {
  FingerGallery gallery = MakeGallery(*references_, *prepared_, SmallIndexOptions());
  ASSERT_TRUE(gallery.indexed());
  const double threshold = pipeline_.algorithm().verification_threshold;
  ASSERT_GT(threshold, 0.0);
  int kept = 0;
  for (std::uint64_t id : {5u, 40u, 120u, 480u}) {
    const Probe probe = MakeProbe(kSeed, id, false, FingerPosition::kUnknown);
    const auto all = gallery.SearchIndexed(pipeline_, probe.features, probe.prepared, 1000, 0.0);
    const auto above = gallery.Search(pipeline_, probe.features, probe.prepared, 1000, threshold);
    std::vector<FingerHit> expected;
    for (const FingerHit& hit : all) {
      if (hit.score >= threshold) expected.push_back(hit);
    }
    ExpectSameHits(above, expected);
    kept += static_cast<int>(above.size());
    EXPECT_LT(above.size(), all.size());
  }
  EXPECT_GT(kept, 0);  // mates pass the verification threshold
}

TEST_F(FingerGalleryTest, ContactlessProbesAreShortlistedAtTheContactScale) {
  FingerGallery gallery = MakeGallery(*references_, *prepared_, SmallIndexOptions());
  ASSERT_TRUE(gallery.indexed());
  const std::map<std::int64_t, std::size_t> index_of = IndexByReferenceId(*references_);
  int probes = 0;
  int mate_first = 0;
  for (std::uint64_t id = 7; id < kFingers; id += 60) {
    const Probe probe = MakeProbe(kSeed, id, true, FingerPosition::kUnknown);
    const auto hits = gallery.SearchIndexed(pipeline_, probe.features, probe.prepared, 3, 0.0);
    ++probes;
    if (!hits.empty() && hits.front().identity == probe.identity) ++mate_first;
    for (const FingerHit& hit : hits) {
      const std::size_t i = index_of.at(hit.reference_id);
      EXPECT_EQ(hit.score, pipeline_.MatchAcrossCaptures(probe.features, (*references_)[i].features,
                                                         (*prepared_)[i]));
    }
  }
  EXPECT_GE(mate_first, probes * 7 / 10) << mate_first << " of " << probes;
}

// Latency and mate retention, exact scan against the index, at a size given
// by ABIS_FINGER_GALLERY_BENCH (e.g. 20000); skipped otherwise. Figures in
// docs/fingerprint-matching.md.
TEST(FingerGalleryBenchmark, ExactAgainstIndexed) {
  const char* size_text = std::getenv("ABIS_FINGER_GALLERY_BENCH");
  if (size_text == nullptr) GTEST_SKIP() << "set ABIS_FINGER_GALLERY_BENCH=<fingers>";
  const std::size_t fingers = std::strtoul(size_text, nullptr, 10);
  const char* queries_text = std::getenv("ABIS_FINGER_GALLERY_QUERIES");
  const int queries = queries_text ? std::atoi(queries_text) : 40;
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };

  auto start = Clock::now();
  std::vector<Reference> references = MakeReferences(fingers, kSeed);
  std::vector<PreparedFinger> prepared = PrepareAll(references);
  const double prepare_s = seconds(Clock::now() - start);
  start = Clock::now();
  FingerGalleryOptions options;
  if (const char* scales = std::getenv("ABIS_FINGER_GALLERY_CROSS_SCALES")) {
    options.cross_capture_scales = std::atoi(scales);
  }
  FingerGallery gallery = MakeGallery(references, std::move(prepared), options);
  const double file_s = seconds(Clock::now() - start);
  std::printf(
      "gallery: %zu references (%zu fingers), indexed %d; prepare %.1f s (2 threads), "
      "add+file %.1f s\n",
      gallery.size(), fingers, gallery.indexed() ? 1 : 0, prepare_s, file_s);
  FingerPipeline pipeline;
  for (bool contactless : {false, true}) {
    double exact_s = 0, indexed_s = 0, shortlist_s = 0;
    int exact_first = 0, indexed_first = 0, retained = 0, retained_unscaled = 0, exact_runs = 0;
    std::size_t shortlisted = 0;
    // A contactless search prepares the probe 3 times per compared contact
    // reference: fewer of them.
    const char* contactless_text = std::getenv("ABIS_FINGER_GALLERY_CONTACTLESS_QUERIES");
    const int runs = contactless
                         ? (contactless_text ? std::atoi(contactless_text) : std::min(queries, 10))
                         : queries;
    for (int q = 0; q < runs; ++q) {
      const std::uint64_t id = (static_cast<std::uint64_t>(q) * 7919) % fingers;
      const Probe probe = MakeProbe(kSeed, id, contactless, PositionOf(id));
      start = Clock::now();
      const auto shortlist = gallery.Shortlist(probe.features, probe.prepared);
      shortlist_s += seconds(Clock::now() - start);
      shortlisted += shortlist.size();
      bool in = false;
      for (std::size_t i : shortlist) in = in || references[i].identity == probe.identity;
      retained += in;
      if (contactless) {  // the same probe shortlisted at its own scale
        FingerFeatures unscaled = probe.features;
        unscaled.ridge_period = 0;
        bool in_unscaled = false;
        for (std::size_t i : gallery.Shortlist(unscaled, probe.prepared)) {
          in_unscaled = in_unscaled || references[i].identity == probe.identity;
        }
        retained_unscaled += in_unscaled;
      }
      start = Clock::now();
      const auto hits = gallery.SearchIndexed(pipeline, probe.features, probe.prepared, 10, 0.0);
      indexed_s += seconds(Clock::now() - start);
      indexed_first += !hits.empty() && hits.front().identity == probe.identity;
      // A contactless exact scan takes about a minute at 20k: only one.
      if (!contactless ? true
                       : q < (std::getenv("ABIS_FINGER_GALLERY_CONTACTLESS_EXACT") ? 1 : 0)) {
        start = Clock::now();
        const auto exact = gallery.SearchExact(pipeline, probe.features, probe.prepared, 10, 0.0);
        exact_s += seconds(Clock::now() - start);
        exact_first += !exact.empty() && exact.front().identity == probe.identity;
        ++exact_runs;
      }
    }
    std::printf(
        "%s probes: %d; shortlist mean %.0f; mate in shortlist %d (%.1f %%)%s; rank-1 "
        "indexed %d (%.1f %%), exact %d of %d; latency indexed %.1f ms (candidate stage %.1f ms), "
        "exact %.1f ms\n",
        contactless ? "contactless" : "contact", runs, static_cast<double>(shortlisted) / runs,
        retained, 100.0 * retained / runs,
        contactless ? (" [unscaled probe: " + std::to_string(retained_unscaled) + "]").c_str() : "",
        indexed_first, 100.0 * indexed_first / runs, exact_first, exact_runs,
        1000 * indexed_s / runs, 1000 * shortlist_s / runs,
        exact_runs ? 1000 * exact_s / exact_runs : 0.0);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace abis::engine_internal
