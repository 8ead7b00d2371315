// Authorities, scope checks, urgency, galleries, two-person review, STOP,
// the quality gate and fail-closed auditing. Every refusal is checked for
// its status code, its stable reason and the audit event it wrote.

#include "governance/governance.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "governance/governance_test_fixture.h"

namespace abis::governance::test {
namespace {

using std::chrono::hours;

class AuthorityTest : public GovernanceFixture {};

TEST_F(AuthorityTest, AuthoriserIssuesGrantedOperatorOnlyRequests) {
  auto issued = gov_->CreateAuthority(authoriser_, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->state, AuthorityState::kGranted);
  EXPECT_EQ(issued->decided_by, authoriser_.name);
  EXPECT_EQ(LastEvent().action, "gov.authority.issue");

  auto requested = gov_->CreateAuthority(operator_, Request());
  ASSERT_TRUE(requested.ok());
  EXPECT_EQ(requested->state, AuthorityState::kRequested);
  EXPECT_EQ(LastEvent().action, "gov.authority.request");

  // A request cannot be searched under until it is granted.
  auto ticket = gov_->CheckSearch(operator_, Check(requested->id, Probe(1)));
  ExpectRefused(ticket.status(), StatusCode::kPermissionDenied, "authority_not_granted",
                "gov.search.authorise");

  // The operator cannot grant; nor can the authoriser who requested.
  ExpectRefused(gov_->GrantAuthority(operator_, requested->id, "ok").status(),
                StatusCode::kPermissionDenied, "role_cannot_decide_authority",
                "gov.authority.grant");
  auto own = gov_->CreateAuthority(operator2_, Request());
  ASSERT_TRUE(own.ok());

  auto granted = gov_->GrantAuthority(authoriser_, requested->id, "probable cause shown");
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_EQ(granted->state, AuthorityState::kGranted);
  EXPECT_EQ(LastEvent().action, "gov.authority.grant");
  EXPECT_EQ(LastEvent().actor, authoriser_.name);
  EXPECT_TRUE(gov_->CheckSearch(operator_, Check(requested->id, Probe(1))).ok());
  // Granting twice is refused.
  ExpectRefused(gov_->GrantAuthority(authoriser_, requested->id, "again").status(),
                StatusCode::kFailedPrecondition, "authority_not_pending", "gov.authority.grant");
}

TEST_F(AuthorityTest, OtherRolesCannotCreateAndValidationIsStrict) {
  ExpectRefused(gov_->CreateAuthority(examiner1_, Request()).status(),
                StatusCode::kPermissionDenied, "role_cannot_request_authority",
                "gov.authority.create");
  ExpectRefused(gov_->CreateAuthority(auditor_, Request()).status(), StatusCode::kPermissionDenied,
                "role_cannot_request_authority", "gov.authority.create");

  AuthorityRequest low = Request();
  low.scope.max_penalty_years = 3;  // Below the 4-year threshold (AI Act Art. 5(1)(h)(iii)).
  ExpectRefused(gov_->CreateAuthority(authoriser_, low).status(), StatusCode::kPermissionDenied,
                "offence_below_threshold", "gov.authority.create");

  AuthorityRequest no_galleries = Request({});
  ExpectRefused(gov_->CreateAuthority(authoriser_, no_galleries).status(),
                StatusCode::kInvalidArgument, "galleries_required", "gov.authority.create");
  ExpectRefused(gov_->CreateAuthority(authoriser_, Request({"*"})).status(),
                StatusCode::kInvalidArgument, "gallery_wildcard_refused", "gov.authority.create");
  ExpectRefused(gov_->CreateAuthority(authoriser_, Request({"unregistered"})).status(),
                StatusCode::kPermissionDenied, "gallery_not_registered", "gov.authority.create");
  AuthorityRequest bad_basis = Request();
  bad_basis.legal_basis = "because-we-can";
  ExpectRefused(gov_->CreateAuthority(authoriser_, bad_basis).status(),
                StatusCode::kPermissionDenied, "legal_basis_not_allowed", "gov.authority.create");
  AuthorityRequest no_case = Request();
  no_case.scope.case_id = "";
  ExpectRefused(gov_->CreateAuthority(authoriser_, no_case).status(), StatusCode::kInvalidArgument,
                "case_required", "gov.authority.create");
  AuthorityRequest urgent_no_facts = Request();
  urgent_no_facts.urgent = true;
  ExpectRefused(gov_->CreateAuthority(operator_, urgent_no_facts).status(),
                StatusCode::kInvalidArgument, "justification_required", "gov.authority.create");
}

TEST_F(AuthorityTest, RequesterCannotGrantOwnRequest) {
  // An authoriser's own creation is issued directly; a supervisor's request
  // cannot be decided by the same person even with another role token.
  auto requested = gov_->CreateAuthority(supervisor_, Request());
  ASSERT_TRUE(requested.ok());
  Actor same_person_as_authoriser{supervisor_.name, ActorRole::kAuthoriser, ""};
  ExpectRefused(
      gov_->GrantAuthority(same_person_as_authoriser, requested->id, "self-approval").status(),
      StatusCode::kPermissionDenied, "requester_cannot_decide", "gov.authority.grant");
}

TEST_F(AuthorityTest, ImportRequiresTrustedSignature) {
  std::array<std::uint8_t, 32> pk{};
  std::array<std::uint8_t, 64> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  std::array<std::uint8_t, 32> other_pk{};
  std::array<std::uint8_t, 64> other_sk{};
  crypto_sign_keypair(other_pk.data(), other_sk.data());
  // Reopen with the court's key trusted.
  gov_.reset();
  GovernanceOptions options;
  options.data_dir = dir_.path();
  options.clock = [this] { return now_; };
  options.legal_bases = {kLegalBasis};
  options.master_key.key_text = std::string(64, '7');
  options.disclosure_signing_seed_hex = std::string(64, 'a');
  options.trusted_authority_keys = {HexEncode(pk)};
  auto reopened = Governance::Open(options, sink_.get());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  gov_ = std::move(*reopened);

  std::string payload = R"({"kind":"court_order","reference":"CO-77","issuing_body":"High Court",)"
                        R"("legal_basis":"national-biometrics-act-s12","scope":{"galleries":)"
                        R"(["custody"],"modalities":["face"],"purpose":"missing_person",)"
                        R"("case_id":"case-2026-0042","not_before":"2026-01-01T00:00:00Z",)"
                        R"("not_after":"2030-01-01T00:00:00Z","max_searches":3}})";
  auto sign = [&](const std::array<std::uint8_t, 64>& key, const std::string& text) {
    std::array<std::uint8_t, 64> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const std::uint8_t*>(text.data()),
                         text.size(), key.data());
    return HexEncode(sig);
  };
  SignedAuthority good{payload, sign(sk, payload), HexEncode(pk)};
  ExpectRefused(gov_->ImportAuthority(operator_, good).status(), StatusCode::kPermissionDenied,
                "role_cannot_import_authority", "gov.authority.import");
  SignedAuthority untrusted{payload, sign(other_sk, payload), HexEncode(other_pk)};
  ExpectRefused(gov_->ImportAuthority(supervisor_, untrusted).status(),
                StatusCode::kPermissionDenied, "authority_key_not_trusted", "gov.authority.import");
  SignedAuthority tampered{payload, sign(sk, payload), HexEncode(pk)};
  tampered.payload_json.replace(tampered.payload_json.find("\"max_searches\":3"), 16,
                                "\"max_searches\":9");
  ExpectRefused(gov_->ImportAuthority(supervisor_, tampered).status(),
                StatusCode::kPermissionDenied, "authority_signature_invalid",
                "gov.authority.import");

