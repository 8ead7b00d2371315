// Oversight routes: disputes and their independent re-review, signed
// disclosure packages, the transparency report (JSON or HTML), the
// retention purge and the deployment-wide suspension switch. Thin calls into
// governance::Governance (docs/governance.md).

#include "governance/governance_json.h"
#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

namespace gov = abis::governance;

Result<Reply> OpenDispute(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(gov::DisputeRequest parsed, gov::DisputeRequestFromJson(body));
  request.audit.object_ids = {parsed.search_id};
  ABIS_ASSIGN_OR_RETURN(gov::Dispute dispute,
                        Noted(request, server.governance().OpenDispute(actor, parsed)));
  request.audit.object_ids.push_back(dispute.id);
  return Reply{201, gov::ToJson(dispute)};
}

Result<Reply> GetDispute(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Dispute dispute, Noted(request, server.governance().GetDispute(id)));
  return Reply{200, gov::ToJson(dispute)};
}

Result<Reply> ReviewDispute(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(gov::DisputeReviewRequest parsed,
                        gov::DisputeReviewRequestFromJson(id, body));
  ABIS_ASSIGN_OR_RETURN(gov::Dispute dispute,
                        Noted(request, server.governance().SubmitDisputeReview(actor, parsed)));
  return Reply{200, gov::ToJson(dispute)};
}

// The package is returned as the exact signed text (`package_json`), with
// the key that signed it; the audit key is at /v1/audit/checkpoints.
Result<Reply> ExportDisclosure(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(gov::DisclosureRequest parsed, gov::DisclosureRequestFromJson(body));
  request.audit.object_ids = {parsed.search_id};
  ABIS_ASSIGN_OR_RETURN(gov::DisclosureExport exported,
                        Noted(request, server.governance().ExportDisclosure(actor, parsed)));
  request.audit.object_ids.push_back(exported.package_id);
  request.audit.hashes["package_sha256"] = exported.package_sha256;
  return Reply{201,
               {{"package_id", exported.package_id},
                {"package_sha256", exported.package_sha256},
                {"package_json", exported.package_json},
                {"signing_public_key", server.governance().disclosure_public_key_hex()}}};
}

Result<Reply> TransparencyReport(RequestContext& request, ServerContext& server) {
  std::string format =
      request.http.has_param("format") ? request.http.get_param_value("format") : "json";
  if (format != "json" && format != "html") {
    return InvalidArgumentError("format must be \"json\" or \"html\"");
  }
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(gov::TransparencyReport report,
                        Noted(request, server.governance().BuildTransparencyReport(actor)));
  request.audit.details = "format=" + format;
  if (format == "html") {
    Reply reply;
    reply.text = report.html;
    reply.content_type = "text/html; charset=utf-8";
    return reply;
  }
  nlohmann::json document = nlohmann::json::parse(report.json, nullptr, false);
  if (document.is_discarded()) return InternalError("transparency report is not JSON");
  return Reply{200, document};
}

Result<Reply> Purge(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(gov::PurgeReport report,
                        Noted(request, server.governance().RunRetention(actor)));
  request.audit.details =
      "erased=" + std::to_string(report.erased.size()) +
      " authorities_expired=" + std::to_string(report.authorities_expired.size());
  return Reply{200, gov::ToJson(report)};
}

Result<Reply> GetSuspension(RequestContext&, ServerContext& server) {
  return Reply{200, gov::ToJson(server.governance().GetSuspension())};
}

// {"action": "suspend"|"resume", "reason"}.
Result<Reply> SetSuspension(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(std::string action, OptionalText(body, "action"));
  ABIS_ASSIGN_OR_RETURN(std::string reason, OptionalText(body, "reason"));
  gov::Governance& governance = server.governance();
  Result<gov::Suspension> result =
      InvalidArgumentError("field \"action\" must be \"suspend\" or \"resume\"");
  if (action == "suspend") {
    result = governance.Suspend(actor, reason);
  } else if (action == "resume") {
    result = governance.Resume(actor, reason);
  } else {
    return result.status();
  }
  ABIS_ASSIGN_OR_RETURN(gov::Suspension suspension, Noted(request, std::move(result)));
  request.audit.object_ids = {suspension.id};
  return Reply{200, gov::ToJson(suspension)};
}

}  // namespace

void AddOversightRoutes(std::vector<Route>& routes) {
  const std::vector<Role> oversight = {Role::kSupervisor, Role::kAuditor};
  routes.push_back({"POST", "/v1/disputes", false, oversight, OpenDispute, "dispute.open"});
  routes.push_back({"GET",
                    "/v1/disputes/{id}",
                    false,
                    {Role::kReviewer, Role::kSupervisor, Role::kAuditor},
                    GetDispute,
                    "dispute.get"});
  routes.push_back({"POST",
                    "/v1/disputes/{id}/reviews",
                    false,
                    {Role::kReviewer},
                    ReviewDispute,
                    "dispute.review"});
  routes.push_back(
      {"POST", "/v1/disclosures", false, oversight, ExportDisclosure, "disclosure.export"});
  routes.push_back({"GET",
                    "/v1/reports/transparency",
                    false,
                    {Role::kSupervisor, Role::kAuditor, Role::kAdmin},
                    TransparencyReport,
                    "report.transparency"});
  routes.push_back({"POST",
                    "/v1/retention/purge",
                    false,
                    {Role::kSupervisor, Role::kAdmin},
                    Purge,
                    "retention.purge"});
  routes.push_back({"GET", "/v1/suspension", false, AllRoles(), GetSuspension, "suspension.get"});
  routes.push_back(
      {"POST", "/v1/suspension", false, {Role::kSupervisor}, SetSuspension, "suspension.set"});
}

}  // namespace abis::server
