// /healthz (the process answers) and /readyz (stores and engine usable):
// the only routes served without a token; they reveal nothing else.

#include "server/routes/routes.h"

namespace abis::server {

void AddHealthRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"GET", "/healthz", true, {}, [](RequestContext&, ServerContext&) -> Result<Reply> {
         return Reply{200, {{"status", "ok"}}};
       }});
  routes.push_back(
      {"GET", "/readyz", true, {}, [](RequestContext&, ServerContext& server) -> Result<Reply> {
         ABIS_RETURN_IF_ERROR(server.principals().Ping());
         if (!server.audit().health().ok())
           return UnavailableError("the audit log is not writable");
         ABIS_RETURN_IF_ERROR(server.WithEngine([](Engine&) { return Status::Ok(); }, 1000));
         return Reply{200, {{"status", "ready"}}};
       }});
}

}  // namespace abis::server