  auto imported = gov_->ImportAuthority(supervisor_, good);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->state, AuthorityState::kGranted);
  EXPECT_EQ(imported->request.scope.purpose, PurposeCategory::kMissingPerson);
  EXPECT_EQ(imported->request.scope.max_searches, 3);
  // The importer cannot search under it; an operator can.
  ExpectRefused(gov_->CheckSearch(supervisor_, Check(imported->id, Probe(2))).status(),
                StatusCode::kPermissionDenied, "authoriser_cannot_search", "gov.search.authorise");
  EXPECT_TRUE(gov_->CheckSearch(operator_, Check(imported->id, Probe(2))).ok());
}

class ScopeTest : public GovernanceFixture {};

TEST_F(ScopeTest, EveryRefusalHasItsReasonAndAuditEvent) {
  Authority a = Issued({"custody", "missing"}, 2);
  const std::string action = "gov.search.authorise";

  SearchCheckRequest no_authority = Check("", Probe(1));
  ExpectRefused(gov_->CheckSearch(operator_, no_authority).status(), StatusCode::kPermissionDenied,
                "authority_missing", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check("auth-unknown", Probe(1))).status(),
                StatusCode::kPermissionDenied, "authority_unknown", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(1), {"other"})).status(),
                StatusCode::kPermissionDenied, "authority_scope_gallery", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(1), {})).status(),
                StatusCode::kPermissionDenied, "galleries_required", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(1), {"*"})).status(),
                StatusCode::kPermissionDenied, "gallery_wildcard_refused", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(1), {"all"})).status(),
                StatusCode::kPermissionDenied, "gallery_wildcard_refused", action);
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(1), {"ghost"})).status(),
                StatusCode::kPermissionDenied, "gallery_not_registered", action);
  SearchCheckRequest finger = Check(a.id, Probe(1));
  finger.modality = Modality::kFinger;
  ExpectRefused(gov_->CheckSearch(operator_, finger).status(), StatusCode::kPermissionDenied,
                "authority_scope_modality", action);
  SearchCheckRequest other_case = Check(a.id, Probe(1));
  other_case.case_id = "case-9999";
  ExpectRefused(gov_->CheckSearch(operator_, other_case).status(), StatusCode::kPermissionDenied,
                "authority_scope_case", action);
  SearchCheckRequest too_many = Check(a.id, Probe(1));
  too_many.max_candidates = 51;
  ExpectRefused(gov_->CheckSearch(operator_, too_many).status(), StatusCode::kInvalidArgument,
                "max_candidates_out_of_range", action);
  too_many.max_candidates = 1;
  ExpectRefused(gov_->CheckSearch(operator_, too_many).status(), StatusCode::kInvalidArgument,
                "max_candidates_out_of_range", action);
  ExpectRefused(gov_->CheckSearch(examiner1_, Check(a.id, Probe(1))).status(),
                StatusCode::kPermissionDenied, "role_cannot_search", action);
  ExpectRefused(gov_->CheckSearch(authoriser_, Check(a.id, Probe(1))).status(),
                StatusCode::kPermissionDenied, "role_cannot_search", action);

  // None of the refusals used the quota: two searches still pass, a third does not.
  auto first = gov_->CheckSearch(operator_, Check(a.id, Probe(1), {"custody", "missing"}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->search_number, 1);
  EXPECT_EQ(LastEvent().action, action);
  EXPECT_EQ(LastEvent().result, "ok");
  EXPECT_NE(LastEvent().details.find("purpose=serious_crime_suspect"), std::string::npos);
  ASSERT_TRUE(gov_->CheckSearch(operator_, Check(a.id, Probe(2))).ok());
  ExpectRefused(gov_->CheckSearch(operator_, Check(a.id, Probe(3))).status(),
                StatusCode::kPermissionDenied, "authority_quota_exhausted", action);
  EXPECT_EQ(ProposedErrorCode("authority_quota_exhausted"), "ABIS-E1004");
}

