// POST /v1/verifications: 1:1 comparison of a probe with an enrolled
// identity's references; the score and whether it meets the threshold.

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
         std::optional<VerificationResult> result;
         AlgorithmInfo algorithm;
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto verified = engine.Verify(verification);
           if (!verified.ok()) return verified.status();
           result = std::move(*verified);
           algorithm = engine.face_algorithm();
           return Status::Ok();
         }));
         return Reply{
             200,
             {{"gallery", verification.gallery},
              {"identity", verification.identity},
              {"reference_id", result->reference_id},
              {"score", result->score},
              {"distance", result->distance},
              {"threshold", result->threshold},
              {"meets_threshold", result->meets_threshold},
              {"fmr", result->fmr ? nlohmann::json(*result->fmr) : nlohmann::json(nullptr)},
              {"fmr_is_upper_bound",
               result->fmr ? nlohmann::json(result->fmr_is_upper_bound) : nullptr},
              {"face", ToJson(result->face)},
              {"algorithm", ToJson(algorithm)}}};
       }});
}

}  // namespace abis::server
