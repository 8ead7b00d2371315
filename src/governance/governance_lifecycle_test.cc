// Retention, disputes, the suspension switch and the transparency report.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "governance/governance.h"
#include "governance/governance_test_fixture.h"

namespace abis::governance::test {
namespace {

using std::chrono::hours;

class RetentionTest : public GovernanceFixture {};

TEST_F(RetentionTest, MatchedSearchIsErasedWhenItsRetentionEnds) {
  Authority a = Issued();
  SearchView s = ConfirmFirst(RunSearch(a.id, 1, 2));
  ASSERT_EQ(s.state, SearchState::kMatched);
  ASSERT_TRUE(s.retention_until.has_value());
  EXPECT_EQ(*s.retention_until, now_ + hours(24 * 30));

  ExpectRefused(gov_->RunRetention(operator_).status(), StatusCode::kPermissionDenied,
                "role_cannot_run_retention", "gov.retention.run");
  auto early = gov_->RunRetention(supervisor_);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->erased.empty());
  EXPECT_TRUE(gov_->OpenProbe(examiner1_, s.id).ok());

  now_ += hours(24 * 30) + std::chrono::seconds(1);
  auto report = gov_->RunRetention(supervisor_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->erased.size(), 1u);
  EXPECT_EQ(report->erased[0].object_id, s.id);
  EXPECT_EQ(report->erased[0].rule, "retention_expired");
  EXPECT_EQ(report->erased[0].erased_at, now_);
  EXPECT_EQ(report->authorities_expired.size(), 1u);  // Its 10-day window ended too.
  auto events = Events();
  ASSERT_GT(report->erased[0].audit_seq, 0u);
  EXPECT_EQ(events[report->erased[0].audit_seq].action, "gov.erase");
  EXPECT_EQ(LastEvent().action, "gov.retention.run");
  EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, s.id).status()), "search_data_erased");
  auto view = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, SearchState::kExpired);
  // Reviews remain as the record of what was decided, without the identities.
  EXPECT_TRUE(view->candidates.empty());

  // A second run finds nothing more to erase.
  auto again = gov_->RunRetention(supervisor_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->erased.empty());
}

TEST_F(RetentionTest, GalleryReviewsFallDue) {
  now_ += hours(24 * 366);
  auto report = gov_->RunRetention(supervisor_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->gallery_reviews_due.size(), 3u);
}

class DisputeTest : public GovernanceFixture {};

TEST_F(DisputeTest, DisputeFreezesExportsAndNeedsIndependentReReview) {
  Authority a = Issued();
  SearchView s = ConfirmFirst(RunSearch(a.id, 1, 2));
  ASSERT_EQ(s.state, SearchState::kMatched);
  DisclosureRequest disclosure{s.id, "defence-counsel-17", "pre-trial disclosure", false};
  ASSERT_TRUE(gov_->ExportDisclosure(supervisor_, disclosure).ok());

  DisputeRequest request;
  request.search_id = s.id;
  request.rank = 1;
  request.filed_on_behalf_of = "counsel-ref-2026-88";
  request.grounds = "the person was abroad on the date of the offence";
  request.remedy_sought = DisputeRemedy::kCorrection;
  ExpectRefused(gov_->OpenDispute(operator_, request).status(), StatusCode::kPermissionDenied,
                "role_cannot_file_dispute", "gov.dispute.open");
  auto dispute = gov_->OpenDispute(supervisor_, request);
  ASSERT_TRUE(dispute.ok()) << dispute.status().ToString();
  EXPECT_EQ(dispute->state, DisputeState::kOpen);

  // Exports are frozen while it is open.
  ExpectRefused(gov_->ExportDisclosure(supervisor_, disclosure).status(),
                StatusCode::kFailedPrecondition, "dispute_open", "gov.disclosure.export");

  DisputeReviewRequest vote{dispute->id, DisputeVote::kUphold, "alibi documents verified"};
  ExpectRefused(gov_->SubmitDisputeReview(examiner1_, vote).status(), StatusCode::kPermissionDenied,
                "examiner_took_part", "gov.dispute.review");
  Actor operator_as_examiner{operator_.name, ActorRole::kReviewer, ""};
  ExpectRefused(gov_->SubmitDisputeReview(operator_as_examiner, vote).status(),
                StatusCode::kPermissionDenied, "examiner_took_part", "gov.dispute.review");
  ASSERT_TRUE(gov_->SubmitDisputeReview(examiner3_, vote).ok());
  ExpectRefused(gov_->SubmitDisputeReview(examiner3_, vote).status(), StatusCode::kPermissionDenied,
                "same_examiner_twice", "gov.dispute.review");
  DisputeReviewRequest reject{dispute->id, DisputeVote::kReject, "faces look alike to me"};
  auto decided = gov_->SubmitDisputeReview(examiner4_, reject);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  // One independent uphold withdraws the identification.
  EXPECT_EQ(decided->state, DisputeState::kUpheld);
  ASSERT_EQ(decided->notify_recipients.size(), 1u);
  EXPECT_EQ(decided->notify_recipients[0], "defence-counsel-17");
  EXPECT_EQ(CountEvents("gov.candidate.revoke"), 1u);
  EXPECT_EQ(CountEvents("gov.dispute.decide"), 1u);

  auto view = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->candidates[0].state, CandidateState::kExcluded);
  // Closed dispute: exports are possible again, now showing the exclusion.
  auto after = gov_->ExportDisclosure(supervisor_, disclosure);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  nlohmann::json package = nlohmann::json::parse(after->package_json);
  EXPECT_EQ(package["candidates"][0]["state"], "EXCLUDED");
  EXPECT_EQ(package["disputes"][0]["state"], "upheld");
  ExpectRefused(gov_->SubmitDisputeReview(examiner2_, vote).status(),
                StatusCode::kFailedPrecondition, "dispute_closed", "gov.dispute.review");
}

