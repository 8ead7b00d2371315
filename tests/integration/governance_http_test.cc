// The accountability routes over real HTTP (docs/governance.md, "HTTP
// routes"): an in-process server on a free loopback port with a temporary
// data folder and a governance clock the test moves. For each rule the
// refusal is checked with its HTTP status, stable reason and ABIS error
// code, and the audit events it wrote (read back through /v1/audit/events);
// the happy path runs authority request -> grant -> search -> two examiners
// -> disclosure verified offline -> retention expiry -> `abis audit verify`.
// One server per test process (ctest runs each case as its own process).

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include "governance/disclosure.h"
#include "governance/governance_types.h"
#include "server/http_server.h"
#include "src/testing/scratch_dir.h"
#include "tests/integration/http_test_support.h"
#include "tests/integration/test_photos.h"

namespace abis::server {
namespace {

using nlohmann::json;
using testing_http::Auth;
using testing_http::Base64;
using testing_http::JsonOf;
using testing_http::TestServer;

constexpr char kCase[] = "case-2026-0042";

// The governance clock: real time plus an offset the test advances.
std::atomic<std::int64_t> g_clock_offset_hours{0};
governance::TimePoint Now() {
  return std::chrono::system_clock::now() + std::chrono::hours(g_clock_offset_hours.load());
}

std::string Hex(const unsigned char* bytes, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, size);
  out.resize(size * 2);
  return out;
}

// A court's Ed25519 key pair: the fixture's server trusts its public key
// for signed authority imports (GovernanceOptions::trusted_authority_keys).
struct CourtKey {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  CourtKey() {
    if (sodium_init() < 0) std::abort();
    crypto_sign_keypair(public_key.data(), secret_key.data());
  }
  std::string PublicHex() const { return Hex(public_key.data(), public_key.size()); }
  std::string Sign(const std::string& text) const {
    std::array<unsigned char, crypto_sign_BYTES> signature{};
    crypto_sign_detached(signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                         secret_key.data());
    return Hex(signature.data(), signature.size());
  }
};

// A governance refusal: status, error shape, stable reason and ABIS code.
// A custody gallery registration body under `legal_basis`.
json CustodyRegistration(const std::string& name, const std::string& legal_basis) {
  return {{"name", name},
          {"legal_basis", legal_basis},
          {"provenance", "custody_record"},
          {"subject_category", "suspect"},
          {"original_purpose", "custody photographs"},
          {"retention_rule", "review every 12 months"},
          {"review_interval_days", 365},
          {"owner", "records-unit"}};
}

json RefusalOf(const httplib::Result& result, int http_status, const std::string& reason,
               const std::string& error_code = "") {
  json body = JsonOf(result, http_status);
  EXPECT_TRUE(body.is_object() && body.contains("details")) << body.dump();
  if (!body.is_object() || !body.contains("details")) return body;
  EXPECT_EQ(body["details"].value("reason", ""), reason) << body.dump();
  if (!error_code.empty()) {
    EXPECT_EQ(body["details"].value("error_code", ""), error_code) << body.dump();
  }
  return body;
}

// True when `value` has a key "match" anywhere.
bool HasMatchField(const json& value) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (key == "match" || key == "is_match" || HasMatchField(child)) return true;
    }
  } else if (value.is_array()) {
    for (const json& child : value) {
      if (HasMatchField(child)) return true;
    }
  }
  return false;
}

class GovernanceHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::FaceModelAvailable() || !std::filesystem::exists(testing::SamplePhotoPath(2))) {
      return;
    }
    g_clock_offset_hours = 0;
    scratch_ = new testing::ScratchDir("gov_http");
    court_ = new CourtKey();
    server_ = TestServer::Start(0, {}, scratch_->path(), [](ServerOptions& options) {
                options.governance.clock = Now;
                // The sample photos score about 29; the quality gate itself is
                // covered in QualityGateNeedsAnExaminersOverride with a darker probe.
                options.governance.probe_quality_floor = 20;
                options.governance.trusted_authority_keys = {court_->PublicHex()};
              }).release();
    ASSERT_NE(server_, nullptr);
    auto client = Client();
    std::string bootstrap = server_->server().bootstrap_token();
    for (const char* name : {"operator-1", "operator-2", "reviewer-1", "reviewer-2", "reviewer-3",
                             "reviewer-4", "supervisor-1", "authoriser-1", "auditor-1"}) {
      std::string role(name, std::string(name).find('-'));
      json body = {{"name", name}, {"role", role}};
      tokens_[name] =
          JsonOf(client->Post("/v1/tokens", Auth(bootstrap), body.dump(), "application/json"), 201)
              .value("token", "");
    }
    json admin = {{"name", "admin-1"}, {"role", "admin"}};
    tokens_["admin-1"] =
        JsonOf(client->Post("/v1/tokens", Auth(bootstrap), admin.dump(), "application/json"), 201)
            .value("token", "");
    for (const char* gallery : {"custody", "custody-b"}) {
      JsonOf(Post(*client, "supervisor-1", "/v1/galleries/registrations",
                  CustodyRegistration(gallery, kDefaultLegalBasis)),
             201);
    }
    // Two identities: the probe (sample 2) finds alice first, then "bob"
    // (the mirrored photo: a second, lower-scoring candidate).
    std::vector<std::uint8_t> photo = testing::ReadBytes(testing::SamplePhotoPath(2));
    cv::Mat mirrored;
    cv::flip(testing::DecodeBgr(photo), mirrored, 1);
    for (auto [identity, bytes] :
         {std::pair{"alice", photo}, std::pair{"bob", testing::EncodeJpeg(mirrored)}}) {
      json enrol = {{"gallery", "custody"}, {"identity", identity}, {"image", Base64(bytes)}};
      JsonOf(Post(*client, "operator-1", "/v1/enrolments", enrol), 201);
    }
    // Probes at half size: face detection on every request stays fast.
    cv::Mat half;
    cv::resize(testing::DecodeBgr(photo), half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
    probe_base64_ = Base64(testing::EncodeJpeg(half));
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete scratch_;
    scratch_ = nullptr;
    delete court_;
    court_ = nullptr;
    tokens_.clear();
  }

  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
    ASSERT_NE(server_, nullptr);
    client_ = Client();
  }

  static std::unique_ptr<httplib::Client> Client() { return server_->Client(); }

  static httplib::Result Post(httplib::Client& client, const std::string& who,
                              const std::string& path, const json& body) {
    return client.Post(path.c_str(), Auth(tokens_[who]), body.dump(), "application/json");
  }
  httplib::Result Post(const std::string& who, const std::string& path, const json& body) {
    return Post(*client_, who, path, body);
  }
  httplib::Result Get(const std::string& who, const std::string& path) {
    return client_->Get(path.c_str(), Auth(tokens_[who]));
  }

  // An authority request body for `galleries`, valid from an hour ago.
  static json AuthorityBody(const std::vector<std::string>& galleries, int max_searches = 5,
                            bool urgent = false) {
    json body = {{"kind", "warrant"},
                 {"reference", "W-2026-17"},
                 {"issuing_body", "District Court"},
                 {"legal_basis", kDefaultLegalBasis},
                 {"scope",
                  {{"galleries", galleries},
                   {"modalities", {"face"}},
                   {"purpose", "serious_crime_suspect"},
                   {"case_id", kCase},
                   {"offence_code", "robbery"},
                   {"max_penalty_years", 10},
                   {"not_before", governance::FormatTime(Now() - std::chrono::hours(1))},
                   {"not_after", governance::FormatTime(Now() + std::chrono::hours(24 * 30))},
                   {"max_searches", max_searches}}}};
    if (urgent) {
      body["urgent"] = true;
      body["justification"] = "imminent threat; court not reachable";
    }
    return body;
  }

  // Requested by operator-1, granted by authoriser-1: the authority id.
  std::string GrantedAuthority(int max_searches = 5) {
    json requested = JsonOf(
        Post("operator-1", "/v1/authorities", AuthorityBody({"custody"}, max_searches)), 201);
    EXPECT_EQ(requested.value("state", ""), "requested") << requested.dump();
    std::string id = requested.value("id", "");
    json granted = JsonOf(
        Post("authoriser-1", "/v1/authorities/" + id + "/grant", {{"reason", "warrant checked"}}),
        200);
    EXPECT_EQ(granted.value("state", ""), "granted") << granted.dump();
    return id;
  }

  static json SearchBody(const std::string& authority_id,
                         const std::vector<std::string>& galleries = {"custody"}) {
    json body = {{"galleries", galleries}, {"case_id", kCase}, {"image", probe_base64_}};
    if (!authority_id.empty()) body["authority_id"] = authority_id;
    return body;
  }

  // The probe's bytes (decoded from probe_base64_).
  static bool DecodeProbe(std::vector<std::uint8_t>& bytes) {
    bytes.resize(probe_base64_.size());
    std::size_t length = 0;
    if (sodium_base642bin(bytes.data(), bytes.size(), probe_base64_.data(), probe_base64_.size(),
                          nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
      return false;
    }
    bytes.resize(length);
    return true;
  }

  json Search(const std::string& authority_id) {
    return JsonOf(Post("operator-1", "/v1/identifications", SearchBody(authority_id)), 200);
  }

  // `examiner` opens every candidate, then confirms rank 1 and excludes the rest.
  void Examine(const std::string& examiner, const json& search) {
    const std::string base = "/v1/identifications/" + search.value("id", "");
    for (const json& candidate : search["candidates"]) {
      JsonOf(Post(examiner, base + "/reviews", {{"action", "open"}, {"rank", candidate["rank"]}}),
             200);
    }
    for (const json& candidate : search["candidates"]) {
      int rank = candidate["rank"];
      JsonOf(Post(examiner, base + "/reviews",
                  {{"rank", rank},
                   {"decision", rank == 1 ? "confirm" : "exclude"},
                   {"reason", rank == 1 ? "ridge-level features agree" : "different person"}}),
             200);
    }
  }

  // Every audit event, read as the auditor.
  std::vector<json> AuditEvents() {
    std::vector<json> events;
    std::uint64_t from = 0;
    for (int page = 0; page < 100; ++page) {
      json list = JsonOf(
          Get("auditor-1", "/v1/audit/events?from=" + std::to_string(from) + "&limit=1000"), 200);
      for (const json& event : list["events"]) events.push_back(event);
      if (!list.contains("next_from") || list["next_from"].is_null()) break;
      from = list["next_from"];
    }
    return events;
  }

  // The number of events with `action` and `result` whose details contain `text`.
  int CountEvents(const std::string& action, const std::string& result,
                  const std::string& text = "") {
    return CountEvents(AuditEvents(), action, result, text);
  }
  static int CountEvents(const std::vector<json>& events, const std::string& action,
                         const std::string& result, const std::string& text = "") {
    int count = 0;
    for (const json& event : events) {
      if (event.value("action", "") == action && event.value("result", "") == result &&
          event.value("details", "").find(text) != std::string::npos) {
        ++count;
      }
    }
    return count;
  }

  // GET /v1/identities for `gallery` under `authority_id` (omitted when
  // empty) and `case_id`.
  httplib::Result ListIdentities(const std::string& who, const std::string& gallery,
                                 const std::string& authority_id,
                                 const std::string& case_id = kCase) {
    std::string path = "/v1/identities?gallery=" + gallery + "&case_id=" + case_id;
    if (!authority_id.empty()) path += "&authority_id=" + authority_id;
    return Get(who, path);
  }

  static testing::ScratchDir* scratch_;
  static CourtKey* court_;
  static TestServer* server_;
  static std::map<std::string, std::string> tokens_;
  static std::string probe_base64_;
  std::unique_ptr<httplib::Client> client_;
};

testing::ScratchDir* GovernanceHttpTest::scratch_ = nullptr;
CourtKey* GovernanceHttpTest::court_ = nullptr;
TestServer* GovernanceHttpTest::server_ = nullptr;
std::map<std::string, std::string> GovernanceHttpTest::tokens_;
std::string GovernanceHttpTest::probe_base64_;

