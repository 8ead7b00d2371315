// /v1/audit: auditors (and admins) read the audit log over the API: events
// by sequence number, an event's inclusion proof against the latest signed
// checkpoint, and that checkpoint with the public key to check it.
// Reading is itself an audited action.

#include <string>

#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

constexpr std::uint64_t kMaxPage = 1000;

Result<std::uint64_t> ParseCount(const std::string& text, const char* what) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError(std::string(what) + " must be a non-negative decimal number");
  }
  return std::stoull(text);
}

Result<Reply> ListEvents(RequestContext& request, ServerContext& server) {
  std::uint64_t from = 0;
  std::uint64_t limit = 100;
  if (request.http.has_param("from")) {
    ABIS_ASSIGN_OR_RETURN(from, ParseCount(request.http.get_param_value("from"), "from"));
  }
  if (request.http.has_param("limit")) {
    ABIS_ASSIGN_OR_RETURN(limit, ParseCount(request.http.get_param_value("limit"), "limit"));
    if (limit < 1 || limit > kMaxPage) return OutOfRangeError("limit must be 1..1000");
  }
  request.audit.details = "from " + std::to_string(from) + " limit " + std::to_string(limit);
  ABIS_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, server.audit().ReadEvents(from, limit));
  nlohmann::json list = nlohmann::json::array();
  for (const AuditEvent& event : events) list.push_back(AuditEventToJson(event));
  std::uint64_t size = server.audit().size();
  std::uint64_t next = from + events.size();
  return Reply{200,
               {{"events", list},
                {"size", size},
                {"next_from", next < size ? nlohmann::json(next) : nlohmann::json(nullptr)}}};
}

Result<Reply> ProveEvent(RequestContext& request, ServerContext& server) {
  const std::string& text = request.path_params["seq"];
  request.audit.object_ids = {"audit:" + text};
  ABIS_ASSIGN_OR_RETURN(std::uint64_t seq, ParseCount(text, "seq"));
  ABIS_ASSIGN_OR_RETURN(InclusionProof proof, server.audit().ProveInclusion(seq));
  ABIS_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, server.audit().ReadEvents(seq, 1));
  if (events.empty()) return NotFoundError("no audit event " + text);
  nlohmann::json body = InclusionProofToJson(proof);
  body["event"] = AuditEventToJson(events.front());
  body["public_key"] = server.audit().public_key_hex();
  return Reply{200, body};
}

Result<Reply> LatestCheckpoint(RequestContext&, ServerContext& server) {
  return Reply{200,
               {{"latest", CheckpointToJson(server.audit().latest_checkpoint())},
                {"size", server.audit().size()},
                {"public_key", server.audit().public_key_hex()}}};
}

}  // namespace

void AddAuditRoutes(std::vector<Route>& routes) {
  const std::vector<Role> readers = {Role::kAuditor, Role::kAdmin};
  routes.push_back({"GET", "/v1/audit/events", false, readers, ListEvents, "audit.read"});
  routes.push_back(
      {"GET", "/v1/audit/events/{seq}/proof", false, readers, ProveEvent, "audit.proof"});
  routes.push_back(
      {"GET", "/v1/audit/checkpoints", false, readers, LatestCheckpoint, "audit.checkpoints"});
}

}  // namespace abis::server
