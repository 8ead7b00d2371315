#include "search/face_search_index.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <unordered_set>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/file_io.h"
#include "search/crc32c.h"
#include "search/face_scoring.h"

namespace abis::search {
namespace {

constexpr char kManifestMagic[8] = {'A', 'B', 'I', 'S', 'M', 'A', 'N', 'I'};
constexpr std::uint32_t kManifestVersion = 1;
constexpr std::size_t kChunkBlocks = 64;  // 1,024 rows: codes stay in L2 across queries.
constexpr std::size_t kChunkRows = kChunkBlocks * kBlockRows;
constexpr std::size_t kTaskBlocks = 1024;  // 16,384 rows per pool task.
constexpr int kBatchQueries = 16;          // Queries sharing one gallery pass.
constexpr float kMaxMagnitude = 1e6f;      // Keeps squared norms far from float overflow.

const float kInfinity = std::numeric_limits<float>::infinity();

// A bound `bound` on distance excludes a row when bound > sqrt(kth_distance2).
bool Beyond(float bound, double kth_distance2) {
  return bound > 0 && static_cast<double>(bound) * bound > kth_distance2;
}

// Smallest float >= sqrt(distance2): a range limit that loses nothing.
float RangeLimit(double distance2) {
  double root = std::sqrt(distance2);
  float limit = static_cast<float>(root);
  if (static_cast<double>(limit) < root) limit = std::nextafter(limit, kInfinity);
  return limit;
}

std::string SegmentName(std::uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof(name), "seg-%08llu.abseg", static_cast<unsigned long long>(number));
  return name;
}

template <typename T>
void Append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
  template <typename T>
  bool Read(T& value) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool ReadString(std::size_t size, std::string& value) {
    if (bytes_.size() - at_ < size) return false;
    value.assign(reinterpret_cast<const char*>(bytes_.data() + at_), size);
    at_ += size;
    return true;
  }

 private:
  const std::vector<std::uint8_t>& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

// The k best so far, unique per key (identity, or reference in row mode),
// ordered by (distance, identity, reference).
class FaceSearchIndex::TopList {
 public:
  struct Entry {
    double distance2;
    std::int64_t identity;
    std::int64_t reference;
    std::uint32_t segment;
    std::uint32_t row;
  };

  TopList(std::size_t k, bool per_identity) : k_(k), per_identity_(per_identity) {}

  bool full() const { return entries_.size() == k_; }
  double kth() const { return entries_.back().distance2; }
  const std::vector<Entry>& entries() const { return entries_; }

  void Offer(const Entry& entry) {
    if (per_identity_) {
      for (Entry& existing : entries_) {
        if (existing.identity != entry.identity) continue;
        if (std::tie(entry.distance2, entry.reference) <
            std::tie(existing.distance2, existing.reference)) {
          existing = entry;
          Sort();
        }
        return;
      }
    }
    if (!full()) {
      entries_.push_back(entry);
    } else if (Less(entry, entries_.back())) {
      entries_.back() = entry;
    } else {
      return;
    }
    Sort();
  }

 private:
  static bool Less(const Entry& a, const Entry& b) {
    return std::tie(a.distance2, a.identity, a.reference) <
           std::tie(b.distance2, b.identity, b.reference);
  }
  void Sort() { std::sort(entries_.begin(), entries_.end(), Less); }

