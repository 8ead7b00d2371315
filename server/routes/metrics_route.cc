// GET /metrics: Prometheus text format; request counts and latency per
// route, and gallery sizes.

#include "server/routes/routes.h"

namespace abis::server {

void AddMetricsRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET",
                    "/metrics",
                    false,
                    {Role::kAdmin, Role::kAuditor},
                    [](RequestContext&, ServerContext& server) -> Result<Reply> {
                      std::vector<GalleryInfo> galleries;
                      bool have_galleries = false;
                      // A busy engine must not stall the scrape: sizes are
                      // left out then.
                      Status status = server.WithEngine(
                          [&](Engine& engine) {
                            auto list = engine.ListGalleries();
                            if (!list.ok()) return list.status();
                            galleries = std::move(*list);
                            have_galleries = true;
                            return Status::Ok();
                          },
                          2000);
                      (void)status;
                      Reply reply;
                      reply.text = server.metrics().Render(have_galleries ? &galleries : nullptr);
                      reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      return reply;
                    },
                    "metrics.view"});
}

}  // namespace abis::server
