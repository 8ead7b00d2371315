#include "search/segment.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search/crc32c.h"

namespace abis::search {
namespace {

constexpr char kMagic[8] = {'A', 'B', 'I', 'S', 'F', 'S', 'E', 'G'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 4096;
constexpr std::size_t kAlign = 4096;
constexpr int kColumns = 7;
enum Column { kCodes, kScale, kNorm2, kResidual, kReferenceIds, kIdentityIds, kVectors };

std::string ErrnoText() { return std::strerror(errno); }

std::size_t AlignUp(std::size_t value) { return (value + kAlign - 1) / kAlign * kAlign; }

struct Layout {
  std::size_t offsets[kColumns];
  std::size_t sizes[kColumns];
  std::size_t file_size;
};

Layout ComputeLayout(int dims, std::size_t rows) {
  Layout layout{};
  std::size_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  layout.sizes[kCodes] = blocks * BlockBytes(dims);
  layout.sizes[kScale] = layout.sizes[kNorm2] = layout.sizes[kResidual] = rows * sizeof(float);
  layout.sizes[kReferenceIds] = layout.sizes[kIdentityIds] = rows * sizeof(std::int64_t);
  layout.sizes[kVectors] = rows * static_cast<std::size_t>(dims) * sizeof(float);
  std::size_t cursor = kHeaderBytes;
  for (int c = 0; c < kColumns; ++c) {
    layout.offsets[c] = cursor;
    cursor = AlignUp(cursor + layout.sizes[c]);
  }
  layout.file_size = cursor;
  return layout;
}

template <typename T>
void Put(std::uint8_t* header, std::size_t at, T value) {
  std::memcpy(header + at, &value, sizeof(T));
}
template <typename T>
T Get(const std::uint8_t* header, std::size_t at) {
  T value;
  std::memcpy(&value, header + at, sizeof(T));
  return value;
}

// Buffered, checksummed writer of one column at its file offset.
class ColumnWriter {
 public:
  ColumnWriter(int fd, std::size_t offset) : fd_(fd), cursor_(offset) { buffer_.reserve(kLimit); }
  Status Append(const void* data, std::size_t size, std::size_t* written) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    if (buffer_.size() >= kLimit) return Flush(written);
    return Status::Ok();
  }
  Status Flush(std::size_t* written) {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t got = ::pwrite(fd_, buffer_.data() + done, buffer_.size() - done,
                             static_cast<off_t>(cursor_ + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return UnavailableError("cannot write segment: " + ErrnoText());
      }
      done += static_cast<std::size_t>(got);
    }
    crc_ = Crc32c(crc_, buffer_.data(), buffer_.size());
    cursor_ += buffer_.size();
    *written += buffer_.size();
    buffer_.clear();
    return Status::Ok();
  }
  std::uint32_t crc() const { return crc_; }

 private:
  static constexpr std::size_t kLimit = 1u << 20;
  int fd_;
  std::size_t cursor_;
  std::uint32_t crc_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("cannot open folder " + dir + ": " + ErrnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return UnavailableError("cannot fsync folder " + dir + ": " + ErrnoText());
  return Status::Ok();
}

Status WriteSegmentFile(const std::string& path, int dims, std::size_t rows,
                        const std::function<Status(std::size_t, SegmentRow&)>& next_row,
                        const std::function<void(std::size_t)>& progress) {
  const std::string temp_path = path + ".tmp";
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return UnavailableError("cannot create " + temp_path + ": " + ErrnoText());
  auto fail = [&](Status status) {
    ::close(fd);
    ::unlink(temp_path.c_str());
    return status;
  };
  const Layout layout = ComputeLayout(dims, rows);
  std::vector<ColumnWriter> writers;
  for (int c = 0; c < kColumns; ++c) writers.emplace_back(fd, layout.offsets[c]);
  std::size_t written = 0, reported = 0;
  std::vector<std::uint8_t> block(BlockBytes(dims), 128);
  SegmentRow row;
  for (std::size_t i = 0; i < rows; ++i) {
    Status status = next_row(i, row);
    if (!status.ok()) return fail(status);
    if (static_cast<int>(row.vector.size()) != dims) {
      return fail(InvalidArgumentError("segment row has the wrong dimension"));
    }
    QuantizedVector quantized = Quantize(row.vector);
    StoreCodesInBlock(quantized.codes, static_cast<int>(i % kBlockRows), block.data());
    Status appended = Status::Ok();
    if (i % kBlockRows == kBlockRows - 1 || i + 1 == rows) {
      appended = writers[kCodes].Append(block.data(), block.size(), &written);
      std::fill(block.begin(), block.end(), 128);
    }
    for (Status s :
         {appended, writers[kScale].Append(&quantized.scale, 4, &written),
          writers[kNorm2].Append(&quantized.norm2, 4, &written),
          writers[kResidual].Append(&quantized.residual, 4, &written),
          writers[kReferenceIds].Append(&row.reference_id, 8, &written),
          writers[kIdentityIds].Append(&row.identity_id, 8, &written),
          writers[kVectors].Append(row.vector.data(), row.vector.size_bytes(), &written)}) {
      if (!s.ok()) return fail(s);
    }
    if (progress && written != reported) {
      reported = written;
      progress(written);
    }
  }
  for (ColumnWriter& writer : writers) {
    Status status = writer.Flush(&written);
    if (!status.ok()) return fail(status);
  }
  std::vector<std::uint8_t> header(kHeaderBytes, 0);
  std::memcpy(header.data(), kMagic, 8);
  Put<std::uint32_t>(header.data(), 8, kVersion);
  Put<std::uint32_t>(header.data(), 12, static_cast<std::uint32_t>(dims));
  Put<std::uint64_t>(header.data(), 16, rows);
  for (int c = 0; c < kColumns; ++c) {
    Put<std::uint64_t>(header.data(), 24 + 8 * c, layout.offsets[c]);
    Put<std::uint32_t>(header.data(), 80 + 4 * c, writers[c].crc());
  }
  Put<std::uint64_t>(header.data(), 112, layout.file_size);
  Put<std::uint32_t>(header.data(), 120, Crc32c(0, header.data(), 120));
  if (::pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
      ::ftruncate(fd, static_cast<off_t>(layout.file_size)) != 0) {
    return fail(UnavailableError("cannot write segment header: " + ErrnoText()));
  }
  if (progress) progress(written + header.size());
  if (::fsync(fd) != 0) return fail(UnavailableError("cannot fsync " + temp_path));
  if (::close(fd) != 0) {
    ::unlink(temp_path.c_str());
    return UnavailableError("cannot close " + temp_path + ": " + ErrnoText());
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    ::unlink(temp_path.c_str());
    return UnavailableError("cannot rename " + temp_path + ": " + ErrnoText());
  }
  std::string dir =
      path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  return SyncDirectory(dir.empty() ? "." : dir);
}

std::unique_ptr<Segment> Segment::CreateMutable(int dims) {
  std::unique_ptr<Segment> segment(new Segment(dims));
  segment->RefreshColumns();
  return segment;
}

Result<std::unique_ptr<Segment>> Segment::OpenFile(const std::string& path, int dims,
                                                   bool verify_checksums) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return DataLossError("segment file is missing: " + path);
    return UnavailableError("cannot open " + path + ": " + ErrnoText());
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return UnavailableError("cannot stat " + path + ": " + ErrnoText());
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size < kHeaderBytes) {
    ::close(fd);
    return DataLossError("segment file is truncated (" + std::to_string(size) + " bytes): " + path);
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return UnavailableError("cannot map " + path + ": " + ErrnoText());
  std::unique_ptr<Segment> segment(new Segment(dims));
  segment->map_ = map;
  segment->map_size_ = size;
  segment->path_ = path;
  const auto* header = static_cast<const std::uint8_t*>(map);
  if (std::memcmp(header, kMagic, 8) != 0) {
    return DataLossError("not an abis segment file (bad magic): " + path);
  }
  if (Get<std::uint32_t>(header, 120) != Crc32c(0, header, 120)) {
    return DataLossError("segment header checksum mismatch: " + path);
  }
  if (Get<std::uint32_t>(header, 8) != kVersion) {
    return FailedPreconditionError("segment format version " +
                                   std::to_string(Get<std::uint32_t>(header, 8)) +
                                   " is not supported: " + path);
  }
  if (static_cast<int>(Get<std::uint32_t>(header, 12)) != dims) {
    return FailedPreconditionError("segment has " + std::to_string(Get<std::uint32_t>(header, 12)) +
                                   " dimensions; gallery expects " + std::to_string(dims) + ": " +
                                   path);
  }
  const std::size_t rows = Get<std::uint64_t>(header, 16);
  const Layout layout = ComputeLayout(dims, rows);
  if (Get<std::uint64_t>(header, 112) != layout.file_size || size != layout.file_size) {
    return DataLossError("segment file size " + std::to_string(size) + " does not match its " +
                         std::to_string(rows) + " rows (truncated?): " + path);
  }
  for (int c = 0; c < kColumns; ++c) {
    if (Get<std::uint64_t>(header, 24 + 8 * c) != layout.offsets[c]) {
      return DataLossError("segment column table is inconsistent: " + path);
    }
    segment->column_offsets_[c] = layout.offsets[c];
    segment->column_sizes_[c] = layout.sizes[c];
    segment->column_crcs_[c] = Get<std::uint32_t>(header, 80 + 4 * c);
  }
  const auto* base = static_cast<const std::uint8_t*>(map);
  SegmentColumns& columns = segment->columns_;
  columns.rows = rows;
  columns.codes = base + layout.offsets[kCodes];
  columns.scale = reinterpret_cast<const float*>(base + layout.offsets[kScale]);
  columns.norm2 = reinterpret_cast<const float*>(base + layout.offsets[kNorm2]);
  columns.residual = reinterpret_cast<const float*>(base + layout.offsets[kResidual]);
  columns.reference_ids =
      reinterpret_cast<const std::int64_t*>(base + layout.offsets[kReferenceIds]);
  columns.identity_ids = reinterpret_cast<const std::int64_t*>(base + layout.offsets[kIdentityIds]);
  columns.vectors = reinterpret_cast<const float*>(base + layout.offsets[kVectors]);
  if (layout.sizes[kVectors] > 0) {
    ::madvise(const_cast<std::uint8_t*>(base) + layout.offsets[kVectors], layout.sizes[kVectors],
              MADV_RANDOM);
  }
  segment->deleted_.assign((rows + 63) / 64, 0);
  if (verify_checksums) {
    Status verified = segment->VerifyChecksums();
    if (!verified.ok()) return verified;
  }
  return segment;
}

Segment::~Segment() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

Status Segment::VerifyChecksums() const {
  if (map_ == nullptr) return Status::Ok();
  static const char* kNames[kColumns] = {"codes",         "scale",        "norm2",  "residual",
                                         "reference ids", "identity ids", "vectors"};
  const auto* base = static_cast<const std::uint8_t*>(map_);
  for (int c = 0; c < kColumns; ++c) {
    if (Crc32c(0, base + column_offsets_[c], column_sizes_[c]) != column_crcs_[c]) {
      return DataLossError(std::string("segment ") + kNames[c] + " checksum mismatch: " + path_);
    }
  }
  return Status::Ok();
}

void Segment::Append(std::int64_t reference_id, std::int64_t identity_id,
                     std::span<const float> vector) {
  const std::size_t row = columns_.rows;
  if (row % kBlockRows == 0) codes_.resize(codes_.size() + BlockBytes(dims_), 128);
  QuantizedVector quantized = Quantize(vector);
  StoreCodesInBlock(quantized.codes, static_cast<int>(row % kBlockRows),
                    codes_.data() + (row / kBlockRows) * BlockBytes(dims_));
  scale_.push_back(quantized.scale);
  norm2_.push_back(quantized.norm2);
  residual_.push_back(quantized.residual);
  reference_ids_.push_back(reference_id);
  identity_ids_.push_back(identity_id);
  vectors_.insert(vectors_.end(), vector.begin(), vector.end());
  if (row % 64 == 0) deleted_.push_back(0);
  columns_.rows = row + 1;
  RefreshColumns();
}

void Segment::RefreshColumns() {
  columns_.codes = codes_.data();
  columns_.scale = scale_.data();
  columns_.norm2 = norm2_.data();
  columns_.residual = residual_.data();
  columns_.reference_ids = reference_ids_.data();
  columns_.identity_ids = identity_ids_.data();
  columns_.vectors = vectors_.data();
}

bool Segment::MarkDeleted(std::size_t row) {
  if (IsDeleted(row)) return false;
  deleted_[row >> 6] |= std::uint64_t{1} << (row & 63);
  ++deleted_count_;
  return true;
}

std::vector<std::uint64_t> Segment::DeletedRows() const {
  std::vector<std::uint64_t> rows;
  for (std::size_t row = 0; row < columns_.rows; ++row) {
    if (IsDeleted(row)) rows.push_back(row);
  }
  return rows;
}

}  // namespace abis::search
