#include "audit/audit_log.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>

#include "audit/merkle.h"
#include "audit/record_io.h"
#include "testing/scratch_dir.h"

namespace abis {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  const std::string& path() const { return scratch_.path(); }
  std::string File(const std::string& name) const { return path() + "/audit/" + name; }

 private:
  testing::ScratchDir scratch_{"audit"};
};

std::vector<std::uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::string ReadPublicKey(const TempDir& dir) {
  auto bytes = ReadAll(dir.File("signing.pub"));
  std::string text(bytes.begin(), bytes.end());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

AuditEvent Event(int n) {
  AuditEvent event;
  event.actor = "officer" + std::to_string(n % 3);
  event.device = "ws-" + std::to_string(n % 2);
  event.action = n % 2 == 0 ? "search" : "enrol";
  event.object_ids = {"gallery:watch", "ref:" + std::to_string(100 + n)};
  event.hashes = {{"probe_sha256", std::string(64, "0123456789abcdef"[n % 16])}};
  event.result = "ok";
  event.details = "case 2026/" + std::to_string(n);
  return event;
}

AuditLogOptions QuietOptions(std::vector<std::string>* notes = nullptr) {
  AuditLogOptions options;
  options.note = [notes](const std::string& text) {
    if (notes != nullptr) notes->push_back(text);
  };
  return options;
}

// Writes a log of `count` events and closes it.
void MakeLog(const TempDir& dir, int count, AuditLogOptions options = QuietOptions()) {
  auto log = AuditLog::Open(dir.path(), std::move(options));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < count; ++i) ASSERT_TRUE((*log)->Append(Event(i)).ok());
  ASSERT_TRUE((*log)->Close().ok());
}

Status Verify(const TempDir& dir, VerifyReport* report = nullptr) {
  return VerifyAuditLog(dir.path(), report);
}

struct Split {
  std::vector<std::string> records;  // Framed records, in order.
};

Split SplitRecords(const std::vector<std::uint8_t>& bytes, audit::RecordType type) {
  auto parsed = audit::ParseRecords(bytes, type);
  EXPECT_TRUE(parsed.ok());
  Split split;
  for (const auto& record : parsed->records) {
    split.records.push_back(audit::FrameRecord(type, record.payload));
  }
  return split;
}

std::vector<std::uint8_t> Join(const std::vector<std::string>& records) {
  std::vector<std::uint8_t> out;
  for (const std::string& record : records) out.insert(out.end(), record.begin(), record.end());
  return out;
}

// ---------------------------------------------------------------------------

TEST(AuditLogTest, AppendReopenVerify) {
  TempDir dir;
  {
    auto log = AuditLog::Open(dir.path(), QuietOptions());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int i = 0; i < 5; ++i) {
      auto receipt = (*log)->Append(Event(i));
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      EXPECT_EQ(receipt->seq, static_cast<std::uint64_t>(i));
      EXPECT_TRUE(receipt->checkpointed);
      EXPECT_TRUE(IsUtcTime(receipt->time_utc)) << receipt->time_utc;
    }
    EXPECT_EQ((*log)->size(), 5u);
  }
  VerifyReport report;
  ASSERT_TRUE(Verify(dir, &report).ok()) << report.reason;
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.events, 5u);
  EXPECT_EQ(report.checkpoints, 6u);  // The empty tree, then one per event.
  EXPECT_EQ(report.signed_tree_size, 5u);

  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto receipt = (*log)->Append(Event(5));
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->seq, 5u);
  ASSERT_TRUE((*log)->Close().ok());
  ASSERT_TRUE(Verify(dir, &report).ok()) << report.reason;
  EXPECT_EQ(report.events, 6u);

  auto events = ReadAuditEvents(dir.path());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 6u);
  EXPECT_EQ((*events)[3].actor, Event(3).actor);
  EXPECT_EQ((*events)[3].object_ids, Event(3).object_ids);
  EXPECT_EQ((*events)[3].hashes, Event(3).hashes);
  EXPECT_EQ((*events)[0].prev_hash, std::string(64, '0'));
}

