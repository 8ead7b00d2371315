// GET /v1/identities?gallery=NAME&authority_id=ID&case_id=CASE: the
// identities enrolled in a gallery. Listing a gallery is a consultation
// (docs/governance.md, F-01): it names an authority covering the gallery
// and its case, checked by Governance::CheckConsultation (refusal: 403 with
// reason and error code, audited as gov.gallery.consult) before the
// engine reads anything. Operators, reviewers and supervisors only;
// auditors see the audit log and gallery sizes (GET /v1/galleries), not
// identities.

#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddIdentityRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"GET",
       "/v1/identities",
       false,
       {Role::kOperator, Role::kReviewer, Role::kSupervisor},
       [](RequestContext& request, ServerContext& server) -> Result<Reply> {
         governance::ConsultationRequest consultation;
         consultation.gallery = request.http.get_param_value("gallery");
         consultation.authority_id = request.http.get_param_value("authority_id");
         consultation.case_id = request.http.get_param_value("case_id");
         request.audit.object_ids = {consultation.gallery};
         if (!consultation.authority_id.empty()) {
           request.audit.object_ids.push_back(consultation.authority_id);
         }
         if (consultation.gallery.empty())
           return InvalidArgumentError("query parameter \"gallery\" is required");
         ABIS_ASSIGN_OR_RETURN(governance::Actor actor, ActorOf(request));
         ABIS_RETURN_IF_ERROR(
             Noted(request, server.governance().CheckConsultation(actor, consultation)));
         nlohmann::json identities = nlohmann::json::array();
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto list = engine.ListIdentities(consultation.gallery);
           if (!list.ok()) return list.status();
           for (const std::string& identity : *list) identities.push_back(identity);
           return Status::Ok();
         }));
         return Reply{200, {{"gallery", consultation.gallery}, {"identities", identities}}};
       },
       "identity.list"});
}

}  // namespace abis::server