  std::size_t k_;
  bool per_identity_;
  std::vector<Entry> entries_;
};

FaceSearchIndex::FaceSearchIndex(const FaceSearchOptions& options)
    : options_(options),
      kernel_(options.kernel.value_or(BestKernel())),
      dot_kernel_(KernelFor(kernel_)),
      pool_(options.threads) {}

FaceSearchIndex::~FaceSearchIndex() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<FaceSearchIndex>> FaceSearchIndex::Open(const FaceSearchOptions& options) {
  if (options.dimensions <= 0 || options.dimensions > 4096) {
    return InvalidArgumentError("dimensions must be in 1..4096");
  }
  if (options.shortlist <= 0) return InvalidArgumentError("shortlist must be positive");
  if (options.kernel) {
    auto supported = SupportedKernels();
    if (std::find(supported.begin(), supported.end(), *options.kernel) == supported.end()) {
      return FailedPreconditionError("this CPU cannot run the " +
                                     std::string(KernelName(*options.kernel)) + " kernel");
    }
  }
  std::unique_ptr<FaceSearchIndex> index(new FaceSearchIndex(options));
  const std::string& dir = options.directory;
  if (!dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error)
      return UnavailableError("cannot create gallery folder " + dir + ": " + error.message());
    index->lock_fd_ = ::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (index->lock_fd_ < 0) return UnavailableError("cannot open " + dir + "/LOCK");
    if (::flock(index->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return FailedPreconditionError("gallery folder " + dir + " is open in another index");
    }
    std::unordered_set<std::string> listed;
    auto manifest = ReadFileBytes(dir + "/MANIFEST", std::size_t{1} << 34);
    if (!manifest.ok() && manifest.status().code() != StatusCode::kNotFound) {
      return manifest.status();
    }
    if (manifest.ok()) {
      const std::vector<std::uint8_t>& bytes = *manifest;
      auto damaged = [&](const std::string& why) {
        return DataLossError("gallery manifest " + dir + "/MANIFEST is damaged: " + why);
      };
      if (bytes.size() < 12 || std::memcmp(bytes.data(), kManifestMagic, 8) != 0) {
        return damaged("bad magic");
      }
      std::uint32_t stored_crc;
      std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
      if (stored_crc != Crc32c(0, bytes.data(), bytes.size() - 4)) return damaged("bad checksum");
      Reader reader(bytes);
      std::string magic;
      std::uint32_t version = 0, dims = 0, count = 0;
      if (!reader.ReadString(8, magic) || !reader.Read(version) || !reader.Read(dims) ||
          !reader.Read(index->next_segment_number_) || !reader.Read(count)) {
        return damaged("truncated");
      }
      if (version != kManifestVersion) return damaged("unknown version " + std::to_string(version));
      if (static_cast<int>(dims) != options.dimensions) {
        return FailedPreconditionError("gallery " + dir + " holds " + std::to_string(dims) +
                                       "-d vectors; asked for " +
                                       std::to_string(options.dimensions));
      }
      for (std::uint32_t s = 0; s < count; ++s) {
        std::uint32_t name_size = 0;
        std::string name;
        std::uint64_t rows = 0, deleted = 0;
        if (!reader.Read(name_size) || name_size > 255 || !reader.ReadString(name_size, name) ||
            !reader.Read(rows) || !reader.Read(deleted) || name.find('/') != std::string::npos) {
          return damaged("truncated segment entry");
        }
        ABIS_ASSIGN_OR_RETURN(auto segment, Segment::OpenFile(dir + "/" + name, options.dimensions,
                                                              options.verify_checksums));
        if (segment->rows() != rows) return damaged("row count of " + name + " differs");
        for (std::uint64_t d = 0; d < deleted; ++d) {
          std::uint64_t row = 0;
          if (!reader.Read(row) || row >= rows) return damaged("bad tombstone in " + name);
          segment->MarkDeleted(row);
        }
        listed.insert(name);
        index->segments_.push_back(std::move(segment));
      }
    }
    // Leftovers of an interrupted write: temp files and segments the
    // manifest never listed.
    if (DIR* folder = ::opendir(dir.c_str())) {
      std::vector<std::string> stale;
      while (dirent* entry = ::readdir(folder)) {
        std::string name = entry->d_name;
        bool temp = name.find(".tmp") != std::string::npos;
        bool segment = name.rfind("seg-", 0) == 0 && !listed.count(name);
        if (temp || segment) stale.push_back(name);
      }
      ::closedir(folder);
      for (const std::string& name : stale) ::unlink((dir + "/" + name).c_str());
    }
  }
  index->segments_.push_back(Segment::CreateMutable(options.dimensions));
  return index;
}

Status FaceSearchIndex::CheckVector(std::span<const float> vector, const char* what) const {
  if (static_cast<int>(vector.size()) != options_.dimensions) {
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(vector.size()) +
                                " dimensions; index expects " +
                                std::to_string(options_.dimensions));
  }
  for (float v : vector) {
    if (!std::isfinite(v))
      return InvalidArgumentError(std::string(what) + " has a non-finite value");
    if (std::fabs(v) > kMaxMagnitude) {
      return InvalidArgumentError(std::string(what) + " has a value beyond +-1e6");
    }
  }
  return Status::Ok();
}

