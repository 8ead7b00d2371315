// governance_types.h
//
// The vocabulary of the accountability core (docs/governance.md): who acts
// (Actor and its role), the closed lists an authority and a gallery draw from
// (kinds, purpose categories, provenance, data-subject categories), the
// states of authorities, searches, candidates and disputes, and the stable
// refusal reasons. Closed lists are closed on purpose: there is no "other",
// "web" or "scraped" provenance, no purpose for status sweeps, and no way to
// name "all galleries" (docs/governance.md, exclusions X-1..X-17).
//
// Refusals are ordinary abis::Status values whose message starts with
// "[reason] ": GovernanceReason() reads the reason back so the HTTP layer can
// return it as details.reason, and ProposedErrorCode() maps it to the
// ABIS-Exxxx code of the research notes.
//
// Thread safety: plain values and pure functions.

#ifndef ABIS_GOVERNANCE_GOVERNANCE_TYPES_H_
#define ABIS_GOVERNANCE_GOVERNANCE_TYPES_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/status.h"

namespace abis::governance {

using TimePoint = std::chrono::system_clock::time_point;

// The server's principal roles, mirrored so this library does not depend on
// the server. "supervisor" is the oversight role (suspension switch,
// disputes, disclosures); "auditor" is read-only.
enum class ActorRole { kOperator, kReviewer, kSupervisor, kAuthoriser, kAuditor, kAdmin };
std::string_view ActorRoleName(ActorRole role);
Result<ActorRole> ParseActorRole(std::string_view name);

// The authenticated caller of every governance operation.
struct Actor {
  std::string name;  // Principal name; 1..64 of [A-Za-z0-9_.@-].
  ActorRole role = ActorRole::kOperator;
  std::string device;  // Optional workstation / capture device id.
};

enum class AuthorityKind { kWarrant, kCourtOrder, kConsent, kStatutory };
// "warrant", "court_order", "consent", "statutory".
std::string_view AuthorityKindName(AuthorityKind kind);
Result<AuthorityKind> ParseAuthorityKind(std::string_view name);

// Why a search may happen at all (AI Act Art. 5(1)(h), 26(10); Utah
// 77-23e-103). Closed: there is no category for status checks, sweeps or
// "intelligence" use.
enum class PurposeCategory {
  kVictimSearch,         // Targeted search for a specific victim (abduction, trafficking, ...).
  kMissingPerson,        // A specific missing person.
  kThreatToLife,         // Specific, substantial, imminent threat to life or terrorist attack.
  kSeriousCrimeSuspect,  // Suspect of a named offence at or above the penalty threshold.
  kIdentifyDeceased,     // Deceased or incapacitated person who cannot identify themselves.
};
std::string_view PurposeCategoryName(PurposeCategory purpose);
Result<PurposeCategory> ParsePurposeCategory(std::string_view name);
const std::vector<PurposeCategory>& AllPurposeCategories();

enum class AuthorityState { kRequested, kGranted, kRejected, kExpired, kRevoked };
std::string_view AuthorityStateName(AuthorityState state);
Result<AuthorityState> ParseAuthorityState(std::string_view name);

// Where a gallery's references came from. Closed and lawful sources only:
// no web, social-media or CCTV scraping. A civil-identity register
// (passport, ID card, driving licence photos) needs a statutory
// authorisation reference recorded with the gallery.
enum class Provenance {
  kCustodyRecord,       // Taken in custody under the law of arrest.
  kConsentedEnrolment,  // Enrolled with the person's informed consent.
  kCourtOrderedCollection,
  kCivilIdentityRegister,  // Requires GalleryRegistration::statutory_authorisation.
  kMissingPersonReport,    // Supplied by family / reporting party for a missing person.
};
std::string_view ProvenanceName(Provenance provenance);
Result<Provenance> ParseProvenance(std::string_view name);
const std::vector<Provenance>& AllProvenances();

// LED Art. 6 categories of data subjects.
enum class SubjectCategory { kSuspect, kConvicted, kVictim, kMissingPerson, kOther };
std::string_view SubjectCategoryName(SubjectCategory category);
Result<SubjectCategory> ParseSubjectCategory(std::string_view name);

enum class SearchState {
  kAuthorised,  // Scope checked, result not yet recorded.
  kInReview,    // Candidates recorded, reviews pending.
  kMatched,     // Closed with at least one confirmed candidate; kept until retention ends.
  kUnmatched,   // Closed with no confirmed candidate; probe and list crypto-erased.
  kStopped,     // STOP control or urgency failure: results withheld and erased.
  kAbandoned,   // The engine produced no result (no face, error); nothing retained.
  kExpired,     // A matched search whose retention ended; crypto-erased.
};
std::string_view SearchStateName(SearchState state);
Result<SearchState> ParseSearchState(std::string_view name);

// CANDIDATE -> REVIEW_1 (first examiner decided) -> REVIEW_2 (second
// examiner decided) -> CONFIRMED (both confirmed) / EXCLUDED (otherwise).
// REVIEW_2 resolves in the same transaction; VOID marks a stopped search.
enum class CandidateState { kCandidate, kReview1, kReview2, kConfirmed, kExcluded, kVoid };
std::string_view CandidateStateName(CandidateState state);
Result<CandidateState> ParseCandidateState(std::string_view name);

enum class ReviewDecision { kConfirm, kExclude };
std::string_view ReviewDecisionName(ReviewDecision decision);
Result<ReviewDecision> ParseReviewDecision(std::string_view name);

enum class DisputeState { kOpen, kUpheld, kRejected };
std::string_view DisputeStateName(DisputeState state);
Result<DisputeState> ParseDisputeState(std::string_view name);

// What an upheld dispute does: correction revokes the confirmations;
// erasure also crypto-erases the search's probe and candidate list.
enum class DisputeRemedy { kCorrection, kErasure };
std::string_view DisputeRemedyName(DisputeRemedy remedy);
Result<DisputeRemedy> ParseDisputeRemedy(std::string_view name);

enum class DisputeVote { kUphold, kReject };
std::string_view DisputeVoteName(DisputeVote vote);
Result<DisputeVote> ParseDisputeVote(std::string_view name);

// ---- Refusals ----

// A refusal: `code` with message "[reason] detail". `reason` is a stable
// machine code listed in docs/governance.md.
Status Refusal(StatusCode code, std::string_view reason, std::string_view detail);

// The "[reason]" of a governance refusal, or "" for any other status.
std::string GovernanceReason(const Status& status);

// "ABIS-E1001" etc. for reasons that have a proposed project code, else "".
std::string ProposedErrorCode(std::string_view reason);

// ---- Text and time helpers shared by the governance sources ----

// 1..128 bytes of [A-Za-z0-9_.:@/-]: ids, case numbers, references, galleries.
bool IsValidIdentifier(std::string_view text);
// 1..max_bytes printable ASCII (audit details are printable ASCII).
bool IsValidReasonText(std::string_view text, std::size_t max_bytes = 500);

std::int64_t ToMillis(TimePoint time);
TimePoint FromMillis(std::int64_t millis);
// "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatTime(TimePoint time);
// Accepts "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DDTHH:MM:SS.mmmZ".
Result<TimePoint> ParseTime(std::string_view text);

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_GOVERNANCE_TYPES_H_
