// /v1/authorities and /v1/galleries/registrations: the authorities every
// 1:N search must name (requested by an operator or supervisor, issued or
// granted by an authoriser, or imported signed by a trusted external key),
// and the gallery registry they are scoped to. Thin calls into
// governance::Governance (docs/governance.md).

#include "governance/governance_json.h"
#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

namespace gov = abis::governance;

const std::vector<Role> kAuthorityReaders = {Role::kOperator, Role::kReviewer, Role::kSupervisor,
                                             Role::kAuthoriser, Role::kAuditor};

Result<Reply> CreateAuthority(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  gov::Authority authority;
  if (body.contains("payload_json")) {
    // An authority issued outside, signed by a configured external key.
    gov::SignedAuthority signed_authority;
    ABIS_ASSIGN_OR_RETURN(signed_authority.payload_json, OptionalText(body, "payload_json"));
    ABIS_ASSIGN_OR_RETURN(signed_authority.signature_hex, OptionalText(body, "signature_hex"));
    ABIS_ASSIGN_OR_RETURN(signed_authority.public_key_hex, OptionalText(body, "public_key_hex"));
    ABIS_ASSIGN_OR_RETURN(
        authority, Noted(request, server.governance().ImportAuthority(actor, signed_authority)));
  } else {
    ABIS_ASSIGN_OR_RETURN(gov::AuthorityRequest parsed, gov::AuthorityRequestFromJson(body));
    ABIS_ASSIGN_OR_RETURN(authority,
                          Noted(request, server.governance().CreateAuthority(actor, parsed)));
  }
  request.audit.object_ids = {authority.id};
  return Reply{201, gov::ToJson(authority)};
}

Result<Reply> ListAuthorities(RequestContext&, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(std::vector<gov::Authority> list, server.governance().ListAuthorities());
  nlohmann::json authorities = nlohmann::json::array();
  for (const gov::Authority& authority : list) authorities.push_back(gov::ToJson(authority));
  return Reply{200, {{"authorities", authorities}}};
}

Result<Reply> GetAuthority(RequestContext& request, ServerContext& server) {
  const std::string& id = request.path_params["id"];
  request.audit.object_ids = {id};
  ABIS_ASSIGN_OR_RETURN(gov::Authority authority,
                        Noted(request, server.governance().GetAuthority(id)));
  return Reply{200, gov::ToJson(authority)};
}

// grant / reject / revoke: {reason}.
RouteHandler Decide(Result<gov::Authority> (gov::Governance::*decide)(const gov::Actor&,
                                                                      const std::string&,
                                                                      const std::string&)) {
  return [decide](RequestContext& request, ServerContext& server) -> Result<Reply> {
    const std::string& id = request.path_params["id"];
    request.audit.object_ids = {id};
    ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
    ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
    ABIS_ASSIGN_OR_RETURN(std::string reason, OptionalText(body, "reason"));
    ABIS_ASSIGN_OR_RETURN(gov::Authority authority,
                          Noted(request, (server.governance().*decide)(actor, id, reason)));
    return Reply{200, gov::ToJson(authority)};
  };
}

Result<Reply> RegisterGallery(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  ABIS_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(request));
  ABIS_ASSIGN_OR_RETURN(gov::GalleryRegistration registration,
                        gov::GalleryRegistrationFromJson(body));
  request.audit.object_ids = {registration.name};
  ABIS_ASSIGN_OR_RETURN(gov::GalleryRecord record,
                        Noted(request, server.governance().RegisterGallery(actor, registration)));
  return Reply{201, gov::ToJson(record)};
}

Result<Reply> GetRegistration(RequestContext& request, ServerContext& server) {
  const std::string& name = request.path_params["name"];
  request.audit.object_ids = {name};
  ABIS_ASSIGN_OR_RETURN(gov::GalleryRecord record,
                        Noted(request, server.governance().GetGallery(name)));
  return Reply{200, gov::ToJson(record)};
}

}  // namespace

void AddAuthorityRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST",
                    "/v1/authorities",
                    false,
                    {Role::kOperator, Role::kSupervisor, Role::kAuthoriser},
                    CreateAuthority,
                    "authority.create"});
  routes.push_back(
      {"GET", "/v1/authorities", false, kAuthorityReaders, ListAuthorities, "authority.list"});
  routes.push_back(
      {"GET", "/v1/authorities/{id}", false, kAuthorityReaders, GetAuthority, "authority.get"});
  routes.push_back({"POST",
                    "/v1/authorities/{id}/grant",
                    false,
                    {Role::kAuthoriser},
                    Decide(&gov::Governance::GrantAuthority),
                    "authority.grant"});
  routes.push_back({"POST",
                    "/v1/authorities/{id}/reject",
                    false,
                    {Role::kAuthoriser},
                    Decide(&gov::Governance::RejectAuthority),
                    "authority.reject"});
  routes.push_back({"POST",
                    "/v1/authorities/{id}/revoke",
                    false,
                    {Role::kAuthoriser},
                    Decide(&gov::Governance::RevokeAuthority),
                    "authority.revoke"});
  routes.push_back({"POST",
                    "/v1/galleries/registrations",
                    false,
                    {Role::kSupervisor},
                    RegisterGallery,
                    "gallery.register"});
  routes.push_back({"GET", "/v1/galleries/registrations/{name}", false, kAuthorityReaders,
                    GetRegistration, "gallery.registration"});
}

}  // namespace abis::server
