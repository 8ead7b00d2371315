#include "audit/audit_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <utility>

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/record_io.h"
#include "core/digest.h"
#include "core/file_io.h"

namespace abis {
namespace {

namespace fs = std::filesystem;
using audit::Hash;

constexpr char kAuditDir[] = "audit";
constexpr char kEventsFile[] = "events.log";
constexpr char kCheckpointsFile[] = "checkpoints.log";
constexpr char kKeyFile[] = "signing.key";
constexpr char kPublicKeyFile[] = "signing.pub";
constexpr char kLockFile[] = "LOCK";
constexpr std::size_t kMaxLogBytes = std::size_t{1} << 40;

std::string ErrnoText() { return std::strerror(errno); }

Status InitSodium() {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  return Status::Ok();
}

std::span<const std::uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

using PublicKey = std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES>;

std::string KeyId(const PublicKey& key) {
  std::array<std::uint8_t, 32> digest{};
  crypto_generichash(digest.data(), digest.size(), key.data(), key.size(), nullptr, 0);
  return HexEncode(std::span<const std::uint8_t>(digest.data(), 8));
}

bool CheckpointSignatureValid(const Checkpoint& checkpoint, const PublicKey& key) {
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  if (!HexDecode(checkpoint.signature, signature)) return false;
  const std::string message = audit::CheckpointSignedMessage(checkpoint);
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.data()) == 0;
}

Result<std::string> ReadText(const std::string& path) {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFileBytes(path, 4096));
  std::string text(bytes.begin(), bytes.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// Reads a log file; a missing file reads as empty.
Result<std::vector<std::uint8_t>> ReadLogFile(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxLogBytes);
  if (!bytes.ok() && bytes.status().code() == StatusCode::kNotFound) {
    return std::vector<std::uint8_t>{};
  }
  return bytes;
}

// `length` bytes of `path` from `offset`; DataLoss if the file is shorter.
Result<std::vector<std::uint8_t>> ReadFileRange(const std::string& path, std::uint64_t offset,
                                                std::uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("cannot open " + path + ": " + ErrnoText());
  std::vector<std::uint8_t> bytes(length);
  std::uint64_t done = 0;
  while (done < length) {
    const ssize_t got =
        ::pread(fd, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const std::string why = got < 0 ? ErrnoText() : "shorter than written";
      ::close(fd);
      return DataLossError(path + ": " + why);
    }
    done += static_cast<std::uint64_t>(got);
  }
  ::close(fd);
  return bytes;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("cannot open directory " + dir + ": " + ErrnoText());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return UnavailableError("cannot sync directory " + dir);
  return Status::Ok();
}

class PosixAppendFile final : public AppendFile {
 public:
  PosixAppendFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixAppendFile() override { ::close(fd_); }

  Status Append(std::span<const std::uint8_t> bytes) override {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t put = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) return UnavailableError("write to " + path_ + " failed: " + ErrnoText());
      done += static_cast<std::size_t>(put);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (::fsync(fd_) != 0) return UnavailableError("fsync of " + path_ + " failed: " + ErrnoText());
    return Status::Ok();
  }
  Status Truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return UnavailableError("truncate of " + path_ + " failed: " + ErrnoText());
    }
    return Sync();
  }

 private:
  int fd_;
  std::string path_;
};

// What replaying the records establishes.
struct Replay {
  std::vector<Hash> leaves;
  Hash chain_head = audit::GenesisChainHead();
  audit::CompactRange range;
  std::string last_time;  // Latest time of any event or checkpoint.
  std::optional<Checkpoint> last_checkpoint;
};

Status Fail(VerifyReport* report, std::string reason, std::optional<std::uint64_t> seq = {}) {
  if (report != nullptr) {
    report->ok = false;
    report->reason = reason;
    report->first_bad_seq = seq;
  }
  return DataLossError(std::move(reason));
}