// Pages come from their own byte ranges: every page equals the same slice of
// the whole log, before and after a reopen and after more appends.
TEST(AuditLogTest, PagesOfEventsAreTheirSliceOfTheLog) {
  TempDir dir;
  MakeLog(dir, 40);
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 40; i < 45; ++i) ASSERT_TRUE((*log)->Append(Event(i)).ok());
  auto all = (*log)->ReadEvents(0, 1000);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 45u);
  for (std::size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].seq, i);
    EXPECT_EQ((*all)[i].details, Event(static_cast<int>(i)).details);
  }
  for (std::uint64_t from : {0u, 1u, 7u, 39u, 40u, 44u}) {
    for (std::size_t limit : {1u, 3u, 10u, 100u}) {
      auto page = (*log)->ReadEvents(from, limit);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      const std::size_t expected = std::min<std::size_t>(limit, 45 - from);
      ASSERT_EQ(page->size(), expected) << from << "+" << limit;
      for (std::size_t i = 0; i < expected; ++i) {
        EXPECT_EQ((*page)[i].seq, from + i);
        EXPECT_EQ((*page)[i].prev_hash, (*all)[from + i].prev_hash);
      }
    }
  }
  EXPECT_TRUE((*log)->ReadEvents(45, 10)->empty());
  EXPECT_TRUE((*log)->ReadEvents(3, 0)->empty());
  ASSERT_TRUE((*log)->Close().ok());
}

TEST(AuditLogTest, KeyFilesAndPermissions) {
  TempDir dir;
  MakeLog(dir, 1);
  const auto mode = fs::status(dir.File("signing.key")).permissions();
  EXPECT_EQ(mode & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  EXPECT_EQ(ReadPublicKey(dir).size(), 64u);
  // A signing.pub that does not belong to the key refuses to open.
  WriteAll(dir.File("signing.pub"), std::vector<std::uint8_t>(64, 'a'));
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  EXPECT_FALSE(log.ok());
}

TEST(AuditLogTest, RejectsEventsThatCouldCarryBiometricData) {
  TempDir dir;
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(log.ok());
  AuditEvent event = Event(0);
  event.details = std::string("\x89PNG\r\n\x1a\n", 8);
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.details = std::string(2000, 'a');
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.hashes["template"] = "not hex!";
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.hashes["probe"] = std::string(200, 'a');
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.action = "";
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.result = "";
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  event = Event(0);
  event.object_ids.assign(65, "id");
  EXPECT_EQ((*log)->Append(event).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->size(), 0u);
  EXPECT_TRUE((*log)->health().ok());
}

TEST(AuditLogTest, TimesHaveMillisecondsAndNeverGoBackwards) {
  TempDir dir;
  AuditLogOptions options = QuietOptions();
  std::atomic<int> calls{0};
  const auto base = std::chrono::system_clock::time_point(std::chrono::milliseconds(1800000000123));
  options.clock = [&] {
    // The second reading jumps 5 s back.
    return base + std::chrono::seconds(calls++ == 2 ? -5 : 0) + std::chrono::milliseconds(calls);
  };
  auto log = AuditLog::Open(dir.path(), options);
  ASSERT_TRUE(log.ok());
  std::vector<std::string> times;
  for (int i = 0; i < 4; ++i) {
    auto receipt = (*log)->Append(Event(i));
    ASSERT_TRUE(receipt.ok());
    times.push_back(receipt->time_utc);
  }
  EXPECT_EQ(FormatUtcTime(base), "2027-01-15T08:00:00.123Z");
  for (std::size_t i = 1; i < times.size(); ++i) EXPECT_LE(times[i - 1], times[i]);
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_TRUE(Verify(dir).ok());
}

TEST(AuditLogTest, FlippingAnyBitOfAnyByteIsDetected) {
  TempDir dir;
  MakeLog(dir, 3);
  const std::string key = ReadPublicKey(dir);
  const auto events = ReadAll(dir.File("events.log"));
  const auto checkpoints = ReadAll(dir.File("checkpoints.log"));
  ASSERT_TRUE(VerifyAuditLogBytes(events, checkpoints, key, nullptr).ok());
  for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto damaged = events;
      damaged[i] ^= mask;
      VerifyReport report;
      Status status = VerifyAuditLogBytes(damaged, checkpoints, key, &report);
      EXPECT_EQ(status.code(), StatusCode::kDataLoss) << "events byte " << i;
      EXPECT_FALSE(report.ok);
      EXPECT_FALSE(report.reason.empty());
    }
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
      auto damaged = checkpoints;
      damaged[i] ^= mask;
      EXPECT_EQ(VerifyAuditLogBytes(events, damaged, key, nullptr).code(), StatusCode::kDataLoss)
          << "checkpoints byte " << i;
    }
  }
  // And through the files: a flipped byte in the middle event.
  auto damaged = events;
  damaged[events.size() / 2] ^= 0x20;
  WriteAll(dir.File("events.log"), damaged);
  VerifyReport report;
  EXPECT_EQ(Verify(dir, &report).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(AuditLog::Open(dir.path(), QuietOptions()).ok());
}

