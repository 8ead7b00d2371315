// governance.h
//
// The accountability core (docs/governance.md): authorities and their scope,
// the gallery registry, search records with two-person review, the STOP
// control, retention and crypto-erasure, disputes, signed disclosure
// packages, the transparency report and the suspension switch. The HTTP
// routes are thin calls into this class: a request struct in, a Result out;
// refusals carry a stable reason (governance_types.h) and each writes an
// audit event.
//
// Every state change appends its audit event inside the database
// transaction that makes the change and is rolled back (and refused with
// Unavailable, reason "audit_unavailable") when the append fails:
// fail-closed. Refusals are audited too; a refusal whose event cannot be
// written is reported as audit_unavailable.
//
// There is deliberately no way to search without an authority, to name "all
// galleries", to set per-group thresholds, to run without an audit sink or
// to skip review (exclusions X-1..X-17; governance_exclusions_test.cc).
//
// Thread safety: all methods may be called concurrently; they are
// serialised by one mutex (governance operations are rare next to matching).

#ifndef ABIS_GOVERNANCE_GOVERNANCE_H_
#define ABIS_GOVERNANCE_GOVERNANCE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/engine.h"
#include "abis/status.h"

#include "governance/audit_sink.h"
#include "governance/governance_types.h"
#include "store/master_key.h"

