// governance_test_fixture.h
//
// Test support for src/governance: a Governance over the real AuditLog in a
// private scratch folder, a clock the test moves, an audit sink that can be
// made to fail (fail-closed tests), and helpers that run the usual steps.
//
// Thread safety: single-threaded tests.

#ifndef ABIS_GOVERNANCE_GOVERNANCE_TEST_FIXTURE_H_
#define ABIS_GOVERNANCE_GOVERNANCE_TEST_FIXTURE_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>

#include "audit/audit_log.h"
#include "core/digest.h"
#include "governance/audit_sink.h"
#include "governance/governance.h"
#include "testing/scratch_dir.h"

namespace abis::governance::test {

// Delegates to the real log until `failing` is set.
class SwitchableSink : public AuditSink {
 public:
  SwitchableSink(AuditLog* log, std::string dir) : real_(log, std::move(dir)) {}
  Result<AuditReceipt> Append(AuditEvent event) override {
    if (failing) return UnavailableError("injected audit failure");
    return real_.Append(std::move(event));
  }
  Result<std::vector<AuditEvent>> ReadEvents() override { return real_.ReadEvents(); }
  Result<InclusionProof> ProveInclusion(std::uint64_t seq) override {
    return real_.ProveInclusion(seq);
  }
  std::string public_key_hex() const override { return real_.public_key_hex(); }
  bool failing = false;

 private:
  AuditLogSink real_;
};

inline constexpr char kLegalBasis[] = "national-biometrics-act-s12";
inline constexpr char kCase[] = "case-2026-0042";

class GovernanceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    now_ = std::chrono::system_clock::time_point(std::chrono::seconds(1798000000));
    AuditLogOptions audit_options;
    audit_options.clock = [this] { return now_; };
    audit_options.note = [](const std::string&) {};
    auto log = AuditLog::Open(dir_.path(), audit_options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    sink_ = std::make_unique<SwitchableSink>(log_.get(), dir_.path());
    ASSERT_TRUE(OpenGovernance().ok());
    ASSERT_TRUE(gov_->RegisterGallery(supervisor_, Gallery("custody")).ok());
    ASSERT_TRUE(gov_->RegisterGallery(supervisor_, Gallery("missing")).ok());
    ASSERT_TRUE(gov_->RegisterGallery(supervisor_, Gallery("other")).ok());
  }

  virtual void Configure(GovernanceOptions& /*options*/) {}

  Status OpenGovernance() {
    GovernanceOptions options;
    options.data_dir = dir_.path();
    options.clock = [this] { return now_; };
    options.legal_bases = {kLegalBasis};
    options.master_key.key_text = std::string(64, '7');
    options.disclosure_signing_seed_hex = std::string(64, 'a');
    options.model_card_json = R"({"algorithm":"face/test","metrics":{"fnir_at_rank_20":0.02}})";
    options.urgency_deadline = std::chrono::hours(24);
    options.matched_retention = std::chrono::hours(24 * 30);
    Configure(options);
    gov_.reset();
    auto gov = Governance::Open(std::move(options), sink_.get());
    if (!gov.ok()) return gov.status();
    gov_ = std::move(*gov);
    return Status::Ok();
  }

  static GalleryRegistration Gallery(const std::string& name) {
    GalleryRegistration g;
    g.name = name;
    g.legal_basis = kLegalBasis;
    g.provenance = Provenance::kCustodyRecord;
    g.subject_category = SubjectCategory::kSuspect;
    g.original_purpose = "custody photographs";
    g.retention_rule = "review yearly; delete on acquittal";
    g.review_interval_days = 365;
    g.owner = "records-unit";
    return g;
  }

  AuthorityRequest Request(std::vector<std::string> galleries = {"custody"}, int max_searches = 5) {
    AuthorityRequest r;
    r.kind = AuthorityKind::kWarrant;
    r.reference = "W-2026-117";
    r.issuing_body = "District Court, Judge Example";
    r.legal_basis = kLegalBasis;
    r.scope.galleries = std::move(galleries);
    r.scope.modalities = {Modality::kFace};
    r.scope.purpose = PurposeCategory::kSeriousCrimeSuspect;
    r.scope.case_id = kCase;
    r.scope.offence_code = "robbery-aggravated";
    r.scope.max_penalty_years = 10;
    r.scope.not_before = now_ - std::chrono::hours(1);
    r.scope.not_after = now_ + std::chrono::hours(24 * 10);
    r.scope.max_searches = max_searches;
    return r;
  }

  // An authority issued (granted) by the authoriser.
  Authority Issued(std::vector<std::string> galleries = {"custody"}, int max_searches = 5) {
    auto a = gov_->CreateAuthority(authoriser_, Request(std::move(galleries), max_searches));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : Authority{};
  }