// Checks events and checkpoints against each other and `key`. With
// `allow_unsigned_tail`, events after the last checkpoint are accepted.
Status ReplayRecords(const std::vector<audit::FramedRecord>& events,
                     const std::vector<audit::FramedRecord>& checkpoint_records,
                     const PublicKey& key, bool allow_unsigned_tail, Replay* replay,
                     VerifyReport* report) {
  const std::string key_id = KeyId(key);
  std::vector<Checkpoint> checkpoints;
  checkpoints.reserve(checkpoint_records.size());
  std::string last_checkpoint_time;
  for (std::size_t i = 0; i < checkpoint_records.size(); ++i) {
    const std::string which = "checkpoint " + std::to_string(i);
    auto parsed = audit::ParseCheckpointPayload(checkpoint_records[i].payload);
    if (!parsed.ok()) return Fail(report, which + ": " + parsed.status().message());
    if (parsed->key_id != key_id) return Fail(report, which + ": signed by another key");
    if (!CheckpointSignatureValid(*parsed, key)) return Fail(report, which + ": bad signature");
    if (!checkpoints.empty() && parsed->tree_size < checkpoints.back().tree_size) {
      return Fail(report, which + ": tree size goes backwards");
    }
    if (parsed->time_utc < last_checkpoint_time)
      return Fail(report, which + ": time goes backwards");
    last_checkpoint_time = parsed->time_utc;
    checkpoints.push_back(std::move(*parsed));
  }

  std::size_t next_checkpoint = 0;
  std::uint64_t vouched = 0;  // Events covered by the last checkpoint that matched.
  std::string last_event_time;
  const auto check_checkpoints_at = [&](std::uint64_t size) -> Status {
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size == size) {
      const Checkpoint& checkpoint = checkpoints[next_checkpoint];
      const std::string which = "checkpoint " + std::to_string(next_checkpoint) + " (tree size " +
                                std::to_string(size) + ")";
      if (checkpoint.root != audit::HashToHex(replay->range.Root())) {
        return Fail(report, which + ": Merkle root does not match the events", vouched);
      }
      if (checkpoint.chain_head != audit::HashToHex(replay->chain_head)) {
        return Fail(report, which + ": chain head does not match the events", vouched);
      }
      if (checkpoint.time_utc < last_event_time) {
        return Fail(report, which + ": earlier than the events it covers", vouched);
      }
      vouched = size;
      replay->last_checkpoint = checkpoint;
      ++next_checkpoint;
    }
    return Status::Ok();
  };

  for (std::uint64_t seq = 0; seq < events.size(); ++seq) {
    ABIS_RETURN_IF_ERROR(check_checkpoints_at(seq));
    const std::string& payload = events[seq].payload;
    const std::string which = "event " + std::to_string(seq);
    auto event = audit::ParseEventPayload(payload);
    if (!event.ok()) return Fail(report, which + ": " + event.status().message(), seq);
    if (event->seq != seq) {
      return Fail(report,
                  which + ": has seq " + std::to_string(event->seq) +
                      " (events deleted, inserted or reordered)",
                  seq);
    }
    if (event->prev_hash != audit::HashToHex(replay->chain_head)) {
      return Fail(report, which + ": hash chain broken (prev does not match)", seq);
    }
    if (event->time_utc < last_event_time)
      return Fail(report, which + ": time goes backwards", seq);
    last_event_time = event->time_utc;
    const Hash leaf = audit::HashLeaf(payload);
    replay->leaves.push_back(leaf);
    replay->range.Append(leaf);
    replay->chain_head = audit::ChainNext(replay->chain_head, payload);
  }
  ABIS_RETURN_IF_ERROR(check_checkpoints_at(events.size()));
  if (next_checkpoint < checkpoints.size()) {
    return Fail(report,
                "checkpoint " + std::to_string(next_checkpoint) + " covers " +
                    std::to_string(checkpoints[next_checkpoint].tree_size) +
                    " events but the log holds " + std::to_string(events.size()) +
                    " (events deleted)",
                events.size());
  }
  if (!allow_unsigned_tail) {
    if (!replay->last_checkpoint.has_value()) return Fail(report, "no signed checkpoint");
    if (vouched < events.size()) {
      return Fail(report,
                  std::to_string(events.size() - vouched) +
                      " event(s) after the last signed checkpoint (appended without the "
                      "signing key, or the writer crashed before signing)",
                  vouched);
    }
  }
  replay->last_time = std::max(last_event_time, last_checkpoint_time);
  if (report != nullptr && replay->last_checkpoint.has_value()) {
    report->signed_tree_size = replay->last_checkpoint->tree_size;
    report->root = replay->last_checkpoint->root;
    report->chain_head = replay->last_checkpoint->chain_head;
    report->last_checkpoint_time = replay->last_checkpoint->time_utc;
  }
  return Status::Ok();
}

