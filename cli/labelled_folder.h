// labelled_folder.h
//
// A folder laid out as <identity>/<images>, the layout of bulk enrolment
// and of evaluation sets. Files are ordered by identity, then naturally by
// name (2.png before 10.png), so "the first image" is well defined.

#ifndef ABIS_CLI_LABELLED_FOLDER_H_
#define ABIS_CLI_LABELLED_FOLDER_H_

#include <string>
#include <vector>

#include "abis/status.h"

namespace abis::cli {

struct LabelledImage {
  std::string identity;
  std::string path;
  std::string relative_path;  // "<identity>/<file>".
};

// Image files (.jpg, .jpeg, .png, any case) one level below `root`.
// NotFound if `root` is missing, InvalidArgument if it holds no images.
Result<std::vector<LabelledImage>> ListLabelledFolder(const std::string& root);

// Natural order: digit runs compare by value.
bool NaturalLess(const std::string& a, const std::string& b);

}  // namespace abis::cli

#endif  // ABIS_CLI_LABELLED_FOLDER_H_
