// gallery.h
//
// A gallery is a named reference database with its own legal basis and
// retention (docs/architecture.md). Searches always name their gallery:
// there is no implicit "everything".

#ifndef ABIS_GALLERY_H_
#define ABIS_GALLERY_H_

#include <cstdint>
#include <string>

namespace abis {

struct GalleryInfo {
  std::string name;
  std::string created_at;  // UTC ISO-8601.
  std::int64_t identity_count = 0;
  std::int64_t reference_count = 0;  // All modalities.
};

}  // namespace abis

#endif  // ABIS_GALLERY_H_
