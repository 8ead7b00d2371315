// face_search_index.h
//
// FaceSearchIndex: exact 1:N search over large galleries of embeddings (any
// dimension), built for one machine: a compressed first pass over int8 codes
// (SIMD, all cores), then an exact re-rank of the best few hundred rows
// against the float32 vectors. See docs/search.md for the design.
//
// Exactness is the contract of SearchMode::kExact (the default): the result
// is exactly the top-k by ExactSquaredDistance (double precision), ties
// broken by identity id (then reference id). The first pass computes a lower
// bound for every row; rows are re-ranked in increasing bound order until the
// k-th exact distance is below the bound of every row not re-ranked (if the
// first-pass shortlist runs out first, a second pass collects every row whose
// bound is <= the k-th distance). SearchMode::kApproximate re-ranks only the
// shortlist and gives no guarantee.
//
// Storage: an in-memory mutable segment takes Add(); Flush() seals it into an
// immutable memory-mapped file segment (segment.h) and records the segment
// list and the tombstones of file segments in MANIFEST (written to a temp
// file, fsynced, renamed). Only what a Flush() or Compact() wrote survives a
// restart: the caller's store is the source of truth and re-adds rows added
// after its last Flush(). Open() ignores leftovers of a write that crashed
// (temp files, segments the manifest does not list), so the gallery opens
// with its previous contents.
//
// Thread safety: every method may be called from any thread. Searches run
// concurrently with each other (shared lock); Add/Delete/Flush/Compact are
// serialised among themselves and hold the exclusive lock only for the short
// in-memory update, so searches see each change atomically.

#ifndef ABIS_SEARCH_FACE_SEARCH_INDEX_H_
#define ABIS_SEARCH_FACE_SEARCH_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "abis/status.h"

#include "search/int8_kernels.h"
#include "search/segment.h"
#include "search/thread_pool.h"

namespace abis::search {

struct FaceSearchOptions {
  int dimensions = 128;
  int threads = 0;        // 0: one per hardware thread; 1: single-thread mode.
  std::string directory;  // Empty: memory only (Flush/Compact unavailable).
  // Check every column CRC of every segment at Open() (reads the whole
  // gallery once). Off: only headers and sizes are checked at Open();
  // VerifyChecksums() checks the rest on demand.
  bool verify_checksums = true;
  std::optional<KernelKind> kernel;  // Default: the best this CPU runs.
  int shortlist = 256;               // First-pass rows kept per worker and query.
  // Test hook: called with the bytes written so far while a segment file is
  // written (the crash tests kill the process from it).
  std::function<void(std::size_t)> write_progress;
};

enum class SearchMode { kExact, kApproximate };

// Rows a search may return; both sets (when given) must allow a row. The
// predicate is applied in the first pass, before the re-rank, so the top-k is
// the exact top-k among allowed rows.
struct SearchFilter {
  const std::unordered_set<std::int64_t>* allowed_references = nullptr;
  const std::unordered_set<std::int64_t>* allowed_identities = nullptr;
  bool Allows(std::int64_t reference_id, std::int64_t identity_id) const {
    return (allowed_references == nullptr || allowed_references->count(reference_id) > 0) &&
           (allowed_identities == nullptr || allowed_identities->count(identity_id) > 0);
  }
};

struct SearchRequest {
  int k = 10;                    // 1..kMaxK.
  bool one_per_identity = true;  // Best reference per identity (else per row).
  SearchMode mode = SearchMode::kExact;
  const SearchFilter* filter = nullptr;
  double max_distance = std::numeric_limits<double>::infinity();  // Drop hits beyond.
};

struct SearchHit {
  std::int64_t identity_id = 0;
  std::int64_t reference_id = 0;
  double distance = 0;  // Euclidean.
  double score = 0;     // FaceScoreFromDistance(distance).
};

struct SearchStats {
  std::size_t reranked = 0;  // Rows whose exact distance was computed.
  int passes = 0;            // First-pass scans (1 unless the shortlist ran out).
};

class FaceSearchIndex {
 public:
  static constexpr int kMaxK = 1000;

  // Opens (or creates) the gallery in options.directory. DataLoss when a
  // listed segment or the manifest is damaged; FailedPrecondition when the
  // folder is held by another open index or has another dimension.
  static Result<std::unique_ptr<FaceSearchIndex>> Open(const FaceSearchOptions& options);
  ~FaceSearchIndex();

