#include "search/exact_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "search/face_scoring.h"

namespace abis::search {

Status ExactFaceIndex::Add(std::int64_t reference_id, const std::string& identity,
                           std::span<const float> features) {
  if (static_cast<int>(features.size()) != dimensions_) {
    return InvalidArgumentError("embedding has " + std::to_string(features.size()) +
                                " dimensions; index expects " + std::to_string(dimensions_));
  }
  if (!std::all_of(features.begin(), features.end(), [](float v) { return std::isfinite(v); })) {
    return InvalidArgumentError("embedding contains a non-finite value");
  }
  auto it = std::lower_bound(
      identity_lookup_.begin(), identity_lookup_.end(), identity,
      [](const auto& entry, const std::string& name) { return entry.first < name; });
  std::uint32_t ordinal;
  if (it != identity_lookup_.end() && it->first == identity) {
    ordinal = it->second;
  } else {
    ordinal = static_cast<std::uint32_t>(identities_.size());
    identities_.push_back(identity);
    identity_lookup_.insert(it, {identity, ordinal});
  }
  rows_.insert(rows_.end(), features.begin(), features.end());
  reference_ids_.push_back(reference_id);
  identity_of_row_.push_back(ordinal);
  return Status::Ok();
}

Result<std::vector<IndexHit>> ExactFaceIndex::Search(std::span<const float> probe,
                                                     int max_candidates, double min_score) const {
  if (static_cast<int>(probe.size()) != dimensions_) {
    return InvalidArgumentError("probe has " + std::to_string(probe.size()) +
                                " dimensions; index expects " + std::to_string(dimensions_));
  }
  if (max_candidates <= 0) return InvalidArgumentError("max_candidates must be positive");
  // Best squared distance and its row, per identity.
  std::vector<float> best(identities_.size(), std::numeric_limits<float>::infinity());
  std::vector<std::size_t> best_row(identities_.size(), 0);
  const std::size_t dims = static_cast<std::size_t>(dimensions_);
  for (std::size_t row = 0; row < reference_ids_.size(); ++row) {
    float d2 = SquaredL2(probe, std::span<const float>(&rows_[row * dims], dims));
    std::uint32_t ordinal = identity_of_row_[row];
    if (d2 < best[ordinal]) {
      best[ordinal] = d2;
      best_row[ordinal] = row;
    }
  }
  std::vector<std::uint32_t> order(identities_.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto closer = [&](std::uint32_t a, std::uint32_t b) {
    if (best[a] != best[b]) return best[a] < best[b];
    return identities_[a] < identities_[b];
  };
  std::size_t keep = std::min<std::size_t>(order.size(), static_cast<std::size_t>(max_candidates));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    closer);
  std::vector<IndexHit> hits;
  for (std::size_t i = 0; i < keep; ++i) {
    std::uint32_t ordinal = order[i];
    double distance = std::sqrt(static_cast<double>(best[ordinal]));
    double score = FaceScoreFromDistance(distance);
    if (score < min_score) break;
    hits.push_back({identities_[ordinal], reference_ids_[best_row[ordinal]], score, distance});
  }
  return hits;
}

}  // namespace abis::search
