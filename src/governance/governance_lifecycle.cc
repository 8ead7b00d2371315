// Governance: retention, disputes, disclosure packages, the suspension
// switch and the transparency report.

#include <algorithm>
#include <set>

#include "core/digest.h"
#include "governance/governance_internal.h"
#include "governance/transparency.h"

namespace abis::governance {
namespace {

bool IsOneOf(ActorRole role, std::initializer_list<ActorRole> roles) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------ Retention ----

Result<PurgeReport> Governance::RunRetention(const Actor& actor) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.retention.run";
  if (!IsOneOf(actor.role, {ActorRole::kSupervisor, ActorRole::kAdmin})) {
    return s.Refuse(actor, action, {},
                    Refusal(StatusCode::kPermissionDenied, "role_cannot_run_retention",
                            "retention runs as a supervisor, an admin or the scheduler"));
  }
  PurgeReport report;
  report.run_at = s.Now();
  report.run_by = actor.name;
  ABIS_ASSIGN_OR_RETURN(report.authorities_expired, s.ProcessDeadlines(&report.erased));
  ABIS_ASSIGN_OR_RETURN(std::vector<SearchRecord> searches, s.AllSearches());
  for (SearchRecord& r : searches) {
    if (!r.sealed || r.view.state != SearchState::kMatched || !r.view.retention_until ||
        *r.view.retention_until > report.run_at) {
      continue;
    }
    ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
      r.view.state = SearchState::kExpired;
      ABIS_RETURN_IF_ERROR(s.EraseSearchData(r, actor, "retention_expired", &report.erased));
      return s.Store(kKindSearch, r.view.id, ToJson(r));
    }));
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<GalleryRecord> galleries,
                        s.LoadAll<GalleryRecord>(kKindGallery, GalleryFromJson));
  for (const GalleryRecord& g : galleries) {
    if (g.next_review_at <= report.run_at) {
      report.gallery_reviews_due.push_back({g.registration.name, g.next_review_at});
    }
  }
  ABIS_RETURN_IF_ERROR(s.db->Checkpoint());
  ABIS_RETURN_IF_ERROR(
      s.Audit(actor, action, {},
              "erased=" + std::to_string(report.erased.size()) +
                  " authorities_expired=" + std::to_string(report.authorities_expired.size()) +
                  " gallery_reviews_due=" + std::to_string(report.gallery_reviews_due.size()))
          .status());
  return report;
}

Result<std::vector<ErasureRecord>> Governance::ListErasures() {
  std::lock_guard lock(mutex_);
  return impl_->LoadAll<ErasureRecord>(kKindErasure, ErasureFromJson);
}

// ------------------------------------------------------------- Disputes ----

Result<Dispute> Governance::OpenDispute(const Actor& actor, const DisputeRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.dispute.open";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {request.search_id}, Refusal(code, why, detail));
  };
  if (!IsOneOf(actor.role, {ActorRole::kSupervisor, ActorRole::kAuditor})) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_file_dispute",
                  "a supervisor or auditor files a dispute on the person's behalf");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(request.search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  if (request.rank && (*request.rank < 1 || *request.rank > record->view.candidate_count)) {
    return refuse(StatusCode::kInvalidArgument, "bad_rank", "no such candidate");
  }
  if (!IsValidIdentifier(request.filed_on_behalf_of)) {
    return refuse(StatusCode::kInvalidArgument, "filer_required",
                  "filed_on_behalf_of is a reference to the person, counsel or ombudsperson");
  }
  if (!IsValidReasonText(request.grounds)) {
    return refuse(StatusCode::kInvalidArgument, "grounds_required", "state the grounds");
  }
  Dispute d;
  d.id = NewId("disp");
  d.request = request;
  d.opened_by = actor.name;
  d.opened_at = s.Now();
  SearchRecord& r = *record;
  r.open_disputes.insert(d.id);
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, action, {d.id, r.view.id, r.view.case_id},
                "remedy=" + std::string(DisputeRemedyName(request.remedy_sought)) + " rank=" +
                    (request.rank ? std::to_string(*request.rank) : "all") + " exports_frozen=1"));
    r.audit_seqs.push_back(seq);
    ABIS_RETURN_IF_ERROR(s.Store(kKindSearch, r.view.id, ToJson(r)));
    return s.Store(kKindDispute, d.id, ToJson(d));
  }));
  return d;
}

