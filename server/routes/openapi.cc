// GET /v1/openapi.json: the OpenAPI 3 document (server/openapi.json).

#include "server/routes/routes.h"

namespace abis::server {

void AddOpenApiRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/v1/openapi.json", false, AllRoles(),
                    [](RequestContext&, ServerContext&) -> Result<Reply> {
                      static const nlohmann::json document = nlohmann::json::parse(
                          OpenApiDocumentText(), nullptr, /*allow_exceptions=*/false);
                      if (document.is_discarded()) {
                        return InternalError("embedded OpenAPI document is not valid JSON");
                      }
                      return Reply{200, document};
                    },
                    "openapi.view"});
}

}  // namespace abis::server
