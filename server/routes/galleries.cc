// GET /v1/galleries and DELETE /v1/galleries/{name}.

#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddGalleryRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"GET",
       "/v1/galleries",
       false,
       {Role::kOperator, Role::kReviewer, Role::kSupervisor, Role::kAuthoriser, Role::kAuditor},
       [](RequestContext&, ServerContext& server) -> Result<Reply> {
         nlohmann::json galleries = nlohmann::json::array();
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           auto list = engine.ListGalleries();
           if (!list.ok()) return list.status();
           for (const GalleryInfo& g : *list) galleries.push_back(ToJson(g));
           return Status::Ok();
         }));
         return Reply{200, {{"galleries", galleries}}};
       },
       "gallery.list"});
  routes.push_back({"DELETE",
                    "/v1/galleries/{name}",
                    false,
                    {Role::kSupervisor, Role::kAuthoriser},
                    [](RequestContext& request, ServerContext& server) -> Result<Reply> {
                      const std::string& name = request.path_params["name"];
                      request.audit.object_ids = {name};
                      // Crypto-erase cannot be undone: the intent is on
                      // record before the keys are destroyed.
                      ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
                        ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
                        return engine.DeleteGallery(name);
                      }));
                      return Reply{200, {{"gallery", name}, {"deleted", true}}};
                    },
                    "gallery.delete"});
}

}  // namespace abis::server
