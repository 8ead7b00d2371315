// /v1/identifications/{id}...: the record of one search and its two-person
// review: the search view (candidates hidden from auditors, other
// examiners' decisions hidden until one has decided), opening a candidate
// and deciding it (POST .../reviews), the STOP control, the sealed probe
// for examiners, and quality-gate overrides. Thin calls into
// governance::Governance (docs/governance.md).

#include "governance/governance_json.h"
#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

namespace gov = abis::governance;

Result<Reply> GetSearch(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(gov::SearchView view,
                        Noted(request, server.governance().GetSearch(actor, id)));
  return Reply{200, gov::ToJson(view)};
}

// {"action": "open", "rank": N} records that this examiner opened candidate
// N and returns it; {"rank", "decision": "confirm"|"exclude", "reason"}
// (action "decide", the default) submits the examiner's decision.
Result<Reply> Review(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(std::string action, OptionalText(body, "action"));
  if (action == "open") {
    if (!body.contains("rank") || !body["rank"].is_number_integer()) {
      return InvalidArgumentError("field \"rank\" must be an integer");
    }
    int rank = body["rank"].get<int>();
    ABIS_ASSIGN_OR_RETURN(gov::CandidateView candidate,
                          Noted(request, server.governance().OpenCandidate(actor, id, rank)));
    return Reply{200, gov::ToJson(candidate)};
  }
  if (!action.empty() && action != "decide") {
    return InvalidArgumentError("field \"action\" must be \"open\" or \"decide\"");
  }
  body.erase("action");
  ABIS_ASSIGN_OR_RETURN(gov::ReviewRequest review, gov::ReviewRequestFromJson(id, body));
  ABIS_ASSIGN_OR_RETURN(gov::SearchView view,
                        Noted(request, server.governance().SubmitReview(actor, review)));
  return Reply{200, gov::ToJson(view)};
}

Result<Reply> Stop(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(std::string reason, OptionalText(body, "reason"));
  ABIS_ASSIGN_OR_RETURN(gov::SearchView view,
                        Noted(request, server.governance().StopSearch(actor, id, reason)));
  return Reply{200, gov::ToJson(view)};
}

Result<Reply> Probe(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> probe,
                        Noted(request, server.governance().OpenProbe(actor, id)));
  Reply reply;
  reply.text.assign(probe.begin(), probe.end());
  reply.content_type = "application/octet-stream";
  return reply;
}

Result<Reply> OverrideQuality(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(gov::QualityOverrideRequest parsed,
                        gov::QualityOverrideRequestFromJson(body));
  request.audit.object_ids = {parsed.authority_id};
  request.audit.hashes["probe_sha256"] = parsed.probe_sha256;
  ABIS_ASSIGN_OR_RETURN(gov::QualityOverride record,
                        Noted(request, server.governance().OverrideQualityGate(actor, parsed)));
  return Reply{201, gov::ToJson(record)};
}

}  // namespace

void AddReviewRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"GET",
       "/v1/identifications/{id}",
       false,
       {Role::kOperator, Role::kReviewer, Role::kSupervisor, Role::kAuthoriser, Role::kAuditor},
       GetSearch,
       "search.view"});
  routes.push_back({"POST",
                    "/v1/identifications/{id}/reviews",
                    false,
                    {Role::kReviewer},
                    Review,
                    "search.review"});
  routes.push_back({"POST",
                    "/v1/identifications/{id}/stop",
                    false,
                    {Role::kOperator, Role::kReviewer, Role::kSupervisor},
                    Stop,
                    "search.stop"});
  routes.push_back({"GET",
                    "/v1/identifications/{id}/probe",
                    false,
                    {Role::kReviewer, Role::kSupervisor},
                    Probe,
                    "search.probe"});
  routes.push_back({"POST",
                    "/v1/quality-overrides",
                    false,
                    {Role::kReviewer},
                    OverrideQuality,
                    "quality.override"});
}

}  // namespace abis::server