Status FaceSearchIndex::Add(std::int64_t reference_id, std::int64_t identity_id,
                            std::span<const float> vector) {
  ABIS_RETURN_IF_ERROR(CheckVector(vector, "embedding"));
  std::lock_guard write_lock(write_mutex_);
  std::unique_lock lock(segments_mutex_);
  if (segments_.back()->rows() >= std::numeric_limits<std::uint32_t>::max() - 1) {
    return ResourceExhaustedError("mutable segment is full; Flush() first");
  }
  segments_.back()->Append(reference_id, identity_id, vector);
  return Status::Ok();
}

Status FaceSearchIndex::Delete(std::int64_t reference_id) {
  return DeleteLiveRows(&SegmentColumns::reference_ids, reference_id, "reference");
}

Status FaceSearchIndex::DeleteIdentity(std::int64_t identity_id) {
  return DeleteLiveRows(&SegmentColumns::identity_ids, identity_id, "identity");
}

Status FaceSearchIndex::DeleteLiveRows(const std::int64_t* SegmentColumns::*column, std::int64_t id,
                                       const char* what) {
  std::lock_guard write_lock(write_mutex_);
  std::vector<std::pair<std::size_t, std::size_t>> rows;
  {
    std::shared_lock lock(segments_mutex_);
    for (std::size_t s = 0; s < segments_.size(); ++s) {
      const SegmentColumns& columns = segments_[s]->columns();
      for (std::size_t row = 0; row < columns.rows; ++row) {
        if ((columns.*column)[row] == id && !segments_[s]->IsDeleted(row)) {
          rows.emplace_back(s, row);
        }
      }
    }
  }
  if (rows.empty()) return NotFoundError("no " + std::string(what) + " " + std::to_string(id));
  std::unique_lock lock(segments_mutex_);
  for (auto [s, row] : rows) segments_[s]->MarkDeleted(row);
  return Status::Ok();
}