namespace abis::governance {

using Clock = std::function<TimePoint()>;

struct GovernanceOptions {
  // Folder for governance.db (and the disclosure signing key file).
  std::string data_dir;
  // Master key wrapping the per-search data keys (store/master_key.h). When
  // both are empty, "<data_dir>/governance.db.key" is loaded or created.
  MasterKeySource master_key;
  // Time source; tests pin it. Default: system_clock::now.
  Clock clock;
  // Urgency: how long an operator may search under an urgent request before
  // it must be granted. 1..48 hours (AI Act Art. 5(3): 24 h; 26(10): 48 h).
  std::chrono::hours urgency_deadline{24};
  // Legal bases accepted for galleries, authorities and 1:1 verification.
  // Must not be empty (LED Art. 10; deployment gate F-06).
  std::vector<std::string> legal_bases;
  // Probe quality floor (engine quality score 0..100); below it a search
  // needs an examiner's written override.
  double probe_quality_floor = 40;
  // Minimum maximum penalty (years) for serious_crime_suspect authorities.
  int serious_offence_min_years = 4;
  // How long a matched search (probe, candidate list) stays with its case.
  std::chrono::hours matched_retention{24 * 365 * 2};
  // Hex Ed25519 public keys of external authorities whose signed records
  // ImportAuthority accepts.
  std::vector<std::string> trusted_authority_keys;
  // Ed25519 seed (64 hex digits) signing disclosure packages; empty: the
  // file "<data_dir>/disclosure-signing.key" (created 0600 on first use).
  std::string disclosure_signing_seed_hex;
  // The algorithm's published accuracy (docs/model-cards/*.json), embedded
  // in disclosure packages. Empty: packages say "no model card".
  std::string model_card_json;
  // Disclosure packages may carry the probe image itself only when true.
  bool disclosure_may_include_probe_image = false;
};

// ---- Galleries ----

struct GalleryRegistration {
  std::string name;
  std::string legal_basis;  // One of GovernanceOptions::legal_bases.
  Provenance provenance = Provenance::kCustodyRecord;
  // Required for kCivilIdentityRegister: the statute authorising searches of it.
  std::string statutory_authorisation;
  SubjectCategory subject_category = SubjectCategory::kSuspect;
  std::string original_purpose;  // Why it was collected (free text).
  std::string retention_rule;    // e.g. "review every 12 months; delete on acquittal".
  int review_interval_days = 365;
  std::string owner;  // Accountable unit or controller.
};

struct GalleryRecord {
  GalleryRegistration registration;
  std::string registered_by;
  TimePoint registered_at;
  TimePoint next_review_at;
};

// ---- Authorities ----

struct AuthorityScope {
  std::vector<std::string> galleries;  // Explicit list; no wildcards.
  std::vector<Modality> modalities;
  PurposeCategory purpose = PurposeCategory::kSeriousCrimeSuspect;
  std::string case_id;
  std::string offence_code;   // Required for serious_crime_suspect.
  int max_penalty_years = 0;  // Of that offence.
  TimePoint not_before;
  TimePoint not_after;
  int max_searches = 1;
};

struct AuthorityRequest {
  AuthorityKind kind = AuthorityKind::kWarrant;
  std::string reference;     // Warrant / order / decision number.
  std::string issuing_body;  // Court, judge, independent authority.
  std::string legal_basis;   // One of GovernanceOptions::legal_bases.
  AuthorityScope scope;
  // Urgency mode: searches may start before grant, until the deadline.
  bool urgent = false;
  std::string justification;  // Facts; required for urgent requests.
};

struct Authority {
  std::string id;
  AuthorityRequest request;
  AuthorityState state = AuthorityState::kRequested;
  std::string requested_by;
  TimePoint requested_at;
  std::optional<TimePoint> urgency_deadline;
  std::string decided_by;  // Authoriser, or "external:<key id>" for imports.
  std::string imported_by;
  std::optional<TimePoint> decided_at;
  std::string decision_reason;
  int searches_used = 0;
  std::vector<std::uint64_t> audit_seqs;
};

// An authority issued outside (e.g. a court system), signed with one of
// GovernanceOptions::trusted_authority_keys. `payload_json` is the exact
// signed text (docs/governance.md, "Imported authorities").
struct SignedAuthority {
  std::string payload_json;
  std::string signature_hex;   // Ed25519 over payload_json bytes.
  std::string public_key_hex;  // Which trusted key signed it.
};

// ---- Searches ----

struct QualityOverrideRequest {
  std::string authority_id;
  std::string probe_sha256;
  double probe_quality = 0;
  std::string reason;  // Written justification (required).
};

struct QualityOverride {
  std::string id;
  std::string examiner;
  std::string authority_id;
  std::string probe_sha256;
  double probe_quality = 0;
  std::string reason;
  TimePoint created_at;
  bool used = false;
};

// The scope check of every 1:N identification. There is no field that
// skips the authority or widens the galleries.
struct SearchCheckRequest {
  std::string authority_id;
  std::string case_id;
  std::vector<std::string> galleries;
  Modality modality = Modality::kFace;
  std::string probe_sha256;  // Hex SHA-256 of the probe capture.
  double probe_quality = 0;  // Engine quality score 0..100.
  std::string quality_override_id;
  int max_candidates = 20;  // 2..50.
};

struct SearchTicket {
  std::string search_id;
  std::string authority_id;
  std::vector<std::string> galleries;
  int max_candidates = 20;
  int search_number = 0;  // 1-based count under the authority.
};

// A candidate as the engine returned it, with the gallery it came from.
struct CandidateInput {
  std::string gallery;
  std::string identity;
  std::int64_t reference_id = 0;
  double score = 0;
  std::optional<double> fmr;
  bool fmr_is_upper_bound = false;
  std::optional<double> expected_false_candidates;
};
CandidateInput CandidateFromEngine(const std::string& gallery, const Candidate& candidate);

struct SearchResultInput {
  std::string search_id;
  std::vector<std::uint8_t> probe;  // The capture; sealed, never stored in clear.
  // Merged over the galleries, best first; at most the ticket's max_candidates.
  std::vector<CandidateInput> candidates;
  std::string algorithm;
  std::string model_digest;
  std::string calibration_card;
  std::int64_t gallery_identities = 0;
};

struct ReviewRecord {
  std::string examiner;
  ReviewDecision decision = ReviewDecision::kExclude;
  std::string reason;
  TimePoint decided_at;
};

struct CandidateView {
  int rank = 0;
  std::string gallery;
  std::string identity;
  std::int64_t reference_id = 0;
  double score = 0;
  std::optional<double> fmr;
  bool fmr_is_upper_bound = false;
  std::optional<double> expected_false_candidates;
  CandidateState state = CandidateState::kCandidate;
  // Hidden from an examiner who has not yet decided this candidate (F-18).
  std::vector<ReviewRecord> reviews;
};

struct SearchView {
  std::string id;
  std::string authority_id;
  std::string case_id;
  PurposeCategory purpose = PurposeCategory::kSeriousCrimeSuspect;
  std::string operator_name;
  std::vector<std::string> galleries;
  Modality modality = Modality::kFace;
  SearchState state = SearchState::kAuthorised;
  int max_candidates = 20;
  std::string probe_sha256;
  double probe_quality = 0;
  std::string quality_override_id;
  std::string algorithm;
  std::string model_digest;
  std::int64_t gallery_identities = 0;
  TimePoint created_at;
  std::optional<TimePoint> completed_at;
  std::optional<TimePoint> retention_until;
  std::optional<TimePoint> erased_at;
  std::string stop_reason;
  int candidate_count = 0;
  // Withheld (empty) once the search is stopped or its data erased.
  std::vector<CandidateView> candidates;
  bool results_withheld = false;
  // "investigative lead - not an identification" (F-17).
  std::string marking;
};

struct ReviewRequest {
  std::string search_id;
  int rank = 0;
  ReviewDecision decision = ReviewDecision::kExclude;
  std::string reason;
};

// 1:1 verification with the person present (AI Act Art. 3(36), Annex III
// 1(a) exclusion): no authority, but an encounter reference and legal basis.
struct VerificationCheckRequest {
  std::string encounter_reference;
  std::string legal_basis;
  std::string gallery;
};

// A gallery consultation that is not a search (listing identities,
// viewing a reference): needs an authority covering the gallery.
struct ConsultationRequest {
  std::string authority_id;
  std::string case_id;
  std::string gallery;
};

// ---- Retention ----

struct ErasureRecord {
  std::string object_id;  // Search id.
  std::string what;       // "probe+candidate_list".
  std::string rule;       // "unmatched_at_completion", "retention_expired", ...
  TimePoint erased_at;
  std::string erased_by;
  std::uint64_t audit_seq = 0;
};

struct GalleryReviewDue {
  std::string gallery;
  TimePoint due_at;
};

struct PurgeReport {
  TimePoint run_at;
  std::string run_by;
  std::vector<ErasureRecord> erased;             // By this run.
  std::vector<std::string> authorities_expired;  // By this run.
  std::vector<GalleryReviewDue> gallery_reviews_due;
};

// ---- Disputes ----

struct DisputeRequest {
  std::string search_id;
  std::optional<int> rank;         // The identification disputed, if one.
  std::string filed_on_behalf_of;  // Person, counsel or ombudsperson (reference, not a name).
  std::string grounds;
  DisputeRemedy remedy_sought = DisputeRemedy::kCorrection;
};

struct DisputeReviewRequest {
  std::string dispute_id;
  DisputeVote vote = DisputeVote::kReject;
  std::string reason;
};

struct DisputeReview {
  std::string examiner;
  DisputeVote vote = DisputeVote::kReject;
  std::string reason;
  TimePoint decided_at;
};

struct Dispute {
  std::string id;
  DisputeRequest request;
  DisputeState state = DisputeState::kOpen;
  std::string opened_by;
  TimePoint opened_at;
  std::vector<DisputeReview> reviews;
  std::optional<TimePoint> decided_at;
  // On upheld: recipients of earlier disclosures, to be notified (F-32).
  std::vector<std::string> notify_recipients;
};

// ---- Disclosure ----

struct DisclosureRequest {
  std::string search_id;
  std::string recipient;             // Court, defence counsel, affected person (reference).
  std::string purpose;               // Why it is disclosed (free text).
  bool include_probe_image = false;  // Honoured only when the deployment allows it.
};

struct DisclosureExport {
  std::string package_id;
  std::string package_json;    // Signed; verify with VerifyDisclosurePackage.
  std::string package_sha256;  // Recorded in the export's audit event.
};

// ---- Suspension ----

struct Suspension {
  bool active = false;
  std::string id;
  std::string reason;
  std::string set_by;
  std::optional<TimePoint> since;
};

// ---- Transparency ----

struct TransparencyReport {
  std::string json;
  std::string html;
};

class Governance {
 public:
  // `audit` must outlive the Governance and is required: there is no
  // unaudited mode. InvalidArgument for bad options (no legal bases,
  // urgency deadline outside 1..48 h, bad keys).
  static Result<std::unique_ptr<Governance>> Open(GovernanceOptions options, AuditSink* audit);
  ~Governance();
  Governance(const Governance&) = delete;
  Governance& operator=(const Governance&) = delete;

