#include "audit/record_io.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <exception>

#include <nlohmann/json.hpp>

#include "audit/merkle.h"

namespace abis {
namespace {

bool Printable(const std::string& text, std::size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool Token(const std::string& text, std::size_t max_bytes, std::string_view extra) {
  if (text.empty() || text.size() > max_bytes) return false;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) continue;
    if (extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool LowerHex(const std::string& text, std::size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status ValidateEvent(const AuditEvent& event) {
  if (!Printable(event.actor, kAuditMaxNameBytes)) {
    return InvalidArgumentError("audit event actor: at most 128 printable ASCII characters");
  }
  if (!Printable(event.device, kAuditMaxNameBytes)) {
    return InvalidArgumentError("audit event device: at most 128 printable ASCII characters");
  }
  if (!Token(event.action, kAuditMaxNameBytes, "_.-")) {
    return InvalidArgumentError("audit event action: 1..128 characters of [a-z0-9_.-]");
  }
  if (event.object_ids.size() > kAuditMaxObjectIds) {
    return InvalidArgumentError("audit event: more than 64 object ids");
  }
  for (const std::string& id : event.object_ids) {
    if (id.empty() || !Printable(id, kAuditMaxNameBytes)) {
      return InvalidArgumentError("audit event object id: 1..128 printable ASCII characters");
    }
  }
  if (event.hashes.size() > kAuditMaxHashes) {
    return InvalidArgumentError("audit event: more than 16 hashes");
  }
  for (const auto& [name, value] : event.hashes) {
    if (!Token(name, kAuditMaxHashKeyBytes, "_-")) {
      return InvalidArgumentError("audit event hash name: 1..32 characters of [a-z0-9_-]");
    }
    if (!LowerHex(value, kAuditMaxHashValueBytes)) {
      return InvalidArgumentError("audit event hash '" + name +
                                  "': 1..128 lower-case hex digits (hashes only, never content)");
    }
  }
  if (!Token(event.result, kAuditMaxResultBytes, "_.:-")) {
    return InvalidArgumentError("audit event result: 1..64 characters of [a-z0-9_.:-]");
  }
  if (!Printable(event.details, kAuditMaxDetailsBytes)) {
    return InvalidArgumentError("audit event details: at most 1024 printable ASCII characters");
  }
  return Status::Ok();
}

std::string FormatUtcTime(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto millis = duration_cast<milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  long long fraction = millis % 1000;
  if (fraction < 0) {
    fraction += 1000;
    --seconds;
  }
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ",
                parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min,
                parts.tm_sec, fraction);
  return buffer;
}

bool IsUtcTime(const std::string& text) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd') {
      if (text[i] < '0' || text[i] > '9') return false;
    } else if (text[i] != kShape[i]) {
      return false;
    }
  }
  return true;
}

namespace audit {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'a', 'u', 'd', '1'};

std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

void PutU32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint32_t GetU32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::span<const std::uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Status Corrupt(std::string what) { return DataLossError(std::move(what)); }

bool IsHash(const std::string& hex) { return HashFromHex(hex).ok(); }

}  // namespace

