// POST /v1/identifications: 1:N search of one probe in a gallery. Returns
// the ranked candidate list in the shape of `abis identify --json`; with
// several faces and no face_index, the faces to choose from.

#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddIdentificationRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST",
       "/v1/identifications",
       false,
       {Role::kOperator, Role::kSupervisor},
       [](RequestContext& request, ServerContext& server) -> Result<Reply> {
         ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http, "image"));
         IdentificationRequest search;
         ABIS_ASSIGN_OR_RETURN(search.gallery, RequiredString(body, "gallery"));
         ABIS_ASSIGN_OR_RETURN(search.max_candidates,
                               OptionalInt(body, "max_candidates", 20, 1, 1000));
         ABIS_ASSIGN_OR_RETURN(search.min_score, OptionalDouble(body, "min_score", 0.0));
         ABIS_ASSIGN_OR_RETURN(search.face_index, OptionalInt(body, "face_index", -1, -1, 1000));
         if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
         search.image = std::move(*body.image);
         std::optional<IdentificationResult> result;
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto found = engine.Identify(search);
           if (!found.ok()) return found.status();
           result = std::move(*found);
           return Status::Ok();
         }));
         nlohmann::json document = IdentificationToJson(search.gallery, *result);
         return Reply{200, document};
       }});
}

}  // namespace abis::server