Result<PublicKey> ParsePublicKey(const std::string& hex) {
  PublicKey key{};
  if (!HexDecode(hex, key))
    return InvalidArgumentError("public key must be 64 lower-case hex digits");
  return key;
}

}  // namespace

Result<std::unique_ptr<AppendFile>> OpenPosixAppendFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot open " + path + ": " + ErrnoText());
  return std::unique_ptr<AppendFile>(new PosixAppendFile(fd, path));
}

struct AuditLog::State {
  AuditLogOptions options;
  std::string dir;
  int lock_fd = -1;
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> secret_key{};
  PublicKey public_key{};
  std::string key_id;
  std::unique_ptr<AppendFile> events_file;
  std::unique_ptr<AppendFile> checkpoints_file;
  std::uint64_t events_bytes = 0;
  std::uint64_t checkpoints_bytes = 0;
  // File offset of each event record (index = seq): a page of events is
  // read from its own byte range, not by re-reading the whole log.
  std::vector<std::uint64_t> event_offsets;
  Replay replay;
  std::uint64_t since_checkpoint = 0;
  Status failed;
  bool closed = false;

  ~State() {
    sodium_memzero(secret_key.data(), secret_key.size());
    if (lock_fd >= 0) ::close(lock_fd);
  }

  std::string Now() {
    std::string now = FormatUtcTime(options.clock());
    if (now < replay.last_time) now = replay.last_time;
    replay.last_time = now;
    return now;
  }
  std::string Path(const char* name) const { return dir + "/" + name; }
};

namespace {

// Loads DIR/audit/signing.key, or creates it (and signing.pub) when allowed.
Status LoadOrCreateKey(const std::string& dir, bool may_create,
                       std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES>& secret_key,
                       PublicKey& public_key) {
  const std::string key_path = dir + "/" + kKeyFile;
  const std::string pub_path = dir + "/" + kPublicKeyFile;
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  auto seed_hex = ReadText(key_path);
  if (seed_hex.ok()) {
    if (!HexDecode(*seed_hex, seed)) return DataLossError(key_path + " is not 64 hex digits");
    crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
    sodium_memzero(seed.data(), seed.size());
    sodium_memzero(seed_hex->data(), seed_hex->size());
  } else if (seed_hex.status().code() == StatusCode::kNotFound) {
    if (!may_create) return FailedPreconditionError("no signing key at " + key_path);
    randombytes_buf(seed.data(), seed.size());
    crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
    std::string text = HexEncode(seed) + "\n";
    sodium_memzero(seed.data(), seed.size());
    int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return UnavailableError("cannot create " + key_path + ": " + ErrnoText());
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    sodium_memzero(text.data(), text.size());
    const bool synced = written && ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) {
      ::unlink(key_path.c_str());
      return UnavailableError("cannot write " + key_path);
    }
    ABIS_RETURN_IF_ERROR(SyncDirectory(dir));
  } else {
    return seed_hex.status();
  }
  const std::string public_hex = HexEncode(public_key);
  auto stored = ReadText(pub_path);
  if (stored.ok()) {
    if (*stored != public_hex) {
      return DataLossError(pub_path + " does not match " + key_path);
    }
    return Status::Ok();
  }
  if (stored.status().code() != StatusCode::kNotFound) return stored.status();
  ABIS_RETURN_IF_ERROR(WriteFileAtomically(pub_path, public_hex + "\n"));
  return SyncDirectory(dir);
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<State> state) : state_(std::move(state)) {}

