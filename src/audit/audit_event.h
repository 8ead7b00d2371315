// audit_event.h
//
// What the audit log records: one AuditEvent per operation (enrol, search,
// view, export, delete, login, failed login, role or device change), and the
// signed checkpoints that seal the log. Events carry identifiers, hashes and
// outcomes only, never images or templates: every text field is bounded
// printable ASCII, so binary payloads are refused by ValidateEvent.
//
// Thread safety: plain values.

#ifndef ABIS_AUDIT_AUDIT_EVENT_H_
#define ABIS_AUDIT_AUDIT_EVENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "abis/status.h"

namespace abis {

// Field limits (bytes). Text fields are printable ASCII (0x20..0x7E).
inline constexpr std::size_t kAuditMaxNameBytes = 128;  // actor, device, action, ids.
inline constexpr std::size_t kAuditMaxObjectIds = 64;
inline constexpr std::size_t kAuditMaxHashes = 16;
inline constexpr std::size_t kAuditMaxHashKeyBytes = 32;     // [a-z0-9_-]+
inline constexpr std::size_t kAuditMaxHashValueBytes = 128;  // lower-case hex
inline constexpr std::size_t kAuditMaxResultBytes = 64;      // [a-z0-9_.:-]+
inline constexpr std::size_t kAuditMaxDetailsBytes = 1024;

struct AuditEvent {
  // Assigned by AuditLog::Append (ignored on input).
  std::uint64_t seq = 0;  // 0-based; equals the Merkle leaf index.
  std::string time_utc;   // "2026-11-27T10:27:07.123Z" (milliseconds, UTC).
  std::string prev_hash;  // Hex chain head before this event (64 zeros for seq 0).

  // Supplied by the caller.
  std::string actor;   // Authenticated user or service; may be empty ("anonymous").
  std::string device;  // Workstation / capture device id; may be empty.
  std::string action;  // Required, [a-z0-9_.-]+, e.g. "enrol", "search", "login_failed".
  std::vector<std::string> object_ids;        // Gallery, identity, reference, case ids.
  std::map<std::string, std::string> hashes;  // e.g. {"probe_sha256": "ab12..."}.
  std::string result;   // Required: "ok" or a status code name, e.g. "permission_denied".
  std::string details;  // Short free text (reason, recipient); never personal data dumps.
};

// InvalidArgument naming the first field that breaks the limits above.
// Checks the caller-supplied fields only (not seq/time/prev_hash).
Status ValidateEvent(const AuditEvent& event);

// A signed statement "the log had tree_size events, with this Merkle root
// and chain head, at this time".
struct Checkpoint {
  std::uint64_t tree_size = 0;
  std::string root;        // Hex Merkle root over events [0, tree_size).
  std::string chain_head;  // Hex chain head after event tree_size-1 (zeros if empty).
  std::string time_utc;
  std::string key_id;     // Hex, first 8 bytes of BLAKE2b-256 of the public key.
  std::string signature;  // Hex Ed25519 signature of CheckpointSignedMessage().
};

// "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatUtcTime(std::chrono::system_clock::time_point time);
// OK when `text` has exactly that shape.
bool IsUtcTime(const std::string& text);

}  // namespace abis

#endif  // ABIS_AUDIT_AUDIT_EVENT_H_
