// finger_index.h
//
// 1:N fingerprint search over a gallery of prepared fingers (mcc.h):
//   1. Finger-position filter: a gallery finger whose position is known and
//      differs from the query's known position is never considered.
//   2. Candidate stage: locality-sensitive hashing of the MCC cylinder bits
//      (the idea of Cappelli, Ferrara, Maltoni, TPAMI 33(5), 2011). Bit
//      cylinders are sparse (about 5-10 % of the valid bits are set), so
//      sampling raw bits would file most cylinders under the all-zero key;
//      instead each of L hash keys concatenates r MinHash values of the set
//      bits in the inner part of the cylinder (the first set bit under a
//      fixed random permutation; two cylinders share one MinHash value with
//      probability equal to the Jaccard similarity of their set bits).
//      Every gallery cylinder is filed under its L keys with its minutia
//      direction. A query cylinder that shares a key with a gallery cylinder
//      votes for that finger in the bin of the rotation the pair implies
//      (16 bins); a finger's score is its best pair of adjacent bins (mated
//      collisions agree on one rotation, chance ones spread out), divided by
//      the square root of its cylinder count.
//   3. Full MCC comparison of the top `penetration` fraction of eligible
//      fingers (at least min_shortlist), calibrated to -10 log10(FMR).
//   4. Per-identity fusion: for every query finger the identity's best
//      score over its gallery fingers; the identity's score is the SUM over
//      query fingers (the sum of -10 log10 FMR is the product of the false
//      match rates, i.e. independent fingers). Ranked descending.
//
// Thread safety: Add is not safe concurrently with anything; Search is
// const and may run concurrently from several threads once adding is done.

#ifndef ABIS_FINGER_FINGER_INDEX_H_
#define ABIS_FINGER_FINGER_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "abis/status.h"

#include "finger/mcc.h"

namespace abis::finger {

struct FingerIndexOptions {
  int hash_functions = 64;    // L keys per cylinder
  int minhashes_per_key = 2;  // r, 1..8
  // Buckets holding more than this many times the mean are skipped at query
  // time: MinHash values are skewed toward low ranks, and the crowded keys
  // (like stop words) dominate the cost; skipping them trades mate retention
  // for speed (docs/fingerprint-matching.md). 0 = never skip.
  float skip_crowded_buckets = 0.0f;
  std::uint64_t seed = 0x5EED;
};

struct FingerSearchOptions {
  double penetration = 0.02;        // fraction of eligible fingers fully compared
  std::size_t min_shortlist = 16;   // fully compare at least this many
  std::size_t max_candidates = 20;  // identities returned
  int threads = 1;                  // for the full comparisons
};

struct IdentityCandidate {
  std::uint64_t identity = 0;
  double score = 0;  // fused, sum over query fingers of -10 log10(FMR)
  // The identity's gallery finger with the highest single score.
  std::size_t best_finger = 0;
  FingerPosition best_position = FingerPosition::kUnknown;
};

struct FingerSearchStats {
  std::size_t gallery_fingers = 0;
  std::size_t eligible_fingers = 0;  // after position filtering, summed over query fingers
  std::size_t full_comparisons = 0;
  double penetration = 0;  // full_comparisons / eligible_fingers
};

class FingerIndex {
 public:
  explicit FingerIndex(FingerIndexOptions options = {});

  // Files `finger` under `identity`; returns the finger's gallery index.
  // InvalidArgument when the options are unusable (1..256 hash functions,
  // 1..8 MinHashes per key; checked here so the constructor cannot fail) or
  // the gallery is full (2^32 - 1 fingers).
  Result<std::size_t> Add(std::uint64_t identity, PreparedFinger finger);

  std::size_t size() const { return fingers_.size(); }
  std::uint64_t identity_of(std::size_t finger) const { return identities_[finger]; }
  const PreparedFinger& finger(std::size_t index) const { return fingers_[index]; }
  std::size_t MemoryBytes() const;

  // The candidate stage alone: gallery indices of the `count` best-voted
  // eligible fingers, best first. Exposed to measure mate retention.
  std::vector<std::size_t> Shortlist(const PreparedFinger& query, std::size_t count,
                                     std::size_t* eligible = nullptr) const;

  // Full search with one or more query fingers of one person.
  // InvalidArgument for an empty query or a non-positive penetration.
  Result<std::vector<IdentityCandidate>> Search(std::span<const PreparedFinger> query,
                                                const FingerSearchOptions& options,
                                                FingerSearchStats* stats = nullptr) const;

 private:
  // 8 bytes: the bucket index holds 16 bits of the key, `check` the other
  // 16, so a 32-bit key is verified without storing it whole.
  struct Entry {
    std::uint32_t finger;
    std::uint16_t check;
    std::uint8_t angle;  // the cylinder's minutia direction, 256ths of a turn
    std::uint8_t unused;
  };
  static std::uint16_t CheckOf(std::uint32_t key) { return static_cast<std::uint16_t>(key); }
  // The L keys of one cylinder; false when it has no set inner bit.
  bool Keys(const std::uint64_t* bits, std::uint32_t* keys) const;
  std::size_t BucketOf(std::uint32_t key) const {
    return (key * 0x9E3779B1u) >> (32 - kBucketBits);
  }
  static constexpr int kBucketBits = 16;

  FingerIndexOptions options_;
  bool options_valid_ = false;
  int bits_per_cylinder_ = 0;
  // ranks_[(function * r + j) * bits_per_cylinder_ + bit]: the bit's rank in
  // that permutation, 0xFFFF for bits outside the inner disc.
  std::vector<std::uint16_t> ranks_;
  // buckets_[function][bucket] lists the cylinders filed there.
  std::vector<std::vector<std::vector<Entry>>> buckets_;
  std::vector<PreparedFinger> fingers_;
  std::vector<std::uint64_t> identities_;
  std::vector<float> vote_weight_;  // 1 / sqrt(cylinder count)
  std::size_t position_counts_[11] = {};
  std::size_t entries_ = 0;

  std::size_t EligibleCount(FingerPosition position) const;
  std::vector<std::size_t> ShortlistImpl(const PreparedFinger& query, double penetration,
                                         std::size_t min_count, std::size_t* eligible) const;
};

}  // namespace abis::finger

#endif  // ABIS_FINGER_FINGER_INDEX_H_
