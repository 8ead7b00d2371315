#include "eval/manifest.h"

#include <filesystem>
#include <set>

#include "core/file_io.h"
#include "eval/report.h"

namespace abis::eval {
namespace {

struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

Status LineError(int line, const std::string& message) {
  return InvalidArgumentError("manifest line " + std::to_string(line) + ": " + message);
}

// RFC 4180 records. A record that is one empty field is a blank line.
Result<std::vector<CsvRecord>> SplitCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> records;
  CsvRecord record{1, {}};
  std::string field;
  int line = 1;
  std::size_t i = 0;
  auto end_record = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
    record = CsvRecord{line, {}};
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && field.empty()) {
      int quote_line = line;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      if (!closed) return LineError(quote_line, "unterminated quoted field");
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return LineError(line, "text after a closing quote");
      }
      continue;
    }
    if (c == '"') return LineError(line, "quote inside an unquoted field");
    if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (c == '\r' || c == '\n') {
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      ++line;
      end_record();
    } else {
      field.push_back(c);
      ++i;
    }
  }
  if (!field.empty() || !record.fields.empty()) end_record();
  return records;
}

std::string Trim(const std::string& value) {
  std::size_t begin = value.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  std::size_t end = value.find_last_not_of(" \t");
  return value.substr(begin, end - begin + 1);
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view text, const std::string& base_dir) {
  ABIS_ASSIGN_OR_RETURN(std::vector<CsvRecord> records, SplitCsv(text));
  if (records.empty()) return InvalidArgumentError("manifest is empty (needs a header row)");

  const CsvRecord& header = records.front();
  int path_column = -1;
  int identity_column = -1;
  std::vector<int> group_columns;
  Manifest manifest;
  std::set<std::string> names;
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    std::string name = Trim(header.fields[c]);
    if (name.empty())
      return LineError(header.line, "column " + std::to_string(c + 1) + " has no name");
    if (!names.insert(name).second) return LineError(header.line, "column '" + name + "' repeats");
    if (name == "path") {
      path_column = static_cast<int>(c);
    } else if (name == "identity") {
      identity_column = static_cast<int>(c);
    } else {
      group_columns.push_back(static_cast<int>(c));
      manifest.demographic_columns.push_back(name);
    }
  }
  if (path_column < 0) return LineError(header.line, "missing column 'path'");
  if (identity_column < 0) return LineError(header.line, "missing column 'identity'");

  // identity -> label per demographic column, to check subjects are consistent.
  std::vector<std::map<std::string, std::string>> labels(group_columns.size());
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (record.fields.size() != header.fields.size()) {
      return LineError(record.line, "expected " + std::to_string(header.fields.size()) +
                                        " fields, found " + std::to_string(record.fields.size()));
    }
    ManifestRow row;
    row.line = record.line;
    row.listed_path = record.fields[path_column];
    row.identity = record.fields[identity_column];
    if (Trim(row.listed_path).empty()) return LineError(record.line, "empty path");
    if (Trim(row.identity).empty()) return LineError(record.line, "empty identity");
    std::filesystem::path listed(row.listed_path);
    row.path = listed.is_absolute() || base_dir.empty()
                   ? row.listed_path
                   : (std::filesystem::path(base_dir) / listed).string();
    for (std::size_t g = 0; g < group_columns.size(); ++g) {
      std::string label = Trim(record.fields[group_columns[g]]);
      auto [it, inserted] = labels[g].emplace(row.identity, label);
      if (!inserted && it->second != label) {
        return LineError(record.line, "identity '" + row.identity + "' has " +
                                          manifest.demographic_columns[g] + " '" + label +
                                          "' here but '" + it->second + "' earlier");
      }
      row.groups.push_back(std::move(label));
    }
    manifest.rows.push_back(std::move(row));
  }
  if (manifest.rows.empty()) return InvalidArgumentError("manifest lists no images");
  return manifest;
}

Result<Manifest> ReadManifest(const std::string& path) {
  ABIS_ASSIGN_OR_RETURN(auto bytes, ReadFileBytes(path, 64u << 20));
  std::string text(bytes.begin(), bytes.end());
  auto manifest = ParseManifest(text, std::filesystem::path(path).parent_path().string());
  if (!manifest.ok()) return manifest.status().WithContext(path);
  return manifest;
}

Result<std::map<std::string, std::string>> GroupsOfSubjects(const Manifest& manifest,
                                                            const std::string& column) {
  std::size_t index = 0;
  while (index < manifest.demographic_columns.size() &&
         manifest.demographic_columns[index] != column) {
    ++index;
  }
  if (index == manifest.demographic_columns.size()) {
    return InvalidArgumentError("manifest has no demographic column '" + column + "'");
  }
  std::map<std::string, std::string> groups;
  for (const ManifestRow& row : manifest.rows) {
    if (!row.groups[index].empty()) groups.emplace(row.identity, row.groups[index]);
  }
  return groups;
}

Result<nlohmann::json> DemographicsJson(const Manifest& manifest, const ScoreSet& scores,
                                        double threshold, const std::string& threshold_source) {
  nlohmann::json section = nlohmann::json::object();
  if (manifest.demographic_columns.empty()) return section;
  nlohmann::json columns = nlohmann::json::object();
  for (const std::string& column : manifest.demographic_columns) {
    ABIS_ASSIGN_OR_RETURN(auto groups, GroupsOfSubjects(manifest, column));
    ABIS_ASSIGN_OR_RETURN(DemographicDifferentials differentials,
                          ComputeDemographicDifferentials(scores, groups, threshold));
    columns[column] = ToJson(differentials);
  }
  section["threshold"] = threshold;
  section["threshold_source"] = threshold_source;
  section["labels"] = "supplied by the evaluator in the manifest; never inferred";
  section["columns"] = columns;
  return section;
}

}  // namespace abis::eval
