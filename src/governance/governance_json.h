// governance_json.h
//
// The JSON shapes of the governance API (docs/governance.md, "HTTP
// contract"), so each HTTP route is a parse, one Governance call and a
// ToJson: request parsers return InvalidArgument with a reason for a
// malformed body, and RefusalDetails() gives the {reason, error_code}
// object to put in the error body's `details`. Times are
// "YYYY-MM-DDTHH:MM:SS.mmmZ". No result shape has a boolean "match".
//
// Thread safety: pure functions.

#ifndef ABIS_GOVERNANCE_GOVERNANCE_JSON_H_
#define ABIS_GOVERNANCE_GOVERNANCE_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "governance/governance.h"

namespace abis::governance {

// ---- Requests (bodies of POST routes) ----
// {kind, reference, issuing_body, legal_basis, urgent?, justification?,
//  scope: {galleries, modalities, purpose, case_id, offence_code?,
//          max_penalty_years?, not_before, not_after, max_searches}}
Result<AuthorityRequest> AuthorityRequestFromJson(const nlohmann::json& json);
// {name, legal_basis, provenance, statutory_authorisation?, subject_category,
//  original_purpose?, retention_rule, review_interval_days, owner}
Result<GalleryRegistration> GalleryRegistrationFromJson(const nlohmann::json& json);
// {rank, decision: "confirm"|"exclude", reason}; the search id is in the path.
Result<ReviewRequest> ReviewRequestFromJson(const std::string& search_id,
                                            const nlohmann::json& json);
// {search_id, rank?, filed_on_behalf_of, grounds, remedy_sought?}
Result<DisputeRequest> DisputeRequestFromJson(const nlohmann::json& json);
// {vote: "uphold"|"reject", reason}; the dispute id is in the path.
Result<DisputeReviewRequest> DisputeReviewRequestFromJson(const std::string& dispute_id,
                                                          const nlohmann::json& json);
// {search_id, recipient, purpose?, include_probe_image?}
Result<DisclosureRequest> DisclosureRequestFromJson(const nlohmann::json& json);
// {authority_id, probe_sha256, probe_quality, reason}
Result<QualityOverrideRequest> QualityOverrideRequestFromJson(const nlohmann::json& json);

// ---- Results ----
nlohmann::json ToJson(const GalleryRecord& record);
nlohmann::json ToJson(const Authority& authority);
nlohmann::json ToJson(const SearchTicket& ticket);
nlohmann::json ToJson(const SearchView& view);
nlohmann::json ToJson(const CandidateView& candidate);
nlohmann::json ToJson(const QualityOverride& record);
nlohmann::json ToJson(const Dispute& dispute);
nlohmann::json ToJson(const ErasureRecord& record);
nlohmann::json ToJson(const PurgeReport& report);
nlohmann::json ToJson(const Suspension& suspension);

// {"reason": "authority_expired", "error_code": "ABIS-E1002"} for a
// governance refusal (error_code omitted when none is proposed); {} otherwise.
nlohmann::json RefusalDetails(const Status& status);

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_GOVERNANCE_JSON_H_
