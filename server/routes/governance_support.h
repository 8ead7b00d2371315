// governance_support.h
//
// What the governance routes share: the request's principal as a governance
// Actor (server Role -> ActorRole by name), the JSON body of a request, and
// the audit note of a governance call (its reason on refusal). The
// Governance object writes its own gov.* events; the server's request event
// records the route, the outcome and, for refusals, the stable reason.
//
// Thread safety: stateless functions.

#ifndef ABIS_SERVER_ROUTES_GOVERNANCE_SUPPORT_H_
#define ABIS_SERVER_ROUTES_GOVERNANCE_SUPPORT_H_

#include <string>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "governance/governance.h"
#include "server/route.h"

namespace abis::server {

// The caller as the governance core sees it. Internal error for a role the
// core does not know (cannot happen while the two role lists agree).
Result<governance::Actor> ActorOf(const RequestContext& request);

// The request body as a JSON object; "{}" for an empty body.
Result<nlohmann::json> JsonBody(const RequestContext& request);

// An optional string field; InvalidArgument when present and not a string.
Result<std::string> OptionalText(const nlohmann::json& body, const std::string& key);

// Passes `result` through, writing "refused reason=<reason>" into the
// request's audit details when it is a governance refusal.
template <typename T>
Result<T> Noted(RequestContext& request, Result<T> result);
Status Noted(RequestContext& request, Status status);

template <typename T>
Result<T> Noted(RequestContext& request, Result<T> result) {
  if (!result.ok()) (void)Noted(request, result.status());
  return result;
}

}  // namespace abis::server

#endif  // ABIS_SERVER_ROUTES_GOVERNANCE_SUPPORT_H_
