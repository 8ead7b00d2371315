// synthetic_gallery.h
//
// Deterministic synthetic face embeddings for tests and benchmarks, shaped
// like dlib's 128-d descriptors rather than uniform noise: a shared mean
// (embeddings are not centred), one centre per identity, and per-capture
// noise, so that mates lie ~0.3 apart and strangers ~0.75, with norms around
// 0.6-0.9. Any row can be generated on its own (hash-seeded), so galleries of
// 100M rows are generated in parallel without storing the centres.
//
// Thread safety: const methods are pure.

#ifndef ABIS_SEARCH_SYNTHETIC_GALLERY_H_
#define ABIS_SEARCH_SYNTHETIC_GALLERY_H_

#include <cstdint>
#include <span>
#include <vector>

namespace abis::search {

struct SyntheticGalleryOptions {
  int dims = 128;
  std::uint64_t seed = 1;
  int references_per_identity = 2;  // Rows i*r .. i*r+r-1 belong to identity i.
  double mean_norm = 0.45;          // Shared offset of every embedding.
  double identity_norm = 0.5;       // Spread of identity centres.
  double noise_norm = 0.22;         // Spread of captures around their centre.
};

class SyntheticGallery {
 public:
  explicit SyntheticGallery(const SyntheticGalleryOptions& options);

  std::int64_t IdentityOfRow(std::uint64_t row) const {
    return static_cast<std::int64_t>(row / options_.references_per_identity);
  }
  // Gallery row `row` (identity IdentityOfRow(row)).
  void Row(std::uint64_t row, std::span<float> out) const;
  // A fresh capture of `identity` (capture number `capture` >= 0 never
  // collides with gallery rows); identities beyond the gallery are strangers.
  void Probe(std::int64_t identity, std::uint64_t capture, std::span<float> out) const;
  int dims() const { return options_.dims; }

 private:
  void Sample(std::int64_t identity, std::uint64_t noise_seed, std::span<float> out) const;

  SyntheticGalleryOptions options_;
  std::vector<float> mean_;
};

}  // namespace abis::search

#endif  // ABIS_SEARCH_SYNTHETIC_GALLERY_H_
