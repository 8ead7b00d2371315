// audit_trail.h
//
// The server's side of the audit log: building an event from a request
// (actor = principal name, never a secret; device; action; object ids;
// hashes of the probe bytes, never images or templates; result = "ok" or a
// status code name), and the JSON shapes of events, checkpoints and
// inclusion proofs served under /v1/audit.
//
// Thread safety: stateless functions.

#ifndef ABIS_SERVER_AUDIT_TRAIL_H_
#define ABIS_SERVER_AUDIT_TRAIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "audit/audit_log.h"
#include "server/route.h"

namespace abis::server {

// "ok" for OK, else the status code name ("permission_denied", ...).
std::string AuditResult(const Status& status);

// The request's event: actor, device, action, the handler's note, result.
AuditEvent MakeAuditEvent(const RequestContext& request, const std::string& result);

// An event for a request refused before it had a principal (missing,
// invalid or revoked token or device): actor is "" (anonymous).
AuditEvent MakeAuthFailureEvent(const std::string& method, const std::string& route_path,
                                const std::string& device, const std::string& reason);

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(const std::vector<std::uint8_t>& bytes);

nlohmann::json AuditEventToJson(const AuditEvent& event);
nlohmann::json CheckpointToJson(const Checkpoint& checkpoint);
nlohmann::json InclusionProofToJson(const InclusionProof& proof);

}  // namespace abis::server

#endif  // ABIS_SERVER_AUDIT_TRAIL_H_
