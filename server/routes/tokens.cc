// /v1/tokens: admins issue, list and revoke API tokens. POST creates a
// principal (or reuses one with the same role) and shows its new token
// once; GET lists tokens without secrets; DELETE revokes one, refusing it
// from its next request on.

#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

nlohmann::json TokenToJson(const TokenInfo& token) {
  auto optional_text = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  return {{"id", token.id},
          {"principal", {{"id", token.principal_id}, {"name", token.principal}}},
          {"role", std::string(RoleName(token.role))},
          {"bootstrap", token.bootstrap},
          {"created_at", token.created_at},
          {"last_used_at", optional_text(token.last_used_at)},
          {"revoked_at", optional_text(token.revoked_at)},
          {"revoked", !token.revoked_at.empty()}};
}

Result<Reply> IssueToken(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http));
  ABIS_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name"));
  ABIS_ASSIGN_OR_RETURN(std::string role_name, RequiredString(body, "role"));
  ABIS_ASSIGN_OR_RETURN(Role role, ParseRole(role_name));
  request.audit.object_ids = {"principal:" + name};
  request.audit.details = "role " + role_name;
  ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
  ABIS_ASSIGN_OR_RETURN(IssuedToken issued,
                        server.principals().IssueToken(name, role, request.principal));
  request.audit.object_ids.push_back("token:" + std::to_string(issued.token_id));
  // A token whose issue is not on record must not work.
  request.audit.undo = [&server, id = issued.token_id] {
    (void)server.principals().RevokeToken(id);
  };
  nlohmann::json principal = {{"id", issued.principal.id},
                              {"name", issued.principal.name},
                              {"role", std::string(RoleName(issued.principal.role))},
                              {"created_at", issued.principal.created_at}};
  return Reply{201,
               {{"principal", principal},
                {"principal_created", issued.principal_created},
                {"token_id", issued.token_id},
                {"token", issued.token},
                {"note", "the token is shown once; only its hash is stored"}}};
}

Result<Reply> ListTokens(RequestContext&, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(std::vector<TokenInfo> tokens, server.principals().ListTokens());
  nlohmann::json list = nlohmann::json::array();
  for (const TokenInfo& token : tokens) list.push_back(TokenToJson(token));
  return Reply{200, {{"tokens", list}}};
}

Result<Reply> RevokeToken(RequestContext& request, ServerContext& server) {
  const std::string& text = request.path_params["id"];
  request.audit.object_ids = {"token:" + text};
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("token id must be a decimal number");
  }
  ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
  ABIS_ASSIGN_OR_RETURN(TokenInfo token, server.principals().RevokeToken(std::stoll(text)));
  return Reply{200, {{"token", TokenToJson(token)}}};
}

}  // namespace

void AddTokenRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "/v1/tokens", false, {Role::kAdmin}, IssueToken, "token.create"});
  routes.push_back({"GET", "/v1/tokens", false, {Role::kAdmin}, ListTokens, "token.list"});
  routes.push_back(
      {"DELETE", "/v1/tokens/{id}", false, {Role::kAdmin}, RevokeToken, "token.revoke"});
}

}  // namespace abis::server
