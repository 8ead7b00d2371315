#include "governance/governance_types.h"

#include <ctime>
#include <map>
#include <utility>

#include "audit/audit_event.h"

namespace abis::governance {
namespace {

// Name tables: the enum's value order and its stable wire names.
template <typename Enum, std::size_t N>
std::string_view NameOf(const std::pair<Enum, std::string_view> (&table)[N], Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <typename Enum, std::size_t N>
Result<Enum> Parse(const std::pair<Enum, std::string_view> (&table)[N], std::string_view text,
                   std::string_view what) {
  for (const auto& [candidate, name] : table) {
    if (name == text) return candidate;
  }
  std::string allowed;
  for (const auto& entry : table) {
    if (!allowed.empty()) allowed += ", ";
    allowed += entry.second;
  }
  return Refusal(StatusCode::kInvalidArgument, std::string("unknown_") + std::string(what),
                 std::string(what) + " must be one of: " + allowed);
}

constexpr std::pair<ActorRole, std::string_view> kRoles[] = {
    {ActorRole::kOperator, "operator"},     {ActorRole::kReviewer, "reviewer"},
    {ActorRole::kSupervisor, "supervisor"}, {ActorRole::kAuthoriser, "authoriser"},
    {ActorRole::kAuditor, "auditor"},       {ActorRole::kAdmin, "admin"}};
constexpr std::pair<AuthorityKind, std::string_view> kKinds[] = {
    {AuthorityKind::kWarrant, "warrant"},
    {AuthorityKind::kCourtOrder, "court_order"},
    {AuthorityKind::kConsent, "consent"},
    {AuthorityKind::kStatutory, "statutory"}};
constexpr std::pair<PurposeCategory, std::string_view> kPurposes[] = {
    {PurposeCategory::kVictimSearch, "victim_search"},
    {PurposeCategory::kMissingPerson, "missing_person"},
    {PurposeCategory::kThreatToLife, "threat_to_life"},
    {PurposeCategory::kSeriousCrimeSuspect, "serious_crime_suspect"},
    {PurposeCategory::kIdentifyDeceased, "identify_deceased"}};
constexpr std::pair<AuthorityState, std::string_view> kAuthorityStates[] = {
    {AuthorityState::kRequested, "requested"},
    {AuthorityState::kGranted, "granted"},
    {AuthorityState::kRejected, "rejected"},
    {AuthorityState::kExpired, "expired"},
    {AuthorityState::kRevoked, "revoked"}};
constexpr std::pair<Provenance, std::string_view> kProvenances[] = {
    {Provenance::kCustodyRecord, "custody_record"},
    {Provenance::kConsentedEnrolment, "consented_enrolment"},
    {Provenance::kCourtOrderedCollection, "court_ordered_collection"},
    {Provenance::kCivilIdentityRegister, "civil_identity_register"},
    {Provenance::kMissingPersonReport, "missing_person_report"}};
constexpr std::pair<SubjectCategory, std::string_view> kSubjects[] = {
    {SubjectCategory::kSuspect, "suspect"},
    {SubjectCategory::kConvicted, "convicted"},
    {SubjectCategory::kVictim, "victim"},
    {SubjectCategory::kMissingPerson, "missing_person"},
    {SubjectCategory::kOther, "other"}};
constexpr std::pair<SearchState, std::string_view> kSearchStates[] = {
    {SearchState::kAuthorised, "authorised"}, {SearchState::kInReview, "in_review"},
    {SearchState::kMatched, "matched"},       {SearchState::kUnmatched, "unmatched"},
    {SearchState::kStopped, "stopped"},       {SearchState::kAbandoned, "abandoned"},
    {SearchState::kExpired, "expired"}};
constexpr std::pair<CandidateState, std::string_view> kCandidateStates[] = {
    {CandidateState::kCandidate, "CANDIDATE"}, {CandidateState::kReview1, "REVIEW_1"},
    {CandidateState::kReview2, "REVIEW_2"},    {CandidateState::kConfirmed, "CONFIRMED"},
    {CandidateState::kExcluded, "EXCLUDED"},   {CandidateState::kVoid, "VOID"}};
constexpr std::pair<ReviewDecision, std::string_view> kDecisions[] = {
    {ReviewDecision::kConfirm, "confirm"}, {ReviewDecision::kExclude, "exclude"}};
constexpr std::pair<DisputeState, std::string_view> kDisputeStates[] = {
    {DisputeState::kOpen, "open"},
    {DisputeState::kUpheld, "upheld"},
    {DisputeState::kRejected, "rejected"}};
constexpr std::pair<DisputeRemedy, std::string_view> kRemedies[] = {
    {DisputeRemedy::kCorrection, "correction"}, {DisputeRemedy::kErasure, "erasure"}};
constexpr std::pair<DisputeVote, std::string_view> kVotes[] = {{DisputeVote::kUphold, "uphold"},
                                                               {DisputeVote::kReject, "reject"}};

}  // namespace

std::string_view ActorRoleName(ActorRole role) { return NameOf(kRoles, role); }
Result<ActorRole> ParseActorRole(std::string_view name) { return Parse(kRoles, name, "role"); }
std::string_view AuthorityKindName(AuthorityKind kind) { return NameOf(kKinds, kind); }
Result<AuthorityKind> ParseAuthorityKind(std::string_view name) {
  return Parse(kKinds, name, "authority_kind");
}
std::string_view PurposeCategoryName(PurposeCategory purpose) { return NameOf(kPurposes, purpose); }
Result<PurposeCategory> ParsePurposeCategory(std::string_view name) {
  return Parse(kPurposes, name, "purpose");
}
const std::vector<PurposeCategory>& AllPurposeCategories() {
  static const std::vector<PurposeCategory> all = [] {
    std::vector<PurposeCategory> values;
    for (const auto& entry : kPurposes) values.push_back(entry.first);
    return values;
  }();
  return all;
}
std::string_view AuthorityStateName(AuthorityState state) {
  return NameOf(kAuthorityStates, state);
}
Result<AuthorityState> ParseAuthorityState(std::string_view name) {
  return Parse(kAuthorityStates, name, "authority_state");
}
std::string_view ProvenanceName(Provenance provenance) { return NameOf(kProvenances, provenance); }
Result<Provenance> ParseProvenance(std::string_view name) {
  return Parse(kProvenances, name, "provenance");
}
const std::vector<Provenance>& AllProvenances() {
  static const std::vector<Provenance> all = [] {
    std::vector<Provenance> values;
    for (const auto& entry : kProvenances) values.push_back(entry.first);
    return values;
  }();
  return all;
}
std::string_view SubjectCategoryName(SubjectCategory category) {
  return NameOf(kSubjects, category);
}
Result<SubjectCategory> ParseSubjectCategory(std::string_view name) {
  return Parse(kSubjects, name, "subject_category");
}
std::string_view SearchStateName(SearchState state) { return NameOf(kSearchStates, state); }
Result<SearchState> ParseSearchState(std::string_view name) {
  return Parse(kSearchStates, name, "search_state");
}
std::string_view CandidateStateName(CandidateState state) {
  return NameOf(kCandidateStates, state);
}
Result<CandidateState> ParseCandidateState(std::string_view name) {
  return Parse(kCandidateStates, name, "candidate_state");
}
std::string_view ReviewDecisionName(ReviewDecision decision) {
  return NameOf(kDecisions, decision);
}
Result<ReviewDecision> ParseReviewDecision(std::string_view name) {
  return Parse(kDecisions, name, "decision");
}
std::string_view DisputeStateName(DisputeState state) { return NameOf(kDisputeStates, state); }
Result<DisputeState> ParseDisputeState(std::string_view name) {
  return Parse(kDisputeStates, name, "dispute_state");
}
std::string_view DisputeRemedyName(DisputeRemedy remedy) { return NameOf(kRemedies, remedy); }
Result<DisputeRemedy> ParseDisputeRemedy(std::string_view name) {
  return Parse(kRemedies, name, "remedy");
}
std::string_view DisputeVoteName(DisputeVote vote) { return NameOf(kVotes, vote); }
Result<DisputeVote> ParseDisputeVote(std::string_view name) { return Parse(kVotes, name, "vote"); }

Status Refusal(StatusCode code, std::string_view reason, std::string_view detail) {
  std::string message = "[";
  message += reason;
  message += "] ";
  message += detail;
  return Status(code, std::move(message));
}

std::string GovernanceReason(const Status& status) {
  const std::string& message = status.message();
  if (message.size() < 3 || message[0] != '[') return "";
  std::size_t end = message.find(']');
  if (end == std::string::npos) return "";
  return message.substr(1, end - 1);
}

std::string ProposedErrorCode(std::string_view reason) {
  static const std::map<std::string_view, std::string_view> codes = {
      {"authority_missing", "ABIS-E1001"},
      {"authority_unknown", "ABIS-E1001"},
      {"authority_not_granted", "ABIS-E1001"},
      {"authority_expired", "ABIS-E1002"},
      {"authority_rejected", "ABIS-E1002"},
      {"authority_revoked", "ABIS-E1002"},
      {"authority_not_yet_valid", "ABIS-E1002"},
      {"authority_scope_gallery", "ABIS-E1003"},
      {"authority_scope_modality", "ABIS-E1003"},
      {"authority_scope_case", "ABIS-E1003"},
      {"gallery_wildcard_refused", "ABIS-E1003"},
      {"galleries_required", "ABIS-E1003"},
      {"authority_quota_exhausted", "ABIS-E1004"},
      {"urgency_deadline_passed", "ABIS-E1005"},
      {"gallery_not_registered", "ABIS-E1101"},
      {"legal_basis_not_allowed", "ABIS-E1101"},
      {"audit_unavailable", "ABIS-E1201"},
      {"operator_cannot_review", "ABIS-E1301"},
      {"same_examiner_twice", "ABIS-E1301"},
      {"examiner_took_part", "ABIS-E1301"},
      {"role_cannot_review", "ABIS-E1302"},
      {"candidates_not_all_opened", "ABIS-E1303"},
      {"probe_quality_below_floor", "ABIS-E1401"},
      {"identification_suspended", "ABIS-E1601"},
      {"encounter_reference_required", "ABIS-E1101"},
  };
  auto it = codes.find(reason);
  return it == codes.end() ? "" : std::string(it->second);
}

bool IsValidIdentifier(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidReasonText(std::string_view text, std::size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) return false;
  bool has_visible = false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
    if (c != ' ') has_visible = true;
  }
  return has_visible;
}

std::int64_t ToMillis(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint FromMillis(std::int64_t millis) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(millis)));
}

std::string FormatTime(TimePoint time) { return FormatUtcTime(time); }

Result<TimePoint> ParseTime(std::string_view text) {
  // Fixed shapes only: anything else is a client error, not a guess.
  auto digits = [&](std::size_t pos, std::size_t count, int& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second, millis = 0;
  bool shape = text.size() >= 20 && digits(0, 4, year) && text[4] == '-' && digits(5, 2, month) &&
               text[7] == '-' && digits(8, 2, day) && text[10] == 'T' && digits(11, 2, hour) &&
               text[13] == ':' && digits(14, 2, minute) && text[16] == ':' && digits(17, 2, second);
  if (shape) {
    if (text.size() == 20) {
      shape = text[19] == 'Z';
    } else if (text.size() == 24) {
      shape = text[19] == '.' && digits(20, 3, millis) && text[23] == 'Z';
    } else {
      shape = false;
    }
  }
  if (!shape || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return Refusal(StatusCode::kInvalidArgument, "bad_time",
                   "times are UTC as YYYY-MM-DDTHH:MM:SS[.mmm]Z");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = timegm(&tm);
  return FromMillis(static_cast<std::int64_t>(seconds) * 1000 + millis);
}

}  // namespace abis::governance
