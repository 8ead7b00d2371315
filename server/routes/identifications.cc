// POST /v1/identifications: 1:N search of one probe, under an authority.
// The request names `authority_id` and `galleries` (and optionally
// `case_id`); the governance core checks scope, quota, quality gate and
// suspension first (CheckSearch: a refusal is 403/409/503 with a stable
// reason and error code, and nothing is searched), then the engine searches
// each gallery and the merged candidate list is sealed for two-person
// review (RecordSearchResult). The reply is the search record: candidates
// with score, calibrated FMR and expected false candidates, the probe
// quality and the algorithm, marked as investigative leads; there is no
// match verdict. With several faces and no face_index, the faces to choose
// from (nothing is searched). `modality` "finger" (with finger_position,
// ppi, contactless; see ReadCaptureFields) searches the galleries' finger
// references: the probe print's quality feeds the gate and its report comes
// back as "finger".

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "governance/governance_json.h"
#include "server/audit_trail.h"
#include "server/json_codec.h"
#include "server/routes/governance_support.h"
#include "server/routes/routes.h"

namespace abis::server {
namespace {

namespace gov = abis::governance;

// A JSON array of names, or (multipart) one comma-separated string.
Result<std::vector<std::string>> GalleryList(const RequestFields& body) {
  std::vector<std::string> galleries;
  if (!body.fields.contains("galleries")) return galleries;
  const nlohmann::json& value = body.fields["galleries"];
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    std::size_t from = 0;
    while (from <= text.size()) {
      std::size_t comma = text.find(',', from);
      if (comma == std::string::npos) comma = text.size();
      if (comma > from) galleries.push_back(text.substr(from, comma - from));
      from = comma + 1;
    }
    return galleries;
  }
  if (!value.is_array()) {
    return InvalidArgumentError("field \"galleries\" must be an array of gallery names");
  }
  for (const nlohmann::json& name : value) {
    if (!name.is_string()) {
      return InvalidArgumentError("field \"galleries\" must be an array of gallery names");
    }
    galleries.push_back(name.get<std::string>());
  }
  return galleries;
}

Result<Reply> Identify(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http, "image"));
  ABIS_ASSIGN_OR_RETURN(gov::Actor actor, ActorOf(request));
  gov::SearchCheckRequest check;
  ABIS_ASSIGN_OR_RETURN(auto authority_id, OptionalString(body, "authority_id"));
  check.authority_id = authority_id.value_or("");
  ABIS_ASSIGN_OR_RETURN(auto case_id, OptionalString(body, "case_id"));
  check.case_id = case_id.value_or("");
  ABIS_ASSIGN_OR_RETURN(check.galleries, GalleryList(body));
  ABIS_ASSIGN_OR_RETURN(auto override_id, OptionalString(body, "quality_override_id"));
  check.quality_override_id = override_id.value_or("");
  ABIS_ASSIGN_OR_RETURN(check.max_candidates, OptionalInt(body, "max_candidates", 20, 1, 1000));
  ABIS_ASSIGN_OR_RETURN(double min_score, OptionalDouble(body, "min_score", 0.0));
  ABIS_ASSIGN_OR_RETURN(int face_index, OptionalInt(body, "face_index", -1, -1, 1000));
  ABIS_ASSIGN_OR_RETURN(CaptureFields capture, ReadCaptureFields(body));
  const bool finger = capture.modality == Modality::kFinger;
  if (finger && face_index >= 0) {
    return InvalidArgumentError("field \"face_index\" applies to modality \"face\" only");
  }
  if (!body.image.has_value()) return InvalidArgumentError("field \"image\" is required");
  std::vector<std::uint8_t> image = std::move(*body.image);
  check.modality = capture.modality;
  check.probe_sha256 = Sha256Hex(image);
  request.audit.object_ids = check.galleries;
  if (!check.authority_id.empty()) request.audit.object_ids.push_back(check.authority_id);
  request.audit.hashes["probe_sha256"] = check.probe_sha256;

  // The probe's quality feeds the quality gate; finding faces (or
  // extracting the print) reads no gallery.
  std::vector<ProbeFace> faces;
  std::optional<FingerReport> print;
  ABIS_RETURN_IF_ERROR(server.WithEngine([&](Engine& engine) {
    if (finger) {
      auto extracted = engine.ExtractFinger(image, capture.finger, false);
      if (!extracted.ok()) return extracted.status();
      print = extracted->report;
      return Status::Ok();
    }
    auto found = engine.DetectFaces(image);
    if (!found.ok()) return found.status();
    faces = std::move(*found);
    return Status::Ok();
  }));
  nlohmann::json face_list = nlohmann::json::array();
  for (const ProbeFace& face : faces) face_list.push_back(ToJson(face));
  if (!finger && faces.empty()) return FailedPreconditionError("no face found in the image");
  if (!finger && face_index >= static_cast<int>(faces.size())) {
    return OutOfRangeError("face index " + std::to_string(face_index) + " but only " +
                           std::to_string(faces.size()) + " face(s) found");
  }
  if (!finger && face_index < 0 && faces.size() > 1) {
    return Reply{200,
                 {{"faces", face_list},
                  {"searched_face", nullptr},
                  {"needs_face_selection", true},
                  {"candidates", nlohmann::json::array()}}};
  }
  const int chosen = std::max(face_index, 0);
  check.probe_quality = finger ? print->quality : faces[chosen].quality.score;

  ABIS_ASSIGN_OR_RETURN(gov::SearchTicket ticket,
                        Noted(request, server.governance().CheckSearch(actor, check)));
  request.audit.object_ids.push_back(ticket.search_id);

  gov::SearchResultInput input;
  input.search_id = ticket.search_id;
  std::int64_t gallery_references = 0;
  std::map<std::int64_t, int> finger_positions;  // reference_id -> position that scored.
  Status searched = server.WithEngine([&](Engine& engine) {
    for (const std::string& gallery : ticket.galleries) {
      IdentificationRequest search;
      search.gallery = gallery;
      search.image = image;
      search.max_candidates = ticket.max_candidates;
      search.min_score = min_score;
      search.face_index = face_index;
      search.modality = capture.modality;
      search.finger = capture.finger;
      auto found = engine.Identify(search);
      if (!found.ok()) return found.status();
      for (const Candidate& candidate : found->candidates) {
        input.candidates.push_back(gov::CandidateFromEngine(gallery, candidate));
        if (candidate.finger_position != 0) {
          finger_positions[candidate.reference_id] = candidate.finger_position;
        }
      }
      input.gallery_identities += found->gallery_identities;
      gallery_references += found->gallery_references;
      input.algorithm = found->algorithm.algorithm;
      input.model_digest = found->algorithm.model_digest;
      // The card's file name only: server paths never leave the server.
      input.calibration_card =
          std::filesystem::path(found->algorithm.calibration_card).filename().string();
    }
    return Status::Ok();
  });
  if (!searched.ok()) {
    // Nothing is retained for a search the engine could not run.
    (void)server.governance().AbandonSearch(actor, ticket.search_id, searched.message());
    return searched;
  }
  std::stable_sort(
      input.candidates.begin(), input.candidates.end(),
      [](const gov::CandidateInput& a, const gov::CandidateInput& b) { return a.score > b.score; });
  if (input.candidates.size() > static_cast<std::size_t>(ticket.max_candidates)) {
    input.candidates.resize(ticket.max_candidates);
  }
  input.probe = std::move(image);
  ABIS_ASSIGN_OR_RETURN(gov::SearchView view,
                        Noted(request, server.governance().RecordSearchResult(actor, input)));
  nlohmann::json document = gov::ToJson(view);
  document["search_id"] = view.id;
  document["faces"] = face_list;
  document["searched_face"] = finger ? nlohmann::json(nullptr) : nlohmann::json(chosen);
  if (print.has_value()) document["finger"] = ToJson(*print);
  if (document.contains("candidates") && document["candidates"].is_array()) {
    for (nlohmann::json& candidate : document["candidates"]) {
      auto position = finger_positions.find(candidate.value("reference_id", std::int64_t{0}));
      if (position != finger_positions.end()) candidate["finger_position"] = position->second;
    }
  }
  document["gallery_references"] = gallery_references;
  document["calibration_card"] = input.calibration_card;  // File name, e.g. face-....json
  request.audit.details = std::to_string(view.candidate_count) + " candidates";
  return Reply{200, document};
}

}  // namespace

void AddIdentificationRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST",
                    "/v1/identifications",
                    false,
                    {Role::kOperator, Role::kSupervisor},
                    Identify,
                    "search"});
}

}  // namespace abis::server