AuditLog::~AuditLog() { (void)Close(); }

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir,
                                                 AuditLogOptions options) {
  ABIS_RETURN_IF_ERROR(InitSodium());
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  if (!options.open_file) options.open_file = OpenPosixAppendFile;
  if (!options.note)
    options.note = [](const std::string& text) { std::cerr << "abis audit: " << text << "\n"; };

  auto state = std::make_unique<State>();
  state->dir = (fs::path(data_dir) / kAuditDir).string();
  std::error_code error;
  const bool existed = fs::is_directory(state->dir, error);
  if (!existed) {
    if (!options.create_if_missing) return NotFoundError("no audit log at " + state->dir);
    fs::create_directories(state->dir, error);
    if (error) return UnavailableError("cannot create " + state->dir + ": " + error.message());
    fs::permissions(state->dir, fs::perms::owner_all, error);
  }
  state->options = std::move(options);

  const std::string lock_path = state->Path(kLockFile);
  state->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (state->lock_fd < 0) return UnavailableError("cannot open " + lock_path + ": " + ErrnoText());
  if (::flock(state->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return UnavailableError("audit log " + state->dir + " is open in another process");
  }

  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> event_bytes,
                        ReadLogFile(state->Path(kEventsFile)));
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> checkpoint_bytes,
                        ReadLogFile(state->Path(kCheckpointsFile)));
  const bool fresh = event_bytes.empty() && checkpoint_bytes.empty();
  ABIS_RETURN_IF_ERROR(LoadOrCreateKey(state->dir, fresh && state->options.create_if_missing,
                                       state->secret_key, state->public_key));
  state->key_id = KeyId(state->public_key);

  auto events = audit::ParseRecords(event_bytes, audit::RecordType::kEvent);
  if (!events.ok()) return events.status().WithContext(state->Path(kEventsFile));
  auto checkpoints = audit::ParseRecords(checkpoint_bytes, audit::RecordType::kCheckpoint);
  if (!checkpoints.ok()) return checkpoints.status().WithContext(state->Path(kCheckpointsFile));

  Status replayed = ReplayRecords(events->records, checkpoints->records, state->public_key,
                                  /*allow_unsigned_tail=*/true, &state->replay, nullptr);
  if (!replayed.ok())
    return replayed.WithContext("audit log " + state->dir + " fails verification");

  // Only a log that verifies is touched: cut a torn tail, then append.
  ABIS_ASSIGN_OR_RETURN(state->events_file, state->options.open_file(state->Path(kEventsFile)));
  ABIS_ASSIGN_OR_RETURN(state->checkpoints_file,
                        state->options.open_file(state->Path(kCheckpointsFile)));
  if (events->torn_tail) {
    state->options.note("truncating a torn final record of " + state->Path(kEventsFile) +
                        " at byte " + std::to_string(events->valid_bytes) +
                        " (a crash during an append that was never acknowledged)");
    ABIS_RETURN_IF_ERROR(state->events_file->Truncate(events->valid_bytes));
  }
  if (checkpoints->torn_tail) {
    state->options.note("truncating a torn final record of " + state->Path(kCheckpointsFile) +
                        " at byte " + std::to_string(checkpoints->valid_bytes));
    ABIS_RETURN_IF_ERROR(state->checkpoints_file->Truncate(checkpoints->valid_bytes));
  }
  state->events_bytes = events->valid_bytes;
  state->checkpoints_bytes = checkpoints->valid_bytes;
  state->event_offsets.reserve(events->records.size());
  for (const audit::FramedRecord& record : events->records) {
    state->event_offsets.push_back(record.offset);
  }

  const Replay& replay = state->replay;
  state->since_checkpoint =
      replay.leaves.size() - (replay.last_checkpoint ? replay.last_checkpoint->tree_size : 0);

  std::unique_ptr<AuditLog> log(new AuditLog(std::move(state)));
  if (!log->state_->replay.last_checkpoint.has_value() || log->state_->since_checkpoint > 0) {
    std::lock_guard<std::mutex> lock(log->mutex_);
    auto checkpoint = log->WriteCheckpointLocked();
    if (!checkpoint.ok()) {
      log->state_->closed = true;
      return checkpoint.status();
    }
  }
  return log;
}

void AuditLog::FailLocked(std::uint64_t events_size, std::uint64_t checkpoints_size) {
  State& s = *state_;
  if (s.failed.ok()) {
    s.failed = UnavailableError("audit log " + s.dir +
                                " had an I/O failure; refusing appends until reopened");
  }
  Status events_rollback = s.events_file->Truncate(events_size);
  Status checkpoints_rollback = s.checkpoints_file->Truncate(checkpoints_size);
  if (!events_rollback.ok() || !checkpoints_rollback.ok()) {
    s.options.note(
        "rollback after a failed append did not complete; reopening will repair or "
        "refuse the log");
  }
}

