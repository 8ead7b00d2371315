#include "server/audit_trail.h"

#include <sodium.h>

namespace abis::server {
namespace {

// Audit text fields are bounded printable ASCII; anything else a client
// sent (e.g. a gallery name with UTF-8) is replaced so the event is still
// written rather than refused.
std::string Printable(const std::string& text, std::size_t max_bytes) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_bytes) break;
    out += (c >= 0x20 && c <= 0x7e) ? c : '?';
  }
  return out;
}

}  // namespace

std::string AuditResult(const Status& status) {
  return status.ok() ? "ok" : std::string(StatusCodeName(status.code()));
}

AuditEvent MakeAuditEvent(const RequestContext& request, const std::string& result) {
  AuditEvent event;
  event.actor = Printable(request.principal.name, kAuditMaxNameBytes);
  event.device = Printable(request.device, kAuditMaxNameBytes);
  event.action = request.action;
  for (const std::string& id : request.audit.object_ids) {
    if (event.object_ids.size() >= kAuditMaxObjectIds) break;
    if (id.empty()) continue;
    event.object_ids.push_back(Printable(id, kAuditMaxNameBytes));
  }
  event.hashes = request.audit.hashes;
  event.result = result;
  std::string details = "request " + request.request_id;
  if (!request.audit.details.empty()) details += "; " + request.audit.details;
  event.details = Printable(details, kAuditMaxDetailsBytes);
  return event;
}

AuditEvent MakeAuthFailureEvent(const std::string& method, const std::string& route_path,
                                const std::string& device, const std::string& reason) {
  AuditEvent event;
  event.device = Printable(device, kAuditMaxNameBytes);
  event.action = "login_failed";
  event.object_ids.push_back(Printable(method + " " + route_path, kAuditMaxNameBytes));
  event.result = "permission_denied";
  event.details = Printable(reason, kAuditMaxDetailsBytes);
  return event;
}

std::string Sha256Hex(const std::vector<std::uint8_t>& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

nlohmann::json AuditEventToJson(const AuditEvent& event) {
  return {{"seq", event.seq},       {"time", event.time_utc}, {"actor", event.actor},
          {"device", event.device}, {"action", event.action}, {"objects", event.object_ids},
          {"hashes", event.hashes}, {"result", event.result}, {"details", event.details},
          {"prev", event.prev_hash}};
}

nlohmann::json CheckpointToJson(const Checkpoint& checkpoint) {
  return {{"tree_size", checkpoint.tree_size},   {"root", checkpoint.root},
          {"chain_head", checkpoint.chain_head}, {"time", checkpoint.time_utc},
          {"key_id", checkpoint.key_id},         {"signature", checkpoint.signature}};
}

nlohmann::json InclusionProofToJson(const InclusionProof& proof) {
  return {{"seq", proof.seq},
          {"leaf_hash", proof.leaf_hash},
          {"path", proof.path},
          {"checkpoint", CheckpointToJson(proof.checkpoint)}};
}

}  // namespace abis::server