TEST_F(GovernanceHttpTest, AuthoritiesAreRequestedGrantedAndRejectedByTheRightPeople) {
  json requested = JsonOf(Post("operator-1", "/v1/authorities", AuthorityBody({"custody"})), 201);
  std::string id = requested.value("id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(requested["requested_by"], "operator-1");
  // Not granted yet: no search under it.
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id)), 403, "authority_not_granted",
            "ABIS-E1001");
  // Reviewers and operators may not decide (route role table), nor may a
  // supervisor request-and-grant.
  EXPECT_EQ(Post("operator-1", "/v1/authorities/" + id + "/grant", {{"reason", "x"}})->status, 403);
  EXPECT_EQ(Post("reviewer-1", "/v1/authorities", AuthorityBody({"custody"}))->status, 403);
  // Bad bodies are 400 with the parser's reason.
  RefusalOf(Post("operator-1", "/v1/authorities", {{"kind", "blanket"}}), 400,
            "unknown_authority_kind");
  json granted = JsonOf(
      Post("authoriser-1", "/v1/authorities/" + id + "/grant", {{"reason", "warrant checked"}}),
      200);
  EXPECT_EQ(granted["state"], "granted");
  EXPECT_EQ(granted["decided_by"], "authoriser-1");
  RefusalOf(Post("authoriser-1", "/v1/authorities/" + id + "/grant", {{"reason", "again"}}), 409,
            "authority_not_pending");
  // The one who granted may not search under it (role table: authorisers
  // cannot search at all).
  EXPECT_EQ(Post("authoriser-1", "/v1/identifications", SearchBody(id))->status, 403);

  json second = JsonOf(Post("operator-1", "/v1/authorities", AuthorityBody({"custody"})), 201);
  std::string rejected_id = second.value("id", "");
  json rejected = JsonOf(Post("authoriser-1", "/v1/authorities/" + rejected_id + "/reject",
                              {{"reason", "not proportionate"}}),
                         200);
  EXPECT_EQ(rejected["state"], "rejected");
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(rejected_id)), 403,
            "authority_rejected", "ABIS-E1002");

  json listed = JsonOf(Get("auditor-1", "/v1/authorities"), 200);
  EXPECT_EQ(listed["authorities"].size(), 2u);
  EXPECT_EQ(JsonOf(Get("reviewer-1", "/v1/authorities/" + id), 200)["state"], "granted");
  RefusalOf(Get("reviewer-1", "/v1/authorities/no-such-authority"), 404, "authority_unknown");

  EXPECT_EQ(CountEvents("gov.authority.request", "ok"), 2);
  EXPECT_EQ(CountEvents("gov.authority.grant", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.authority.reject", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.search.authorise", "permission_denied", "authority_not_granted"), 1);
  EXPECT_EQ(CountEvents("gov.search.authorise", "permission_denied", "authority_rejected"), 1);
  // The server's own request event carries the reason too.
  EXPECT_EQ(CountEvents("search", "permission_denied", "reason=authority_rejected"), 1);
}

TEST_F(GovernanceHttpTest, IdentificationWithoutValidAuthorityOrScopeIsRefused) {
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody("")), 403, "authority_missing",
            "ABIS-E1001");
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody("no-such-authority")), 403,
            "authority_unknown", "ABIS-E1001");
  std::string id = GrantedAuthority(/*max_searches=*/1);
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id, {"custody-b"})), 403,
            "authority_scope_gallery", "ABIS-E1003");
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id, {"*"})), 403,
            "gallery_wildcard_refused", "ABIS-E1003");
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id, {})), 403,
            "galleries_required", "ABIS-E1003");
  json other_case = SearchBody(id);
  other_case["case_id"] = "case-other";
  RefusalOf(Post("operator-1", "/v1/identifications", other_case), 403, "authority_scope_case",
            "ABIS-E1003");
  json too_many = SearchBody(id);
  too_many["max_candidates"] = 51;
  EXPECT_EQ(Post("operator-1", "/v1/identifications", too_many)->status / 100, 4);
  // The one search the authority allows, then the quota.
  json found = Search(id);
  EXPECT_FALSE(found.value("id", "").empty());
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id)), 403,
            "authority_quota_exhausted", "ABIS-E1004");
  const std::vector<json> events = AuditEvents();
  for (const char* reason :
       {"authority_missing", "authority_unknown", "authority_scope_gallery",
        "gallery_wildcard_refused", "authority_scope_case", "authority_quota_exhausted"}) {
    EXPECT_EQ(CountEvents(events, "gov.search.authorise", "permission_denied", reason), 1)
        << reason;
  }
  EXPECT_EQ(CountEvents(events, "gov.search.authorise", "ok"), 1);
}