TEST_F(ScopeTest, TimeWindowRejectionAndRevocation) {
  AuthorityRequest later = Request();
  later.scope.not_before = now_ + hours(2);
  auto future = gov_->CreateAuthority(authoriser_, later);
  ASSERT_TRUE(future.ok());
  ExpectRefused(gov_->CheckSearch(operator_, Check(future->id, Probe(1))).status(),
                StatusCode::kPermissionDenied, "authority_not_yet_valid", "gov.search.authorise");
  now_ += hours(3);
  EXPECT_TRUE(gov_->CheckSearch(operator_, Check(future->id, Probe(1))).ok());
  now_ += hours(24 * 11);  // Past not_after.
  ExpectRefused(gov_->CheckSearch(operator_, Check(future->id, Probe(2))).status(),
                StatusCode::kPermissionDenied, "authority_expired", "gov.search.authorise");
  auto expired = gov_->GetAuthority(future->id);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state, AuthorityState::kExpired);
  EXPECT_GE(CountEvents("gov.authority.expire"), 1u);

  Authority live = Issued();
  auto requested = gov_->CreateAuthority(operator_, Request());
  ASSERT_TRUE(requested.ok());
  ASSERT_TRUE(gov_->RejectAuthority(authoriser_, requested->id, "no probable cause").ok());
  ExpectRefused(gov_->CheckSearch(operator_, Check(requested->id, Probe(3))).status(),
                StatusCode::kPermissionDenied, "authority_rejected", "gov.search.authorise");
  ExpectRefused(gov_->RevokeAuthority(operator_, live.id, "x").status(),
                StatusCode::kPermissionDenied, "role_cannot_decide_authority",
                "gov.authority.revoke");
  ASSERT_TRUE(gov_->RevokeAuthority(authoriser2_, live.id, "court withdrew the warrant").ok());
  ExpectRefused(gov_->CheckSearch(operator_, Check(live.id, Probe(4))).status(),
                StatusCode::kPermissionDenied, "authority_revoked", "gov.search.authorise");
}