std::vector<FaceSearchIndex::ScanResult> FaceSearchIndex::Scan(
    const std::vector<PreparedQuery>& queries, std::size_t capacity,
    const std::vector<float>& range_limits, const SearchFilter* filter) const {
  const std::size_t query_count = queries.size();
  const bool range = !range_limits.empty();
  const int groups = PaddedDims(options_.dimensions) / 4;
  const std::size_t block_bytes = BlockBytes(options_.dimensions);
  struct Task {
    std::uint32_t segment;
    std::size_t first_block, blocks;
  };
  std::vector<Task> tasks;
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    std::size_t blocks = (segments_[s]->rows() + kBlockRows - 1) / kBlockRows;
    for (std::size_t first = 0; first < blocks; first += kTaskBlocks) {
      tasks.push_back(
          {static_cast<std::uint32_t>(s), first, std::min(kTaskBlocks, blocks - first)});
    }
  }
  struct State {
    std::vector<Candidate> heap;  // Max-heap by bound (shortlist mode).
    bool excluded = false;        // Some row was left out on its bound.
  };
  const int workers = pool_.size();
  std::vector<std::vector<State>> states(static_cast<std::size_t>(workers),
                                         std::vector<State>(query_count));
  std::vector<const std::int32_t*> words(query_count);
  for (std::size_t q = 0; q < query_count; ++q) words[q] = queries[q].words.data();
  auto by_bound = [](const Candidate& a, const Candidate& b) { return a.bound < b.bound; };

  pool_.Run(tasks.size(), [&](std::size_t task_index, int worker) {
    thread_local std::vector<std::int32_t> sums;
    thread_local std::vector<float> bounds;
    thread_local std::vector<std::uint32_t> selected;
    sums.resize(query_count * kChunkRows);
    bounds.resize(kChunkRows);
    selected.resize(kChunkRows);
    const Task& task = tasks[task_index];
    const Segment& segment = *segments_[task.segment];
    const SegmentColumns& columns = segment.columns();
    for (std::size_t block = task.first_block; block < task.first_block + task.blocks;
         block += kChunkBlocks) {
      const std::size_t blocks = std::min(kChunkBlocks, task.first_block + task.blocks - block);
      const std::size_t first_row = block * kBlockRows;
      const std::size_t rows = std::min(blocks * kBlockRows, columns.rows - first_row);
      dot_kernel_(columns.codes + block * block_bytes, blocks, groups, words.data(),
                  static_cast<int>(query_count), sums.data(), kChunkRows);
      for (std::size_t q = 0; q < query_count; ++q) {
        LowerBounds(sums.data() + q * kChunkRows, columns.scale + first_row,
                    columns.norm2 + first_row, columns.residual + first_row, rows, queries[q],
                    bounds.data());
        State& state = states[static_cast<std::size_t>(worker)][q];
        float limit = range
                          ? range_limits[q]
                          : (state.heap.size() == capacity ? state.heap.front().bound : kInfinity);
        // Rows not selected have bound >= limit: left out (the limit only falls).
        const std::size_t count = SelectBelow(bounds.data(), rows, limit, range, selected.data());
        if (count < rows) state.excluded = true;
        for (std::size_t s = 0; s < count; ++s) {
          const std::size_t i = selected[s];
          const float bound = bounds[i];
          if (!range && !(bound < limit)) {
            state.excluded = true;
            continue;
          }
          const std::size_t row = first_row + i;
          if (segment.IsDeleted(row)) continue;
          if (filter != nullptr &&
              !filter->Allows(columns.reference_ids[row], columns.identity_ids[row])) {
            continue;
          }
          state.heap.push_back({bound, task.segment, static_cast<std::uint32_t>(row)});
          if (range) continue;
          std::push_heap(state.heap.begin(), state.heap.end(), by_bound);
          if (state.heap.size() > capacity) {
            std::pop_heap(state.heap.begin(), state.heap.end(), by_bound);
            state.heap.pop_back();
            state.excluded = true;
          }
          if (state.heap.size() == capacity) limit = state.heap.front().bound;
        }
      }
    }
  });

  std::vector<ScanResult> results(query_count);
  for (std::size_t q = 0; q < query_count; ++q) {
    ScanResult& result = results[q];
    for (auto& worker_states : states) {
      State& state = worker_states[q];
      if (!range && state.excluded) {
        // Every row this worker left out has a bound >= its final heap top.
        result.floor =
            std::min(result.floor, state.heap.empty() ? -kInfinity : state.heap.front().bound);
      }
      result.candidates.insert(result.candidates.end(), state.heap.begin(), state.heap.end());
    }
    if (range) result.floor = kInfinity;  // Caller knows the limit.
    std::sort(result.candidates.begin(), result.candidates.end(),
              [](const Candidate& a, const Candidate& b) {
                return std::tie(a.bound, a.segment, a.row) < std::tie(b.bound, b.segment, b.row);
              });
  }
  return results;
}

double FaceSearchIndex::ExactDistance2(std::span<const float> query, std::uint32_t segment,
                                       std::uint32_t row) const {
  const SegmentColumns& columns = segments_[segment]->columns();
  return ExactSquaredDistance(query.data(),
                              columns.vectors + static_cast<std::size_t>(row) * options_.dimensions,
                              options_.dimensions);
}

SearchHit FaceSearchIndex::MakeHit(std::uint32_t segment, std::uint32_t row,
                                   double distance2) const {
  const SegmentColumns& columns = segments_[segment]->columns();
  SearchHit hit;
  hit.identity_id = columns.identity_ids[row];
  hit.reference_id = columns.reference_ids[row];
  hit.distance = std::sqrt(distance2);
  hit.score = FaceScoreFromDistance(hit.distance);
  return hit;
}

