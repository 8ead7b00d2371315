// audit_log.h
//
// AuditLog: the tamper-evident, fail-closed record of every operation
// (docs/formats/audit_log.md). Events are appended to DIR/audit/events.log,
// linked in a hash chain and gathered in an RFC 6962 Merkle tree; signed
// checkpoints (Ed25519) in DIR/audit/checkpoints.log seal the tree.
//
// Contract for callers (engine, server):
// - Fail-closed. Append() returns OK only after the event record (and, with
//   checkpoint_interval == 1, the checkpoint covering it) is written and
//   fsync()ed. On any other outcome the operation must be refused and no
//   result may leave the server. After an I/O failure the log rolls its files
//   back to the last acknowledged state when it can, and refuses every later
//   Append with Unavailable until it is reopened (Open re-verifies the files).
// - Open() re-reads and verifies the whole log. A final record cut short by a
//   crash (never acknowledged) is truncated, with a note to options.note;
//   any other damage is DataLoss and the log does not open.
// - One writer per directory: Open() takes an exclusive flock on
//   DIR/audit/LOCK and returns Unavailable if another process holds it.
//
// Thread safety: all AuditLog methods may be called concurrently; appends
// are serialised and receive consecutive sequence numbers.

#ifndef ABIS_AUDIT_AUDIT_LOG_H_
#define ABIS_AUDIT_AUDIT_LOG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "abis/status.h"

#include "audit/audit_event.h"
#include "audit/merkle.h"

namespace abis {

// An append-only file. Tests substitute one that fails on demand.
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  // Writes all of `bytes` at the end of the file (Unavailable on failure,
  // possibly after writing part of them).
  virtual Status Append(std::span<const std::uint8_t> bytes) = 0;
  // fsync().
  virtual Status Sync() = 0;
  // Cuts the file to `size` bytes and syncs it.
  virtual Status Truncate(std::uint64_t size) = 0;
};

// Opens (creating, mode 0600) the file at `path` for appending.
using AppendFileOpener =
    std::function<Result<std::unique_ptr<AppendFile>>(const std::string& path)>;
Result<std::unique_ptr<AppendFile>> OpenPosixAppendFile(const std::string& path);

struct AuditLogOptions {
  // Write a signed checkpoint after every N events. 1 (default) signs every
  // event before Append returns, so no acknowledged event is ever outside a
  // signed checkpoint. 0: only on WriteCheckpoint() and Close().
  std::uint64_t checkpoint_interval = 1;
  bool checkpoint_on_close = true;
  // Create DIR/audit and a signing key when missing; otherwise NotFound.
  bool create_if_missing = true;
  // Clock for event times (tests pin it). Times never go backwards in the
  // log: an earlier reading is raised to the previous event's time.
  std::function<std::chrono::system_clock::time_point()> clock;
  // File layer; tests inject failures. Default: OpenPosixAppendFile.
  AppendFileOpener open_file;
  // Operational notes (e.g. "truncated torn final record"); default stderr.
  std::function<void(const std::string&)> note;
};

struct AuditReceipt {
  std::uint64_t seq = 0;
  std::string time_utc;
  std::string leaf_hash;      // Hex Merkle leaf hash of the event record.
  std::string chain_head;     // Hex chain head after this event.
  bool checkpointed = false;  // A signed checkpoint now covers this event.
};

struct InclusionProof {
  std::uint64_t seq = 0;  // Leaf index.
  std::string leaf_hash;
  std::vector<std::string> path;  // Hex audit path, sibling first.
  Checkpoint checkpoint;          // Signed tree the proof leads to.
};

