// exact_index.h
//
// ExactFaceIndex: the reference 1:N search. It scans every enrolled
// embedding (contiguous float32 rows) and returns the best-scoring
// identities. Each identity appears once in a candidate list, with the score
// of its best reference. Exact by construction: later compressed indexes are
// measured against it.
//
// Thread safety: Search() is const and may run concurrently with itself;
// Add() needs exclusive access.

#ifndef ABIS_SEARCH_EXACT_INDEX_H_
#define ABIS_SEARCH_EXACT_INDEX_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "abis/status.h"

namespace abis::search {

struct IndexHit {
  std::string identity;
  std::int64_t reference_id = 0;
  double score = 0;  // See face_scoring.h.
  double distance = 0;
};

class ExactFaceIndex {
 public:
  explicit ExactFaceIndex(int dimensions) : dimensions_(dimensions) {}

  // InvalidArgument when `features` has the wrong length or a non-finite value.
  Status Add(std::int64_t reference_id, const std::string& identity,
             std::span<const float> features);

  // Up to `max_candidates` identities ordered by descending score (ties by
  // identity name, for determinism); only hits with score >= min_score.
  // An empty index gives an empty list, not an error.
  Result<std::vector<IndexHit>> Search(std::span<const float> probe, int max_candidates,
                                       double min_score = 0.0) const;

  std::size_t size() const { return reference_ids_.size(); }
  std::size_t identity_count() const { return identities_.size(); }
  int dimensions() const { return dimensions_; }

 private:
  int dimensions_;
  std::vector<float> rows_;
  std::vector<std::int64_t> reference_ids_;
  std::vector<std::uint32_t> identity_of_row_;
  std::vector<std::string> identities_;
  std::vector<std::pair<std::string, std::uint32_t>> identity_lookup_;  // Sorted by name.
};

}  // namespace abis::search

#endif  // ABIS_SEARCH_EXACT_INDEX_H_
