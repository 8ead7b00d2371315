// GET /v1/identities?gallery=NAME: the identities enrolled in a gallery.

#include "server/routes/routes.h"

namespace abis::server {

void AddIdentityRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET",
                    "/v1/identities",
                    false,
                    {Role::kOperator, Role::kReviewer, Role::kSupervisor, Role::kAuditor},
                    [](RequestContext& request, ServerContext& server) -> Result<Reply> {
                      std::string gallery = request.http.get_param_value("gallery");
                      request.audit.object_ids = {gallery};
                      if (gallery.empty())
                        return InvalidArgumentError("query parameter \"gallery\" is required");
                      nlohmann::json identities = nlohmann::json::array();
                      ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
                        auto list = engine.ListIdentities(gallery);
                        if (!list.ok()) return list.status();
                        for (const std::string& identity : *list) identities.push_back(identity);
                        return Status::Ok();
                      }));
                      return Reply{200, {{"gallery", gallery}, {"identities", identities}}};
                    },
                    "identity.list"});
}

}  // namespace abis::server
