#include "server/routes/governance_support.h"

#include "governance/governance_types.h"

namespace abis::server {

Result<governance::Actor> ActorOf(const RequestContext& request) {
  auto role = governance::ParseActorRole(RoleName(request.principal.role));
  if (!role.ok()) return InternalError("role has no governance counterpart");
  return governance::Actor{request.principal.name, *role, request.device};
}

Result<nlohmann::json> JsonBody(const RequestContext& request) {
  if (request.http.body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(request.http.body, nullptr, false);
  if (!body.is_object()) return InvalidArgumentError("the request body must be a JSON object");
  return body;
}

Result<std::string> OptionalText(const nlohmann::json& body, const std::string& key) {
  if (!body.contains(key) || body[key].is_null()) return std::string();
  if (!body[key].is_string()) {
    return InvalidArgumentError("field \"" + key + "\" must be a string");
  }
  return body[key].get<std::string>();
}

Status Noted(RequestContext& request, Status status) {
  std::string reason = governance::GovernanceReason(status);
  if (!reason.empty()) request.audit.details = "refused reason=" + reason;
  return status;
}

}  // namespace abis::server