  // InvalidArgument on a wrong length or a non-finite value. Reference ids
  // must be unique (the caller's store guarantees it; not checked).
  Status Add(std::int64_t reference_id, std::int64_t identity_id, std::span<const float> vector);
  // NotFound when no live row has the id.
  Status Delete(std::int64_t reference_id);
  Status DeleteIdentity(std::int64_t identity_id);

  // Nearest identities (or rows), closest first. InvalidArgument on a wrong
  // length, a non-finite value or k outside 1..kMaxK. Empty gallery: empty.
  Result<std::vector<SearchHit>> Search(std::span<const float> query, const SearchRequest& request,
                                        SearchStats* stats = nullptr) const;
  // `queries` holds count x dims floats; one scan of the gallery serves all.
  Result<std::vector<std::vector<SearchHit>>> SearchBatch(std::span<const float> queries,
                                                          const SearchRequest& request) const;
  // Every live row within `max_distance` of `probe`, closest first (the
  // deduplication check before enrolment).
  Result<std::vector<SearchHit>> FindDuplicates(std::span<const float> probe, double max_distance,
                                                const SearchFilter* filter = nullptr) const;

  // Seals the mutable segment into a file segment and persists tombstones.
  Status Flush();
  // Rewrites every segment without its deleted rows into one file segment.
  Status Compact();
  // Writes `rows` rows straight into a new file segment (bulk load; streams,
  // so the gallery need not fit in memory) and adds it to the manifest.
  Status ImportSegment(std::size_t rows,
                       const std::function<Status(std::size_t, SegmentRow&)>& next_row);
  Status VerifyChecksums() const;

  std::size_t size() const;  // Live rows.
  std::size_t segment_count() const;
  int dimensions() const { return options_.dimensions; }
  int threads() const { return pool_.size(); }
  KernelKind kernel() const { return kernel_; }
  // Bytes the first pass reads per row (codes + lower-bound floats).
  std::size_t scan_bytes_per_row() const;

 private:
  struct Candidate {
    float bound;
    std::uint32_t segment;
    std::uint32_t row;
  };
  struct ScanResult {
    std::vector<Candidate> candidates;                     // Sorted by bound.
    float floor = std::numeric_limits<float>::infinity();  // Bound of every row left out.
  };
  class TopList;

  explicit FaceSearchIndex(const FaceSearchOptions& options);
  Status CheckVector(std::span<const float> vector, const char* what) const;
  // Tombstones every live row whose `column` holds `id` (Delete and
  // DeleteIdentity); NotFound naming `what` when there is none.
  Status DeleteLiveRows(const std::int64_t* SegmentColumns::*column, std::int64_t id,
                        const char* what);
  // Shortlist scan (capacity per worker) or range scan (every row with bound
  // <= range_limit) for several queries at once. Caller holds the lock.
  std::vector<ScanResult> Scan(const std::vector<PreparedQuery>& queries, std::size_t capacity,
                               const std::vector<float>& range_limits,
                               const SearchFilter* filter) const;
  std::vector<SearchHit> SearchLocked(std::span<const float> query, const PreparedQuery& prepared,
                                      const SearchRequest& request, ScanResult first,
                                      SearchStats* stats) const;
  SearchHit MakeHit(std::uint32_t segment, std::uint32_t row, double distance2) const;
  double ExactDistance2(std::span<const float> query, std::uint32_t segment,
                        std::uint32_t row) const;
  Status WriteManifest(const std::vector<const Segment*>& segments) const;
  std::string NextSegmentPath();
  Status ReplaceSegments(std::vector<std::unique_ptr<Segment>> sealed, bool drop_mutable);

  FaceSearchOptions options_;
  KernelKind kernel_;
  DotKernel dot_kernel_;
  mutable ThreadPool pool_;
  int lock_fd_ = -1;
  std::uint64_t next_segment_number_ = 1;

  std::mutex write_mutex_;                          // Serialises writers.
  mutable std::shared_mutex segments_mutex_;        // Readers vs. in-memory updates.
  std::vector<std::unique_ptr<Segment>> segments_;  // File segments, then the mutable one last.
};

}  // namespace abis::search

#endif  // ABIS_SEARCH_FACE_SEARCH_INDEX_H_
