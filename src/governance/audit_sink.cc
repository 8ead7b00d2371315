#include "governance/audit_sink.h"

namespace abis::governance {

Result<AuditReceipt> AuditLogSink::Append(AuditEvent event) {
  if (log_ == nullptr) return UnavailableError("audit log not open");
  return log_->Append(std::move(event));
}

Result<std::vector<AuditEvent>> AuditLogSink::ReadEvents() {
  if (log_ == nullptr) return UnavailableError("audit log not open");
  return ReadAuditEvents(data_dir_);
}

Result<InclusionProof> AuditLogSink::ProveInclusion(std::uint64_t seq) {
  if (log_ == nullptr) return UnavailableError("audit log not open");
  Result<InclusionProof> proof = log_->ProveInclusion(seq);
  if (!proof.ok() && proof.status().code() == StatusCode::kFailedPrecondition) {
    // The latest checkpoint predates the event (checkpoint_interval > 1).
    ABIS_RETURN_IF_ERROR(log_->WriteCheckpoint().status());
    return log_->ProveInclusion(seq);
  }
  return proof;
}

std::string AuditLogSink::public_key_hex() const {
  return log_ == nullptr ? std::string() : log_->public_key_hex();
}

}  // namespace abis::governance
