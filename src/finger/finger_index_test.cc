#include "finger/finger_index.h"

#include <vector>

#include <gtest/gtest.h>

#include "finger/synthetic_minutiae.h"

namespace abis::finger {
namespace {

PreparedFinger Prepare(const FingerFeatures& f) { return std::move(PrepareFinger(f)).value(); }

constexpr std::size_t kGallery = 300;
constexpr std::size_t kQueries = 20;

// Gallery: impression 0 of kGallery synthetic masters, identity = master id.
// Queries: impression 1 of the first kQueries masters.
class FingerIndexTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SyntheticFingerGenerator generator(77);
    index_ = new FingerIndex();
    queries_ = new std::vector<PreparedFinger>();
    for (std::uint64_t id = 0; id < kGallery; ++id) {
      const MasterFinger master = generator.Master(id);
      ASSERT_TRUE(index_->Add(id, Prepare(generator.Impression(master, 0))).ok());
      if (id < kQueries) queries_->push_back(Prepare(generator.Impression(master, 1)));
    }
  }
  static void TearDownTestSuite() {
    delete index_;
    delete queries_;
  }
  static FingerIndex* index_;
  static std::vector<PreparedFinger>* queries_;
};

FingerIndex* FingerIndexTest::index_ = nullptr;
std::vector<PreparedFinger>* FingerIndexTest::queries_ = nullptr;

TEST_F(FingerIndexTest, FindsTheMateAtRankOneWithLowPenetration) {
  FingerSearchOptions options;
  options.penetration = 0.03;
  options.min_shortlist = 5;
  int rank_one = 0;
  double penetration = 0;
  for (std::size_t q = 0; q < queries_->size(); ++q) {
    FingerSearchStats stats;
    auto candidates = index_->Search(std::span(&(*queries_)[q], 1), options, &stats);
    ASSERT_TRUE(candidates.ok());
    penetration += stats.penetration / queries_->size();
    EXPECT_EQ(stats.gallery_fingers, kGallery);
    if (!candidates->empty() && (*candidates)[0].identity == q) ++rank_one;
  }
  EXPECT_GE(rank_one, static_cast<int>(kQueries * 9 / 10));
  EXPECT_LE(penetration, 0.035);
}

TEST_F(FingerIndexTest, ShortlistRetainsMates) {
  int retained = 0;
  for (std::size_t q = 0; q < queries_->size(); ++q) {
    std::size_t eligible = 0;
    const std::vector<std::size_t> shortlist = index_->Shortlist((*queries_)[q], 6, &eligible);
    EXPECT_EQ(eligible, kGallery);
    EXPECT_LE(shortlist.size(), 6u);
    for (std::size_t finger : shortlist) retained += index_->identity_of(finger) == q;
  }
  EXPECT_GE(retained, static_cast<int>(kQueries * 9 / 10));
}

TEST(FingerIndexStandaloneTest, FiltersByFingerPositionAndFusesFingers) {
  SyntheticFingerGenerator generator(5);
  FingerIndex index;
  // Identity i has a right index (master 2i) and a right middle (2i+1).
  for (std::uint64_t i = 0; i < 40; ++i) {
    const MasterFinger index_finger = generator.Master(2 * i, FingerPosition::kRightIndex);
    const MasterFinger middle_finger = generator.Master(2 * i + 1, FingerPosition::kRightMiddle);
    ASSERT_TRUE(index.Add(i, Prepare(generator.Impression(index_finger, 0))).ok());
    ASSERT_TRUE(index.Add(i, Prepare(generator.Impression(middle_finger, 0))).ok());
  }
  const std::uint64_t person = 17;
  std::vector<PreparedFinger> query = {
      Prepare(generator.Impression(generator.Master(2 * person, FingerPosition::kRightIndex), 1)),
      Prepare(
          generator.Impression(generator.Master(2 * person + 1, FingerPosition::kRightMiddle), 1))};
  FingerSearchOptions options;
  options.penetration = 0.1;
  options.min_shortlist = 4;
  options.threads = 2;
  FingerSearchStats stats;
  auto both = index.Search(query, options, &stats);
  ASSERT_TRUE(both.ok());
  ASSERT_FALSE(both->empty());
  EXPECT_EQ((*both)[0].identity, person);
  // Position filter: each query finger sees only the 40 fingers of its position.
  EXPECT_EQ(stats.eligible_fingers, 80u);
  auto one = index.Search(std::span(&query[0], 1), options);
  ASSERT_TRUE(one.ok());
  ASSERT_FALSE(one->empty());
  EXPECT_EQ((*one)[0].identity, person);
  EXPECT_EQ((*one)[0].best_position, FingerPosition::kRightIndex);
  // Sum rule: two matching fingers outscore one.
  EXPECT_GT((*both)[0].score, (*one)[0].score);

  // A query labelled as another finger never reaches the right index fingers.
  PreparedFinger relabelled = query[0];
  relabelled.position = FingerPosition::kLeftThumb;
  std::size_t eligible = 99;
  EXPECT_TRUE(index.Shortlist(relabelled, 10, &eligible).empty());
  EXPECT_EQ(eligible, 0u);
}

TEST(FingerIndexStandaloneTest, RejectsBadSearches) {
  FingerIndex index;
  FingerSearchOptions options;
  EXPECT_EQ(index.Search({}, options).status().code(), StatusCode::kInvalidArgument);
  PreparedFinger empty;
  options.penetration = 0;
  EXPECT_EQ(index.Search(std::span(&empty, 1), options).status().code(),
            StatusCode::kInvalidArgument);
  options.penetration = 0.5;
  auto result = index.Search(std::span(&empty, 1), options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->empty());
  FingerIndexOptions bad;
  bad.minhashes_per_key = 9;
  FingerIndex broken(bad);
  EXPECT_EQ(broken.Add(1, empty).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace abis::finger
