// segment.h
//
// Gallery segments: the rows a FaceSearchIndex scans. A segment holds, per
// row, int8 codes (blocked, see int8_kernels.h), three floats for the lower
// bound, the reference and identity ids, and the float32 vector for the
// exact re-rank, each as its own column.
//
// - A mutable segment lives in memory and grows by Append().
// - A file segment is immutable and memory-mapped (nothing is read at open
//   except the header; pages come in as the scan touches them, and the float
//   column is advised MADV_RANDOM because a query touches only the few
//   hundred re-ranked rows).
//
// File format (version 1, little-endian), `seg-NNNNNNNN.abseg`:
//   [0, 4096)   header: magic "ABISFSEG", u32 version, u32 dims, u64 rows,
//               u64 offset[7] and u32 crc32c[7] of the columns (codes, scale,
//               norm2, residual, reference ids, identity ids, vectors),
//               u64 file size, u32 crc32c of the header bytes before it.
//   columns     each 4096-aligned, in that order.
// Files are written to "<name>.tmp", fsynced, renamed, and the folder is
// fsynced; a file whose header or sizes disagree is a data_loss error.
//
// Tombstones (deleted rows) are a bitmap per segment kept in memory; the
// index persists them for file segments in its manifest.
//
// Thread safety: a segment's columns are read concurrently; Append() and
// tombstone changes need exclusive access (the index's lock).

#ifndef ABIS_SEARCH_SEGMENT_H_
#define ABIS_SEARCH_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "abis/status.h"

#include "search/int8_kernels.h"

namespace abis::search {

struct SegmentColumns {
  std::size_t rows = 0;
  const std::uint8_t* codes = nullptr;  // ceil(rows / 16) blocks.
  const float* scale = nullptr;
  const float* norm2 = nullptr;
  const float* residual = nullptr;
  const std::int64_t* reference_ids = nullptr;
  const std::int64_t* identity_ids = nullptr;
  const float* vectors = nullptr;  // rows x dims.
};

class Segment {
 public:
  static std::unique_ptr<Segment> CreateMutable(int dims);
  // DataLoss when the file is not a complete segment of `dims` dimensions;
  // `verify_checksums` also checks every column's CRC (reads the whole file).
  static Result<std::unique_ptr<Segment>> OpenFile(const std::string& path, int dims,
                                                   bool verify_checksums);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Mutable segments only. `vector` must have dims() finite values.
  void Append(std::int64_t reference_id, std::int64_t identity_id, std::span<const float> vector);

  // Re-reads every column and compares with the header's CRCs (file segments).
  Status VerifyChecksums() const;

  const SegmentColumns& columns() const { return columns_; }
  std::size_t rows() const { return columns_.rows; }
  int dims() const { return dims_; }
  bool is_mutable() const { return map_ == nullptr; }
  const std::string& path() const { return path_; }  // Empty for mutable.
  std::size_t mapped_bytes() const { return map_size_; }

  bool IsDeleted(std::size_t row) const { return (deleted_[row >> 6] >> (row & 63)) & 1u; }
  // Returns false when the row was already deleted.
  bool MarkDeleted(std::size_t row);
  std::size_t deleted_count() const { return deleted_count_; }
  std::vector<std::uint64_t> DeletedRows() const;

 private:
  explicit Segment(int dims) : dims_(dims) {}
  void RefreshColumns();

  int dims_;
  std::string path_;
  // Mutable storage.
  std::vector<std::uint8_t> codes_;
  std::vector<float> scale_, norm2_, residual_, vectors_;
  std::vector<std::int64_t> reference_ids_, identity_ids_;
  // File storage.
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::uint32_t column_crcs_[7] = {};
  std::size_t column_offsets_[7] = {};
  std::size_t column_sizes_[7] = {};

  SegmentColumns columns_;
  std::vector<std::uint64_t> deleted_;
  std::size_t deleted_count_ = 0;
};

// One row handed to the writer.
struct SegmentRow {
  std::int64_t reference_id = 0;
  std::int64_t identity_id = 0;
  std::span<const float> vector;
};

// Writes a segment file of exactly `rows` rows, streaming (memory use is a
// few MiB whatever the size). next_row(i, row) fills row i. `progress`, if
// set, is called with the bytes written so far after each buffer flush (the
// crash tests kill the process from it). Writes "<path>.tmp", fsyncs,
// renames to `path`, fsyncs the folder.
Status WriteSegmentFile(const std::string& path, int dims, std::size_t rows,
                        const std::function<Status(std::size_t, SegmentRow&)>& next_row,
                        const std::function<void(std::size_t)>& progress = nullptr);

// fsync of a folder, after a rename in it.
Status SyncDirectory(const std::string& dir);

}  // namespace abis::search

#endif  // ABIS_SEARCH_SEGMENT_H_