  // Galleries: supervisor only.
  Result<GalleryRecord> RegisterGallery(const Actor& actor, const GalleryRegistration& request);
  Result<GalleryRecord> GetGallery(const std::string& name);

  // Authorities. An authoriser's request is issued granted; an operator's or
  // supervisor's is a request awaiting an authoriser (urgent ones may be
  // searched under until the deadline). Others: permission_denied.
  Result<Authority> CreateAuthority(const Actor& actor, const AuthorityRequest& request);
  // Supervisor or authoriser imports a record signed by a trusted key.
  Result<Authority> ImportAuthority(const Actor& actor, const SignedAuthority& signed_authority);
  // Authoriser only, never the requester.
  Result<Authority> GrantAuthority(const Actor& actor, const std::string& authority_id,
                                   const std::string& reason);
  // Rejecting an urgent request stops and purges its searches.
  Result<Authority> RejectAuthority(const Actor& actor, const std::string& authority_id,
                                    const std::string& reason);
  Result<Authority> RevokeAuthority(const Actor& actor, const std::string& authority_id,
                                    const std::string& reason);
  Result<Authority> GetAuthority(const std::string& authority_id);
  Result<std::vector<Authority>> ListAuthorities();

  // Searches. Operator or supervisor; counts against max_searches.
  Result<SearchTicket> CheckSearch(const Actor& actor, const SearchCheckRequest& request);
  // Reviewer only: lets a probe below the quality floor be searched.
  Result<QualityOverride> OverrideQualityGate(const Actor& actor,
                                              const QualityOverrideRequest& request);
  // The engine's result for a ticket: sealed and put up for review. A
  // search with no candidates closes at once (probe erased).
  Result<SearchView> RecordSearchResult(const Actor& actor, const SearchResultInput& input);
  // The engine produced nothing (no face, error): nothing is retained.
  Result<SearchView> AbandonSearch(const Actor& actor, const std::string& search_id,
                                   const std::string& reason);
  Status CheckConsultation(const Actor& actor, const ConsultationRequest& request);
  Status CheckVerification(const Actor& actor, const VerificationCheckRequest& request);

