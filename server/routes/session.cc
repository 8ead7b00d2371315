// GET /v1/session: who the server takes the caller to be. A client (the
// capture web app) asks it at sign-in: over mTLS a browser that presents a
// registered device's certificate learns the device's name and role without
// a token; with a token it learns the token's principal and, when a device
// certificate came with it, the device the request was made from. The
// answer is derived from the request's authentication only (the same rules
// as every other route, server/http_server.cc); nothing is stored.

#include "server/routes/routes.h"

namespace abis::server {
namespace {

Result<Reply> DescribeSession(RequestContext& request, ServerContext&) {
  const bool by_token = !request.http.get_header_value("Authorization").empty();
  const Principal& principal = request.principal;
  nlohmann::json body = {
      {"principal",
       {{"id", principal.id},
        {"name", principal.name},
        {"role", std::string(RoleName(principal.role))}}},
      {"authenticated_by", by_token ? "token" : "device_certificate"},
      {"device", request.device.empty() ? nlohmann::json(nullptr) : nlohmann::json(request.device)},
      {"tls", request.http.ssl != nullptr}};
  if (by_token) body["token_id"] = principal.token_id;
  request.audit.details = by_token ? "token" : "device certificate";
  return Reply{200, body};
}

}  // namespace

void AddSessionRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/v1/session", false, AllRoles(), DescribeSession, "session.view"});
}

}  // namespace abis::server
