// POST /v1/verifications: 1:1 comparison of a probe with an enrolled
// identity's references; the score and whether it meets the threshold.

#include "server/audit_trail.h"
#include "server/json_codec.h"
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
         if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
         verification.image = std::move(*body.image);
         request.audit.object_ids = {verification.gallery, verification.identity};
         request.audit.hashes["probe_sha256"] = Sha256Hex(verification.image);
         std::optional<VerificationResult> result;
         AlgorithmInfo algorithm;
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto verified = engine.Verify(verification);
           if (!verified.ok()) return verified.status();
           result = std::move(*verified);
           algorithm = engine.face_algorithm();
           return Status::Ok();
         }));
         return Reply{200, VerificationToJson(verification.gallery, verification.identity, *result,
                                              algorithm)};
       },
       "verify"});
}

}  // namespace abis::server