std::vector<SearchHit> FaceSearchIndex::SearchLocked(std::span<const float> query,
                                                     const PreparedQuery& prepared,
                                                     const SearchRequest& request,
                                                     ScanResult current, SearchStats* stats) const {
  TopList top(static_cast<std::size_t>(request.k), request.one_per_identity);
  std::unordered_set<std::uint64_t> ranked;
  // Re-ranks candidates in bound order until the rest cannot enter the top.
  auto rerank = [&](const std::vector<Candidate>& candidates) {
    for (const Candidate& candidate : candidates) {
      if (top.full() && Beyond(candidate.bound, top.kth())) return;
      std::uint64_t key = (std::uint64_t{candidate.segment} << 32) | candidate.row;
      if (!ranked.insert(key).second) continue;
      const SegmentColumns& columns = segments_[candidate.segment]->columns();
      top.Offer({ExactDistance2(query, candidate.segment, candidate.row),
                 columns.identity_ids[candidate.row], columns.reference_ids[candidate.row],
                 candidate.segment, candidate.row});
    }
  };
  int passes = 1;
  std::size_t capacity = static_cast<std::size_t>(
      std::max(options_.shortlist, request.k * (request.one_per_identity ? 4 : 2)));
  while (true) {
    rerank(current.candidates);
    if (request.mode == SearchMode::kApproximate) break;
    // Proven when no row was left out, or every row left out is beyond the k-th.
    if (current.floor == kInfinity || (top.full() && Beyond(current.floor, top.kth()))) break;
    ++passes;
    if (top.full()) {
      // Second pass: every row whose bound does not exclude it.
      auto range = Scan({prepared}, 0, {RangeLimit(top.kth())}, request.filter);
      rerank(range[0].candidates);
      break;
    }
    // Fewer than k identities in the shortlist: widen it.
    capacity *= 4;
    current = std::move(Scan({prepared}, capacity, {}, request.filter)[0]);
  }
  if (stats != nullptr) {
    stats->reranked = ranked.size();
    stats->passes = passes;
  }
  std::vector<SearchHit> hits;
  for (const auto& entry : top.entries()) {
    SearchHit hit = MakeHit(entry.segment, entry.row, entry.distance2);
    if (hit.distance > request.max_distance) break;
    hits.push_back(hit);
  }
  return hits;
}

Result<std::vector<SearchHit>> FaceSearchIndex::Search(std::span<const float> query,
                                                       const SearchRequest& request,
                                                       SearchStats* stats) const {
  ABIS_RETURN_IF_ERROR(CheckVector(query, "query"));
  if (request.k < 1 || request.k > kMaxK) {
    return InvalidArgumentError("k must be in 1.." + std::to_string(kMaxK));
  }
  PreparedQuery prepared = PrepareQuery(query);
  std::shared_lock lock(segments_mutex_);
  std::size_t capacity = static_cast<std::size_t>(
      std::max(options_.shortlist, request.k * (request.one_per_identity ? 4 : 2)));
  auto first = Scan({prepared}, capacity, {}, request.filter);
  return SearchLocked(query, prepared, request, std::move(first[0]), stats);
}

Result<std::vector<std::vector<SearchHit>>> FaceSearchIndex::SearchBatch(
    std::span<const float> queries, const SearchRequest& request) const {
  const std::size_t dims = static_cast<std::size_t>(options_.dimensions);
  if (queries.size() % dims != 0) {
    return InvalidArgumentError("query batch is not a whole number of " + std::to_string(dims) +
                                "-d vectors");
  }
  if (request.k < 1 || request.k > kMaxK) {
    return InvalidArgumentError("k must be in 1.." + std::to_string(kMaxK));
  }
  const std::size_t count = queries.size() / dims;
  std::vector<PreparedQuery> prepared;
  for (std::size_t q = 0; q < count; ++q) {
    ABIS_RETURN_IF_ERROR(CheckVector(queries.subspan(q * dims, dims), "query"));
    prepared.push_back(PrepareQuery(queries.subspan(q * dims, dims)));
  }
  std::vector<std::vector<SearchHit>> results(count);
  std::size_t capacity = static_cast<std::size_t>(
      std::max(options_.shortlist, request.k * (request.one_per_identity ? 4 : 2)));
  std::shared_lock lock(segments_mutex_);
  for (std::size_t first = 0; first < count; first += kBatchQueries) {
    std::size_t group = std::min<std::size_t>(kBatchQueries, count - first);
    std::vector<PreparedQuery> batch(prepared.begin() + first, prepared.begin() + first + group);
    auto scans = Scan(batch, capacity, {}, request.filter);
    for (std::size_t q = 0; q < group; ++q) {
      results[first + q] = SearchLocked(queries.subspan((first + q) * dims, dims),
                                        prepared[first + q], request, std::move(scans[q]), nullptr);
    }
  }
  return results;
}