class AuditLog {
 public:
  // Opens DIR/audit under `data_dir` (creating it when allowed), verifies
  // what is there and, for a new log, writes the size-0 checkpoint.
  // DataLoss for a damaged log, Unavailable for I/O errors or a held lock,
  // NotFound when missing and !create_if_missing.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& data_dir,
                                                AuditLogOptions options = {});

  ~AuditLog();  // Close() if not yet closed.
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Assigns seq and time, sets prev_hash, writes and fsyncs. InvalidArgument
  // for an event breaking ValidateEvent; Unavailable when it cannot be made
  // durable (the caller must refuse the operation).
  Result<AuditReceipt> Append(AuditEvent event);

  // Signs and durably writes a checkpoint of the current tree (returns the
  // last one unchanged if it already covers every event).
  Result<Checkpoint> WriteCheckpoint();

  // Inclusion proof of event `seq` against the latest checkpoint.
  // NotFound for an unknown seq, FailedPrecondition when the latest
  // checkpoint does not cover it yet.
  Result<InclusionProof> ProveInclusion(std::uint64_t seq) const;

  // Up to `limit` acknowledged events from seq `from` on, as read back from
  // DIR/audit/events.log (for the server's audit routes). Reads the file up
  // to the last acknowledged byte, so an append in progress is not seen.
  Result<std::vector<AuditEvent>> ReadEvents(std::uint64_t from, std::size_t limit) const;

  // The latest signed checkpoint (every open log has one).
  Checkpoint latest_checkpoint() const;

  // Checkpoints when configured, then refuses further appends.
  Status Close();

  std::uint64_t size() const;
  std::string public_key_hex() const;
  // Non-OK once an I/O failure has put the log in fail-closed state.
  Status health() const;

 private:
  struct State;
  explicit AuditLog(std::unique_ptr<State> state);
  Result<Checkpoint> WriteCheckpointLocked();
  void FailLocked(std::uint64_t events_size, std::uint64_t checkpoints_size);

  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;
};

// Checks an inclusion proof of `event` (as read back, with seq/time/prev)
// against the proof's checkpoint, including the checkpoint's signature by
// `public_key_hex`. DataLoss when anything fails to match.
Status VerifyInclusionProof(const AuditEvent& event, const InclusionProof& proof,
                            const std::string& public_key_hex);

struct VerifyOptions {
  // Hex Ed25519 public key to trust. Empty: read DIR/audit/signing.pub.
  // Pin the key out of band: whoever can rewrite the directory can also
  // replace signing.pub.
  std::string public_key_hex;
};

struct VerifyReport {
  bool ok = false;
  std::uint64_t events = 0;            // Event records read (well-framed).
  std::uint64_t checkpoints = 0;       // Checkpoint records read.
  std::uint64_t signed_tree_size = 0;  // Of the last valid checkpoint.
  std::string root;                    // Hex Merkle root of the last checkpoint.
  std::string chain_head;
  std::string last_checkpoint_time;
  std::string public_key;
  std::optional<std::uint64_t> first_bad_seq;  // Event where verification failed.
  std::string file;    // "events.log" / "checkpoints.log" for framing errors.
  std::string reason;  // Empty when ok.
};

// Offline verification of DIR/audit: framing and CRCs, canonical payloads,
// seq = 0,1,2..., non-decreasing times, the hash chain, every checkpoint's
// signature, root and chain head, and that the last checkpoint covers every
// event. OK only if all of it holds; otherwise DataLoss (NotFound when the
// log is missing) and `report` says where and why. `report` may be null.
Status VerifyAuditLog(const std::string& data_dir, VerifyReport* report,
                      const VerifyOptions& options = {});

// The same checks over file contents (used by the fuzzer).
Status VerifyAuditLogBytes(std::span<const std::uint8_t> events_bytes,
                           std::span<const std::uint8_t> checkpoints_bytes,
                           const std::string& public_key_hex, VerifyReport* report);

// Reads the events of DIR/audit (framing and canonical form checked, the
// chain not), for display. DataLoss on damage, NotFound if missing.
Result<std::vector<AuditEvent>> ReadAuditEvents(const std::string& data_dir);

}  // namespace abis

#endif  // ABIS_AUDIT_AUDIT_LOG_H_
