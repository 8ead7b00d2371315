// Governance: search results, the two-person review, the STOP control.

#include <algorithm>
#include <cmath>

#include <sodium.h>

#include "core/digest.h"
#include "governance/governance_internal.h"

namespace abis::governance {

Result<SearchView> Governance::Impl::MakeView(const SearchRecord& record, const Actor* viewer,
                                              bool with_candidates) {
  SearchView view = record.view;
  view.candidates.clear();
  bool stopped = view.state == SearchState::kStopped;
  view.results_withheld = stopped || !record.sealed;
  if (!with_candidates || view.results_withheld) return view;
  ABIS_ASSIGN_OR_RETURN(std::vector<CandidateInput> inputs, OpenCandidates(record));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const CandidateInput& in = inputs[i];
    CandidateView c;
    c.rank = static_cast<int>(i) + 1;
    c.gallery = in.gallery;
    c.identity = in.identity;
    c.reference_id = in.reference_id;
    c.score = in.score;
    c.fmr = in.fmr;
    c.fmr_is_upper_bound = in.fmr_is_upper_bound;
    c.expected_false_candidates = in.expected_false_candidates;
    c.state = i < record.states.size() ? record.states[i] : CandidateState::kCandidate;
    if (i < record.reviews.size()) {
      const auto& reviews = record.reviews[i];
      // F-18: the second examiner does not see the first one's decision
      // before submitting their own.
      bool blind = viewer != nullptr && viewer->role == ActorRole::kReviewer &&
                   (c.state == CandidateState::kCandidate || c.state == CandidateState::kReview1) &&
                   std::none_of(reviews.begin(), reviews.end(),
                                [&](const ReviewRecord& r) { return r.examiner == viewer->name; });
      if (!blind) c.reviews = reviews;
    }
    view.candidates.push_back(std::move(c));
  }
  return view;
}

Result<SearchView> Governance::RecordSearchResult(const Actor& actor,
                                                  const SearchResultInput& input) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.search.result";
  auto refuse = [&](StatusCode code, const char* reason, const std::string& detail) {
    return s.Refuse(actor, action, {input.search_id}, Refusal(code, reason, detail));
  };
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(input.search_id));
  if (!record) {
    return refuse(StatusCode::kNotFound, "search_unknown", "no search '" + input.search_id + "'");
  }
  SearchRecord& r = *record;
  if (r.view.operator_name != actor.name) {
    return refuse(StatusCode::kPermissionDenied, "not_search_operator",
                  "only the operator who was authorised records the result");
  }
  if (r.view.state == SearchState::kStopped) {
    return refuse(StatusCode::kFailedPrecondition, "search_stopped",
                  "search " + r.view.id + " was stopped: " + r.view.stop_reason);
  }
  if (r.view.state != SearchState::kAuthorised) {
    return refuse(StatusCode::kFailedPrecondition, "search_not_awaiting_result",
                  "search " + r.view.id + " already has its result");
  }
  ABIS_ASSIGN_OR_RETURN(Suspension suspension, s.CurrentSuspension());
  if (suspension.active) {
    return refuse(StatusCode::kUnavailable, "identification_suspended",
                  "identification is suspended (" + suspension.id + ")");
  }
  if (Sha256Hex(input.probe) != r.view.probe_sha256) {
    return refuse(StatusCode::kInvalidArgument, "probe_hash_mismatch",
                  "the probe is not the one the search was authorised for");
  }
  if (static_cast<int>(input.candidates.size()) > r.view.max_candidates) {
    return refuse(StatusCode::kInvalidArgument, "too_many_candidates",
                  "at most " + std::to_string(r.view.max_candidates) + " candidates");
  }
  for (const CandidateInput& c : input.candidates) {
    if (std::find(r.view.galleries.begin(), r.view.galleries.end(), c.gallery) ==
        r.view.galleries.end()) {
      return refuse(StatusCode::kInvalidArgument, "candidate_gallery_out_of_scope",
                    "a candidate comes from gallery '" + c.gallery + "' outside the search");
    }
    if (c.identity.empty() || !std::isfinite(c.score) || (c.fmr && !(*c.fmr >= 0 && *c.fmr <= 1))) {
      return refuse(StatusCode::kInvalidArgument, "bad_candidate",
                    "candidates need an identity, a finite score and an FMR in [0, 1]");
    }
  }
  if (input.algorithm.empty()) {
    return refuse(StatusCode::kInvalidArgument, "algorithm_required",
                  "the algorithm version is part of every search record");
  }
  // Rank order is by score, best first, whatever order the galleries gave.
  std::vector<CandidateInput> ranked = input.candidates;
  std::stable_sort(
      ranked.begin(), ranked.end(),
      [](const CandidateInput& a, const CandidateInput& b) { return a.score > b.score; });
  r.view.algorithm = input.algorithm;
  r.view.model_digest = input.model_digest;
  r.view.gallery_identities = input.gallery_identities;
  r.view.candidate_count = static_cast<int>(ranked.size());
  r.states.assign(ranked.size(), CandidateState::kCandidate);
  r.reviews.assign(ranked.size(), {});
  TimePoint now = s.Now();
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    if (ranked.empty()) {
      // Nothing to review: the search is complete and its probe is never kept.
      r.view.state = SearchState::kUnmatched;
      r.view.completed_at = now;
    } else {
      ABIS_RETURN_IF_ERROR(s.SealSearch(r, input.probe, ranked));
      r.view.state = SearchState::kInReview;
    }
    nlohmann::json scores = nlohmann::json::array();
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, action, {r.view.id, r.view.authority_id, r.view.case_id},
                "candidates=" + std::to_string(ranked.size()) + " algorithm=" + input.algorithm +
                    " probe_retained=" + (ranked.empty() ? "0" : "1") +
                    " calibration=" + (input.calibration_card.empty() ? "none" : "card"),
                {{"probe_sha256", r.view.probe_sha256}}));
    r.audit_seqs.push_back(seq);
    return s.Store(kKindSearch, r.view.id, ToJson(r));
  }));
  return s.MakeView(r, &actor, true);
}