TEST(AuditLogTest, DeletingAnEventIsDetected) {
  TempDir dir;
  MakeLog(dir, 5);
  const auto original = ReadAll(dir.File("events.log"));
  Split split = SplitRecords(original, audit::RecordType::kEvent);
  ASSERT_EQ(split.records.size(), 5u);
  for (std::size_t victim = 0; victim < 5; ++victim) {
    auto records = split.records;
    records.erase(records.begin() + static_cast<long>(victim));
    WriteAll(dir.File("events.log"), Join(records));
    VerifyReport report;
    EXPECT_EQ(Verify(dir, &report).code(), StatusCode::kDataLoss) << victim;
    EXPECT_TRUE(report.first_bad_seq.has_value());
    EXPECT_FALSE(AuditLog::Open(dir.path(), QuietOptions()).ok()) << victim;
  }
  WriteAll(dir.File("events.log"), original);
  EXPECT_TRUE(Verify(dir).ok());
}

TEST(AuditLogTest, ReorderingEventsIsDetected) {
  TempDir dir;
  MakeLog(dir, 4);
  Split split = SplitRecords(ReadAll(dir.File("events.log")), audit::RecordType::kEvent);
  std::swap(split.records[1], split.records[2]);
  WriteAll(dir.File("events.log"), Join(split.records));
  VerifyReport report;
  EXPECT_EQ(Verify(dir, &report).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(report.first_bad_seq.has_value());
  EXPECT_EQ(*report.first_bad_seq, 1u);
}

// An attacker without the signing key rewrites the log with a forged event,
// recomputing seq, prev hashes and CRCs for every later record.
std::vector<std::uint8_t> ForgeWithInsertion(const std::vector<std::uint8_t>& events,
                                             std::size_t position) {
  auto parsed = audit::ParseRecords(events, audit::RecordType::kEvent);
  std::vector<AuditEvent> list;
  for (const auto& record : parsed->records) {
    list.push_back(*audit::ParseEventPayload(record.payload));
  }
  AuditEvent forged = Event(99);
  forged.actor = "intruder";
  forged.time_utc = list[position == 0 ? 0 : position - 1].time_utc;
  list.insert(list.begin() + static_cast<long>(position), forged);
  audit::Hash head = audit::GenesisChainHead();
  std::vector<std::string> records;
  for (std::size_t seq = 0; seq < list.size(); ++seq) {
    list[seq].seq = seq;
    list[seq].prev_hash = audit::HashToHex(head);
    const std::string payload = audit::EncodeEventPayload(list[seq]);
    head = audit::ChainNext(head, payload);
    records.push_back(audit::FrameRecord(audit::RecordType::kEvent, payload));
  }
  return Join(records);
}

TEST(AuditLogTest, InsertingAForgedEventIsDetected) {
  TempDir dir;
  MakeLog(dir, 4);
  const auto original = ReadAll(dir.File("events.log"));
  for (std::size_t position = 0; position <= 4; ++position) {
    WriteAll(dir.File("events.log"), ForgeWithInsertion(original, position));
    VerifyReport report;
    EXPECT_EQ(Verify(dir, &report).code(), StatusCode::kDataLoss) << position;
    // Appending at the end verifies chain-wise but is not signed.
    if (position == 4) {
      EXPECT_NE(report.reason.find("after the last signed"), std::string::npos);
    }
  }
  // Inserting a raw copy of an existing record.
  Split split = SplitRecords(original, audit::RecordType::kEvent);
  split.records.insert(split.records.begin() + 2, split.records[1]);
  WriteAll(dir.File("events.log"), Join(split.records));
  EXPECT_EQ(Verify(dir).code(), StatusCode::kDataLoss);
}

TEST(AuditLogTest, ResigningWithAnotherKeyFailsAgainstThePinnedKey) {
  TempDir dir;
  MakeLog(dir, 3);
  const std::string pinned = ReadPublicKey(dir);
  // The attacker forges an event and re-signs everything with a fresh key,
  // replacing signing.key and signing.pub.
  const auto forged = ForgeWithInsertion(ReadAll(dir.File("events.log")), 1);
  fs::remove(dir.File("events.log"));
  fs::remove(dir.File("checkpoints.log"));
  fs::remove(dir.File("signing.key"));
  fs::remove(dir.File("signing.pub"));
  {
    auto log = AuditLog::Open(dir.path(), QuietOptions());
    ASSERT_TRUE(log.ok());
  }
  WriteAll(dir.File("events.log"), forged);
  {
    auto log = AuditLog::Open(dir.path(), QuietOptions());  // Signs the "tail".
    ASSERT_TRUE(log.ok()) << log.status().ToString();
  }
  EXPECT_TRUE(Verify(dir).ok());  // The directory is self-consistent...
  VerifyOptions options;
  options.public_key_hex = pinned;
  VerifyReport report;
  EXPECT_EQ(VerifyAuditLog(dir.path(), &report, options).code(), StatusCode::kDataLoss);
  EXPECT_NE(report.reason.find("another key"), std::string::npos);  // ...but not to the auditor.
}

TEST(AuditLogTest, TruncationIsDetected) {
  TempDir dir;
  MakeLog(dir, 3);
  const auto events = ReadAll(dir.File("events.log"));
  const auto checkpoints = ReadAll(dir.File("checkpoints.log"));
  const std::string key = ReadPublicKey(dir);
  for (std::size_t size = 0; size < events.size(); ++size) {
    std::vector<std::uint8_t> cut(events.begin(), events.begin() + static_cast<long>(size));
    EXPECT_EQ(VerifyAuditLogBytes(cut, checkpoints, key, nullptr).code(), StatusCode::kDataLoss)
        << size;
  }
  for (std::size_t size = 0; size < checkpoints.size(); ++size) {
    std::vector<std::uint8_t> cut(checkpoints.begin(),
                                  checkpoints.begin() + static_cast<long>(size));
    EXPECT_EQ(VerifyAuditLogBytes(events, cut, key, nullptr).code(), StatusCode::kDataLoss) << size;
  }
  // Dropping whole events and their checkpoints together leaves a shorter
  // log that still verifies: only an external copy of a checkpoint (a
  // witness) catches that; see docs/formats/audit_log.md.
}

TEST(AuditLogTest, InclusionProofsVerifyAndFailForWrongEvents) {
  TempDir dir;
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 13; ++i) ASSERT_TRUE((*log)->Append(Event(i)).ok());
  const std::string key = (*log)->public_key_hex();
  auto events = ReadAuditEvents(dir.path());
  ASSERT_TRUE(events.ok());
  for (std::uint64_t seq = 0; seq < 13; ++seq) {
    auto proof = (*log)->ProveInclusion(seq);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(proof->checkpoint.tree_size, 13u);
    EXPECT_TRUE(VerifyInclusionProof((*events)[seq], *proof, key).ok()) << seq;
    AuditEvent altered = (*events)[seq];
    altered.result = "permission_denied";
    EXPECT_FALSE(VerifyInclusionProof(altered, *proof, key).ok());
    EXPECT_FALSE(VerifyInclusionProof((*events)[(seq + 1) % 13], *proof, key).ok());
    InclusionProof bad = *proof;
    bad.checkpoint.tree_size = 14;
    EXPECT_FALSE(VerifyInclusionProof((*events)[seq], bad, key).ok());
    bad = *proof;
    if (!bad.path.empty()) {
      bad.path[0][5] = bad.path[0][5] == '0' ? '1' : '0';
      EXPECT_FALSE(VerifyInclusionProof((*events)[seq], bad, key).ok());
    }
    std::string other_key = key;
    other_key[0] = other_key[0] == '0' ? '1' : '0';
    EXPECT_FALSE(VerifyInclusionProof((*events)[seq], *proof, other_key).ok());
  }
  EXPECT_EQ((*log)->ProveInclusion(13).status().code(), StatusCode::kNotFound);
}

