// GET /v1/openapi.json: the OpenAPI 3 document (server/openapi.json).
// GET /v1/algorithms: the algorithms in use and their model cards, so every
// client can see what a score means and how accurate it was measured to be.

#include <filesystem>

#include "core/file_io.h"
#include "engine/result_json.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

// The algorithm's JSON with its model card inlined (null when it has none).
nlohmann::json AlgorithmWithCard(const AlgorithmInfo& algorithm) {
  nlohmann::json json = ToJson(algorithm);
  json["model_card"] = nullptr;
  if (!algorithm.calibration_card.empty() &&
      std::filesystem::is_regular_file(algorithm.calibration_card)) {
    if (auto text = ReadFileBytes(algorithm.calibration_card); text.ok()) {
      nlohmann::json card = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
      if (!card.is_discarded()) json["model_card"] = std::move(card);
    }
  }
  return json;
}

}  // namespace

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
  routes.push_back({"GET", "/v1/algorithms", false, AllRoles(),
                    [](RequestContext&, ServerContext& server) -> Result<Reply> {
                      nlohmann::json document;
                      ABIS_RETURN_IF_ERROR(server.WithEngine(
                          [&](Engine& engine) {
                            document = {{"face", AlgorithmWithCard(engine.face_algorithm())},
                                        {"finger", AlgorithmWithCard(engine.finger_algorithm())}};
                            return Status::Ok();
                          },
                          5000));
                      return Reply{200, document};
                    },
                    "algorithms.view"});
}

}  // namespace abis::server