Result<AuditReceipt> AuditLog::Append(AuditEvent event) {
  ABIS_RETURN_IF_ERROR(ValidateEvent(event));
  std::lock_guard<std::mutex> lock(mutex_);
  State& s = *state_;
  if (!s.failed.ok()) return s.failed;
  if (s.closed) return UnavailableError("audit log is closed");

  event.seq = s.replay.leaves.size();
  event.time_utc = s.Now();
  event.prev_hash = audit::HashToHex(s.replay.chain_head);
  const std::string payload = audit::EncodeEventPayload(event);
  if (payload.size() > audit::kMaxPayloadBytes)
    return InvalidArgumentError("audit event too large");
  const std::string record = audit::FrameRecord(audit::RecordType::kEvent, payload);

  const std::uint64_t events_before = s.events_bytes;
  const std::uint64_t checkpoints_before = s.checkpoints_bytes;
  Status written = s.events_file->Append(Bytes(record));
  if (written.ok()) written = s.events_file->Sync();
  if (!written.ok()) {
    FailLocked(events_before, checkpoints_before);
    return UnavailableError("audit event not durable, operation must be refused: " +
                            written.message());
  }
  s.event_offsets.push_back(s.events_bytes);
  s.events_bytes += record.size();
  const Hash leaf = audit::HashLeaf(payload);
  s.replay.leaves.push_back(leaf);
  s.replay.range.Append(leaf);
  s.replay.chain_head = audit::ChainNext(s.replay.chain_head, payload);
  ++s.since_checkpoint;

  AuditReceipt receipt;
  receipt.seq = event.seq;
  receipt.time_utc = event.time_utc;
  receipt.leaf_hash = audit::HashToHex(leaf);
  receipt.chain_head = audit::HashToHex(s.replay.chain_head);
  if (s.options.checkpoint_interval > 0 && s.since_checkpoint >= s.options.checkpoint_interval) {
    auto checkpoint = WriteCheckpointLocked();
    if (!checkpoint.ok()) {
      FailLocked(events_before, checkpoints_before);
      return UnavailableError("audit checkpoint not durable, operation must be refused: " +
                              checkpoint.status().message());
    }
    receipt.checkpointed = true;
  }
  return receipt;
}

Result<Checkpoint> AuditLog::WriteCheckpointLocked() {
  State& s = *state_;
  const std::uint64_t size = s.replay.leaves.size();
  if (s.replay.last_checkpoint.has_value() && s.replay.last_checkpoint->tree_size == size) {
    return *s.replay.last_checkpoint;
  }
  Checkpoint checkpoint;
  checkpoint.tree_size = size;
  checkpoint.root = audit::HashToHex(s.replay.range.Root());
  checkpoint.chain_head = audit::HashToHex(s.replay.chain_head);
  checkpoint.time_utc = s.Now();
  checkpoint.key_id = s.key_id;
  const std::string message = audit::CheckpointSignedMessage(checkpoint);
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       s.secret_key.data());
  checkpoint.signature = HexEncode(signature);
  const std::string record = audit::FrameRecord(audit::RecordType::kCheckpoint,
                                                audit::EncodeCheckpointPayload(checkpoint));
  Status written = s.checkpoints_file->Append(Bytes(record));
  if (written.ok()) written = s.checkpoints_file->Sync();
  if (!written.ok()) return written;
  s.checkpoints_bytes += record.size();
  s.replay.last_checkpoint = checkpoint;
  s.since_checkpoint = 0;
  return checkpoint;
}

Result<Checkpoint> AuditLog::WriteCheckpoint() {
  std::lock_guard<std::mutex> lock(mutex_);
  State& s = *state_;
  if (!s.failed.ok()) return s.failed;
  if (s.closed) return UnavailableError("audit log is closed");
  const std::uint64_t events_before = s.events_bytes;
  const std::uint64_t checkpoints_before = s.checkpoints_bytes;
  auto checkpoint = WriteCheckpointLocked();
  if (!checkpoint.ok()) {
    FailLocked(events_before, checkpoints_before);
    return UnavailableError("audit checkpoint not durable: " + checkpoint.status().message());
  }
  return checkpoint;
}