TEST(AuditLogTest, UncheckpointedEventsAreSignedOnCloseAndNotProvableBefore) {
  TempDir dir;
  AuditLogOptions options = QuietOptions();
  options.checkpoint_interval = 0;
  auto log = AuditLog::Open(dir.path(), options);
  ASSERT_TRUE(log.ok());
  auto receipt = (*log)->Append(Event(0));
  ASSERT_TRUE(receipt.ok());
  EXPECT_FALSE(receipt->checkpointed);
  EXPECT_EQ((*log)->ProveInclusion(0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Verify(dir).code(), StatusCode::kDataLoss);  // Unsigned tail.
  auto checkpoint = (*log)->WriteCheckpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->tree_size, 1u);
  EXPECT_TRUE((*log)->ProveInclusion(0).ok());
  ASSERT_TRUE((*log)->Append(Event(1)).ok());
  ASSERT_TRUE((*log)->Close().ok());
  VerifyReport report;
  EXPECT_TRUE(Verify(dir, &report).ok()) << report.reason;
  EXPECT_EQ(report.signed_tree_size, 2u);
  EXPECT_EQ((*log)->Append(Event(2)).status().code(), StatusCode::kUnavailable);
}

// ---------------------------------------------------------------------------
// Fault injection.

struct Faults {
  std::string fail_path_suffix;  // Which file misbehaves ("events.log" / "checkpoints.log").
  bool fail_append = false;      // Writes half the bytes, then fails.
  bool fail_sync = false;
  bool fail_truncate = false;
  int appends = 0;
};