TEST_F(DisputeTest, UpheldErasureRemedyCryptoErases) {
  Authority a = Issued();
  SearchView s = ConfirmFirst(RunSearch(a.id, 1, 2));
  DisputeRequest request;
  request.search_id = s.id;
  request.filed_on_behalf_of = "ombudsperson-case-5";
  request.grounds = "unlawful retention";
  request.remedy_sought = DisputeRemedy::kErasure;
  auto dispute = gov_->OpenDispute(auditor_, request);
  ASSERT_TRUE(dispute.ok());
  ASSERT_TRUE(
      gov_->SubmitDisputeReview(examiner3_, {dispute->id, DisputeVote::kUphold, "yes"}).ok());
  auto decided =
      gov_->SubmitDisputeReview(examiner4_, {dispute->id, DisputeVote::kUphold, "agreed"});
  ASSERT_TRUE(decided.ok());
  EXPECT_EQ(decided->state, DisputeState::kUpheld);
  EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, s.id).status()), "search_data_erased");
  auto erasures = gov_->ListErasures();
  ASSERT_TRUE(erasures.ok());
  ASSERT_EQ(erasures->size(), 1u);
  EXPECT_EQ((*erasures)[0].rule, "dispute_erasure");
}

TEST_F(DisputeTest, RejectedDisputeKeepsTheConfirmation) {
  Authority a = Issued();
  SearchView s = ConfirmFirst(RunSearch(a.id, 1, 2));
  DisputeRequest request{s.id, 1, "counsel-ref-9", "mistaken identity", DisputeRemedy::kCorrection};
  auto dispute = gov_->OpenDispute(supervisor_, request);
  ASSERT_TRUE(dispute.ok());
  ASSERT_TRUE(gov_->SubmitDisputeReview(examiner3_, {dispute->id, DisputeVote::kReject, "a"}).ok());
  auto decided = gov_->SubmitDisputeReview(examiner4_, {dispute->id, DisputeVote::kReject, "b"});
  ASSERT_TRUE(decided.ok());
  EXPECT_EQ(decided->state, DisputeState::kRejected);
  auto view = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->candidates[0].state, CandidateState::kConfirmed);
}

class SuspensionTest : public GovernanceFixture {};