  static std::vector<std::uint8_t> Probe(int seed) {
    std::vector<std::uint8_t> bytes(300);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::uint8_t>((i * 31 + seed * 7 + 0x5A) & 0xFF);
    }
    return bytes;
  }

  SearchCheckRequest Check(const std::string& authority_id, const std::vector<std::uint8_t>& probe,
                           std::vector<std::string> galleries = {"custody"}) {
    SearchCheckRequest r;
    r.authority_id = authority_id;
    r.case_id = kCase;
    r.galleries = std::move(galleries);
    r.modality = Modality::kFace;
    r.probe_sha256 = Sha256Hex(probe);
    r.probe_quality = 80;
    r.max_candidates = 20;
    return r;
  }

  static std::vector<CandidateInput> Candidates(int count, const std::string& gallery = "custody") {
    std::vector<CandidateInput> out;
    for (int i = 0; i < count; ++i) {
      CandidateInput c;
      c.gallery = gallery;
      c.identity = "person-" + std::to_string(100 + i);
      c.reference_id = 1000 + i;
      c.score = 0.9 - 0.1 * i;
      c.fmr = 0.0001 * (i + 1);
      c.expected_false_candidates = 0.5 * (i + 1);
      out.push_back(c);
    }
    return out;
  }

  // Authorises and records a search with `count` candidates.
  SearchView RunSearch(const std::string& authority_id, int seed, int count,
                       const Actor* who = nullptr) {
    const Actor& op = who == nullptr ? operator_ : *who;
    std::vector<std::uint8_t> probe = Probe(seed);
    auto ticket = gov_->CheckSearch(op, Check(authority_id, probe));
    EXPECT_TRUE(ticket.ok()) << ticket.status().ToString();
    if (!ticket.ok()) return {};
    SearchResultInput input;
    input.search_id = ticket->search_id;
    input.probe = probe;
    input.candidates = Candidates(count);
    input.algorithm = "face/dlib-resnet-v1";
    input.model_digest = std::string(64, 'd');
    input.gallery_identities = 5000;
    auto view = gov_->RecordSearchResult(op, input);
    EXPECT_TRUE(view.ok()) << view.status().ToString();
    return view.ok() ? *view : SearchView{};
  }

  void OpenAll(const Actor& examiner, const SearchView& search) {
    for (int rank = 1; rank <= search.candidate_count; ++rank) {
      auto c = gov_->OpenCandidate(examiner, search.id, rank);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
    }
  }

  Result<SearchView> Review(const Actor& examiner, const std::string& search_id, int rank,
                            ReviewDecision decision) {
    ReviewRequest r;
    r.search_id = search_id;
    r.rank = rank;
    r.decision = decision;
    r.reason = "compared facial features one by one";
    return gov_->SubmitReview(examiner, r);
  }

  // Both examiners open everything; rank 1 confirmed by both, the rest excluded.
  SearchView ConfirmFirst(const SearchView& search) {
    OpenAll(examiner1_, search);
    OpenAll(examiner2_, search);
    Result<SearchView> last = Status(StatusCode::kInternal, "no reviews");
    for (int rank = 1; rank <= search.candidate_count; ++rank) {
      ReviewDecision d = rank == 1 ? ReviewDecision::kConfirm : ReviewDecision::kExclude;
      EXPECT_TRUE(Review(examiner1_, search.id, rank, d).ok());
      last = Review(examiner2_, search.id, rank, d);
      EXPECT_TRUE(last.ok()) << last.status().ToString();
    }
    return last.ok() ? *last : SearchView{};
  }

  std::vector<AuditEvent> Events() {
    auto events = ReadAuditEvents(dir_.path());
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }

  AuditEvent LastEvent() {
    std::vector<AuditEvent> events = Events();
    return events.empty() ? AuditEvent{} : events.back();
  }

  // The status is a refusal with `code` and `reason`, and the last audit
  // event records it under `action`.
  void ExpectRefused(const Status& status, StatusCode code, const std::string& reason,
                     const std::string& action) {
    EXPECT_EQ(status.code(), code) << status.ToString();
    EXPECT_EQ(GovernanceReason(status), reason) << status.ToString();
    AuditEvent event = LastEvent();
    EXPECT_EQ(event.action, action);
    EXPECT_EQ(event.result, std::string(StatusCodeName(code)));
    EXPECT_NE(event.details.find("reason=" + reason), std::string::npos) << event.details;
  }

  std::size_t CountEvents(const std::string& action, const std::string& result = "ok") {
    std::size_t n = 0;
    for (const AuditEvent& e : Events()) n += e.action == action && e.result == result;
    return n;
  }

  abis::testing::ScratchDir dir_{"governance"};
  std::chrono::system_clock::time_point now_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<SwitchableSink> sink_;
  std::unique_ptr<Governance> gov_;
  Actor operator_{"olga.operator", ActorRole::kOperator, "ws-1"};
  Actor operator2_{"oscar.operator", ActorRole::kOperator, "ws-2"};
  Actor authoriser_{"ada.authoriser", ActorRole::kAuthoriser, ""};
  Actor authoriser2_{"abe.authoriser", ActorRole::kAuthoriser, ""};
  Actor examiner1_{"erin.examiner", ActorRole::kReviewer, ""};
  Actor examiner2_{"emil.examiner", ActorRole::kReviewer, ""};
  Actor examiner3_{"ezra.examiner", ActorRole::kReviewer, ""};
  Actor examiner4_{"edda.examiner", ActorRole::kReviewer, ""};
  Actor supervisor_{"sam.supervisor", ActorRole::kSupervisor, ""};
  Actor auditor_{"aud.auditor", ActorRole::kAuditor, ""};
};

}  // namespace abis::governance::test

#endif  // ABIS_GOVERNANCE_GOVERNANCE_TEST_FIXTURE_H_
