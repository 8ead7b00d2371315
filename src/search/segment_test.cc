// Persistence of FaceSearchIndex galleries: flush, restart, compaction,
// crashes during a segment write, and damaged files.
#include <filesystem>
#include <fstream>
#include <random>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "search/face_search_index.h"
#include "search/synthetic_gallery.h"
#include "testing/scratch_dir.h"

namespace abis::search {
namespace {

constexpr int kDims = 48;

FaceSearchOptions Options(const std::string& dir, int threads = 2) {
  FaceSearchOptions options;
  options.dimensions = kDims;
  options.threads = threads;
  options.directory = dir;
  return options;
}

std::unique_ptr<FaceSearchIndex> MustOpen(const FaceSearchOptions& options) {
  auto index = FaceSearchIndex::Open(options);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return index.ok() ? std::move(index).value() : nullptr;
}

SyntheticGallery Gallery() {
  SyntheticGalleryOptions options;
  options.dims = kDims;
  options.seed = 3;
  return SyntheticGallery(options);
}

void AddRows(FaceSearchIndex& index, std::uint64_t first, std::uint64_t count) {
  SyntheticGallery gallery = Gallery();
  std::vector<float> vector(kDims);
  for (std::uint64_t row = first; row < first + count; ++row) {
    gallery.Row(row, vector);
    ASSERT_TRUE(index.Add(static_cast<std::int64_t>(row), gallery.IdentityOfRow(row), vector).ok());
  }
}

// Results of a fixed set of queries, for before/after comparisons.
std::vector<std::vector<std::pair<std::int64_t, double>>> Probe(const FaceSearchIndex& index) {
  SyntheticGallery gallery = Gallery();
  std::vector<std::vector<std::pair<std::int64_t, double>>> results;
  std::vector<float> query(kDims);
  for (int q = 0; q < 12; ++q) {
    gallery.Probe(q * 37 % 600, static_cast<std::uint64_t>(q), query);
    SearchRequest request;
    request.k = 8;
    auto hits = index.Search(query, request);
    EXPECT_TRUE(hits.ok());
    std::vector<std::pair<std::int64_t, double>> list;
    for (const SearchHit& hit : *hits) list.emplace_back(hit.reference_id, hit.distance);
    results.push_back(list);
  }
  return results;
}

std::string OnlySegmentFile(const std::string& dir) {
  std::string found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".abseg") found = entry.path().string();
  }
  return found;
}

TEST(GalleryPersistenceTest, RestartLoadsTheSameResults) {
  testing::ScratchDir scratch("search");
  std::vector<std::vector<std::pair<std::int64_t, double>>> before;
  {
    auto index = MustOpen(Options(scratch.path()));
    AddRows(*index, 0, 700);
    ASSERT_TRUE(index->Flush().ok());
    AddRows(*index, 700, 500);
    ASSERT_TRUE(index->Delete(5).ok());    // In a file segment: a persisted tombstone.
    ASSERT_TRUE(index->Delete(800).ok());  // In the mutable segment: dropped at seal.
    ASSERT_TRUE(index->Flush().ok());
    EXPECT_EQ(index->segment_count(), 3u);  // Two file segments + the empty mutable one.
    before = Probe(*index);
    // A second open of the same folder is refused while this one is open.
    EXPECT_EQ(FaceSearchIndex::Open(Options(scratch.path())).status().code(),
              StatusCode::kFailedPrecondition);
  }
  auto reopened = MustOpen(Options(scratch.path()));
  EXPECT_EQ(reopened->size(), 1198u);
  EXPECT_EQ(Probe(*reopened), before);
  // Compaction drops the deleted rows and keeps the results.
  ASSERT_TRUE(reopened->Compact().ok());
  EXPECT_EQ(reopened->segment_count(), 2u);
  EXPECT_EQ(Probe(*reopened), before);
  reopened.reset();
  auto compacted = MustOpen(Options(scratch.path()));
  EXPECT_EQ(compacted->size(), 1198u);
  EXPECT_EQ(Probe(*compacted), before);
  EXPECT_EQ(compacted->Delete(5).code(), StatusCode::kNotFound);
  int segment_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path())) {
    segment_files += entry.path().extension() == ".abseg";
  }
  EXPECT_EQ(segment_files, 1);
  // A wrong dimension is refused with a clear error.
  compacted.reset();
  FaceSearchOptions other = Options(scratch.path());
  other.dimensions = kDims + 1;
  EXPECT_EQ(FaceSearchIndex::Open(other).status().code(), StatusCode::kFailedPrecondition);
}

