#include "engine/face_gallery.h"

#include <algorithm>

#include "search/face_scoring.h"

namespace abis::engine_internal {

Result<std::unique_ptr<FaceGallery>> FaceGallery::Create(int dimensions, int threads) {
  search::FaceSearchOptions options;
  options.dimensions = dimensions;
  options.threads = threads;
  ABIS_ASSIGN_OR_RETURN(auto index, search::FaceSearchIndex::Open(options));
  return std::unique_ptr<FaceGallery>(new FaceGallery(std::move(index)));
}

Status FaceGallery::Add(std::int64_t reference_id, const std::string& identity,
                        std::span<const float> features) {
  auto [it, inserted] = numbers_.try_emplace(identity, static_cast<std::int64_t>(names_.size()));
  if (inserted) names_.push_back(identity);
  Status added = index_->Add(reference_id, it->second, features);
  if (!added.ok()) return added;
  ++live_references_[it->second];
  return Status::Ok();
}

Status FaceGallery::DeleteIdentity(const std::string& identity) {
  auto it = numbers_.find(identity);
  if (it == numbers_.end() || live_references_.count(it->second) == 0) {
    return NotFoundError("identity '" + identity + "' has no face reference in this gallery");
  }
  ABIS_RETURN_IF_ERROR(index_->DeleteIdentity(it->second));
  live_references_.erase(it->second);
  return Status::Ok();
}

Result<std::vector<search::IndexHit>> FaceGallery::Search(std::span<const float> probe,
                                                          int max_candidates,
                                                          double min_score) const {
  if (max_candidates <= 0) return InvalidArgumentError("max_candidates must be positive");
  if (index_->size() == 0) return std::vector<search::IndexHit>{};
  search::SearchRequest request;
  request.k = std::min(max_candidates, search::FaceSearchIndex::kMaxK);
  request.one_per_identity = true;
  // A hair wider than the floor so rounding between the two scales drops
  // nothing; the score check below is the exact cut.
  if (min_score > 0) request.max_distance = search::FaceDistanceFromScore(min_score) * (1 + 1e-9);
  ABIS_ASSIGN_OR_RETURN(auto found, index_->Search(probe, request));
  std::vector<search::IndexHit> hits;
  hits.reserve(found.size());
  for (const search::SearchHit& hit : found) {
    // The distance cut-off is exact in distance; the score floor is the
    // caller's contract, so check it in score too.
    if (hit.score < min_score) continue;
    hits.push_back({names_[static_cast<std::size_t>(hit.identity_id)], hit.reference_id, hit.score,
                    hit.distance});
  }
  return hits;
}

}  // namespace abis::engine_internal