TEST_F(ScopeTest, ConsultationAndVerificationChecks) {
  Authority a = Issued();
  ConsultationRequest consult{a.id, kCase, "custody"};
  EXPECT_TRUE(gov_->CheckConsultation(operator_, consult).ok());
  EXPECT_EQ(LastEvent().action, "gov.gallery.consult");
  ConsultationRequest outside{a.id, kCase, "missing"};
  ExpectRefused(gov_->CheckConsultation(operator_, outside), StatusCode::kPermissionDenied,
                "authority_scope_gallery", "gov.gallery.consult");
  ConsultationRequest none{"", kCase, "custody"};
  ExpectRefused(gov_->CheckConsultation(operator_, none), StatusCode::kPermissionDenied,
                "authority_missing", "gov.gallery.consult");

  VerificationCheckRequest ok{"encounter-2026-11-27-001", kLegalBasis, "custody"};
  EXPECT_TRUE(gov_->CheckVerification(operator_, ok).ok());
  EXPECT_EQ(LastEvent().action, "gov.verification.authorise");
  VerificationCheckRequest no_ref{"", kLegalBasis, "custody"};
  ExpectRefused(gov_->CheckVerification(operator_, no_ref), StatusCode::kPermissionDenied,
                "encounter_reference_required", "gov.verification.authorise");
  VerificationCheckRequest no_basis{"enc-1", "", "custody"};
  ExpectRefused(gov_->CheckVerification(operator_, no_basis), StatusCode::kPermissionDenied,
                "legal_basis_not_allowed", "gov.verification.authorise");
}

class UrgencyTest : public GovernanceFixture {};

TEST_F(UrgencyTest, OverdueUrgentRequestStopsAndPurgesItsSearches) {
  AuthorityRequest r = Request();
  r.urgent = true;
  r.justification = "child abducted 30 minutes ago; CCTV still of suspect";
  auto urgent = gov_->CreateAuthority(operator_, r);
  ASSERT_TRUE(urgent.ok()) << urgent.status().ToString();
  ASSERT_TRUE(urgent->urgency_deadline.has_value());
  EXPECT_EQ(*urgent->urgency_deadline, now_ + hours(24));

  SearchView s1 = RunSearch(urgent->id, 1, 3);
  SearchView s2 = RunSearch(urgent->id, 2, 2);
  SearchView s3 = RunSearch(urgent->id, 3, 4);
  ASSERT_EQ(s1.state, SearchState::kInReview);
  ASSERT_TRUE(gov_->OpenProbe(examiner1_, s1.id).ok());

  now_ += hours(24) + std::chrono::seconds(1);
  ExpectRefused(gov_->CheckSearch(operator_, Check(urgent->id, Probe(4))).status(),
                StatusCode::kPermissionDenied, "urgency_deadline_passed", "gov.search.authorise");
  EXPECT_EQ(ProposedErrorCode("urgency_deadline_passed"), "ABIS-E1005");
  auto a = gov_->GetAuthority(urgent->id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, AuthorityState::kExpired);
  for (const SearchView& s : {s1, s2, s3}) {
    auto view = gov_->GetSearch(supervisor_, s.id);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->state, SearchState::kStopped);
    EXPECT_TRUE(view->results_withheld);
    EXPECT_TRUE(view->candidates.empty());
    EXPECT_TRUE(view->erased_at.has_value());
    EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, s.id).status()), "search_data_erased");
  }
  EXPECT_EQ(CountEvents("gov.search.purge"), 3u);
  EXPECT_EQ(CountEvents("gov.erase"), 3u);
  bool expire_event = false;
  for (const AuditEvent& e : Events()) {
    if (e.action == "gov.authority.expire") {
      expire_event = true;
      EXPECT_NE(e.details.find("cause=urgency_deadline purged_searches=3"), std::string::npos);
    }
  }
  EXPECT_TRUE(expire_event);
  // Granting after the deadline is no longer possible.
  ExpectRefused(gov_->GrantAuthority(authoriser_, urgent->id, "late").status(),
                StatusCode::kFailedPrecondition, "authority_expired", "gov.authority.grant");
}

