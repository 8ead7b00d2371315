// POST /v1/verifications: 1:1 comparison of a probe with an enrolled
// identity's references; the score and whether it meets the threshold.
// It names `encounter_reference` and `legal_basis` (Governance::
// CheckVerification: refused with 403, reason and code, audited as
// gov.verification.authorise, before the engine runs).

#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddVerificationRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST",
       "/v1/verifications",
       false,
       {Role::kOperator, Role::kSupervisor},
       [](RequestContext& request, ServerContext& server) -> Result<Reply> {
         ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http, "image"));
         VerificationRequest verification;
         ABIS_ASSIGN_OR_RETURN(verification.gallery, RequiredString(body, "gallery"));
         ABIS_ASSIGN_OR_RETURN(verification.identity, RequiredString(body, "identity"));
         ABIS_ASSIGN_OR_RETURN(verification.face_index,
                               OptionalInt(body, "face_index", -1, -1, 1000));
         ABIS_ASSIGN_OR_RETURN(CaptureFields capture, ReadCaptureFields(body));
         verification.modality = capture.modality;
         verification.finger = capture.finger;
         if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
         verification.image = std::move(*body.image);
         request.audit.object_ids = {verification.gallery, verification.identity};
         request.audit.hashes["probe_sha256"] = Sha256Hex(verification.image);
         // 1:1 with the person present: an encounter reference and a listed
         // legal basis, checked (and audited) before the engine runs.
         governance::VerificationCheckRequest check;
         ABIS_ASSIGN_OR_RETURN(auto encounter, OptionalString(body, "encounter_reference"));
         check.encounter_reference = encounter.value_or("");
         ABIS_ASSIGN_OR_RETURN(auto legal_basis, OptionalString(body, "legal_basis"));
         check.legal_basis = legal_basis.value_or("");
         check.gallery = verification.gallery;
         if (!check.encounter_reference.empty()) {
           request.audit.object_ids.push_back(check.encounter_reference);
         }
         ABIS_ASSIGN_OR_RETURN(governance::Actor actor, ActorOf(request));
         ABIS_RETURN_IF_ERROR(Noted(request, server.governance().CheckVerification(actor, check)));
         std::optional<VerificationResult> result;
         AlgorithmInfo algorithm;
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto verified = engine.Verify(verification);
           if (!verified.ok()) return verified.status();
           result = std::move(*verified);
           algorithm = verification.modality == Modality::kFinger ? engine.finger_algorithm()
                                                                  : engine.face_algorithm();
           return Status::Ok();
         }));
         return Reply{200, VerificationToJson(verification.gallery, verification.identity, *result,
                                              algorithm)};
       },
       "verify"});
}

}  // namespace abis::server