class FaultyFile final : public AppendFile {
 public:
  FaultyFile(std::unique_ptr<AppendFile> real, Faults* faults, bool target)
      : real_(std::move(real)), faults_(faults), target_(target) {}
  Status Append(std::span<const std::uint8_t> bytes) override {
    ++faults_->appends;
    if (target_ && faults_->fail_append) {
      (void)real_->Append(bytes.first(bytes.size() / 2));
      return UnavailableError("injected: disk full");
    }
    return real_->Append(bytes);
  }
  Status Sync() override {
    if (target_ && faults_->fail_sync) return UnavailableError("injected: fsync EIO");
    return real_->Sync();
  }
  Status Truncate(std::uint64_t size) override {
    if (target_ && faults_->fail_truncate) return UnavailableError("injected: truncate EIO");
    return real_->Truncate(size);
  }

 private:
  std::unique_ptr<AppendFile> real_;
  Faults* faults_;
  bool target_;
};

AuditLogOptions FaultyOptions(Faults* faults, std::vector<std::string>* notes = nullptr) {
  AuditLogOptions options = QuietOptions(notes);
  options.open_file = [faults](const std::string& path) -> Result<std::unique_ptr<AppendFile>> {
    ABIS_ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> real, OpenPosixAppendFile(path));
    const bool target = path.ends_with(faults->fail_path_suffix);
    return std::unique_ptr<AppendFile>(new FaultyFile(std::move(real), faults, target));
  };
  return options;
}

void ExpectFailClosed(const std::string& file, bool fail_append, bool fail_sync) {
  SCOPED_TRACE(file + (fail_append ? " write" : "") + (fail_sync ? " fsync" : ""));
  TempDir dir;
  Faults faults;
  faults.fail_path_suffix = file;
  auto log = AuditLog::Open(dir.path(), FaultyOptions(&faults));
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append(Event(i)).ok());
  faults.fail_append = fail_append;
  faults.fail_sync = fail_sync;
  auto refused = (*log)->Append(Event(3));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE((*log)->health().ok());
  // Fail-closed: even once the disk recovers, nothing more is accepted.
  faults.fail_append = faults.fail_sync = false;
  EXPECT_EQ((*log)->Append(Event(4)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*log)->WriteCheckpoint().status().code(), StatusCode::kUnavailable);
  // The files were rolled back to the last acknowledged event.
  VerifyReport report;
  EXPECT_TRUE(Verify(dir, &report).ok()) << report.reason;
  EXPECT_EQ(report.events, 3u);
  log->reset();
  // Reopening resumes.
  auto reopened = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto receipt = (*reopened)->Append(Event(3));
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->seq, 3u);
  ASSERT_TRUE((*reopened)->Close().ok());
  EXPECT_TRUE(Verify(dir).ok());
}