TEST_F(UrgencyTest, RejectedUrgentRequestPurgesAtOnce) {
  AuthorityRequest r = Request();
  r.urgent = true;
  r.justification = "imminent threat reported by witness";
  auto urgent = gov_->CreateAuthority(operator_, r);
  ASSERT_TRUE(urgent.ok());
  SearchView s1 = RunSearch(urgent->id, 1, 2);
  ASSERT_TRUE(gov_->RejectAuthority(authoriser_, urgent->id, "not strictly necessary").ok());
  auto view = gov_->GetSearch(supervisor_, s1.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, SearchState::kStopped);
  EXPECT_EQ(view->stop_reason, "authority_rejected");
  EXPECT_EQ(CountEvents("gov.search.purge"), 1u);
  ExpectRefused(Review(examiner1_, s1.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kFailedPrecondition, "search_stopped", "gov.review.submit");
}

TEST_F(UrgencyTest, GrantedInTimeKeepsSearches) {
  AuthorityRequest r = Request();
  r.urgent = true;
  r.justification = "missing person at risk";
  auto urgent = gov_->CreateAuthority(operator_, r);
  ASSERT_TRUE(urgent.ok());
  SearchView s1 = RunSearch(urgent->id, 1, 2);
  now_ += hours(20);
  ASSERT_TRUE(gov_->GrantAuthority(authoriser_, urgent->id, "confirmed necessity").ok());
  now_ += hours(10);
  auto view = gov_->GetSearch(supervisor_, s1.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, SearchState::kInReview);
  EXPECT_EQ(view->candidates.size(), 2u);
}

class GalleryTest : public GovernanceFixture {};

TEST_F(GalleryTest, RegistrationRules) {
  ExpectRefused(gov_->RegisterGallery(operator_, Gallery("g1")).status(),
                StatusCode::kPermissionDenied, "role_cannot_register_gallery",
                "gov.gallery.register");
  GalleryRegistration no_basis = Gallery("g1");
  no_basis.legal_basis = "";
  ExpectRefused(gov_->RegisterGallery(supervisor_, no_basis).status(),
                StatusCode::kPermissionDenied, "legal_basis_not_allowed", "gov.gallery.register");
  GalleryRegistration civil = Gallery("licences");
  civil.provenance = Provenance::kCivilIdentityRegister;
  ExpectRefused(gov_->RegisterGallery(supervisor_, civil).status(), StatusCode::kPermissionDenied,
                "statutory_authorisation_required", "gov.gallery.register");
  civil.statutory_authorisation = "Road Traffic Act s.99(4) as amended 2026";
  EXPECT_TRUE(gov_->RegisterGallery(supervisor_, civil).ok());
  ExpectRefused(gov_->RegisterGallery(supervisor_, Gallery("*")).status(),
                StatusCode::kInvalidArgument, "bad_gallery_name", "gov.gallery.register");
  ExpectRefused(gov_->RegisterGallery(supervisor_, Gallery("custody")).status(),
                StatusCode::kAlreadyExists, "gallery_already_registered", "gov.gallery.register");
  auto record = gov_->GetGallery("licences");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->registration.owner, "records-unit");
}

class ReviewTest : public GovernanceFixture {};