TEST_F(GovernanceHttpTest, EndToEndAuthoritySearchTwoExaminersDisclosureAndRetention) {
  std::string authority = GrantedAuthority();
  json search = Search(authority);
  const std::string search_id = search.value("id", "");
  ASSERT_FALSE(search_id.empty()) << search.dump();
  EXPECT_EQ(search["search_id"], search_id);
  EXPECT_EQ(search["state"], "in_review");
  EXPECT_FALSE(HasMatchField(search)) << search.dump();
  EXPECT_GT(search["probe_quality"].get<double>(), 0);
  EXPECT_FALSE(search.value("algorithm", "").empty());
  EXPECT_FALSE(search.value("model_digest", "").empty());
  EXPECT_EQ(search["marking"].get<std::string>().find("not an identification") != std::string::npos,
            true);
  ASSERT_EQ(search["candidates"].size(), 2u) << search.dump();
  EXPECT_EQ(search["candidates"][0]["identity"], "alice");
  for (const json& candidate : search["candidates"]) {
    for (const char* key : {"rank", "score", "fmr", "expected_false_candidates", "state"}) {
      EXPECT_TRUE(candidate.contains(key)) << key;
    }
    EXPECT_EQ(candidate["state"], "CANDIDATE");
  }
  const std::string base = "/v1/identifications/" + search_id;

  // The operator may not review; an examiner must open every candidate first.
  EXPECT_EQ(Post("operator-1", base + "/reviews", {{"rank", 1}})->status, 403);
  RefusalOf(Post("reviewer-1", base + "/reviews",
                 {{"rank", 1}, {"decision", "confirm"}, {"reason", "looks alike"}}),
            409, "candidates_not_all_opened", "ABIS-E1303");
  Examine("reviewer-1", search);
  json after_first = JsonOf(Get("reviewer-1", base), 200);
  EXPECT_EQ(after_first["candidates"][0]["state"], "REVIEW_1") << after_first.dump();
  // The same examiner cannot be the second.
  RefusalOf(Post("reviewer-1", base + "/reviews",
                 {{"rank", 1}, {"decision", "confirm"}, {"reason", "again"}}),
            403, "same_examiner_twice", "ABIS-E1301");
  Examine("reviewer-2", search);
  json closed = JsonOf(Get("supervisor-1", base), 200);
  EXPECT_EQ(closed["state"], "matched") << closed.dump();
  EXPECT_EQ(closed["candidates"][0]["state"], "CONFIRMED");
  EXPECT_EQ(closed["candidates"][1]["state"], "EXCLUDED");
  // Auditors see the record without candidate identities.
  json audited = JsonOf(Get("auditor-1", base), 200);
  EXPECT_TRUE(audited["candidates"].empty());
  EXPECT_EQ(CountEvents("gov.candidate.open", "ok"), 4);
  EXPECT_EQ(CountEvents("gov.candidate.confirm", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.review.submit", "failed_precondition", "candidates_not_all_opened"),
            1);

  // Disclosure: operators may not export; the package verifies offline.
  EXPECT_EQ(Post("operator-1", "/v1/disclosures", {{"search_id", search_id}})->status, 403);
  json exported = JsonOf(Post("supervisor-1", "/v1/disclosures",
                              {{"search_id", search_id},
                               {"recipient", "defence-counsel-ref-9"},
                               {"purpose", "trial disclosure"}}),
                         201);
  std::string package = exported.value("package_json", "");
  ASSERT_FALSE(package.empty());
  json checkpoints = JsonOf(Get("auditor-1", "/v1/audit/checkpoints"), 200);
  governance::DisclosureVerifyReport report;
  Status verified =
      governance::VerifyDisclosurePackage(package, exported.value("signing_public_key", ""),
                                          checkpoints.value("public_key", ""), &report);
  EXPECT_TRUE(verified.ok()) << verified.ToString() << " " << report.reason;
  EXPECT_EQ(report.search_id, search_id);
  EXPECT_GT(report.audit_events_verified, 0u);
  EXPECT_EQ(CountEvents("gov.disclosure.export", "ok"), 1);
  // It carries the algorithm's published accuracy (the engine's model card).
  json opened = json::parse(package, nullptr, false);
  EXPECT_TRUE(opened["algorithm"]["model_card"].is_object()) << opened["algorithm"].dump();
  // A tampered package does not verify.
  std::string tampered = package;
  std::size_t at = tampered.find("alice");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 5, "alicf");
  EXPECT_FALSE(governance::VerifyDisclosurePackage(tampered,
                                                   exported.value("signing_public_key", ""),
                                                   checkpoints.value("public_key", ""))
                   .ok());

  // Retention: nothing expires yet; after the retention period the search is erased.
  json early = JsonOf(Post("supervisor-1", "/v1/retention/purge", json::object()), 200);
  EXPECT_TRUE(early["erased"].empty()) << early.dump();
  EXPECT_EQ(Post("operator-1", "/v1/retention/purge", json::object())->status, 403);
  g_clock_offset_hours = 24 * 365 * 3;
  json purge = JsonOf(Post("supervisor-1", "/v1/retention/purge", json::object()), 200);
  bool erased = false;
  for (const json& record : purge["erased"]) {
    erased = erased || (record.value("object_id", "") == search_id &&
                        record.value("rule", "") == "retention_expired");
  }
  EXPECT_TRUE(erased) << purge.dump();
  json expired = JsonOf(Get("supervisor-1", base), 200);
  EXPECT_EQ(expired["state"], "expired");
  EXPECT_TRUE(expired["candidates"].empty());
  EXPECT_EQ(Get("reviewer-1", base + "/probe")->status, 404);
  EXPECT_GE(CountEvents("gov.erase", "ok", "retention_expired"), 1);
  // No plaintext left: the candidate identity is nowhere in governance.db.
  std::ifstream db(scratch_->File("data") + "/governance.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("alice"), std::string::npos);

  // The whole audit log still verifies offline.
  auto run = testing::RunCommand(std::string(ABIS_CLI_PATH) + " audit verify --data " +
                                 scratch_->File("data") + " 2>&1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST_F(GovernanceHttpTest, StopInvalidatesASearch) {
  std::string authority = GrantedAuthority();
  // This search comes as multipart/form-data: galleries as one comma-separated field.
  std::vector<std::uint8_t> probe_bytes;
  ASSERT_TRUE(DecodeProbe(probe_bytes));
  httplib::MultipartFormDataItems form = {
      {"authority_id", authority, "", ""},
      {"galleries", "custody", "", ""},
      {"case_id", kCase, "", ""},
      {"image", std::string(probe_bytes.begin(), probe_bytes.end()), "probe.jpg", "image/jpeg"}};
  json search =
      JsonOf(client_->Post("/v1/identifications", Auth(tokens_["operator-1"]), form), 200);
  EXPECT_EQ(search["galleries"], json::array({"custody"}));
  const std::string base = "/v1/identifications/" + search.value("id", "");
  // Another operator's search is not theirs to stop.
  RefusalOf(Post("operator-2", base + "/stop", {{"reason", "mine?"}}), 403, "role_cannot_stop");
  json stopped = JsonOf(Post("operator-1", base + "/stop", {{"reason", "wrong probe"}}), 200);
  EXPECT_EQ(stopped["state"], "stopped");
  EXPECT_TRUE(stopped["candidates"].empty());
  EXPECT_EQ(stopped["results_withheld"], true);
  RefusalOf(Post("reviewer-1", base + "/reviews", {{"action", "open"}, {"rank", 1}}), 409,
            "search_stopped");
  EXPECT_EQ(CountEvents("gov.search.stop", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.search.stop", "permission_denied", "role_cannot_stop"), 1);
}

TEST_F(GovernanceHttpTest, UrgentSearchesArePurgedWhenTheRequestIsRejectedOrLapses) {
  // An urgent request may be searched under before anyone decides on it.
  json lapsing =
      JsonOf(Post("operator-1", "/v1/authorities", AuthorityBody({"custody"}, 5, true)), 201);
  ASSERT_TRUE(lapsing["urgency_deadline"].is_string()) << lapsing.dump();
  const std::string lapsing_id = lapsing.value("id", "");
  json lapsing_search = Search(lapsing_id);
  ASSERT_FALSE(lapsing_search["candidates"].empty()) << lapsing_search.dump();
  const std::string lapsing_base = "/v1/identifications/" + lapsing_search.value("id", "");

  // Rejected: its searches are purged at once and it authorises no more.
  json rejected =
      JsonOf(Post("operator-1", "/v1/authorities", AuthorityBody({"custody"}, 5, true)), 201);
  const std::string rejected_id = rejected.value("id", "");
  json rejected_search = Search(rejected_id);
  ASSERT_FALSE(rejected_search["candidates"].empty());
  const std::string rejected_base = "/v1/identifications/" + rejected_search.value("id", "");
  EXPECT_EQ(Post("operator-1", "/v1/authorities/" + rejected_id + "/reject",
                 {{"reason", "no grounds for urgency"}})
                ->status,
            403);
  JsonOf(Post("authoriser-1", "/v1/authorities/" + rejected_id + "/reject",
              {{"reason", "no grounds for urgency"}}),
         200);
  json purged_now = JsonOf(Get("supervisor-1", rejected_base), 200);
  EXPECT_TRUE(purged_now["candidates"].empty()) << purged_now.dump();
  EXPECT_EQ(Get("reviewer-1", rejected_base + "/probe")->status, 404);
  EXPECT_GE(CountEvents("gov.erase", "ok", "authority_rejected"), 1);
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(rejected_id)), 403,
            "authority_rejected");
  // The other urgent search is untouched so far.
  EXPECT_EQ(JsonOf(Get("supervisor-1", lapsing_base), 200)["candidates"].size(),
            lapsing_search["candidates"].size());

  // Not granted within the deadline (24 h by default): the next lifecycle
  // run purges its searches with their own rule, and searching stops.
  g_clock_offset_hours += 25;
  json purge = JsonOf(Post("supervisor-1", "/v1/retention/purge", json::object()), 200);
  bool erased = false;
  for (const json& record : purge["erased"]) {
    erased = erased || (record.value("object_id", "") == lapsing_search.value("id", "") &&
                        record.value("rule", "") == "urgency_deadline_passed");
  }
  EXPECT_TRUE(erased) << purge.dump();
  json lapsed = JsonOf(Get("supervisor-1", lapsing_base), 200);
  EXPECT_TRUE(lapsed["candidates"].empty()) << lapsed.dump();
  EXPECT_EQ(Get("reviewer-1", lapsing_base + "/probe")->status, 404);
  EXPECT_EQ(JsonOf(Get("supervisor-1", "/v1/authorities/" + lapsing_id), 200).value("state", ""),
            "expired");
  EXPECT_GE(CountEvents("gov.authority.expire", "ok", "cause=urgency_deadline"), 1);
  EXPECT_GE(CountEvents("gov.erase", "ok", "urgency_deadline_passed"), 1);
  EXPECT_EQ(Post("operator-1", "/v1/identifications", SearchBody(lapsing_id))->status, 403);
}

TEST_F(GovernanceHttpTest, SuspensionHaltsIdentificationAndReportsCountIt) {
  std::string authority = GrantedAuthority();
  EXPECT_EQ(Post("operator-1", "/v1/suspension", {{"action", "suspend"}, {"reason", "x"}})->status,
            403);
  json suspended = JsonOf(Post("supervisor-1", "/v1/suspension",
                               {{"action", "suspend"}, {"reason", "accuracy review"}}),
                          200);
  EXPECT_EQ(suspended["active"], true);
  EXPECT_EQ(JsonOf(Get("operator-1", "/v1/suspension"), 200)["active"], true);
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(authority)), 503,
            "identification_suspended", "ABIS-E1601");
  RefusalOf(Post("supervisor-1", "/v1/suspension", {{"action", "suspend"}, {"reason", "again"}}),
            409, "already_suspended");
  json resumed = JsonOf(
      Post("supervisor-1", "/v1/suspension", {{"action", "resume"}, {"reason", "review done"}}),
      200);
  EXPECT_EQ(resumed["active"], false);
  Search(authority);
  EXPECT_EQ(CountEvents("gov.suspension.set", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.suspension.lift", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.search.authorise", "unavailable", "identification_suspended"), 1);

  EXPECT_EQ(Get("operator-1", "/v1/reports/transparency")->status, 403);
  json report = JsonOf(Get("auditor-1", "/v1/reports/transparency"), 200);
  EXPECT_TRUE(report.is_object());
  EXPECT_NE(report.dump().find("suspension"), std::string::npos) << report.dump();
  auto html = Get("admin-1", "/v1/reports/transparency?format=html");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_NE(html->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(html->body.find("<html"), std::string::npos);
  EXPECT_EQ(Get("auditor-1", "/v1/reports/transparency?format=pdf")->status, 400);
}

TEST_F(GovernanceHttpTest, DisputesFreezeDisclosureAndNeedUninvolvedExaminers) {
  std::string authority = GrantedAuthority();
  json search = Search(authority);
  const std::string search_id = search.value("id", "");
  Examine("reviewer-1", search);
  Examine("reviewer-2", search);
  EXPECT_EQ(Post("operator-1", "/v1/disputes", {{"search_id", search_id}})->status, 403);
  json dispute = JsonOf(Post("auditor-1", "/v1/disputes",
                             {{"search_id", search_id},
                              {"rank", 1},
                              {"filed_on_behalf_of", "counsel-ref-4"},
                              {"grounds", "twin brother"},
                              {"remedy_sought", "correction"}}),
                        201);
  const std::string dispute_id = dispute.value("id", "");
  ASSERT_FALSE(dispute_id.empty()) << dispute.dump();
  EXPECT_EQ(dispute["state"], "open");
  RefusalOf(Post("supervisor-1", "/v1/disclosures",
                 {{"search_id", search_id}, {"recipient", "court-ref-1"}}),
            409, "dispute_open");
  const std::string reviews = "/v1/disputes/" + dispute_id + "/reviews";
  RefusalOf(Post("reviewer-1", reviews, {{"vote", "reject"}, {"reason", "I checked it"}}), 403,
            "examiner_took_part", "ABIS-E1301");
  JsonOf(Post("reviewer-3", reviews, {{"vote", "reject"}, {"reason", "features agree"}}), 200);
  json decided =
      JsonOf(Post("reviewer-4", reviews, {{"vote", "uphold"}, {"reason", "doubtful"}}), 200);
  EXPECT_EQ(decided["state"], "upheld");
  EXPECT_EQ(JsonOf(Get("reviewer-1", "/v1/disputes/" + dispute_id), 200)["state"], "upheld");
  json corrected = JsonOf(Get("supervisor-1", "/v1/identifications/" + search_id), 200);
  EXPECT_NE(corrected["candidates"][0]["state"], "CONFIRMED") << corrected.dump();
  RefusalOf(Get("auditor-1", "/v1/disputes/no-such-dispute"), 404, "dispute_unknown");
  EXPECT_EQ(CountEvents("gov.dispute.open", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.disclosure.export", "failed_precondition", "dispute_open"), 1);
  EXPECT_EQ(CountEvents("gov.dispute.review", "permission_denied", "examiner_took_part"), 1);
}

TEST_F(GovernanceHttpTest, QualityGateNeedsAnExaminersOverride) {
  std::string authority = GrantedAuthority();
  // A blurred, dark copy of the probe: below the floor of 20.
  cv::Mat poor = testing::DecodeBgr(testing::ReadBytes(testing::SamplePhotoPath(2)));
  cv::blur(poor, poor, cv::Size(9, 9));
  poor.convertTo(poor, -1, 0.35, 0);
  std::vector<std::uint8_t> bytes = testing::EncodeJpeg(poor);
  json body = SearchBody(authority);
  body["image"] = Base64(bytes);
  json refused = RefusalOf(Post("operator-1", "/v1/identifications", body), 409,
                           "probe_quality_below_floor", "ABIS-E1401");
  EXPECT_EQ(refused.dump().find("candidates"), std::string::npos);
  // The probe hash, as the engine's sealed probe will be checked against it.
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  std::string probe_sha256;
  for (unsigned char b : digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    probe_sha256 += kHex[b >> 4];
    probe_sha256 += kHex[b & 15];
  }
  json request = {{"authority_id", authority},
                  {"probe_sha256", probe_sha256},
                  {"probe_quality", 10},
                  {"reason", "only image of the suspect; examiner judged it usable"}};
  // Operators cannot override their own gate; examiners can, with a reason.
  EXPECT_EQ(Post("operator-1", "/v1/quality-overrides", request)->status, 403);
  json granted = JsonOf(Post("reviewer-3", "/v1/quality-overrides", request), 201);
  body["quality_override_id"] = granted.value("id", "");
  json found = JsonOf(Post("operator-1", "/v1/identifications", body), 200);
  EXPECT_EQ(found["quality_override_id"], granted["id"]);
  // Single use.
  RefusalOf(Post("operator-1", "/v1/identifications", body), 409, "probe_quality_below_floor");
  EXPECT_EQ(CountEvents("gov.quality.override", "ok"), 1);
  EXPECT_EQ(CountEvents("gov.search.authorise", "failed_precondition", "probe_quality_below_floor"),
            2);
}

TEST_F(GovernanceHttpTest, NoRouteExistsForExcludedCapabilities) {
  // Search without authority: refused, not routed elsewhere.
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody("")), 403, "authority_missing",
            "ABIS-E1001");
  // Plausible paths for sweeps, disabling the log, per-group thresholds,
  // bulk export: none is routed (404), or the path exists for another
  // method only (404/405).
  const std::vector<std::pair<std::string, std::string>> excluded = {
      {"POST", "/v1/identifications/sweep"},
      {"POST", "/v1/galleries/custody/sweep"},
      {"POST", "/v1/search"},
      {"POST", "/v1/search/all"},
      {"GET", "/v1/identifications"},
      {"POST", "/v1/watchlists"},
      {"POST", "/v1/streams"},
      {"DELETE", "/v1/audit/events"},
      {"POST", "/v1/audit/disable"},
      {"DELETE", "/v1/audit"},
      {"POST", "/v1/config"},
      {"POST", "/v1/thresholds"},
      {"POST", "/v1/thresholds/demographic"},
      {"POST", "/v1/demographics"},
      {"GET", "/v1/exports"},
      {"POST", "/v1/exports/bulk"},
      {"DELETE", "/v1/suspension/audit"},
      {"POST", "/v1/authorities/blanket"},
  };
  for (const auto& [method, path] : excluded) {
    SCOPED_TRACE(method + " " + path);
    for (const char* who : {"admin-1", "supervisor-1"}) {
      httplib::Result result = method == "GET" ? Get(who, path)
                               : method == "DELETE"
                                   ? client_->Delete(path.c_str(), Auth(tokens_[who]))
                                   : Post(who, path, json::object());
      ASSERT_TRUE(result);
      EXPECT_TRUE(result->status == 404 || result->status == 405) << result->status;
    }
  }
  // Named-all galleries are not a wildcard either.
  std::string authority = GrantedAuthority();
  for (const char* all : {"*", "all", "custody*"}) {
    EXPECT_EQ(Post("operator-1", "/v1/identifications", SearchBody(authority, {all}))->status, 403)
        << all;
  }
}

TEST_F(GovernanceHttpTest, IdentityListingIsAGovernedConsultation) {
  // Listing a gallery names an authority covering it and its case.
  RefusalOf(ListIdentities("operator-1", "custody", ""), 403, "authority_missing", "ABIS-E1001");
  RefusalOf(ListIdentities("operator-1", "custody", "no-such-authority"), 403, "authority_unknown",
            "ABIS-E1001");
  std::string id = GrantedAuthority();
  RefusalOf(ListIdentities("operator-1", "custody-b", id), 403, "authority_scope_gallery",
            "ABIS-E1003");
  RefusalOf(ListIdentities("operator-1", "custody", id, "case-other"), 403, "authority_scope_case",
            "ABIS-E1003");
  json listed = JsonOf(ListIdentities("operator-1", "custody", id), 200);
  EXPECT_EQ(listed["gallery"], "custody");
  std::set<std::string> identities;
  for (const json& identity : listed["identities"]) identities.insert(identity.get<std::string>());
  EXPECT_EQ(identities, (std::set<std::string>{"alice", "bob"})) << listed.dump();
  JsonOf(ListIdentities("reviewer-1", "custody", id), 200);
  // A consultation does not count against the authority's searches.
  EXPECT_EQ(JsonOf(Get("operator-1", "/v1/authorities/" + id), 200)["searches_used"], 0);
  // Auditors and admins do not consult galleries (route role table); the
  // one who granted the authority cannot consult under it either.
  for (const char* who : {"auditor-1", "admin-1", "authoriser-1"}) {
    RefusalOf(ListIdentities(who, "custody", id), 403, "role");
  }
  // No gallery: a bad request, before any authority check.
  EXPECT_EQ(Get("operator-1", "/v1/identities?authority_id=" + id)->status, 400);

  const std::vector<json> events = AuditEvents();
  for (const char* reason : {"authority_missing", "authority_unknown", "authority_scope_gallery",
                             "authority_scope_case"}) {
    EXPECT_EQ(CountEvents(events, "gov.gallery.consult", "permission_denied", reason), 1) << reason;
  }
  EXPECT_EQ(CountEvents(events, "gov.gallery.consult", "ok"), 2);
  // The server's own request event carries the reason too.
  EXPECT_EQ(CountEvents(events, "identity.list", "permission_denied", "reason=authority_missing"),
            1);
  EXPECT_EQ(CountEvents(events, "identity.list", "ok"), 2);
}

TEST_F(GovernanceHttpTest, VerificationNeedsEncounterReferenceAndLegalBasis) {
  json body = {{"gallery", "custody"},
               {"identity", "alice"},
               {"encounter_reference", "encounter-2026-77"},
               {"legal_basis", kDefaultLegalBasis},
               {"image", probe_base64_}};
  json no_reference = body;
  no_reference.erase("encounter_reference");
  json refused = RefusalOf(Post("operator-1", "/v1/verifications", no_reference), 403,
                           "encounter_reference_required", "ABIS-E1101");
  EXPECT_FALSE(refused.contains("score")) << refused.dump();
  json no_basis = body;
  no_basis.erase("legal_basis");
  RefusalOf(Post("operator-1", "/v1/verifications", no_basis), 403, "legal_basis_not_allowed",
            "ABIS-E1101");
  json unknown_basis = body;
  unknown_basis["legal_basis"] = "because-we-can";
  RefusalOf(Post("operator-1", "/v1/verifications", unknown_basis), 403, "legal_basis_not_allowed",
            "ABIS-E1101");
  json unregistered = body;
  unregistered["gallery"] = "unregistered-gallery";
  RefusalOf(Post("operator-1", "/v1/verifications", unregistered), 403, "gallery_not_registered",
            "ABIS-E1101");
  // The same request as multipart/form-data fields.
  std::vector<std::uint8_t> probe_bytes;
  ASSERT_TRUE(DecodeProbe(probe_bytes));
  httplib::MultipartFormDataItems form = {
      {"gallery", "custody", "", ""},
      {"identity", "alice", "", ""},
      {"encounter_reference", "encounter-2026-78", "", ""},
      {"legal_basis", kDefaultLegalBasis, "", ""},
      {"image", std::string(probe_bytes.begin(), probe_bytes.end()), "probe.jpg", "image/jpeg"}};
  json by_form = JsonOf(client_->Post("/v1/verifications", Auth(tokens_["operator-1"]), form), 200);
  EXPECT_TRUE(by_form.contains("score")) << by_form.dump();
  json verified = JsonOf(Post("operator-1", "/v1/verifications", body), 200);
  EXPECT_EQ(verified["meets_threshold"], true) << verified.dump();
  EXPECT_FALSE(HasMatchField(verified)) << verified.dump();
  // Reviewers and auditors do not verify (route role table).
  RefusalOf(Post("reviewer-1", "/v1/verifications", body), 403, "role");

  const std::vector<json> events = AuditEvents();
  for (const char* reason : {"encounter_reference_required", "gallery_not_registered"}) {
    EXPECT_EQ(CountEvents(events, "gov.verification.authorise", "permission_denied", reason), 1)
        << reason;
  }
  EXPECT_EQ(CountEvents(events, "gov.verification.authorise", "permission_denied",
                        "legal_basis_not_allowed"),
            2);
  EXPECT_EQ(CountEvents(events, "gov.verification.authorise", "ok", "legal_basis="), 2);
  EXPECT_EQ(CountEvents(events, "verify", "permission_denied", "reason=legal_basis_not_allowed"),
            2);
  EXPECT_EQ(CountEvents(events, "verify", "ok"), 2);
}

TEST_F(GovernanceHttpTest, SignedAuthorityImportAndRevocation) {
  // An authority issued by a court system, signed with its trusted key.
  json record = AuthorityBody({"custody"}, /*max_searches=*/3);
  record["kind"] = "court_order";
  record["reference"] = "CO-2026-9";
  record["issuing_body"] = "High Court";
  const std::string payload = record.dump();
  json good = {{"payload_json", payload},
               {"signature_hex", court_->Sign(payload)},
               {"public_key_hex", court_->PublicHex()}};
  // Only a supervisor or authoriser imports (an operator may not).
  RefusalOf(Post("operator-1", "/v1/authorities", good), 403, "role_cannot_import_authority");
  // A signature that does not cover the payload.
  json tampered = good;
  std::string changed = payload;
  std::size_t at = changed.find("\"max_searches\":3");
  ASSERT_NE(at, std::string::npos) << payload;
  changed.replace(at, 16, "\"max_searches\":9");
  tampered["payload_json"] = changed;
  RefusalOf(Post("supervisor-1", "/v1/authorities", tampered), 403, "authority_signature_invalid");
  // A key the deployment does not trust, even with a valid signature.
  CourtKey stranger;
  json untrusted = {{"payload_json", payload},
                    {"signature_hex", stranger.Sign(payload)},
                    {"public_key_hex", stranger.PublicHex()}};
  RefusalOf(Post("supervisor-1", "/v1/authorities", untrusted), 403, "authority_key_not_trusted");
  // A garbled signature.
  json garbled = good;
  garbled["signature_hex"] = "zz";
  RefusalOf(Post("supervisor-1", "/v1/authorities", garbled), 403, "authority_signature_invalid");

  json imported = JsonOf(Post("supervisor-1", "/v1/authorities", good), 201);
  const std::string id = imported.value("id", "");
  ASSERT_FALSE(id.empty()) << imported.dump();
  EXPECT_EQ(imported["state"], "granted");
  EXPECT_EQ(imported["imported_by"], "supervisor-1");
  EXPECT_EQ(imported["decided_by"], "external:" + court_->PublicHex().substr(0, 16));
  EXPECT_EQ(imported["reference"], "CO-2026-9") << imported.dump();
  EXPECT_EQ(imported["kind"], "court_order");
  // An operator searches and consults under it; the importer cannot search.
  RefusalOf(Post("supervisor-1", "/v1/identifications", SearchBody(id)), 403,
            "authoriser_cannot_search");
  json found = Search(id);
  EXPECT_FALSE(found.value("id", "").empty()) << found.dump();
  JsonOf(ListIdentities("operator-1", "custody", id), 200);

  // Revocation: authorisers only, with a reason; then nothing runs under it.
  EXPECT_EQ(Post("operator-1", "/v1/authorities/" + id + "/revoke", {{"reason", "x"}})->status,
            403);
  EXPECT_EQ(Post("supervisor-1", "/v1/authorities/" + id + "/revoke", {{"reason", "x"}})->status,
            403);
  RefusalOf(Post("authoriser-1", "/v1/authorities/" + id + "/revoke", json::object()), 400,
            "reason_required");
  RefusalOf(Post("authoriser-1", "/v1/authorities/no-such-authority/revoke",
                 {{"reason", "court withdrew the order"}}),
            404, "authority_unknown");
  json revoked = JsonOf(Post("authoriser-1", "/v1/authorities/" + id + "/revoke",
                             {{"reason", "court withdrew the order"}}),
                        200);
  EXPECT_EQ(revoked["state"], "revoked");
  EXPECT_EQ(JsonOf(Get("auditor-1", "/v1/authorities/" + id), 200)["state"], "revoked");
  RefusalOf(Post("operator-1", "/v1/identifications", SearchBody(id)), 403, "authority_revoked",
            "ABIS-E1002");
  RefusalOf(ListIdentities("operator-1", "custody", id), 403, "authority_revoked", "ABIS-E1002");
  RefusalOf(Post("authoriser-1", "/v1/authorities/" + id + "/revoke", {{"reason", "again"}}), 409,
            "authority_not_granted");

  const std::vector<json> events = AuditEvents();
  EXPECT_EQ(CountEvents(events, "gov.authority.import", "ok", court_->PublicHex()), 1);
  EXPECT_EQ(CountEvents(events, "gov.authority.import", "permission_denied",
                        "role_cannot_import_authority"),
            1);
  EXPECT_EQ(CountEvents(events, "gov.authority.import", "permission_denied",
                        "authority_signature_invalid"),
            2);
  EXPECT_EQ(
      CountEvents(events, "gov.authority.import", "permission_denied", "authority_key_not_trusted"),
      1);
  EXPECT_EQ(CountEvents(events, "authority.create", "permission_denied",
                        "reason=authority_signature_invalid"),
            2);
  EXPECT_EQ(CountEvents(events, "gov.authority.revoke", "ok", "court withdrew the order"), 1);
  EXPECT_EQ(CountEvents(events, "gov.authority.revoke", "invalid_argument", "reason_required"), 1);
  EXPECT_EQ(CountEvents(events, "gov.search.authorise", "permission_denied", "authority_revoked"),
            1);
  EXPECT_EQ(CountEvents(events, "gov.gallery.consult", "permission_denied", "authority_revoked"),
            1);
}

// `abis serve` started as a user starts it, with governance flags; stopped
// with SIGTERM on destruction.
class ServeProcess {
 public:
  ServeProcess(const std::string& data_dir, const std::string& flags) : log_(data_dir + ".log") {
    // Built before fork: the child only execs.
    const std::string command = "exec " + std::string(ABIS_CLI_PATH) + " serve --data " + data_dir +
                                " --listen 127.0.0.1:0 --quiet --models " + testing::ModelDir() +
                                " " + flags + " >" + log_ + " 2>&1";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // The port once the server listens; 0 when it exited or did not start in time.
  int WaitForPort() {
    const std::string marker = "listening on http://127.0.0.1:";
    for (int i = 0; i < 2400 && pid_ > 0; ++i) {
      std::string log = Log();
      std::size_t at = log.find(marker);
      if (at != std::string::npos) return std::atoi(log.c_str() + at + marker.size());
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

TEST(ServeGovernanceFlagsTest, FlagsSetLegalBasesQualityFloorAndUrgencyDeadline) {
  if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
  if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
  testing::ScratchDir scratch("gov_serve_flags");
  const std::string abis = ABIS_CLI_PATH;
  // Out-of-range values are refused before anything starts.
  for (const char* flag :
       {"--urgency-deadline-hours 72", "--urgency-deadline-hours 0", "--probe-quality-floor 101"}) {
    auto refused = testing::RunCommand(abis + " serve --data " + scratch.File("refused") +
                                       " --listen 127.0.0.1:0 --quiet " + flag + " 2>&1");
    EXPECT_NE(refused.exit_code, 0) << flag << ": " << refused.output;
    EXPECT_FALSE(std::filesystem::exists(scratch.File("refused") + "/governance.db")) << flag;
  }

  ServeProcess serve(scratch.File("data"),
                     "--legal-basis police-act-s4,consent-of-subject --probe-quality-floor 0 "
                     "--urgency-deadline-hours 48");
  const int port = serve.WaitForPort();
  ASSERT_GT(port, 0) << serve.Log();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  std::ifstream token_file(scratch.File("data") + "/bootstrap-token");
  std::string bootstrap;
  std::getline(token_file, bootstrap);
  std::map<std::string, std::string> tokens;
  for (const char* name : {"operator-1", "supervisor-1"}) {
    std::string role(name, std::string(name).find('-'));
    json body = {{"name", name}, {"role", role}};
    tokens[name] =
        JsonOf(client.Post("/v1/tokens", Auth(bootstrap), body.dump(), "application/json"), 201)
            .value("token", "");
  }
  auto post = [&](const std::string& who, const std::string& path, const json& body) {
    return client.Post(path.c_str(), Auth(tokens[who]), body.dump(), "application/json");
  };
  auto registration = [](const std::string& legal_basis) {
    return CustodyRegistration("custody", legal_basis);
  };
  // --legal-basis replaces the default list.
  RefusalOf(post("supervisor-1", "/v1/galleries/registrations", registration(kDefaultLegalBasis)),
            403, "legal_basis_not_allowed", "ABIS-E1101");
  JsonOf(post("supervisor-1", "/v1/galleries/registrations", registration("police-act-s4")), 201);
  std::vector<std::uint8_t> photo = testing::ReadBytes(testing::SamplePhotoPath(2));
  JsonOf(post("operator-1", "/v1/enrolments",
              {{"gallery", "custody"}, {"identity", "alice"}, {"image", Base64(photo)}}),
         201);
  json verification = {{"gallery", "custody"},
                       {"identity", "alice"},
                       {"encounter_reference", "encounter-1"},
                       {"legal_basis", kDefaultLegalBasis},
                       {"image", Base64(photo)}};
  RefusalOf(post("operator-1", "/v1/verifications", verification), 403, "legal_basis_not_allowed",
            "ABIS-E1101");
  verification["legal_basis"] = "consent-of-subject";
  JsonOf(post("operator-1", "/v1/verifications", verification), 200);

  // --urgency-deadline-hours 48: an urgent request may be searched under
  // for 48 hours before it must be granted.
  auto now = std::chrono::system_clock::now();
  json request = {{"kind", "warrant"},
                  {"reference", "W-2026-18"},
                  {"issuing_body", "District Court"},
                  {"legal_basis", "police-act-s4"},
                  {"urgent", true},
                  {"justification", "imminent threat; court not reachable"},
                  {"scope",
                   {{"galleries", {"custody"}},
                    {"modalities", {"face"}},
                    {"purpose", "serious_crime_suspect"},
                    {"case_id", kCase},
                    {"offence_code", "robbery"},
                    {"max_penalty_years", 10},
                    {"not_before", governance::FormatTime(now - std::chrono::hours(1))},
                    {"not_after", governance::FormatTime(now + std::chrono::hours(24 * 30))},
                    {"max_searches", 2}}}};
  json urgent = JsonOf(post("operator-1", "/v1/authorities", request), 201);
  ASSERT_TRUE(urgent["urgency_deadline"].is_string()) << urgent.dump();
  auto requested_at = governance::ParseTime(urgent.value("requested_at", ""));
  auto deadline = governance::ParseTime(urgent.value("urgency_deadline", ""));
  ASSERT_TRUE(requested_at.ok() && deadline.ok()) << urgent.dump();
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::hours>(*deadline - *requested_at).count(), 48)
      << urgent.dump();

  // --probe-quality-floor 0: a dark, blurred probe (refused at the fixture's
  // floor of 20 in QualityGateNeedsAnExaminersOverride) is searched without
  // an examiner's override.
  cv::Mat poor = testing::DecodeBgr(photo);
  cv::blur(poor, poor, cv::Size(9, 9));
  poor.convertTo(poor, -1, 0.35, 0);
  json search = {{"authority_id", urgent.value("id", "")},
                 {"galleries", {"custody"}},
                 {"case_id", kCase},
                 {"image", Base64(testing::EncodeJpeg(poor))}};
  json found = JsonOf(post("operator-1", "/v1/identifications", search), 200);
  EXPECT_LT(found.value("probe_quality", 100.0), 20.0) << found.dump();
  EXPECT_EQ(found.value("quality_override_id", ""), "") << found.dump();
}

}  // namespace
}  // namespace abis::server