Result<SearchView> Governance::AbandonSearch(const Actor& actor, const std::string& search_id,
                                             const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.search.abandon";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {search_id}, Refusal(code, why, detail));
  };
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  if (record->view.operator_name != actor.name) {
    return refuse(StatusCode::kPermissionDenied, "not_search_operator",
                  "only the search's operator abandons it");
  }
  if (record->view.state != SearchState::kAuthorised) {
    return refuse(StatusCode::kFailedPrecondition, "search_not_awaiting_result",
                  "only a search without a result can be abandoned");
  }
  if (!IsValidReasonText(reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required", "say why");
  }
  record->view.state = SearchState::kAbandoned;
  record->view.completed_at = s.Now();
  record->view.stop_reason = reason;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                          s.Audit(actor, action, {search_id}, "reason=" + reason));
    record->audit_seqs.push_back(seq);
    return s.Store(kKindSearch, search_id, ToJson(*record));
  }));
  return s.MakeView(*record, &actor, false);
}

Result<SearchView> Governance::GetSearch(const Actor& viewer, const std::string& search_id) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(search_id));
  if (!record) {
    return Refusal(StatusCode::kNotFound, "search_unknown", "no search '" + search_id + "'");
  }
  if (viewer.role == ActorRole::kAdmin) {
    return s.Refuse(viewer, "gov.search.view", {search_id},
                    Refusal(StatusCode::kPermissionDenied, "role_cannot_view_search",
                            "admins manage the system, not biometric data"));
  }
  // Candidate identities are personal data: reading them is a consultation
  // and is audited. Auditors see the record without them.
  bool with_candidates = viewer.role != ActorRole::kAuditor;
  ABIS_ASSIGN_OR_RETURN(SearchView view, s.MakeView(*record, &viewer, with_candidates));
  if (!view.candidates.empty()) {
    ABIS_RETURN_IF_ERROR(
        s.Audit(viewer, "gov.search.view", {search_id, record->view.case_id}, "").status());
  }
  return view;
}

