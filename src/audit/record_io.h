// record_io.h
//
// The on-disk pieces of the audit log (docs/formats/audit_log.md): record
// framing with CRC-32, and the canonical JSON payloads of events and
// checkpoints. These parsers see untrusted bytes (an audit log handed to an
// auditor, fuzz input): every malformed input returns DataLoss, never
// crashes, and a payload is accepted only in its single canonical encoding,
// so a parsed record re-encodes to exactly the bytes that were hashed.
//
// Thread safety: pure functions.

#ifndef ABIS_AUDIT_RECORD_IO_H_
#define ABIS_AUDIT_RECORD_IO_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

#include "audit/audit_event.h"

namespace abis::audit {

// Record header: magic "aud1", type, 3 zero bytes, payload length (u32 LE),
// CRC-32 (u32 LE) of bytes [4, 12) of the header followed by the payload.
inline constexpr std::size_t kRecordHeaderBytes = 16;
inline constexpr std::size_t kMaxPayloadBytes = 64 * 1024;

enum class RecordType : std::uint8_t { kEvent = 1, kCheckpoint = 2 };

std::uint32_t Crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0);

// Header + payload. REQUIRES: payload.size() <= kMaxPayloadBytes.
std::string FrameRecord(RecordType type, std::string_view payload);

struct FramedRecord {
  std::uint64_t offset = 0;  // Of the header, in the file.
  std::string payload;
};

struct ParsedFile {
  std::vector<FramedRecord> records;
  std::uint64_t valid_bytes = 0;  // Length of the prefix made of whole records.
  bool torn_tail = false;         // The file ends inside a record (a crash mid-append).
};

// Splits `bytes` into records of `type`. A file ending inside a record is
// reported as torn_tail (not an error); any other damage (bad magic, type,
// reserved bytes, oversize length, CRC mismatch) is DataLoss naming the offset.
Result<ParsedFile> ParseRecords(std::span<const std::uint8_t> bytes, RecordType type);

// Canonical JSON of an event (keys sorted, no spaces). The bytes are the
// Merkle leaf. REQUIRES: ValidateEvent(event).ok().
std::string EncodeEventPayload(const AuditEvent& event);
// DataLoss unless `payload` is the canonical encoding of a valid event.
Result<AuditEvent> ParseEventPayload(std::string_view payload);

// The bytes an Ed25519 checkpoint signature covers.
std::string CheckpointSignedMessage(const Checkpoint& checkpoint);
std::string EncodeCheckpointPayload(const Checkpoint& checkpoint);
Result<Checkpoint> ParseCheckpointPayload(std::string_view payload);

}  // namespace abis::audit

#endif  // ABIS_AUDIT_RECORD_IO_H_
