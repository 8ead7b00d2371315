#include "cli/labelled_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace abis::cli {
namespace fs = std::filesystem;

bool NaturalLess(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(static_cast<unsigned char>(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(static_cast<unsigned char>(b[j_end]))) ++j_end;
      std::string_view run_a(a.data() + i, i_end - i), run_b(b.data() + j, j_end - j);
      while (run_a.size() > 1 && run_a.front() == '0') run_a.remove_prefix(1);
      while (run_b.size() > 1 && run_b.front() == '0') run_b.remove_prefix(1);
      if (run_a.size() != run_b.size()) return run_a.size() < run_b.size();
      if (run_a != run_b) return run_a < run_b;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

Result<std::vector<LabelledImage>> ListLabelledFolder(const std::string& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) return NotFoundError("no such folder: " + root);
  std::vector<LabelledImage> images;
  for (const fs::directory_entry& identity_dir : fs::directory_iterator(root, error)) {
    if (!identity_dir.is_directory()) continue;
    std::string identity = identity_dir.path().filename().string();
    for (const fs::directory_entry& file : fs::directory_iterator(identity_dir.path(), error)) {
      if (!file.is_regular_file()) continue;
      std::string ext = file.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") continue;
      std::string name = file.path().filename().string();
      images.push_back({identity, file.path().string(), identity + "/" + name});
    }
  }
  if (error) return UnavailableError("cannot list " + root + ": " + error.message());
  if (images.empty()) {
    return InvalidArgumentError("no images found in " + root +
                                " (expected <identity>/<image>.jpg|png)");
  }
  std::sort(images.begin(), images.end(), [](const LabelledImage& a, const LabelledImage& b) {
    if (a.identity != b.identity) return NaturalLess(a.identity, b.identity);
    return NaturalLess(a.relative_path, b.relative_path);
  });
  return images;
}

}  // namespace abis::cli
