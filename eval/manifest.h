// manifest.h
//
// An evaluation manifest: a CSV file that lists the images of an evaluation
// with their identity and, optionally, demographic group labels supplied by
// the evaluator. Labels are only ever read from the manifest; nothing in
// ABIS infers a demographic attribute from an image.
//
// Format (RFC 4180): a header row, then one row per image.
//   - Required columns `path` and `identity`, in any order.
//   - Every other column is a demographic column (e.g. `sex`, `age_band`);
//     its values are group labels, and an empty value means "unlabelled".
//   - Fields may be quoted with "..."; inside quotes, "" is a quote, and
//     commas and line breaks are literal. CRLF and LF line ends are both
//     accepted; blank lines are skipped; a UTF-8 byte-order mark is ignored.
//   - A relative `path` is relative to the folder holding the manifest.
// Group labels describe subjects, so every row of one identity must carry
// the same label in each demographic column.
//
// Thread safety: pure functions over plain values.

#ifndef ABIS_EVAL_MANIFEST_H_
#define ABIS_EVAL_MANIFEST_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "eval/metrics.h"

namespace abis::eval {

struct ManifestRow {
  int line = 0;             // 1-based line of the row in the file.
  std::string path;         // Resolved against the manifest's folder.
  std::string listed_path;  // As written in the manifest.
  std::string identity;
  std::vector<std::string> groups;  // Aligned with Manifest::demographic_columns.
};

struct Manifest {
  std::vector<std::string> demographic_columns;  // In header order.
  std::vector<ManifestRow> rows;                 // In file order.
};

// Parses manifest text. InvalidArgument, naming the line, for: no header,
// a missing `path` or `identity` column, an empty or repeated column name,
// a row whose field count differs from the header's, an empty path or
// identity, an unterminated quote or text after a closing quote, an
// identity with two labels in one column, or no rows at all.
Result<Manifest> ParseManifest(std::string_view text, const std::string& base_dir);

// Reads and parses a manifest file; errors carry the file name.
Result<Manifest> ReadManifest(const std::string& path);

// Subject -> group label for one demographic column; unlabelled subjects
// are left out. InvalidArgument when the column is not in the manifest.
Result<std::map<std::string, std::string>> GroupsOfSubjects(const Manifest& manifest,
                                                            const std::string& column);

// The "demographics" section of `abis eval` JSON: for each demographic
// column, ToJson(ComputeDemographicDifferentials(...)) at the one global
// `threshold`, keyed by column name, plus the threshold's provenance.
// An empty object when the manifest has no demographic columns. Errors as
// ComputeDemographicDifferentials.
Result<nlohmann::json> DemographicsJson(const Manifest& manifest, const ScoreSet& scores,
                                        double threshold, const std::string& threshold_source);

}  // namespace abis::eval

#endif  // ABIS_EVAL_MANIFEST_H_
