// routes.h
//
// One function per resource adds that resource's routes to the table
// (one file per resource under server/routes/).

#ifndef ABIS_SERVER_ROUTES_ROUTES_H_
#define ABIS_SERVER_ROUTES_ROUTES_H_

#include <string_view>
#include <vector>

#include "server/route.h"

namespace abis::server {

void AddHealthRoutes(std::vector<Route>& routes);
void AddMetricsRoutes(std::vector<Route>& routes);
void AddOpenApiRoutes(std::vector<Route>& routes);
void AddTokenRoutes(std::vector<Route>& routes);
void AddGalleryRoutes(std::vector<Route>& routes);
void AddIdentityRoutes(std::vector<Route>& routes);
void AddEnrolmentRoutes(std::vector<Route>& routes);
void AddIdentificationRoutes(std::vector<Route>& routes);
void AddVerificationRoutes(std::vector<Route>& routes);
// The web app's static files under /app/ (routes/web_app.cc): not API
// routes, so not in the route table or the OpenAPI document.
void AddWebAppHandlers(httplib::Server& http);
void AddAuditRoutes(std::vector<Route>& routes);
void AddDeviceRoutes(std::vector<Route>& routes);
// GET /v1/session: the caller's principal, and device over mTLS.
void AddSessionRoutes(std::vector<Route>& routes);
void AddFaceCheckRoutes(std::vector<Route>& routes);
// The accountability core (docs/governance.md, "HTTP routes"): authorities
// and gallery registrations; search view, candidate opening, reviews, STOP,
// probe and quality overrides; disputes, disclosures, transparency report,
// retention purge and the suspension switch.
void AddAuthorityRoutes(std::vector<Route>& routes);
void AddReviewRoutes(std::vector<Route>& routes);
void AddOversightRoutes(std::vector<Route>& routes);

// The text of server/openapi.json, embedded at build time.
std::string_view OpenApiDocumentText();

}  // namespace abis::server

#endif  // ABIS_SERVER_ROUTES_ROUTES_H_
