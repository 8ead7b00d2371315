#include "engine/face_gallery.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "search/exact_index.h"

namespace abis::engine_internal {
namespace {

constexpr int kDims = 128;

// Clustered, unit-length vectors: references of one identity lie close
// together, as face descriptors do.
std::vector<float> Noisy(const std::vector<float>& centre, double noise, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(noise));
  std::vector<float> v(centre);
  double norm = 0;
  for (float& x : v) {
    x += normal(rng);
    norm += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

struct Fixture {
  std::vector<std::vector<float>> centres;
  std::vector<std::vector<float>> rows;
  std::vector<std::string> identities;
};

Fixture MakeGallery(int identities, int per_identity, std::mt19937& rng) {
  Fixture f;
  for (int i = 0; i < identities; ++i) {
    f.centres.push_back(Noisy(std::vector<float>(kDims, 0.0f), 1.0, rng));
    for (int r = 0; r < per_identity; ++r) {
      f.rows.push_back(Noisy(f.centres.back(), 0.03, rng));
      f.identities.push_back("person-" + std::to_string(i));
    }
  }
  return f;
}

TEST(FaceGalleryTest, SameCandidatesAsTheExactReferenceIndex) {
  std::mt19937 rng(7);
  Fixture f = MakeGallery(300, 3, rng);
  auto gallery = FaceGallery::Create(kDims, 1);
  ASSERT_TRUE(gallery.ok()) << gallery.status().ToString();
  search::ExactFaceIndex reference(kDims);
  for (std::size_t i = 0; i < f.rows.size(); ++i) {
    ASSERT_TRUE((*gallery)->Add(static_cast<std::int64_t>(i) + 1, f.identities[i], f.rows[i]).ok());
    ASSERT_TRUE(reference.Add(static_cast<std::int64_t>(i) + 1, f.identities[i], f.rows[i]).ok());
  }
  EXPECT_EQ((*gallery)->size(), 900u);
  EXPECT_EQ((*gallery)->identity_count(), 300u);
  for (int q = 0; q < 40; ++q) {
    std::vector<float> probe = Noisy(f.centres[q * 7], 0.05, rng);
    auto ours = (*gallery)->Search(probe, 20);
    auto exact = reference.Search(probe, 20);
    ASSERT_TRUE(ours.ok() && exact.ok());
    ASSERT_EQ(ours->size(), exact->size());
    EXPECT_EQ((*ours)[0].identity, "person-" + std::to_string(q * 7));
    for (std::size_t i = 0; i < ours->size(); ++i) {
      EXPECT_EQ((*ours)[i].identity, (*exact)[i].identity) << "query " << q << " rank " << i;
      EXPECT_EQ((*ours)[i].reference_id, (*exact)[i].reference_id);
      EXPECT_NEAR((*ours)[i].score, (*exact)[i].score, 1e-6);
    }
  }
}

TEST(FaceGalleryTest, ScoreFloorAndDeletedIdentities) {
  std::mt19937 rng(11);
  Fixture f = MakeGallery(50, 2, rng);
  auto created = FaceGallery::Create(kDims, 1);
  ASSERT_TRUE(created.ok());
  FaceGallery& gallery = **created;
  for (std::size_t i = 0; i < f.rows.size(); ++i) {
    ASSERT_TRUE(gallery.Add(static_cast<std::int64_t>(i) + 1, f.identities[i], f.rows[i]).ok());
  }
  std::vector<float> probe = Noisy(f.centres[3], 0.02, rng);
  auto all = gallery.Search(probe, 50);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 50u);
  ASSERT_EQ((*all)[0].identity, "person-3");

  // A floor between the best and the second score keeps only the best.
  double floor = ((*all)[0].score + (*all)[1].score) / 2;
  auto above = gallery.Search(probe, 50, floor);
  ASSERT_TRUE(above.ok());
  ASSERT_EQ(above->size(), 1u);
  EXPECT_EQ((*above)[0].identity, "person-3");
  // A floor at a hit's own score keeps it.
  auto at = gallery.Search(probe, 50, (*all)[4].score);
  ASSERT_TRUE(at.ok());
  EXPECT_GE(at->size(), 5u);

  ASSERT_TRUE(gallery.DeleteIdentity("person-3").ok());
  EXPECT_EQ(gallery.identity_count(), 49u);
  EXPECT_EQ(gallery.size(), 98u);
  auto after = gallery.Search(probe, 50);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 49u);
  for (const search::IndexHit& hit : *after) EXPECT_NE(hit.identity, "person-3");
  EXPECT_EQ(gallery.DeleteIdentity("person-3").code(), StatusCode::kNotFound);
  EXPECT_EQ(gallery.DeleteIdentity("nobody").code(), StatusCode::kNotFound);

  // Re-enrolled after deletion: found again under the same name.
  ASSERT_TRUE(gallery.Add(1000, "person-3", f.rows[6]).ok());
  EXPECT_EQ(gallery.identity_count(), 50u);
  auto back = gallery.Search(probe, 1);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].identity, "person-3");
  EXPECT_EQ((*back)[0].reference_id, 1000);
}

TEST(FaceGalleryTest, BadInputIsRefused) {
  auto created = FaceGallery::Create(kDims, 1);
  ASSERT_TRUE(created.ok());
  std::vector<float> short_vector(kDims - 1, 0.1f);
  EXPECT_EQ((*created)->Add(1, "a", short_vector).code(), StatusCode::kInvalidArgument);
  std::vector<float> bad(kDims, 0.1f);
  bad[5] = std::nanf("");
  EXPECT_EQ((*created)->Add(1, "a", bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*created)->identity_count(), 0u);
  std::vector<float> probe(kDims, 0.1f);
  auto empty = (*created)->Search(probe, 5);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ((*created)->Search(probe, 0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace abis::engine_internal
