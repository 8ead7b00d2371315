#include "search/exact_index.h"

#include <cmath>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "search/face_scoring.h"

namespace abis::search {
namespace {

std::vector<float> RandomVector(std::mt19937& rng, int dims) {
  std::normal_distribution<float> normal(0.0f, 0.13f);
  std::vector<float> v(dims);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(ExactFaceIndexTest, EmptyIndexGivesEmptyList) {
  ExactFaceIndex index(4);
  auto hits = index.Search(std::vector<float>{0, 0, 0, 0}, 5);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
}

TEST(ExactFaceIndexTest, RejectsWrongDimensionsAndNonFinite) {
  ExactFaceIndex index(4);
  EXPECT_EQ(index.Add(1, "a", std::vector<float>{1, 2, 3}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add(1, "a", std::vector<float>{1, 2, 3, NAN}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Search(std::vector<float>{1, 2}, 5).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Search(std::vector<float>{1, 2, 3, 4}, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ExactFaceIndexTest, MatchesBruteForceRankingAndCollapsesIdentities) {
  std::mt19937 rng(7);
  constexpr int kDims = 128;
  ExactFaceIndex index(kDims);
  std::vector<std::vector<float>> rows;
  std::vector<std::string> owners;
  for (int i = 0; i < 300; ++i) {
    rows.push_back(RandomVector(rng, kDims));
    owners.push_back("id" + std::to_string(i % 100));  // Three references per identity.
    ASSERT_TRUE(index.Add(i, owners.back(), rows.back()).ok());
  }
  std::vector<float> probe = rows[42];
  probe[0] += 0.01f;
  auto hits = index.Search(probe, 10);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 10u);
  EXPECT_EQ((*hits)[0].identity, "id42");
  EXPECT_EQ((*hits)[0].reference_id, 42);
  EXPECT_NEAR((*hits)[0].distance, 0.01, 1e-5);
  // Brute-force best distance per identity, sorted, must equal the list.
  std::map<std::string, double> best;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    double d = std::sqrt(SquaredL2(probe, rows[i]));
    auto [it, inserted] = best.emplace(owners[i], d);
    if (!inserted) it->second = std::min(it->second, d);
  }
  std::vector<double> expected;
  for (auto& [name, d] : best) expected.push_back(d);
  std::sort(expected.begin(), expected.end());
  std::set<std::string> seen;
  for (std::size_t rank = 0; rank < hits->size(); ++rank) {
    EXPECT_NEAR((*hits)[rank].distance, expected[rank], 1e-5);
    EXPECT_TRUE(seen.insert((*hits)[rank].identity).second) << "identity listed twice";
    if (rank > 0) EXPECT_LE((*hits)[rank].score, (*hits)[rank - 1].score);
  }
}

TEST(ExactFaceIndexTest, MinScoreCutsTheList) {
  ExactFaceIndex index(2);
  ASSERT_TRUE(index.Add(1, "near", std::vector<float>{0.1f, 0}).ok());
  ASSERT_TRUE(index.Add(2, "far", std::vector<float>{1.5f, 0}).ok());
  auto hits = index.Search(std::vector<float>{0, 0}, 10, FaceScoreFromDistance(0.6));
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].identity, "near");
}

TEST(FaceScoringTest, RefusesTemplatesFromDifferentModels) {
  Template a{{Modality::kFace, "face/dlib-resnet-v1", "aaaa", 50}, {0.1f, 0.2f}};
  Template b = a;
  b.header.model_digest = "bbbb";
  EXPECT_EQ(CompareFaceTemplates(a, b).status().code(), StatusCode::kFailedPrecondition);
  b = a;
  b.features = {0.1f, 0.2f, 0.3f};
  EXPECT_EQ(CompareFaceTemplates(a, b).status().code(), StatusCode::kInvalidArgument);
  auto same = CompareFaceTemplates(a, a);
  ASSERT_TRUE(same.ok());
  EXPECT_DOUBLE_EQ(same->score, 1.0);
  EXPECT_DOUBLE_EQ(same->distance, 0.0);
}

TEST(FaceScoringTest, ScoreIsMonotoneInDistance) {
  EXPECT_GT(FaceScoreFromDistance(0.3), FaceScoreFromDistance(0.6));
  EXPECT_NEAR(FaceDistanceFromScore(FaceScoreFromDistance(0.55)), 0.55, 1e-12);
}

}  // namespace
}  // namespace abis::search