Result<CandidateView> Governance::OpenCandidate(const Actor& actor, const std::string& search_id,
                                                int rank) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.candidate.open";
  std::vector<std::string> ids = {search_id, "rank:" + std::to_string(rank)};
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, ids, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kReviewer) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_review",
                  "only examiners (reviewer role) open candidates for review");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  SearchRecord& r = *record;
  if (r.view.state == SearchState::kStopped) {
    return refuse(StatusCode::kFailedPrecondition, "search_stopped",
                  "search was stopped; its results are withheld");
  }
  if (!r.sealed) {
    return refuse(StatusCode::kFailedPrecondition, "search_data_erased",
                  "the search's candidate list was erased");
  }
  if (rank < 1 || rank > r.view.candidate_count) {
    return refuse(StatusCode::kInvalidArgument, "bad_rank",
                  "rank must be 1.." + std::to_string(r.view.candidate_count));
  }
  r.opened[actor.name].insert(rank);
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq, s.Audit(actor, action, ids, ""));
    r.audit_seqs.push_back(seq);
    return s.Store(kKindSearch, search_id, ToJson(r));
  }));
  ABIS_ASSIGN_OR_RETURN(SearchView view, s.MakeView(r, &actor, true));
  return view.candidates[rank - 1];
}

Status Governance::Impl::MaybeClose(SearchRecord& r, const Actor& actor) {
  if (r.view.state != SearchState::kInReview) return Status::Ok();
  bool all_decided = std::all_of(r.states.begin(), r.states.end(), [](CandidateState st) {
    return st == CandidateState::kConfirmed || st == CandidateState::kExcluded;
  });
  if (!all_decided) return Status::Ok();
  bool matched = std::any_of(r.states.begin(), r.states.end(),
                             [](CandidateState st) { return st == CandidateState::kConfirmed; });
  TimePoint now = Now();
  r.view.completed_at = now;
  if (matched) {
    r.view.state = SearchState::kMatched;
    r.view.retention_until = now + options.matched_retention;
  } else {
    r.view.state = SearchState::kUnmatched;
  }
  ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                        Audit(actor, "gov.search.close", {r.view.id, r.view.case_id},
                              std::string("outcome=") + (matched ? "matched" : "unmatched")));
  r.audit_seqs.push_back(seq);
  // a probe that led to no confirmed identification is not kept.
  if (!matched) ABIS_RETURN_IF_ERROR(EraseSearchData(r, actor, "unmatched_at_completion"));
  return Status::Ok();
}

Result<SearchView> Governance::SubmitReview(const Actor& actor, const ReviewRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.review.submit";
  std::vector<std::string> ids = {request.search_id, "rank:" + std::to_string(request.rank)};
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, ids, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kReviewer) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_review",
                  "only examiners (reviewer role) review candidates");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(request.search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  SearchRecord& r = *record;
  if (r.view.state == SearchState::kStopped) {
    return refuse(StatusCode::kFailedPrecondition, "search_stopped",
                  "search was stopped; no further reviews");
  }
  if (r.view.state != SearchState::kInReview) {
    return refuse(StatusCode::kFailedPrecondition, "search_not_in_review",
                  "search is " + std::string(SearchStateName(r.view.state)));
  }
  if (actor.name == r.view.operator_name) {
    return refuse(StatusCode::kPermissionDenied, "operator_cannot_review",
                  "the operator who ran the search cannot review it");
  }
  if (request.rank < 1 || request.rank > r.view.candidate_count) {
    return refuse(StatusCode::kInvalidArgument, "bad_rank",
                  "rank must be 1.." + std::to_string(r.view.candidate_count));
  }
  std::size_t index = static_cast<std::size_t>(request.rank - 1);
  CandidateState state = r.states[index];
  if (state != CandidateState::kCandidate && state != CandidateState::kReview1) {
    return refuse(StatusCode::kFailedPrecondition, "candidate_already_decided",
                  "candidate is " + std::string(CandidateStateName(state)));
  }
  auto& reviews = r.reviews[index];
  if (std::any_of(reviews.begin(), reviews.end(),
                  [&](const ReviewRecord& rv) { return rv.examiner == actor.name; })) {
    return refuse(StatusCode::kPermissionDenied, "same_examiner_twice",
                  "the second review must come from a different examiner");
  }
  const std::set<int>& opened = r.opened[actor.name];
  if (static_cast<int>(opened.size()) < r.view.candidate_count) {
    return refuse(StatusCode::kFailedPrecondition, "candidates_not_all_opened",
                  "examiner opened " + std::to_string(opened.size()) + " of " +
                      std::to_string(r.view.candidate_count) +
                      " candidates; every candidate is compared before any decision");
  }
  if (!IsValidReasonText(request.reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required",
                  "a review decision states its reason");
  }
  ReviewRecord review{actor.name, request.decision, request.reason, s.Now()};
  reviews.push_back(review);
  const bool second = reviews.size() == 2;
  r.states[index] = second ? CandidateState::kReview2 : CandidateState::kReview1;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, action, ids,
                std::string("step=") + (second ? "review_2" : "review_1") +
                    " decision=" + std::string(ReviewDecisionName(request.decision)) +
                    " reason=" + request.reason));
    r.audit_seqs.push_back(seq);
    if (second) {
      bool confirmed = reviews[0].decision == ReviewDecision::kConfirm &&
                       reviews[1].decision == ReviewDecision::kConfirm;
      r.states[index] = confirmed ? CandidateState::kConfirmed : CandidateState::kExcluded;
      ABIS_ASSIGN_OR_RETURN(
          std::uint64_t outcome_seq,
          s.Audit(actor, confirmed ? "gov.candidate.confirm" : "gov.candidate.exclude", ids,
                  "examiners=" + reviews[0].examiner + "," + reviews[1].examiner));
      r.audit_seqs.push_back(outcome_seq);
    }
    ABIS_RETURN_IF_ERROR(s.MaybeClose(r, actor));
    return s.Store(kKindSearch, r.view.id, ToJson(r));
  }));
  if (r.view.erased_at) ABIS_RETURN_IF_ERROR(s.db->Checkpoint());
  return s.MakeView(r, &actor, true);
}

