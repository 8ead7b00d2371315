// face_gallery.h
//
// FaceGallery: the engine's view of one gallery's face references, kept in a
// search::FaceSearchIndex (int8 first pass, exact re-rank: the returned
// top-k is exactly the float top-k). The index keys identities by number;
// this class maps them to the store's external identity names and keeps the
// count of identities with a live reference (the gallery size that the
// expected-false-candidate figures use).
//
// Thread safety: as FaceSearchIndex for Search/FindDuplicates; Add and
// DeleteIdentity need external serialisation (the engine is called under
// one lock).
#ifndef ABIS_ENGINE_FACE_GALLERY_H_
#define ABIS_ENGINE_FACE_GALLERY_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "abis/status.h"

#include "search/exact_index.h"
#include "search/face_search_index.h"

namespace abis::engine_internal {

class FaceGallery {
 public:
  // A memory-only index of `dimensions`-d vectors; `threads` as
  // FaceSearchOptions (0: every hardware thread).
  static Result<std::unique_ptr<FaceGallery>> Create(int dimensions, int threads = 0);

  // InvalidArgument on a wrong length or a non-finite value.
  Status Add(std::int64_t reference_id, const std::string& identity,
             std::span<const float> features);

  // NotFound when the identity has no live reference here.
  Status DeleteIdentity(const std::string& identity);

  // Up to `max_candidates` identities (best reference each), highest score
  // first, only those with score >= min_score. Exact.
  Result<std::vector<search::IndexHit>> Search(std::span<const float> probe, int max_candidates,
                                               double min_score = 0.0) const;

  std::size_t size() const { return index_->size(); }
  std::size_t identity_count() const { return live_references_.size(); }

 private:
  explicit FaceGallery(std::unique_ptr<search::FaceSearchIndex> index) : index_(std::move(index)) {}

  std::unique_ptr<search::FaceSearchIndex> index_;
  std::vector<std::string> names_;                                  // Identity number -> name.
  std::unordered_map<std::string, std::int64_t> numbers_;           // Name -> identity number.
  std::unordered_map<std::int64_t, std::int64_t> live_references_;  // Number -> live rows.
};

}  // namespace abis::engine_internal

#endif  // ABIS_ENGINE_FACE_GALLERY_H_