TEST(GalleryPersistenceTest, CrashDuringSegmentWriteKeepsThePreviousGallery) {
  testing::ScratchDir scratch("search");
  std::vector<std::vector<std::pair<std::int64_t, double>>> before;
  {
    auto index = MustOpen(Options(scratch.path(), 1));
    AddRows(*index, 0, 600);
    ASSERT_TRUE(index->Flush().ok());
    before = Probe(*index);
  }
  // Kill a child process while it writes the next segment: at the first
  // buffer flush (1 KiB) and after the last column and the header are written
  // but before fsync and rename (1.5 MiB of a ~1.6 MB file); kill_after = 0 lets the segment write
  // finish and then puts the old manifest back, as if the process died
  // between renaming the segment and renaming the new manifest.
  for (std::size_t kill_after : {std::size_t{1} << 10, std::size_t{3} << 19, std::size_t{0}}) {
    std::string old_manifest;
    {
      std::ifstream file(scratch.File("MANIFEST"), std::ios::binary);
      old_manifest.assign(std::istreambuf_iterator<char>(file), {});
    }
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      FaceSearchOptions options = Options(scratch.path(), 1);
      if (kill_after != 0) {
        options.write_progress = [kill_after](std::size_t written) {
          if (written >= kill_after) ::kill(::getpid(), SIGKILL);
        };
      }
      auto index = FaceSearchIndex::Open(options);
      if (!index.ok()) ::_exit(3);
      SyntheticGallery gallery = Gallery();
      std::vector<float> vector(kDims);
      for (std::uint64_t row = 600; row < 6600; ++row) {
        gallery.Row(row, vector);
        if (!(*index)->Add(static_cast<std::int64_t>(row), 1, vector).ok()) ::_exit(4);
      }
      ::_exit((*index)->Flush().ok() ? 0 : 5);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    bool temp_left = false;
    for (const auto& entry : std::filesystem::directory_iterator(scratch.path())) {
      temp_left |= entry.path().string().find(".tmp") != std::string::npos;
    }
    if (kill_after != 0) {
      ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
      EXPECT_TRUE(temp_left) << "the kill came after the write finished";
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      std::ofstream(scratch.File("MANIFEST"), std::ios::binary | std::ios::trunc) << old_manifest;
    }
    auto reopened = MustOpen(Options(scratch.path()));
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->size(), 600u) << "kill_after " << kill_after;
    EXPECT_EQ(Probe(*reopened), before);
    EXPECT_EQ(reopened->segment_count(), 2u);
  }
  int segment_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path())) {
    segment_files += entry.path().extension() == ".abseg";
  }
  EXPECT_EQ(segment_files, 1);  // The orphan of the last case was removed.
  // Leftovers a crash can leave: a truncated temp segment, a stray segment
  // the manifest never listed, a half-written manifest temp file.
  {
    std::ofstream(scratch.File("seg-00000042.abseg.tmp")) << "partial";
    std::ofstream(scratch.File("seg-00000043.abseg")) << "not listed";
    std::ofstream(scratch.File("MANIFEST.tmp.123")) << "half";
  }
  auto reopened = MustOpen(Options(scratch.path()));
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(std::filesystem::exists(scratch.File("seg-00000043.abseg")));
  EXPECT_FALSE(std::filesystem::exists(scratch.File("seg-00000042.abseg.tmp")));
}

TEST(GalleryPersistenceTest, DamagedFilesGiveDataLoss) {
  testing::ScratchDir scratch("search");
  {
    auto index = MustOpen(Options(scratch.path()));
    AddRows(*index, 0, 300);
    ASSERT_TRUE(index->Flush().ok());
  }
  const std::string segment = OnlySegmentFile(scratch.path());
  ASSERT_FALSE(segment.empty());
  auto flip_byte = [](const std::string& path, std::size_t at) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(at));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5A);
    file.seekp(static_cast<std::streamoff>(at));
    file.write(&byte, 1);
  };
  // A flipped code byte: caught by the content checksum (on by default),
  // and by VerifyChecksums() when opened without it.
  flip_byte(segment, 4096 + 100);
  auto opened = FaceSearchIndex::Open(Options(scratch.path()));
  ASSERT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("checksum"), std::string::npos);
  FaceSearchOptions lazy = Options(scratch.path());
  lazy.verify_checksums = false;
  {
    auto unchecked = MustOpen(lazy);
    ASSERT_NE(unchecked, nullptr);
    EXPECT_EQ(unchecked->VerifyChecksums().code(), StatusCode::kDataLoss);
  }
  flip_byte(segment, 4096 + 100);  // Repair.
  ASSERT_TRUE(FaceSearchIndex::Open(Options(scratch.path())).ok());
  // A damaged header is caught even without content checks.
  flip_byte(segment, 20);
  EXPECT_EQ(FaceSearchIndex::Open(lazy).status().code(), StatusCode::kDataLoss);
  flip_byte(segment, 20);
  // A truncated segment.
  auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 4096);
  EXPECT_EQ(FaceSearchIndex::Open(lazy).status().code(), StatusCode::kDataLoss);
  // A damaged manifest.
  flip_byte(scratch.File("MANIFEST"), 10);
  EXPECT_EQ(FaceSearchIndex::Open(lazy).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace abis::search