Result<Dispute> Governance::SubmitDisputeReview(const Actor& actor,
                                                const DisputeReviewRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.dispute.review";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {request.dispute_id}, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kReviewer) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_review",
                  "only examiners (reviewer role) re-review a dispute");
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<Dispute> dispute,
                        s.Load<Dispute>(kKindDispute, request.dispute_id, DisputeFromJson));
  if (!dispute) return refuse(StatusCode::kNotFound, "dispute_unknown", "no such dispute");
  Dispute& d = *dispute;
  if (d.state != DisputeState::kOpen) {
    return refuse(StatusCode::kFailedPrecondition, "dispute_closed",
                  "dispute is " + std::string(DisputeStateName(d.state)));
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(d.request.search_id));
  if (!record) return DataLossError("dispute " + d.id + " refers to a missing search");
  SearchRecord& r = *record;
  // Independent re-review: nobody who ran or reviewed the search.
  bool took_part = actor.name == r.view.operator_name;
  for (const auto& reviews : r.reviews) {
    for (const ReviewRecord& review : reviews) took_part |= review.examiner == actor.name;
  }
  if (took_part) {
    return refuse(StatusCode::kPermissionDenied, "examiner_took_part",
                  "a dispute is re-reviewed by examiners who took no part in the search");
  }
  if (std::any_of(d.reviews.begin(), d.reviews.end(),
                  [&](const DisputeReview& v) { return v.examiner == actor.name; })) {
    return refuse(StatusCode::kPermissionDenied, "same_examiner_twice",
                  "the second re-review must come from a different examiner");
  }
  if (!IsValidReasonText(request.reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required", "state the reason");
  }
  TimePoint now = s.Now();
  d.reviews.push_back({actor.name, request.vote, request.reason, now});
  bool decided = d.reviews.size() == 2;
  bool erased = false;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                          s.Audit(actor, action, {d.id, r.view.id},
                                  "vote=" + std::string(DisputeVoteName(request.vote)) +
                                      " reason=" + request.reason));
    r.audit_seqs.push_back(seq);
    if (decided) {
      // Doubt favours the person: one independent examiner upholding it is
      // enough to withdraw the identification.
      bool upheld =
          d.reviews[0].vote == DisputeVote::kUphold || d.reviews[1].vote == DisputeVote::kUphold;
      d.state = upheld ? DisputeState::kUpheld : DisputeState::kRejected;
      d.decided_at = now;
      r.open_disputes.erase(d.id);
      if (upheld) {
        for (std::size_t i = 0; i < r.states.size(); ++i) {
          bool targeted = !d.request.rank || static_cast<std::size_t>(*d.request.rank - 1) == i;
          if (targeted && r.states[i] == CandidateState::kConfirmed) {
            r.states[i] = CandidateState::kExcluded;
            ABIS_ASSIGN_OR_RETURN(std::uint64_t revoked,
                                  s.Audit(actor, "gov.candidate.revoke",
                                          {r.view.id, "rank:" + std::to_string(i + 1), d.id},
                                          "cause=dispute_upheld"));
            r.audit_seqs.push_back(revoked);
          }
        }
        ABIS_ASSIGN_OR_RETURN(std::vector<DisclosureRecord> disclosures,
                              s.LoadAll<DisclosureRecord>(kKindDisclosure, DisclosureFromJson));
        std::set<std::string> recipients;
        for (const DisclosureRecord& disclosure : disclosures) {
          if (disclosure.search_id == r.view.id) recipients.insert(disclosure.recipient);
        }
        d.notify_recipients.assign(recipients.begin(), recipients.end());
      }
      ABIS_ASSIGN_OR_RETURN(
          std::uint64_t decide_seq,
          s.Audit(actor, "gov.dispute.decide", {d.id, r.view.id},
                  std::string("outcome=") + (upheld ? "upheld" : "rejected") +
                      " remedy=" + std::string(DisputeRemedyName(d.request.remedy_sought)) +
                      " notify=" + std::to_string(d.notify_recipients.size())));
      r.audit_seqs.push_back(decide_seq);
      if (upheld && d.request.remedy_sought == DisputeRemedy::kErasure && r.sealed) {
        ABIS_RETURN_IF_ERROR(s.EraseSearchData(r, actor, "dispute_erasure"));
        erased = true;
      }
    }
    ABIS_RETURN_IF_ERROR(s.Store(kKindSearch, r.view.id, ToJson(r)));
    return s.Store(kKindDispute, d.id, ToJson(d));
  }));
  if (erased) ABIS_RETURN_IF_ERROR(s.db->Checkpoint());
  return d;
}

Result<Dispute> Governance::GetDispute(const std::string& dispute_id) {
  std::lock_guard lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(std::optional<Dispute> d,
                        impl_->Load<Dispute>(kKindDispute, dispute_id, DisputeFromJson));
  if (!d) return Refusal(StatusCode::kNotFound, "dispute_unknown", "no such dispute");
  return std::move(*d);
}

// ----------------------------------------------------------- Disclosure ----