Result<SearchView> Governance::StopSearch(const Actor& actor, const std::string& search_id,
                                          const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.search.stop";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {search_id}, Refusal(code, why, detail));
  };
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  SearchRecord& r = *record;
  bool allowed = actor.role == ActorRole::kReviewer || actor.role == ActorRole::kSupervisor ||
                 (actor.role == ActorRole::kOperator && actor.name == r.view.operator_name);
  if (!allowed) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_stop",
                  "the search's operator, an examiner or a supervisor may stop it");
  }
  if (r.view.state != SearchState::kAuthorised && r.view.state != SearchState::kInReview) {
    return refuse(StatusCode::kFailedPrecondition, "search_not_active",
                  "search is " + std::string(SearchStateName(r.view.state)));
  }
  if (!IsValidReasonText(reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required", "STOP states its reason");
  }
  r.view.state = SearchState::kStopped;
  r.view.stop_reason = reason;
  r.view.completed_at = s.Now();
  r.view.results_withheld = true;
  for (CandidateState& c : r.states) c = CandidateState::kVoid;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                          s.Audit(actor, action, {search_id, r.view.case_id},
                                  "voided_candidates=" + std::to_string(r.view.candidate_count) +
                                      " reason=" + reason));
    r.audit_seqs.push_back(seq);
    ABIS_RETURN_IF_ERROR(s.EraseSearchData(r, actor, "stopped"));
    return s.Store(kKindSearch, search_id, ToJson(r));
  }));
  ABIS_RETURN_IF_ERROR(s.db->Checkpoint());
  return s.MakeView(r, &actor, false);
}

Result<std::vector<std::uint8_t>> Governance::OpenProbe(const Actor& actor,
                                                        const std::string& search_id) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.probe.view";
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {search_id}, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kReviewer && actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_view_probe",
                  "only examiners and supervisors view a retained probe");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<SearchRecord> record, s.LoadSearch(search_id));
  if (!record) return refuse(StatusCode::kNotFound, "search_unknown", "no such search");
  if (record->view.state == SearchState::kStopped || !record->sealed) {
    return refuse(StatusCode::kNotFound, "search_data_erased",
                  "the probe of " + search_id + " is not retained");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> probe, s.OpenProbeBytes(*record));
  ABIS_RETURN_IF_ERROR(s.Audit(actor, action, {search_id, record->view.case_id}, "",
                               {{"probe_sha256", record->view.probe_sha256}})
                           .status());
  return probe;
}

}  // namespace abis::governance