Result<std::vector<SearchHit>> FaceSearchIndex::FindDuplicates(std::span<const float> probe,
                                                               double max_distance,
                                                               const SearchFilter* filter) const {
  ABIS_RETURN_IF_ERROR(CheckVector(probe, "probe"));
  if (!(max_distance >= 0) || !std::isfinite(max_distance)) {
    return InvalidArgumentError("max_distance must be a finite non-negative number");
  }
  PreparedQuery prepared = PrepareQuery(probe);
  std::shared_lock lock(segments_mutex_);
  auto range = Scan({prepared}, 0, {RangeLimit(max_distance * max_distance)}, filter);
  std::vector<std::pair<double, SearchHit>> found;
  for (const Candidate& candidate : range[0].candidates) {
    double distance2 = ExactDistance2(probe, candidate.segment, candidate.row);
    SearchHit hit = MakeHit(candidate.segment, candidate.row, distance2);
    if (hit.distance <= max_distance) found.emplace_back(distance2, hit);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.identity_id, a.second.reference_id) <
           std::tie(b.first, b.second.identity_id, b.second.reference_id);
  });
  std::vector<SearchHit> hits;
  for (auto& [distance2, hit] : found) hits.push_back(hit);
  return hits;
}

Status FaceSearchIndex::WriteManifest(const std::vector<const Segment*>& segments) const {
  std::string bytes(kManifestMagic, 8);
  Append<std::uint32_t>(bytes, kManifestVersion);
  Append<std::uint32_t>(bytes, static_cast<std::uint32_t>(options_.dimensions));
  Append<std::uint64_t>(bytes, next_segment_number_);
  Append<std::uint32_t>(bytes, static_cast<std::uint32_t>(segments.size()));
  for (const Segment* segment : segments) {
    std::string name = std::filesystem::path(segment->path()).filename().string();
    Append<std::uint32_t>(bytes, static_cast<std::uint32_t>(name.size()));
    bytes += name;
    Append<std::uint64_t>(bytes, segment->rows());
    std::vector<std::uint64_t> deleted = segment->DeletedRows();
    Append<std::uint64_t>(bytes, deleted.size());
    for (std::uint64_t row : deleted) Append<std::uint64_t>(bytes, row);
  }
  Append<std::uint32_t>(bytes, Crc32c(0, bytes.data(), bytes.size()));
  ABIS_RETURN_IF_ERROR(WriteFileAtomically(options_.directory + "/MANIFEST", bytes));
  return SyncDirectory(options_.directory);
}

std::string FaceSearchIndex::NextSegmentPath() {
  return options_.directory + "/" + SegmentName(next_segment_number_++);
}

// Caller holds write_mutex_. Lists `sealed` (new file segments) after the
// kept file segments in the manifest, then swaps them in.
Status FaceSearchIndex::ReplaceSegments(std::vector<std::unique_ptr<Segment>> sealed,
                                        bool drop_mutable) {
  std::vector<const Segment*> listed;
  for (std::size_t s = 0; s + 1 < segments_.size(); ++s) listed.push_back(segments_[s].get());
  for (const auto& segment : sealed) listed.push_back(segment.get());
  Status written = WriteManifest(listed);
  if (!written.ok()) {
    for (const auto& segment : sealed) ::unlink(segment->path().c_str());
    return written;
  }
  std::unique_lock lock(segments_mutex_);
  std::unique_ptr<Segment> mutable_segment = std::move(segments_.back());
  segments_.pop_back();
  for (auto& segment : sealed) segments_.push_back(std::move(segment));
  segments_.push_back(drop_mutable ? Segment::CreateMutable(options_.dimensions)
                                   : std::move(mutable_segment));
  return Status::Ok();
}

Status FaceSearchIndex::Flush() {
  if (options_.directory.empty()) return FailedPreconditionError("memory-only index: no Flush");
  std::lock_guard write_lock(write_mutex_);
  const Segment& live = *segments_.back();  // Only writers change it; we are the writer.
  std::vector<std::size_t> rows;
  for (std::size_t row = 0; row < live.rows(); ++row) {
    if (!live.IsDeleted(row)) rows.push_back(row);
  }
  std::vector<std::unique_ptr<Segment>> sealed;
  if (!rows.empty()) {
    std::string path = NextSegmentPath();
    const int dims = options_.dimensions;
    ABIS_RETURN_IF_ERROR(WriteSegmentFile(
        path, dims, rows.size(),
        [&](std::size_t i, SegmentRow& row) {
          const SegmentColumns& columns = live.columns();
          row.reference_id = columns.reference_ids[rows[i]];
          row.identity_id = columns.identity_ids[rows[i]];
          row.vector = {columns.vectors + rows[i] * dims, static_cast<std::size_t>(dims)};
          return Status::Ok();
        },
        options_.write_progress));
    ABIS_ASSIGN_OR_RETURN(auto segment, Segment::OpenFile(path, dims, false));
    sealed.push_back(std::move(segment));
  }
  return ReplaceSegments(std::move(sealed), /*drop_mutable=*/true);
}