Result<DisclosureExport> Governance::ExportDisclosure(const Actor& actor,
                                                      const DisclosureRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.disclosure.export";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {request.search_id}, Refusal(code, why, detail));
  };
  if (!IsOneOf(actor.role, {ActorRole::kSupervisor, ActorRole::kAuditor})) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_disclose",
                  "a supervisor or auditor exports disclosure packages");
  }
  if (!IsValidIdentifier(request.recipient)) {
    return refuse(StatusCode::kInvalidArgument, "recipient_required",
                  "a disclosure names its recipient (LED Art. 25)");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(request.search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  SearchRecord& r = *record;
  if (!r.open_disputes.empty()) {
    return refuse(StatusCode::kFailedPrecondition, "dispute_open",
                  "exports are frozen while dispute " + *r.open_disputes.begin() + " is open");
  }
  if (r.view.state == SearchState::kStopped) {
    return refuse(StatusCode::kFailedPrecondition, "search_stopped",
                  "a stopped search's results are withheld");
  }
  if (request.include_probe_image && !s.options.disclosure_may_include_probe_image) {
    return refuse(StatusCode::kPermissionDenied, "probe_image_not_allowed",
                  "this deployment's policy does not allow probe images in disclosures");
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> authority, s.LoadAuthority(r.view.authority_id));
  if (!authority) return DataLossError("search " + r.view.id + " refers to a missing authority");

  using nlohmann::json;
  json package;
  std::string package_id = NewId("discl");
  TimePoint now = s.Now();
  package["format"] = kDisclosureFormat;
  package["package_id"] = package_id;
  package["created_at"] = FormatTime(now);
  package["exported_by"] = actor.name;
  package["recipient"] = request.recipient;
  package["purpose"] = request.purpose;
  package["marking"] = kLeadMarking;
  json authority_json = ToJson(*authority);
  authority_json.erase("audit_seqs");
  package["authority"] = authority_json;
  ABIS_ASSIGN_OR_RETURN(SearchView view, s.MakeView(r, nullptr, true));
  json search = ToJson(view);
  search.erase("candidates");
  package["search"] = search;
  json candidates = json::array();
  for (const CandidateView& c : view.candidates) candidates.push_back(ToJson(c));
  if (view.candidates.empty()) {
    // Erased or never retained: ranks, states and decisions remain.
    for (std::size_t i = 0; i < r.states.size(); ++i) {
      CandidateView c;
      c.rank = static_cast<int>(i) + 1;
      c.state = r.states[i];
      c.reviews = r.reviews[i];
      json one = ToJson(c);
      one["erased"] = true;
      candidates.push_back(one);
    }
  }
  package["candidates"] = candidates;
  package["probe"] = {{"sha256", r.view.probe_sha256}, {"quality", r.view.probe_quality}};
  if (request.include_probe_image && r.sealed) {
    ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> probe, s.OpenProbeBytes(r));
    package["probe"]["image_base64"] = Base64(probe);
  }
  json algorithm = {{"algorithm", r.view.algorithm}, {"model_digest", r.view.model_digest}};
  if (s.model_card) {
    algorithm["model_card"] = *s.model_card;
    algorithm["model_card_sha256"] = Sha256Hex(s.options.model_card_json);
  } else {
    algorithm["model_card"] = nullptr;
  }
  package["algorithm"] = algorithm;
  ABIS_ASSIGN_OR_RETURN(std::vector<Dispute> all_disputes,
                        s.LoadAll<Dispute>(kKindDispute, DisputeFromJson));
  json disputes = json::array();
  for (const Dispute& d : all_disputes) {
    if (d.request.search_id == r.view.id) disputes.push_back(ToJson(d));
  }
  package["disputes"] = disputes;
  // Other searches under the same authority (F-33: a case with a prior
  // no-result or different-result search includes it).
  ABIS_ASSIGN_OR_RETURN(std::vector<SearchRecord> searches, s.AllSearches());
  json related = json::array();
  for (const SearchRecord& other : searches) {
    if (other.view.authority_id == r.view.authority_id && other.view.id != r.view.id) {
      related.push_back({{"id", other.view.id},
                         {"state", std::string(SearchStateName(other.view.state))},
                         {"candidate_count", other.view.candidate_count},
                         {"created_at", FormatTime(other.view.created_at)}});
    }
  }
  package["related_searches"] = related;
  // The audit trail: the authority's and the search's events, each with its
  // inclusion proof against a signed checkpoint.
  std::set<std::uint64_t> seqs(r.audit_seqs.begin(), r.audit_seqs.end());
  seqs.insert(authority->audit_seqs.begin(), authority->audit_seqs.end());
  Result<std::vector<AuditEvent>> events = s.audit->ReadEvents();
  if (!events.ok()) {
    return refuse(StatusCode::kUnavailable, "audit_unavailable", events.status().message());
  }
  json audit_events = json::array();
  for (std::uint64_t seq : seqs) {
    if (seq >= events->size()) return DataLossError("audit event missing from the log");
    Result<InclusionProof> proof = s.audit->ProveInclusion(seq);
    if (!proof.ok()) {
      return refuse(StatusCode::kUnavailable, "audit_unavailable", proof.status().message());
    }
    audit_events.push_back(
        {{"event", AuditEventToJson((*events)[seq])}, {"proof", InclusionProofToJson(*proof)}});
  }
  package["audit"] = {{"public_key", s.audit->public_key_hex()}, {"events", audit_events}};
  ABIS_RETURN_IF_ERROR(SignDisclosurePackage(package, s.signing_key));

  DisclosureExport out;
  out.package_id = package_id;
  out.package_json = package.dump(1);
  out.package_sha256 = Sha256Hex(out.package_json);
  DisclosureRecord disclosure{package_id, r.view.id,          request.recipient,
                              actor.name, out.package_sha256, now};
  // The export itself is a disclosure event (LED Art. 25): nothing leaves
  // before it is durably logged.
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                          s.Audit(actor, action, {package_id, r.view.id, r.view.case_id},
                                  "recipient=" + request.recipient + " probe_image=" +
                                      (package["probe"].contains("image_base64") ? "1" : "0"),
                                  {{"package_sha256", out.package_sha256}}));
    r.audit_seqs.push_back(seq);
    ABIS_RETURN_IF_ERROR(s.Store(kKindSearch, r.view.id, ToJson(r)));
    return s.Store(kKindDisclosure, package_id, ToJson(disclosure));
  }));
  return out;
}