TEST_F(ReviewTest, TwoDistinctExaminersWhoOpenedEverythingConfirm) {
  Authority a = Issued();
  SearchView s = RunSearch(a.id, 1, 3);
  ASSERT_EQ(s.state, SearchState::kInReview);
  ASSERT_EQ(s.candidates.size(), 3u);
  EXPECT_EQ(s.candidates[0].rank, 1);
  EXPECT_GT(s.candidates[0].score, s.candidates[1].score);
  ASSERT_TRUE(s.candidates[0].fmr.has_value());
  EXPECT_FALSE(s.marking.empty());

  const std::string action = "gov.review.submit";
  ExpectRefused(Review(operator_, s.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kPermissionDenied, "role_cannot_review", action);
  // An examiner who is the search's operator by name (e.g. two roles) cannot review.
  Actor operator_as_examiner{operator_.name, ActorRole::kReviewer, ""};
  ExpectRefused(Review(operator_as_examiner, s.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kPermissionDenied, "operator_cannot_review", action);
  EXPECT_EQ(ProposedErrorCode("operator_cannot_review"), "ABIS-E1301");

  // Must compare all: opened 2 of 3 -> refused.
  ASSERT_TRUE(gov_->OpenCandidate(examiner1_, s.id, 1).ok());
  EXPECT_EQ(LastEvent().action, "gov.candidate.open");
  ASSERT_TRUE(gov_->OpenCandidate(examiner1_, s.id, 2).ok());
  ExpectRefused(Review(examiner1_, s.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kFailedPrecondition, "candidates_not_all_opened", action);
  ASSERT_TRUE(gov_->OpenCandidate(examiner1_, s.id, 3).ok());
  ReviewRequest no_reason{s.id, 1, ReviewDecision::kConfirm, ""};
  ExpectRefused(gov_->SubmitReview(examiner1_, no_reason).status(), StatusCode::kInvalidArgument,
                "reason_required", action);

  auto first = Review(examiner1_, s.id, 1, ReviewDecision::kConfirm);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->candidates[0].state, CandidateState::kReview1);
  ExpectRefused(Review(examiner1_, s.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kPermissionDenied, "same_examiner_twice", action);

  // The second examiner does not see the first decision before deciding.
  OpenAll(examiner2_, s);
  auto blind = gov_->GetSearch(examiner2_, s.id);
  ASSERT_TRUE(blind.ok());
  EXPECT_TRUE(blind->candidates[0].reviews.empty());
  auto sighted = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(sighted.ok());
  EXPECT_EQ(sighted->candidates[0].reviews.size(), 1u);

  auto second = Review(examiner2_, s.id, 1, ReviewDecision::kConfirm);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->candidates[0].state, CandidateState::kConfirmed);
  EXPECT_EQ(CountEvents("gov.candidate.confirm"), 1u);
  EXPECT_EQ(second->state, SearchState::kInReview);  // Ranks 2 and 3 still open.
  ExpectRefused(Review(examiner3_, s.id, 1, ReviewDecision::kExclude).status(),
                StatusCode::kFailedPrecondition, "candidate_already_decided", action);

  for (int rank : {2, 3}) {
    ASSERT_TRUE(Review(examiner1_, s.id, rank, ReviewDecision::kExclude).ok());
    ASSERT_TRUE(Review(examiner2_, s.id, rank, ReviewDecision::kExclude).ok());
  }
  auto closed = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state, SearchState::kMatched);
  EXPECT_TRUE(closed->retention_until.has_value());
  EXPECT_EQ(closed->candidates[1].state, CandidateState::kExcluded);
  // The matched probe is kept with the case.
  EXPECT_TRUE(gov_->OpenProbe(examiner1_, s.id).ok());
}

TEST_F(ReviewTest, DisagreementExcludesAndUnmatchedProbeIsErasedAtCompletion) {
  Authority a = Issued();
  SearchView s = RunSearch(a.id, 1, 2);
  OpenAll(examiner1_, s);
  OpenAll(examiner2_, s);
  ASSERT_TRUE(Review(examiner1_, s.id, 1, ReviewDecision::kConfirm).ok());
  auto split = Review(examiner2_, s.id, 1, ReviewDecision::kExclude);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->candidates[0].state, CandidateState::kExcluded);
  ASSERT_TRUE(Review(examiner1_, s.id, 2, ReviewDecision::kExclude).ok());
  auto done = Review(examiner2_, s.id, 2, ReviewDecision::kExclude);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, SearchState::kUnmatched);
  EXPECT_TRUE(done->erased_at.has_value());
  EXPECT_TRUE(done->results_withheld);
  EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, s.id).status()), "search_data_erased");
  auto erasures = gov_->ListErasures();
  ASSERT_TRUE(erasures.ok());
  ASSERT_EQ(erasures->size(), 1u);
  EXPECT_EQ((*erasures)[0].rule, "unmatched_at_completion");
  EXPECT_EQ(CountEvents("gov.erase"), 1u);
}

