// Exclusions X-1..X-17 (docs/governance.md): the library offers no way to do
// them. Most checks are compile-time: the request and option structs have no
// field, and Governance no method, through which an excluded capability
// could be reached. If someone adds one, this file stops compiling or fails.

#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "governance/governance.h"
#include "governance/governance_json.h"
#include "governance/governance_test_fixture.h"

namespace abis::governance::test {
namespace {

// ---- Fields that must not exist ----
template <typename T>
concept HasSkipAuthority = requires(T t) {
  t.skip_authority;
};
template <typename T>
concept HasNoAuthority = requires(T t) {
  t.no_authority;
};
template <typename T>
concept HasAllGalleries = requires(T t) {
  t.all_galleries;
};
template <typename T>
concept HasGallery = requires(T t) {
  t.gallery;
};  // Single implicit one.
template <typename T>
concept HasDemographicThresholds = requires(T t) {
  t.demographic_thresholds;
};
template <typename T>
concept HasThresholdByGroup = requires(T t) {
  t.threshold_by_group;
};
template <typename T>
concept HasThreshold = requires(T t) {
  t.threshold;
};
template <typename T>
concept HasMatch = requires(T t) {
  t.match;
};
template <typename T>
concept HasIsMatch = requires(T t) {
  t.is_match;
};
template <typename T>
concept HasAuditEnabled = requires(T t) {
  t.audit_enabled;
};
template <typename T>
concept HasDisableAudit = requires(T t) {
  t.disable_audit;
};
template <typename T>
concept HasAuditSampling = requires(T t) {
  t.audit_sample_rate;
};
template <typename T>
concept HasRequireTwoReviewers = requires(T t) {
  t.require_two_reviewers;
};
template <typename T>
concept HasSingleReviewer = requires(T t) {
  t.single_reviewer;
};
template <typename T>
concept HasRetainUnmatched = requires(T t) {
  t.retain_unmatched_probes;
};
template <typename T>
concept HasLocation = requires(T t) {
  t.location;
};
template <typename T>
concept HasGeolocation = requires(T t) {
  t.geolocation;
};
template <typename T>
concept HasEthnicity = requires(T t) {
  t.ethnicity;
};
template <typename T>
concept HasStreamUrl = requires(T t) {
  t.stream_url;
};
template <typename T>
concept HasQualityFloorOff = requires(T t) {
  t.skip_quality_gate;
};

// Search requests: no bypass of the authority, no implicit or wildcard
// gallery, no threshold, no location.
static_assert(!HasSkipAuthority<SearchCheckRequest>);
static_assert(!HasNoAuthority<SearchCheckRequest>);
static_assert(!HasAllGalleries<SearchCheckRequest>);
static_assert(!HasGallery<SearchCheckRequest>);
static_assert(!HasThreshold<SearchCheckRequest>);
static_assert(!HasDemographicThresholds<SearchCheckRequest>);
static_assert(!HasLocation<SearchCheckRequest>);
static_assert(!HasGeolocation<SearchCheckRequest>);
static_assert(!HasStreamUrl<SearchCheckRequest>);
static_assert(!HasQualityFloorOff<SearchCheckRequest>);
static_assert(!HasAllGalleries<AuthorityScope>);
static_assert(!HasSkipAuthority<ConsultationRequest>);
// Options: no audit switch or sampling, no per-group thresholds, no way to
// keep unmatched probes or to drop the second reviewer.
static_assert(!HasAuditEnabled<GovernanceOptions>);
static_assert(!HasDisableAudit<GovernanceOptions>);
static_assert(!HasAuditSampling<GovernanceOptions>);
static_assert(!HasDemographicThresholds<GovernanceOptions>);
static_assert(!HasThresholdByGroup<GovernanceOptions>);
static_assert(!HasRetainUnmatched<GovernanceOptions>);
static_assert(!HasRequireTwoReviewers<GovernanceOptions>);
static_assert(!HasSingleReviewer<GovernanceOptions>);
static_assert(!HasSkipAuthority<GovernanceOptions>);
// Results: candidate lists, never a boolean match.
static_assert(!HasMatch<SearchView>);
static_assert(!HasIsMatch<SearchView>);
static_assert(!HasMatch<CandidateView>);
static_assert(!HasIsMatch<CandidateView>);
static_assert(!HasMatch<CandidateInput>);
// Galleries: no demographic or location attributes.
static_assert(!HasEthnicity<GalleryRegistration>);
static_assert(!HasLocation<GalleryRegistration>);

// ---- Methods that must not exist ----
template <typename G>
concept CanSearchWithoutAuthority = requires(G g, Actor a) {
  g.CheckSearchWithoutAuthority(a);
};
template <typename G>
concept CanSweep = requires(G g, Actor a) {
  g.SearchAllGalleries(a);
};
template <typename G>
concept CanDisableAudit = requires(G g) {
  g.DisableAudit();
};
template <typename G>
concept CanSetAuditSink = requires(G g) {
  g.SetAuditSink(nullptr);
};
template <typename G>
concept CanDeleteAuditEvent = requires(G g) {
  g.DeleteAuditEvent(0);
};
template <typename G>
concept CanSetGroupThreshold = requires(G g) {
  g.SetDemographicThreshold("", 0.0);
};
template <typename G>
concept CanConfirmAlone = requires(G g, Actor a) {
  g.ConfirmCandidate(a, "", 1);
};
template <typename G>
concept CanBulkExport = requires(G g) {
  g.ExportAll();
};
template <typename G>
concept CanWatchlistStream = requires(G g) {
  g.StartLiveMatching();
};
template <typename G>
concept CanTrack = requires(G g) {
  g.TrackPerson("");
};
static_assert(!CanSearchWithoutAuthority<Governance>);
static_assert(!CanSweep<Governance>);
static_assert(!CanDisableAudit<Governance>);
static_assert(!CanSetAuditSink<Governance>);
static_assert(!CanDeleteAuditEvent<Governance>);
static_assert(!CanSetGroupThreshold<Governance>);
static_assert(!CanConfirmAlone<Governance>);
static_assert(!CanBulkExport<Governance>);
static_assert(!CanWatchlistStream<Governance>);
static_assert(!CanTrack<Governance>);
// The concepts themselves can succeed: the real fields and methods are seen.
static_assert(HasGallery<ConsultationRequest>);
static_assert(HasGallery<VerificationCheckRequest>);
template <typename G>
concept CanCheckSearch = requires(G g, Actor a, SearchCheckRequest r) {
  g.CheckSearch(a, r);
};
static_assert(CanCheckSearch<Governance>);

TEST(ExclusionsTest, ClosedListsHaveNoScrapingStatusSweepOrOtherEscapeHatch) {
  for (Provenance p : AllProvenances()) {
    std::string name(ProvenanceName(p));
    for (const char* banned : {"web", "scrap", "social", "cctv", "internet", "other", "any"}) {
      EXPECT_EQ(name.find(banned), std::string::npos) << name;
    }
  }
  for (const char* name : {"web_scrape", "social_media", "cctv", "other", "unknown"}) {
    EXPECT_FALSE(ParseProvenance(name).ok()) << name;
  }
  for (PurposeCategory p : AllPurposeCategories()) {
    std::string name(PurposeCategoryName(p));
    for (const char* banned : {"immigration", "status", "sweep", "general", "intelligence", "other",
                               "any", "monitoring"}) {
      EXPECT_EQ(name.find(banned), std::string::npos) << name;
    }
  }
  for (const char* name : {"immigration_status_check", "general_investigation", "other"}) {
    EXPECT_EQ(GovernanceReason(ParsePurposeCategory(name).status()), "unknown_purpose");
  }
}

class ExclusionsRuntimeTest : public GovernanceFixture {};

TEST_F(ExclusionsRuntimeTest, NoSearchWithoutAuthorityOrExplicitGalleries) {
  Authority a = Issued({"custody", "missing", "other"});
  // no empty, wildcard or pattern gallery list reaches a search.
  for (std::vector<std::string> galleries : std::vector<std::vector<std::string>>{
           {}, {"*"}, {"all"}, {"cust*"}, {"%"}, {"custody", "*"}}) {
    auto refused = gov_->CheckSearch(operator_, Check(a.id, Probe(1), galleries));
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  }
  // no unaudited path: every refusal above is in the log.
  EXPECT_EQ(CountEvents("gov.search.authorise", "permission_denied"), 6u);
  // No identity can be confirmed by one person, whatever the role.
  SearchView s = RunSearch(a.id, 2, 2);
  OpenAll(examiner1_, s);
  ASSERT_TRUE(Review(examiner1_, s.id, 1, ReviewDecision::kConfirm).ok());
  auto view = gov_->GetSearch(supervisor_, s.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->candidates[0].state, CandidateState::kReview1);
  for (const Actor& other : {supervisor_, authoriser_, operator_}) {
    EXPECT_FALSE(Review(other, s.id, 1, ReviewDecision::kConfirm).ok());
  }
}

}  // namespace
}  // namespace abis::governance::test