Result<InclusionProof> AuditLog::ProveInclusion(std::uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const State& s = *state_;
  if (seq >= s.replay.leaves.size()) return NotFoundError("no audit event " + std::to_string(seq));
  if (!s.replay.last_checkpoint.has_value() || seq >= s.replay.last_checkpoint->tree_size) {
    return FailedPreconditionError("audit event " + std::to_string(seq) +
                                   " is not yet covered by a checkpoint");
  }
  InclusionProof proof;
  proof.seq = seq;
  proof.checkpoint = *s.replay.last_checkpoint;
  proof.leaf_hash = audit::HashToHex(s.replay.leaves[seq]);
  const std::span<const Hash> tree(s.replay.leaves.data(), proof.checkpoint.tree_size);
  for (const Hash& hash : audit::InclusionPath(tree, seq)) {
    proof.path.push_back(audit::HashToHex(hash));
  }
  return proof;
}

Status AuditLog::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  State& s = *state_;
  if (s.closed) return Status::Ok();
  Status result;
  if (s.failed.ok() && s.options.checkpoint_on_close && s.since_checkpoint > 0) {
    const std::uint64_t events_before = s.events_bytes;
    const std::uint64_t checkpoints_before = s.checkpoints_bytes;
    auto checkpoint = WriteCheckpointLocked();
    if (!checkpoint.ok()) {
      FailLocked(events_before, checkpoints_before);
      result = checkpoint.status();
    }
  }
  s.closed = true;
  return result;
}

Result<std::vector<AuditEvent>> AuditLog::ReadEvents(std::uint64_t from, std::size_t limit) const {
  std::vector<std::uint8_t> bytes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const State& s = *state_;
    const std::uint64_t count = s.event_offsets.size();
    if (from >= count || limit == 0) return std::vector<AuditEvent>();
    const std::uint64_t end_seq = limit >= count - from ? count : from + limit;
    const std::uint64_t begin = s.event_offsets[from];
    const std::uint64_t end = end_seq == count ? s.events_bytes : s.event_offsets[end_seq];
    ABIS_ASSIGN_OR_RETURN(bytes, ReadFileRange(s.Path(kEventsFile), begin, end - begin));
  }
  // The range holds whole records only, checked again here: a file changed
  // behind the log's back is DataLoss, never a wrong page.
  ABIS_ASSIGN_OR_RETURN(audit::ParsedFile parsed,
                        audit::ParseRecords(bytes, audit::RecordType::kEvent));
  if (parsed.torn_tail) return DataLossError("events.log changed under the audit log");
  std::vector<AuditEvent> events;
  events.reserve(parsed.records.size());
  for (std::size_t i = 0; i < parsed.records.size(); ++i) {
    ABIS_ASSIGN_OR_RETURN(AuditEvent event, audit::ParseEventPayload(parsed.records[i].payload));
    if (event.seq != from + i) return DataLossError("events.log changed under the audit log");
    events.push_back(std::move(event));
  }
  return events;
}

Checkpoint AuditLog::latest_checkpoint() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->replay.last_checkpoint.value_or(Checkpoint{});
}

std::uint64_t AuditLog::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->replay.leaves.size();
}

std::string AuditLog::public_key_hex() const { return HexEncode(state_->public_key); }

Status AuditLog::health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->failed;
}

Status VerifyInclusionProof(const AuditEvent& event, const InclusionProof& proof,
                            const std::string& public_key_hex) {
  ABIS_RETURN_IF_ERROR(InitSodium());
  ABIS_ASSIGN_OR_RETURN(PublicKey key, ParsePublicKey(public_key_hex));
  if (event.seq != proof.seq) return DataLossError("proof is for another seq");
  if (!ValidateEvent(event).ok()) return DataLossError("event is not a valid audit event");
  const Hash leaf = audit::HashLeaf(audit::EncodeEventPayload(event));
  if (audit::HashToHex(leaf) != proof.leaf_hash)
    return DataLossError("event does not match the leaf hash");
  if (proof.checkpoint.key_id != KeyId(key) || !CheckpointSignatureValid(proof.checkpoint, key)) {
    return DataLossError("checkpoint signature does not verify");
  }
  std::vector<Hash> path;
  for (const std::string& hex : proof.path) {
    auto hash = audit::HashFromHex(hex);
    if (!hash.ok()) return DataLossError("malformed inclusion path");
    path.push_back(*hash);
  }
  auto root = audit::HashFromHex(proof.checkpoint.root);
  if (!root.ok()) return DataLossError("malformed checkpoint root");
  Status included =
      audit::VerifyInclusion(leaf, proof.seq, proof.checkpoint.tree_size, path, *root);
  if (!included.ok()) return DataLossError("inclusion proof fails: " + included.message());
  return Status::Ok();
}