// ----------------------------------------------------------- Suspension ----

Result<Suspension> Governance::Suspend(const Actor& actor, const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.suspension.set";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {}, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_suspend",
                  "the oversight role (supervisor) suspends identification");
  }
  if (!IsValidReasonText(reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required", "state the audit finding");
  }
  ABIS_ASSIGN_OR_RETURN(Suspension current, s.CurrentSuspension());
  if (current.active) {
    return refuse(StatusCode::kFailedPrecondition, "already_suspended",
                  "identification is already suspended (" + current.id + ")");
  }
  Suspension next{true, NewId("susp"), reason, actor.name, s.Now()};
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_RETURN_IF_ERROR(s.Audit(actor, action, {next.id}, "reason=" + reason).status());
    return s.Store(kKindSuspension, "current", ToJson(next));
  }));
  return next;
}

Result<Suspension> Governance::Resume(const Actor& actor, const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.suspension.lift";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {}, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_suspend",
                  "the oversight role (supervisor) lifts a suspension");
  }
  if (!IsValidReasonText(reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required", "state why it is lifted");
  }
  ABIS_ASSIGN_OR_RETURN(Suspension current, s.CurrentSuspension());
  if (!current.active) {
    return refuse(StatusCode::kFailedPrecondition, "not_suspended",
                  "identification is not suspended");
  }
  Suspension next = current;
  next.active = false;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_RETURN_IF_ERROR(s.Audit(actor, action, {current.id}, "reason=" + reason).status());
    return s.Store(kKindSuspension, "current", ToJson(next));
  }));
  return next;
}

Suspension Governance::GetSuspension() {
  std::lock_guard lock(mutex_);
  Result<Suspension> current = impl_->CurrentSuspension();
  // Unreadable state is treated as suspended: fail closed.
  if (!current.ok()) return Suspension{true, "unknown", current.status().message(), "", {}};
  return *current;
}

// --------------------------------------------------------- Transparency ----

Result<TransparencyReport> Governance::BuildTransparencyReport(const Actor& actor) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.report.transparency";
  if (!IsOneOf(actor.role, {ActorRole::kSupervisor, ActorRole::kAuditor, ActorRole::kAdmin})) {
    return s.Refuse(actor, action, {},
                    Refusal(StatusCode::kPermissionDenied, "role_cannot_report",
                            "supervisors, auditors and admins generate the report"));
  }
  Result<std::vector<AuditEvent>> events = s.audit->ReadEvents();
  if (!events.ok()) {
    return Refusal(StatusCode::kUnavailable, "audit_unavailable", events.status().message());
  }
  nlohmann::json report = MakeTransparencyJson(*events, FormatTime(s.Now()));
  ABIS_RETURN_IF_ERROR(s.Audit(actor, action, {},
                               "events_covered=" + std::to_string(events->size()),
                               {{"report_sha256", Sha256Hex(report.dump())}})
                           .status());
  return TransparencyReport{report.dump(1), RenderTransparencyHtml(report)};
}

}  // namespace abis::governance