TEST_F(ReviewTest, SearchWithoutCandidatesKeepsNothing) {
  Authority a = Issued();
  SearchView s = RunSearch(a.id, 1, 0);
  EXPECT_EQ(s.state, SearchState::kUnmatched);
  EXPECT_TRUE(s.results_withheld);
  EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, s.id).status()), "search_data_erased");
}

TEST_F(ReviewTest, RecordResultChecksTheTicket) {
  Authority a = Issued({"custody", "missing"});
  std::vector<std::uint8_t> probe = Probe(5);
  auto ticket = gov_->CheckSearch(operator_, Check(a.id, probe));
  ASSERT_TRUE(ticket.ok());
  SearchResultInput input;
  input.search_id = ticket->search_id;
  input.probe = Probe(6);  // Not the authorised probe.
  input.candidates = Candidates(2);
  input.algorithm = "face/dlib-resnet-v1";
  ExpectRefused(gov_->RecordSearchResult(operator_, input).status(), StatusCode::kInvalidArgument,
                "probe_hash_mismatch", "gov.search.result");
  input.probe = probe;
  input.candidates = Candidates(2, "missing");  // Gallery not named by the search.
  ExpectRefused(gov_->RecordSearchResult(operator_, input).status(), StatusCode::kInvalidArgument,
                "candidate_gallery_out_of_scope", "gov.search.result");
  input.candidates = Candidates(21);
  ExpectRefused(gov_->RecordSearchResult(operator_, input).status(), StatusCode::kInvalidArgument,
                "too_many_candidates", "gov.search.result");
  input.candidates = Candidates(2);
  ExpectRefused(gov_->RecordSearchResult(operator2_, input).status(), StatusCode::kPermissionDenied,
                "not_search_operator", "gov.search.result");
  ASSERT_TRUE(gov_->RecordSearchResult(operator_, input).ok());
  ExpectRefused(gov_->RecordSearchResult(operator_, input).status(),
                StatusCode::kFailedPrecondition, "search_not_awaiting_result", "gov.search.result");
}

TEST_F(ReviewTest, StopInvalidatesTheSearch) {
  Authority a = Issued();
  SearchView s = RunSearch(a.id, 1, 3);
  OpenAll(examiner1_, s);
  ASSERT_TRUE(Review(examiner1_, s.id, 1, ReviewDecision::kConfirm).ok());
  ExpectRefused(gov_->StopSearch(operator2_, s.id, "not mine").status(),
                StatusCode::kPermissionDenied, "role_cannot_stop", "gov.search.stop");
  auto stopped = gov_->StopSearch(examiner2_, s.id, "probe shows a different incident");
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->state, SearchState::kStopped);
  EXPECT_TRUE(stopped->results_withheld);
  EXPECT_TRUE(stopped->candidates.empty());
  EXPECT_EQ(CountEvents("gov.search.stop"), 1u);
  ExpectRefused(Review(examiner2_, s.id, 1, ReviewDecision::kConfirm).status(),
                StatusCode::kFailedPrecondition, "search_stopped", "gov.review.submit");
  ExpectRefused(gov_->OpenCandidate(examiner2_, s.id, 1).status(), StatusCode::kFailedPrecondition,
                "search_stopped", "gov.candidate.open");
  ExpectRefused(gov_->StopSearch(supervisor_, s.id, "again").status(),
                StatusCode::kFailedPrecondition, "search_not_active", "gov.search.stop");
}

