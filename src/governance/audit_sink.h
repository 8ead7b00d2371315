// audit_sink.h
//
// Where the governance core writes its audit events. The server wires the
// real, fail-closed AuditLog through AuditLogSink; tests may substitute a
// sink that fails on demand to prove that every state change is refused
// when its event cannot be made durable (docs/governance.md, "Fail-closed").
//
// Thread safety: AuditLogSink may be used from many threads (AuditLog
// serialises appends). Other implementations must be as well.

#ifndef ABIS_GOVERNANCE_AUDIT_SINK_H_
#define ABIS_GOVERNANCE_AUDIT_SINK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "abis/status.h"

#include "audit/audit_event.h"
#include "audit/audit_log.h"

namespace abis::governance {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends durably; any error means the operation must be refused.
  virtual Result<AuditReceipt> Append(AuditEvent event) = 0;
  // Every event with its seq, time and prev_hash, for inclusion proofs and
  // the transparency report.
  virtual Result<std::vector<AuditEvent>> ReadEvents() = 0;
  // Proof of event `seq` against a signed checkpoint covering it.
  virtual Result<InclusionProof> ProveInclusion(std::uint64_t seq) = 0;
  // The checkpoint signing key (hex), pinned by offline verifiers.
  virtual std::string public_key_hex() const = 0;
};

// The real log under `data_dir` (the folder AuditLog::Open was given).
// Does not own the log.
class AuditLogSink : public AuditSink {
 public:
  AuditLogSink(AuditLog* log, std::string data_dir) : log_(log), data_dir_(std::move(data_dir)) {}
  Result<AuditReceipt> Append(AuditEvent event) override;
  Result<std::vector<AuditEvent>> ReadEvents() override;
  Result<InclusionProof> ProveInclusion(std::uint64_t seq) override;
  std::string public_key_hex() const override;

 private:
  AuditLog* log_;
  std::string data_dir_;
};

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_AUDIT_SINK_H_