namespace abis::governance::test {
namespace {

bool HasKeyAnywhere(const nlohmann::json& j, const std::string& key) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == key || HasKeyAnywhere(v, key)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (HasKeyAnywhere(v, key)) return true;
    }
  }
  return false;
}

class JsonContractTest : public GovernanceFixture {};

TEST_F(JsonContractTest, RoutesAreParseCallToJsonWithoutAMatchField) {
  nlohmann::json body = {{"kind", "warrant"},
                         {"reference", "W-9"},
                         {"issuing_body", "Court"},
                         {"legal_basis", kLegalBasis},
                         {"scope",
                          {{"galleries", {"custody"}},
                           {"modalities", {"face"}},
                           {"purpose", "missing_person"},
                           {"case_id", kCase},
                           {"not_before", FormatTime(now_ - std::chrono::hours(1))},
                           {"not_after", FormatTime(now_ + std::chrono::hours(48))},
                           {"max_searches", 2}}}};
  auto request = AuthorityRequestFromJson(body);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  auto authority = gov_->CreateAuthority(authoriser_, *request);
  ASSERT_TRUE(authority.ok()) << authority.status().ToString();
  nlohmann::json out = ToJson(*authority);
  EXPECT_EQ(out["state"], "granted");
  EXPECT_EQ(out["scope"]["purpose"], "missing_person");

  body["scope"]["purpose"] = "immigration_status_check";
  EXPECT_EQ(GovernanceReason(AuthorityRequestFromJson(body).status()), "unknown_purpose");
  EXPECT_EQ(AuthorityRequestFromJson(body).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GovernanceReason(AuthorityRequestFromJson(nlohmann::json::array()).status()),
            "malformed_request");

  SearchView s = RunSearch(authority->id, 1, 3);
  nlohmann::json view = ToJson(s);
  EXPECT_EQ(view["candidates"].size(), 3u);
  EXPECT_FALSE(HasKeyAnywhere(view, "match"));
  EXPECT_FALSE(HasKeyAnywhere(view, "is_match"));
  EXPECT_FALSE(HasKeyAnywhere(view, "verdict"));

  auto review = ReviewRequestFromJson(s.id, {{"rank", 1}, {"decision", "maybe"}, {"reason", "x"}});
  EXPECT_EQ(review.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GovernanceReason(review.status()), "unknown_decision");

  auto refused = gov_->CheckSearch(operator_, Check(authority->id, Probe(2), {"missing"}));
  nlohmann::json details = RefusalDetails(refused.status());
  EXPECT_EQ(details["reason"], "authority_scope_gallery");
  EXPECT_EQ(details["error_code"], "ABIS-E1003");
  EXPECT_TRUE(RefusalDetails(Status(StatusCode::kInternal, "x")).empty());
}

}  // namespace
}  // namespace abis::governance::test