TEST(AuditLogFaultTest, FailedWritesAndSyncsRefuseTheOperation) {
  ExpectFailClosed("events.log", true, false);
  ExpectFailClosed("events.log", false, true);
  ExpectFailClosed("checkpoints.log", true, false);
  ExpectFailClosed("checkpoints.log", false, true);
}

TEST(AuditLogFaultTest, TornRecordLeftByFailedRollbackIsRepairedOnOpen) {
  TempDir dir;
  Faults faults;
  faults.fail_path_suffix = "events.log";
  auto log = AuditLog::Open(dir.path(), FaultyOptions(&faults));
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE((*log)->Append(Event(i)).ok());
  faults.fail_append = true;
  faults.fail_truncate = true;
  EXPECT_EQ((*log)->Append(Event(2)).status().code(), StatusCode::kUnavailable);
  log->reset();
  VerifyReport report;
  EXPECT_EQ(Verify(dir, &report).code(), StatusCode::kDataLoss);  // Torn half record.
  EXPECT_EQ(report.file, "events.log");
  std::vector<std::string> notes;
  auto reopened = AuditLog::Open(dir.path(), QuietOptions(&notes));
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("torn"), std::string::npos);
  EXPECT_EQ((*reopened)->size(), 2u);
  reopened->reset();
  EXPECT_TRUE(Verify(dir, &report).ok()) << report.reason;
}

TEST(AuditLogFaultTest, CrashAfterEventBeforeCheckpointIsSignedOnOpen) {
  TempDir dir;
  Faults faults;
  faults.fail_path_suffix = "checkpoints.log";
  auto log = AuditLog::Open(dir.path(), FaultyOptions(&faults));
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(Event(0)).ok());
  // Checkpoint write fails and the rollback of events.log fails too: the
  // event stays on disk, unsigned (its operation was refused).
  faults.fail_append = true;
  faults.fail_truncate = true;
  EXPECT_FALSE((*log)->Append(Event(1)).ok());
  log->reset();
  EXPECT_EQ(Verify(dir).code(), StatusCode::kDataLoss);
  auto reopened = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  reopened->reset();
  EXPECT_TRUE(Verify(dir).ok());
}

TEST(AuditLogTest, CompleteRecordWithBadCrcAtTheEndRefusesToOpen) {
  TempDir dir;
  MakeLog(dir, 2);
  auto events = ReadAll(dir.File("events.log"));
  events[events.size() - 3] ^= 0x04;
  WriteAll(dir.File("events.log"), events);
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
}

TEST(AuditLogTest, SecondWriterIsRefused) {
  TempDir dir;
  auto first = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(first.ok());
  auto second = AuditLog::Open(dir.path(), QuietOptions());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

TEST(AuditLogTest, ConcurrentAppendsProduceAValidLog) {
  TempDir dir;
  auto log = AuditLog::Open(dir.path(), QuietOptions());
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::vector<std::uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto receipt = (*log)->Append(Event(t * 100 + i));
        if (receipt.ok()) seqs[t].push_back(receipt->seq);
        if (i % 10 == 0) (void)(*log)->ProveInclusion(0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::uint64_t> all;
  for (const auto& list : seqs) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread - 1));
  ASSERT_TRUE((*log)->Close().ok());
  VerifyReport report;
  EXPECT_TRUE(Verify(dir, &report).ok()) << report.reason;
  EXPECT_EQ(report.events, static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST(AuditLogTest, MissingLogIsNotFound) {
  TempDir dir;
  EXPECT_EQ(Verify(dir).code(), StatusCode::kNotFound);
  AuditLogOptions options = QuietOptions();
  options.create_if_missing = false;
  EXPECT_EQ(AuditLog::Open(dir.path(), options).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadAuditEvents(dir.path()).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace abis