Status FaceSearchIndex::ImportSegment(
    std::size_t rows, const std::function<Status(std::size_t, SegmentRow&)>& next_row) {
  if (options_.directory.empty()) return FailedPreconditionError("memory-only index: no import");
  if (rows >= std::numeric_limits<std::uint32_t>::max()) {
    return InvalidArgumentError("a segment holds fewer than 2^32 rows; import in parts");
  }
  std::lock_guard write_lock(write_mutex_);
  std::string path = NextSegmentPath();
  ABIS_RETURN_IF_ERROR(WriteSegmentFile(
      path, options_.dimensions, rows,
      [&](std::size_t i, SegmentRow& row) {
        ABIS_RETURN_IF_ERROR(next_row(i, row));
        return CheckVector(row.vector, "imported row");
      },
      options_.write_progress));
  ABIS_ASSIGN_OR_RETURN(auto segment, Segment::OpenFile(path, options_.dimensions, false));
  std::vector<std::unique_ptr<Segment>> sealed;
  sealed.push_back(std::move(segment));
  return ReplaceSegments(std::move(sealed), /*drop_mutable=*/false);
}

Status FaceSearchIndex::Compact() {
  if (options_.directory.empty()) return FailedPreconditionError("memory-only index: no Compact");
  std::lock_guard write_lock(write_mutex_);
  std::vector<std::pair<std::uint32_t, std::size_t>> rows;
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    for (std::size_t row = 0; row < segments_[s]->rows(); ++row) {
      if (!segments_[s]->IsDeleted(row)) rows.emplace_back(static_cast<std::uint32_t>(s), row);
    }
  }
  const int dims = options_.dimensions;
  std::string path = NextSegmentPath();
  ABIS_RETURN_IF_ERROR(WriteSegmentFile(
      path, dims, rows.size(),
      [&](std::size_t i, SegmentRow& row) {
        const SegmentColumns& columns = segments_[rows[i].first]->columns();
        std::size_t r = rows[i].second;
        row.reference_id = columns.reference_ids[r];
        row.identity_id = columns.identity_ids[r];
        row.vector = {columns.vectors + r * dims, static_cast<std::size_t>(dims)};
        return Status::Ok();
      },
      options_.write_progress));
  ABIS_ASSIGN_OR_RETURN(auto compacted, Segment::OpenFile(path, dims, false));
  Status written = WriteManifest({compacted.get()});
  if (!written.ok()) {
    ::unlink(path.c_str());
    return written;
  }
  std::vector<std::unique_ptr<Segment>> old;
  {
    std::unique_lock lock(segments_mutex_);
    old.swap(segments_);
    segments_.push_back(std::move(compacted));
    segments_.push_back(Segment::CreateMutable(dims));
  }
  for (const auto& segment : old) {
    if (!segment->is_mutable()) ::unlink(segment->path().c_str());
  }
  return Status::Ok();
}

Status FaceSearchIndex::VerifyChecksums() const {
  std::shared_lock lock(segments_mutex_);
  for (const auto& segment : segments_) ABIS_RETURN_IF_ERROR(segment->VerifyChecksums());
  return Status::Ok();
}

std::size_t FaceSearchIndex::size() const {
  std::shared_lock lock(segments_mutex_);
  std::size_t live = 0;
  for (const auto& segment : segments_) live += segment->rows() - segment->deleted_count();
  return live;
}

std::size_t FaceSearchIndex::segment_count() const {
  std::shared_lock lock(segments_mutex_);
  return segments_.size();
}

std::size_t FaceSearchIndex::scan_bytes_per_row() const {
  return static_cast<std::size_t>(PaddedDims(options_.dimensions)) + 3 * sizeof(float);
}

}  // namespace abis::search
