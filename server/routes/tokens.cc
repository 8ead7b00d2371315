// POST /v1/tokens: an admin creates a principal (or reuses one with the
// same role) and issues it an API token, shown once in the response.

#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddTokenRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST",
       "/v1/tokens",
       false,
       {Role::kAdmin},
       [](RequestContext& request, ServerContext& server) -> Result<Reply> {
         ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http));
         ABIS_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name"));
         ABIS_ASSIGN_OR_RETURN(std::string role_name, RequiredString(body, "role"));
         ABIS_ASSIGN_OR_RETURN(Role role, ParseRole(role_name));
         ABIS_ASSIGN_OR_RETURN(IssuedToken issued,
                               server.principals().IssueToken(name, role, request.principal));
         nlohmann::json principal = {{"id", issued.principal.id},
                                     {"name", issued.principal.name},
                                     {"role", std::string(RoleName(issued.principal.role))},
                                     {"created_at", issued.principal.created_at}};
         return Reply{201,
                      {{"principal", principal},
                       {"principal_created", issued.principal_created},
                       {"token", issued.token},
                       {"note", "the token is shown once; only its hash is stored"}}};
       }});
}

}  // namespace abis::server
