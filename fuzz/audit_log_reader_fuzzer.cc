// audit_log_reader_fuzzer.cc
//
// Feeds arbitrary bytes to the audit log reader and verifier. Input layout:
// a u32 little-endian length L, then L bytes of events.log, then the rest as
// checkpoints.log. Checkpoints are checked against the key made from the
// fixed seed 0x42 * 32, so corpus seeds can carry validly signed logs
// (fuzz/corpus/audit_log_reader_fuzzer/). Verification must return OK or
// DataLoss, never crash; every payload the parsers accept must re-encode to
// exactly its bytes (one canonical encoding).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include <sodium.h>

#include "audit/audit_log.h"
#include "audit/record_io.h"

namespace {

std::string FuzzPublicKey() {
  if (sodium_init() < 0) std::abort();
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed;
  seed.fill(0x42);
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : public_key) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

void CheckRecords(std::span<const std::uint8_t> bytes, abis::audit::RecordType type) {
  auto parsed = abis::audit::ParseRecords(bytes, type);
  if (!parsed.ok()) {
    if (parsed.status().code() != abis::StatusCode::kDataLoss) std::abort();
    return;
  }
  if (parsed->valid_bytes > bytes.size()) std::abort();
  for (const abis::audit::FramedRecord& record : parsed->records) {
    if (type == abis::audit::RecordType::kEvent) {
      auto event = abis::audit::ParseEventPayload(record.payload);
      if (event.ok()) {
        if (abis::audit::EncodeEventPayload(*event) != record.payload) std::abort();
      } else if (event.status().code() != abis::StatusCode::kDataLoss) {
        std::abort();
      }
    } else {
      auto checkpoint = abis::audit::ParseCheckpointPayload(record.payload);
      if (checkpoint.ok()) {
        if (abis::audit::EncodeCheckpointPayload(*checkpoint) != record.payload) std::abort();
      } else if (checkpoint.status().code() != abis::StatusCode::kDataLoss) {
        std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string public_key = FuzzPublicKey();
  if (size < 4) return 0;
  std::size_t split = static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8) |
                      (static_cast<std::size_t>(data[2]) << 16) |
                      (static_cast<std::size_t>(data[3]) << 24);
  const std::span<const std::uint8_t> rest(data + 4, size - 4);
  if (split > rest.size()) split = rest.size();
  const auto events = rest.first(split);
  const auto checkpoints = rest.subspan(split);

  CheckRecords(events, abis::audit::RecordType::kEvent);
  CheckRecords(checkpoints, abis::audit::RecordType::kCheckpoint);

  abis::VerifyReport report;
  const abis::Status status = abis::VerifyAuditLogBytes(events, checkpoints, public_key, &report);
  if (status.ok() != report.ok) std::abort();
  if (!status.ok() && status.code() != abis::StatusCode::kDataLoss) std::abort();
  return 0;
}
