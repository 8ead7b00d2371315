// POST /v1/faces: the faces in a capture and their quality, so the capture
// page can say "no face found; retake" before anything is searched. It is a
// capture check, not a search: it reads no gallery, needs no authority, and
// keeps nothing (the photo and its analysis are dropped with the request;
// the audit event carries only the photo's SHA-256).

#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

Result<Reply> CheckFaces(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http, "image"));
  if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
  request.audit.hashes["probe_sha256"] = Sha256Hex(*body.image);
  std::vector<ProbeFace> faces;
  ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
    auto found = engine.DetectFaces(*body.image);
    if (!found.ok()) return found.status();
    faces = std::move(*found);
    return Status::Ok();
  }));
  nlohmann::json list = nlohmann::json::array();
  int usable = 0;
  for (const ProbeFace& face : faces) {
    list.push_back(ToJson(face));
    if (face.gate_failure.empty()) ++usable;
  }
  request.audit.details = "faces=" + std::to_string(faces.size());
  return Reply{200, {{"faces", list}, {"usable_faces", usable}}};
}

}  // namespace

void AddFaceCheckRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST", "/v1/faces", false, {Role::kOperator, Role::kSupervisor}, CheckFaces, "face.check"});
}

}  // namespace abis::server