TEST_F(SuspensionTest, OversightHaltsIdentification) {
  Authority a = Issued();
  std::vector<std::uint8_t> probe = Probe(1);
  auto pending = gov_->CheckSearch(operator_, Check(a.id, probe));
  ASSERT_TRUE(pending.ok());

  ExpectRefused(gov_->Suspend(operator_, "x").status(), StatusCode::kPermissionDenied,
                "role_cannot_suspend", "gov.suspension.set");
  ExpectRefused(gov_->Suspend(auditor_, "x").status(), StatusCode::kPermissionDenied,
                "role_cannot_suspend", "gov.suspension.set");
  auto suspension = gov_->Suspend(supervisor_, "audit finding 2026-14: demographic drift");
  ASSERT_TRUE(suspension.ok());
  EXPECT_TRUE(gov_->GetSuspension().active);
  EXPECT_EQ(LastEvent().action, "gov.suspension.set");

  auto refused = gov_->CheckSearch(operator_, Check(a.id, Probe(2)));
  ExpectRefused(refused.status(), StatusCode::kUnavailable, "identification_suspended",
                "gov.search.authorise");
  EXPECT_NE(refused.status().message().find(suspension->id), std::string::npos);
  // A search authorised before the switch cannot release its result either.
  SearchResultInput input;
  input.search_id = pending->search_id;
  input.probe = probe;
  input.candidates = Candidates(2);
  input.algorithm = "face/dlib-resnet-v1";
  ExpectRefused(gov_->RecordSearchResult(operator_, input).status(), StatusCode::kUnavailable,
                "identification_suspended", "gov.search.result");
  // 1:1 verification with the person present is not identification.
  EXPECT_TRUE(gov_->CheckVerification(operator_, {"encounter-77", kLegalBasis, "custody"}).ok());

  ExpectRefused(gov_->Suspend(supervisor_, "again").status(), StatusCode::kFailedPrecondition,
                "already_suspended", "gov.suspension.set");
  ASSERT_TRUE(gov_->Resume(supervisor_, "corrective action verified").ok());
  EXPECT_FALSE(gov_->GetSuspension().active);
  EXPECT_TRUE(gov_->CheckSearch(operator_, Check(a.id, Probe(3))).ok());
}

class TransparencyTest : public GovernanceFixture {};

TEST_F(TransparencyTest, CountsComeFromTheAuditLog) {
  Authority a = Issued();
  auto requested = gov_->CreateAuthority(operator_, Request());
  ASSERT_TRUE(requested.ok());
  ASSERT_TRUE(gov_->RejectAuthority(authoriser_, requested->id, "insufficient grounds").ok());
  AuthorityRequest urgent = Request();
  urgent.urgent = true;
  urgent.justification = "abduction in progress";
  auto u = gov_->CreateAuthority(operator_, urgent);
  ASSERT_TRUE(u.ok());
  RunSearch(u->id, 7, 2);
  ConfirmFirst(RunSearch(a.id, 1, 2));  // 1 confirmation, 1 exclusion.
  RunSearch(a.id, 2, 0);                // Unmatched at once.
  ASSERT_FALSE(gov_->CheckSearch(operator_, Check(a.id, Probe(3), {"other"})).ok());
  ASSERT_TRUE(gov_->Suspend(supervisor_, "finding").ok());
  ASSERT_TRUE(gov_->Resume(supervisor_, "fixed").ok());
  now_ += hours(25);  // The urgent request lapses: its search is purged.
  ASSERT_TRUE(gov_->RunRetention(supervisor_).ok());

  ExpectRefused(gov_->BuildTransparencyReport(operator_).status(), StatusCode::kPermissionDenied,
                "role_cannot_report", "gov.report.transparency");
  auto report = gov_->BuildTransparencyReport(auditor_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  nlohmann::json j = nlohmann::json::parse(report->json);
  EXPECT_EQ(j["authorities"]["issued"], 1);
  EXPECT_EQ(j["authorities"]["requested"], 2);
  EXPECT_EQ(j["authorities"]["rejected"], 1);
  EXPECT_EQ(j["urgency"]["requests"], 1);
  EXPECT_EQ(j["urgency"]["expired_without_grant"], 1);
  EXPECT_EQ(j["urgency"]["searches_purged"], 1);
  EXPECT_EQ(j["searches"]["authorised"], 3);
  EXPECT_EQ(j["searches"]["refused"], 1);
  EXPECT_EQ(j["searches"]["matched"], 1);
  EXPECT_EQ(j["searches"]["unmatched"], 1);
  EXPECT_EQ(j["searches_by_purpose"]["serious_crime_suspect"], 3);
  EXPECT_EQ(j["reviews"]["confirmations"], 1);
  EXPECT_EQ(j["reviews"]["exclusions"], 1);
  EXPECT_EQ(j["suspensions"]["suspended"], 1);
  EXPECT_EQ(j["suspensions"]["resumed"], 1);
  EXPECT_EQ(j["retention"]["by_rule"]["urgency_deadline_passed"], 1);
  // Counts only: no case numbers, names or ids leave in the report.
  EXPECT_EQ(report->json.find(kCase), std::string::npos);
  EXPECT_EQ(report->json.find(operator_.name), std::string::npos);
  EXPECT_NE(report->html.find("<h1>Transparency report</h1>"), std::string::npos);
  EXPECT_EQ(report->html.find("<script"), std::string::npos);
  EXPECT_EQ(LastEvent().action, "gov.report.transparency");
}

}  // namespace
}  // namespace abis::governance::test