std::uint32_t Crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc) {
  static const std::array<std::uint32_t, 256> kTable = MakeCrcTable();
  crc = ~crc;
  for (std::uint8_t byte : bytes) crc = kTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string FrameRecord(RecordType type, std::string_view payload) {
  std::string out(kMagic.begin(), kMagic.end());
  out.push_back(static_cast<char>(type));
  out.append(3, '\0');
  PutU32(out, static_cast<std::uint32_t>(payload.size()));
  std::uint32_t crc = Crc32(Bytes(std::string_view(out).substr(4, 8)));
  crc = Crc32(Bytes(payload), crc);
  PutU32(out, crc);
  out.append(payload);
  return out;
}

Result<ParsedFile> ParseRecords(std::span<const std::uint8_t> bytes, RecordType type) {
  ParsedFile parsed;
  std::uint64_t offset = 0;
  const std::uint64_t size = bytes.size();
  while (offset < size) {
    const std::string where = " at byte " + std::to_string(offset);
    if (size - offset < kRecordHeaderBytes) {
      parsed.torn_tail = true;
      break;
    }
    const std::uint8_t* header = bytes.data() + offset;
    for (std::size_t i = 0; i < kMagic.size(); ++i) {
      if (header[i] != kMagic[i]) return Corrupt("bad record magic" + where);
    }
    if (header[4] != static_cast<std::uint8_t>(type)) return Corrupt("wrong record type" + where);
    if (header[5] != 0 || header[6] != 0 || header[7] != 0) {
      return Corrupt("nonzero reserved bytes" + where);
    }
    const std::uint32_t length = GetU32(header + 8);
    if (length > kMaxPayloadBytes) return Corrupt("record length over the limit" + where);
    if (size - offset - kRecordHeaderBytes < length) {
      parsed.torn_tail = true;
      break;
    }
    const std::span<const std::uint8_t> payload(header + kRecordHeaderBytes, length);
    std::uint32_t crc = Crc32(std::span<const std::uint8_t>(header + 4, 8));
    crc = Crc32(payload, crc);
    if (crc != GetU32(header + 12)) return Corrupt("record CRC mismatch" + where);
    parsed.records.push_back(
        FramedRecord{offset, std::string(reinterpret_cast<const char*>(payload.data()), length)});
    offset += kRecordHeaderBytes + length;
  }
  parsed.valid_bytes = offset;
  return parsed;
}

std::string EncodeEventPayload(const AuditEvent& event) {
  nlohmann::json doc = {{"seq", event.seq},
                        {"time", event.time_utc},
                        {"prev", event.prev_hash},
                        {"actor", event.actor},
                        {"device", event.device},
                        {"action", event.action},
                        {"objects", event.object_ids},
                        {"hashes", event.hashes},
                        {"result", event.result},
                        {"details", event.details}};
  return doc.dump();
}

Result<AuditEvent> ParseEventPayload(std::string_view payload) {
  try {
    const nlohmann::json doc = nlohmann::json::parse(payload);
    if (!doc.is_object() || doc.size() != 10) return Corrupt("event is not a 10-field object");
    const nlohmann::json& seq = doc.at("seq");
    if (!seq.is_number_unsigned()) return Corrupt("event seq is not an unsigned integer");
    AuditEvent event;
    event.seq = seq.get<std::uint64_t>();
    event.time_utc = doc.at("time").get<std::string>();
    event.prev_hash = doc.at("prev").get<std::string>();
    event.actor = doc.at("actor").get<std::string>();
    event.device = doc.at("device").get<std::string>();
    event.action = doc.at("action").get<std::string>();
    event.object_ids = doc.at("objects").get<std::vector<std::string>>();
    event.hashes = doc.at("hashes").get<std::map<std::string, std::string>>();
    event.result = doc.at("result").get<std::string>();
    event.details = doc.at("details").get<std::string>();
    if (!IsUtcTime(event.time_utc)) return Corrupt("event time is not UTC ISO-8601 with ms");
    if (!IsHash(event.prev_hash)) return Corrupt("event prev is not a hex hash");
    Status valid = ValidateEvent(event);
    if (!valid.ok()) return Corrupt("invalid event: " + valid.message());
    if (EncodeEventPayload(event) != payload) return Corrupt("event is not canonically encoded");
    return event;
  } catch (const std::exception& error) {
    return Corrupt(std::string("event is not valid JSON of the expected shape: ") + error.what());
  }
}

std::string CheckpointSignedMessage(const Checkpoint& checkpoint) {
  nlohmann::json doc = {{"tree_size", checkpoint.tree_size},
                        {"root", checkpoint.root},
                        {"chain_head", checkpoint.chain_head},
                        {"time", checkpoint.time_utc},
                        {"key_id", checkpoint.key_id}};
  return "abis-audit-checkpoint-v1\n" + doc.dump();
}

std::string EncodeCheckpointPayload(const Checkpoint& checkpoint) {
  nlohmann::json doc = {{"tree_size", checkpoint.tree_size},   {"root", checkpoint.root},
                        {"chain_head", checkpoint.chain_head}, {"time", checkpoint.time_utc},
                        {"key_id", checkpoint.key_id},         {"signature", checkpoint.signature}};
  return doc.dump();
}

Result<Checkpoint> ParseCheckpointPayload(std::string_view payload) {
  try {
    const nlohmann::json doc = nlohmann::json::parse(payload);
    if (!doc.is_object() || doc.size() != 6) return Corrupt("checkpoint is not a 6-field object");
    const nlohmann::json& size = doc.at("tree_size");
    if (!size.is_number_unsigned()) return Corrupt("checkpoint tree_size is not unsigned");
    Checkpoint checkpoint;
    checkpoint.tree_size = size.get<std::uint64_t>();
    checkpoint.root = doc.at("root").get<std::string>();
    checkpoint.chain_head = doc.at("chain_head").get<std::string>();
    checkpoint.time_utc = doc.at("time").get<std::string>();
    checkpoint.key_id = doc.at("key_id").get<std::string>();
    checkpoint.signature = doc.at("signature").get<std::string>();
    if (!IsHash(checkpoint.root) || !IsHash(checkpoint.chain_head)) {
      return Corrupt("checkpoint root or chain head is not a hex hash");
    }
    if (!IsUtcTime(checkpoint.time_utc)) return Corrupt("checkpoint time is malformed");
    if (checkpoint.key_id.size() != 16 || !LowerHex(checkpoint.key_id, 16)) {
      return Corrupt("checkpoint key_id is not 16 hex digits");
    }
    if (checkpoint.signature.size() != 128 || !LowerHex(checkpoint.signature, 128)) {
      return Corrupt("checkpoint signature is not 128 hex digits");
    }
    if (EncodeCheckpointPayload(checkpoint) != payload) {
      return Corrupt("checkpoint is not canonically encoded");
    }
    return checkpoint;
  } catch (const std::exception& error) {
    return Corrupt(std::string("checkpoint is not valid JSON of the expected shape: ") +
                   error.what());
  }
}

}  // namespace audit
}  // namespace abis