TEST_F(ReviewTest, QualityGateNeedsAnExaminersWrittenOverride) {
  Authority a = Issued();
  std::vector<std::uint8_t> probe = Probe(9);
  SearchCheckRequest poor = Check(a.id, probe);
  poor.probe_quality = 12;
  ExpectRefused(gov_->CheckSearch(operator_, poor).status(), StatusCode::kFailedPrecondition,
                "probe_quality_below_floor", "gov.search.authorise");
  EXPECT_EQ(ProposedErrorCode("probe_quality_below_floor"), "ABIS-E1401");

  QualityOverrideRequest req{a.id, Sha256Hex(probe), 12, "only image available; face frontal"};
  ExpectRefused(gov_->OverrideQualityGate(operator_, req).status(), StatusCode::kPermissionDenied,
                "role_cannot_override_quality", "gov.quality.override");
  QualityOverrideRequest no_reason = req;
  no_reason.reason = "";
  ExpectRefused(gov_->OverrideQualityGate(examiner1_, no_reason).status(),
                StatusCode::kInvalidArgument, "reason_required", "gov.quality.override");
  auto override_record = gov_->OverrideQualityGate(examiner1_, req);
  ASSERT_TRUE(override_record.ok());
  poor.quality_override_id = override_record->id;
  auto ticket = gov_->CheckSearch(operator_, poor);
  ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
  EXPECT_NE(LastEvent().details.find("quality_override=" + override_record->id), std::string::npos);
  // An override is for one search of that probe only.
  ExpectRefused(gov_->CheckSearch(operator_, poor).status(), StatusCode::kFailedPrecondition,
                "probe_quality_below_floor", "gov.search.authorise");
}

class FailClosedTest : public GovernanceFixture {};

TEST_F(FailClosedTest, NoStateChangeWithoutItsAuditEvent) {
  auto requested = gov_->CreateAuthority(operator_, Request());
  ASSERT_TRUE(requested.ok());
  Authority granted = Issued();
  SearchView s = RunSearch(granted.id, 1, 2);
  std::size_t events_before = Events().size();

  sink_->failing = true;
  auto grant = gov_->GrantAuthority(authoriser_, requested->id, "ok");
  EXPECT_EQ(grant.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(GovernanceReason(grant.status()), "audit_unavailable");
  EXPECT_EQ(ProposedErrorCode("audit_unavailable"), "ABIS-E1201");
  EXPECT_EQ(GovernanceReason(gov_->CheckSearch(operator_, Check(granted.id, Probe(2))).status()),
            "audit_unavailable");
  EXPECT_EQ(GovernanceReason(gov_->OpenCandidate(examiner1_, s.id, 1).status()),
            "audit_unavailable");
  EXPECT_EQ(GovernanceReason(gov_->StopSearch(supervisor_, s.id, "stop").status()),
            "audit_unavailable");
  EXPECT_EQ(GovernanceReason(gov_->Suspend(supervisor_, "audit finding").status()),
            "audit_unavailable");
  EXPECT_EQ(GovernanceReason(gov_->GetSearch(supervisor_, s.id).status()), "audit_unavailable");
  // Refusals cannot be recorded either, so they too become audit_unavailable.
  EXPECT_EQ(GovernanceReason(gov_->CheckSearch(operator_, Check("", Probe(2))).status()),
            "audit_unavailable");
  sink_->failing = false;

  EXPECT_EQ(Events().size(), events_before);
  auto still = gov_->GetAuthority(requested->id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state, AuthorityState::kRequested);
  auto unchanged = gov_->GetAuthority(granted.id);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->searches_used, 1);
  auto search = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(search.ok());
  EXPECT_EQ(search->state, SearchState::kInReview);
  EXPECT_EQ(search->candidates.size(), 2u);
  EXPECT_FALSE(gov_->GetSuspension().active);
}

TEST_F(FailClosedTest, OpenRefusesWithoutSinkOrLegalBases) {
  GovernanceOptions options;
  options.data_dir = dir_.path();
  options.legal_bases = {kLegalBasis};
  options.master_key.key_text = std::string(64, '7');
  EXPECT_EQ(Governance::Open(options, nullptr).status().code(), StatusCode::kInvalidArgument);
  options.legal_bases.clear();
  EXPECT_EQ(Governance::Open(options, sink_.get()).status().code(), StatusCode::kInvalidArgument);
  options.legal_bases = {kLegalBasis};
  options.urgency_deadline = hours(72);
  EXPECT_EQ(Governance::Open(options, sink_.get()).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FailClosedTest, StateSurvivesReopen) {
  Authority a = Issued();
  SearchView s = RunSearch(a.id, 1, 2);
  ASSERT_TRUE(OpenGovernance().ok());
  auto view = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->candidates.size(), 2u);
  EXPECT_EQ(view->candidates[0].identity, "person-100");
  auto authority = gov_->GetAuthority(a.id);
  ASSERT_TRUE(authority.ok());
  EXPECT_EQ(authority->searches_used, 1);
}

}  // namespace
}  // namespace abis::governance::test