Status VerifyAuditLogBytes(std::span<const std::uint8_t> events_bytes,
                           std::span<const std::uint8_t> checkpoints_bytes,
                           const std::string& public_key_hex, VerifyReport* report) {
  ABIS_RETURN_IF_ERROR(InitSodium());
  VerifyReport local;
  if (report == nullptr) report = &local;
  *report = VerifyReport{};
  report->public_key = public_key_hex;
  auto key = ParsePublicKey(public_key_hex);
  if (!key.ok()) return Fail(report, key.status().message());

  const auto parse = [&](std::span<const std::uint8_t> bytes, audit::RecordType type,
                         const char* name, std::uint64_t* count) -> Result<audit::ParsedFile> {
    auto parsed = audit::ParseRecords(bytes, type);
    if (!parsed.ok()) {
      report->file = name;
      return Fail(report, parsed.status().message());
    }
    *count = parsed->records.size();
    if (parsed->torn_tail) {
      report->file = name;
      return Fail(report, "file ends inside a record at byte " +
                              std::to_string(parsed->valid_bytes) +
                              " (torn write or truncation; opening the log for writing "
                              "drops an unacknowledged torn record)");
    }
    return parsed;
  };
  ABIS_ASSIGN_OR_RETURN(audit::ParsedFile events, parse(events_bytes, audit::RecordType::kEvent,
                                                        kEventsFile, &report->events));
  ABIS_ASSIGN_OR_RETURN(audit::ParsedFile checkpoints,
                        parse(checkpoints_bytes, audit::RecordType::kCheckpoint, kCheckpointsFile,
                              &report->checkpoints));
  Replay replay;
  ABIS_RETURN_IF_ERROR(ReplayRecords(events.records, checkpoints.records, *key,
                                     /*allow_unsigned_tail=*/false, &replay, report));
  report->ok = true;
  report->reason.clear();
  return Status::Ok();
}

Status VerifyAuditLog(const std::string& data_dir, VerifyReport* report,
                      const VerifyOptions& options) {
  VerifyReport local;
  if (report == nullptr) report = &local;
  *report = VerifyReport{};
  const std::string dir = (fs::path(data_dir) / kAuditDir).string();
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    report->reason = "no audit log at " + dir;
    return NotFoundError(report->reason);
  }
  std::string public_key = options.public_key_hex;
  if (public_key.empty()) {
    auto stored = ReadText(dir + "/" + kPublicKeyFile);
    if (!stored.ok()) {
      report->reason = "cannot read the public key: " + stored.status().message();
      return Status(stored.status().code() == StatusCode::kNotFound ? StatusCode::kDataLoss
                                                                    : stored.status().code(),
                    report->reason);
    }
    public_key = *stored;
  }
  auto events = ReadLogFile(dir + "/" + kEventsFile);
  if (!events.ok()) return events.status();
  auto checkpoints = ReadLogFile(dir + "/" + kCheckpointsFile);
  if (!checkpoints.ok()) return checkpoints.status();
  return VerifyAuditLogBytes(*events, *checkpoints, public_key, report);
}

Result<std::vector<AuditEvent>> ReadAuditEvents(const std::string& data_dir) {
  const std::string path = (fs::path(data_dir) / kAuditDir / kEventsFile).string();
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFileBytes(path, kMaxLogBytes));
  ABIS_ASSIGN_OR_RETURN(audit::ParsedFile parsed,
                        audit::ParseRecords(bytes, audit::RecordType::kEvent));
  std::vector<AuditEvent> events;
  events.reserve(parsed.records.size());
  for (const audit::FramedRecord& record : parsed.records) {
    auto event = audit::ParseEventPayload(record.payload);
    if (!event.ok()) {
      return event.status().WithContext("record at byte " + std::to_string(record.offset));
    }
    events.push_back(std::move(*event));
  }
  if (parsed.torn_tail) return DataLossError(path + " ends inside a record");
  return events;
}

}  // namespace abis