  Result<SearchView> GetSearch(const Actor& viewer, const std::string& search_id);
  // Records that `actor` opened candidate `rank` (audited) and returns it.
  Result<CandidateView> OpenCandidate(const Actor& actor, const std::string& search_id, int rank);
  Result<SearchView> SubmitReview(const Actor& actor, const ReviewRequest& request);
  // The STOP control: operator of the search, reviewer or supervisor.
  Result<SearchView> StopSearch(const Actor& actor, const std::string& search_id,
                                const std::string& reason);
  // The sealed probe of a search (for an examiner's viewer); NotFound once erased.
  Result<std::vector<std::uint8_t>> OpenProbe(const Actor& actor, const std::string& search_id);

  // Retention: urgency deadlines, authority expiry, matched-search expiry,
  // gallery reviews due. Supervisor, admin, or the "system" scheduler.
  Result<PurgeReport> RunRetention(const Actor& actor);
  Result<std::vector<ErasureRecord>> ListErasures();

  // Disputes: supervisor or auditor files on behalf of the person.
  Result<Dispute> OpenDispute(const Actor& actor, const DisputeRequest& request);
  Result<Dispute> SubmitDisputeReview(const Actor& actor, const DisputeReviewRequest& request);
  Result<Dispute> GetDispute(const std::string& dispute_id);

  // Disclosure: supervisor or auditor; refused while a dispute is open.
  Result<DisclosureExport> ExportDisclosure(const Actor& actor, const DisclosureRequest& request);
  std::string disclosure_public_key_hex() const;

  // Suspension switch (oversight = supervisor).
  Result<Suspension> Suspend(const Actor& actor, const std::string& reason);
  Result<Suspension> Resume(const Actor& actor, const std::string& reason);
  Suspension GetSuspension();

  // From the audit events: supervisor, auditor or admin.
  Result<TransparencyReport> BuildTransparencyReport(const Actor& actor);

  // Opaque implementation state (governance_internal.h).
  struct Impl;

 private:
  explicit Governance(std::unique_ptr<Impl> impl);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_GOVERNANCE_H_
