// POST /v1/enrolments: one capture into a gallery under an identity.
// JSON {gallery, identity, image: base64, create_gallery?, modality?,
// finger_position?, ppi?, contactless?} or multipart/form-data with text
// parts and an "image" file part. A finger enrolment answers with the
// print's report ("finger") instead of "face".

#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/routes.h"

namespace abis::server {

void AddEnrolmentRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST",
       "/v1/enrolments",
       false,
       {Role::kOperator, Role::kSupervisor},
       [](RequestContext& request, ServerContext& server) -> Result<Reply> {
         ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http, "image"));
         EnrolmentRequest enrolment;
         ABIS_ASSIGN_OR_RETURN(enrolment.gallery, RequiredString(body, "gallery"));
         ABIS_ASSIGN_OR_RETURN(enrolment.identity, RequiredString(body, "identity"));
         ABIS_ASSIGN_OR_RETURN(enrolment.create_gallery,
                               OptionalBool(body, "create_gallery", true));
         ABIS_ASSIGN_OR_RETURN(CaptureFields capture, ReadCaptureFields(body));
         enrolment.modality = capture.modality;
         enrolment.finger = capture.finger;
         if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
         enrolment.image = std::move(*body.image);
         request.audit.object_ids = {enrolment.gallery, enrolment.identity};
         request.audit.hashes["probe_sha256"] = Sha256Hex(enrolment.image);
         std::optional<EnrolmentResult> result;
         AlgorithmInfo algorithm;
         ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
           // Intent first: no enrolment exists unless its
           // attempt is on record.
           ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
           auto enrolled = engine.Enrol(enrolment);
           if (!enrolled.ok()) return enrolled.status();
           result = std::move(*enrolled);
           request.audit.object_ids.push_back("reference:" + std::to_string(result->reference_id));
           algorithm = enrolment.modality == Modality::kFinger ? engine.finger_algorithm()
                                                               : engine.face_algorithm();
           return Status::Ok();
         }));
         nlohmann::json duplicates = nlohmann::json::array();
         for (const Candidate& c : result->possible_duplicates) duplicates.push_back(ToJson(c));
         nlohmann::json document = {{"gallery", result->gallery},
                                    {"identity", result->identity},
                                    {"modality", std::string(ModalityName(enrolment.modality))},
                                    {"reference_id", result->reference_id},
                                    {"source_sha256", result->source_sha256},
                                    {"possible_duplicates", duplicates},
                                    {"algorithm", ToJson(algorithm)}};
         if (result->finger.has_value()) {
           document["finger"] = ToJson(*result->finger);
         } else {
           document["face"] = ToJson(result->face);
         }
         return Reply{201, document};
       },
       "enrol"});
}

}  // namespace abis::server
