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
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <sodium.h>

#include "governance/disclosure.h"
#include "governance/governance_types.h"
#include "server/http_server.h"
#include "src/testing/scratch_dir.h"
#include "tests/integration/test_photos.h"

namespace abis::server {
namespace {

using nlohmann::json;

constexpr char kCase[] = "case-2026-0042";

// The governance clock: real time plus an offset the test advances.
std::atomic<std::int64_t> g_clock_offset_hours{0};
governance::TimePoint Now() {
  return std::chrono::system_clock::now() + std::chrono::hours(g_clock_offset_hours.load());
}

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

json JsonOf(const httplib::Result& result, int http_status) {
  EXPECT_TRUE(result) << "no response";
  if (!result) return {};
  EXPECT_EQ(result->status, http_status) << result->body;
  return json::parse(result->body, nullptr, false);
}

// A governance refusal: status, error shape, stable reason and ABIS code.
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
    ServerOptions options;
    options.data_dir = scratch_->File("data");
    options.host = "127.0.0.1";
    options.port = 0;
    options.model_dir = testing::ModelDir();
    options.rate_limit_per_minute = 0;
    options.access_log = false;
    options.governance.clock = Now;
    // The sample photos score about 29; the quality gate itself is covered in
    // QualityGateNeedsAnExaminersOverride with a darker probe.
    options.governance.probe_quality_floor = 20;
    auto server = HttpServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = new std::thread([] { (void)server_->Serve(); });
    for (int i = 0; i < 500 && !server_->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto client = Client();
    std::string bootstrap = server_->bootstrap_token();
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
      json registration = {{"name", gallery},
                           {"legal_basis", kDefaultLegalBasis},
                           {"provenance", "custody_record"},
                           {"subject_category", "suspect"},
                           {"original_purpose", "custody photographs"},
                           {"retention_rule", "review every 12 months"},
                           {"review_interval_days", 365},
                           {"owner", "records-unit"}};
      JsonOf(Post(*client, "supervisor-1", "/v1/galleries/registrations", registration), 201);
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
    if (server_ != nullptr) {
      server_->Stop();
      thread_->join();
      delete thread_;
      delete server_;
    }
    server_ = nullptr;
    delete scratch_;
    scratch_ = nullptr;
    tokens_.clear();
  }

  void SetUp() override {
    if (!testing::FaceModelAvailable()) GTEST_SKIP() << "face model missing: run scripts/build.sh";
    if (!std::filesystem::exists(testing::SamplePhotoPath(2))) GTEST_SKIP() << "photos missing";
    ASSERT_NE(server_, nullptr);
    client_ = Client();
  }

  static std::unique_ptr<httplib::Client> Client() {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(120, 0);
    return client;
  }

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

  static testing::ScratchDir* scratch_;
  static HttpServer* server_;
  static std::thread* thread_;
  static int port_;
  static std::map<std::string, std::string> tokens_;
  static std::string probe_base64_;
  std::unique_ptr<httplib::Client> client_;
};

testing::ScratchDir* GovernanceHttpTest::scratch_ = nullptr;
HttpServer* GovernanceHttpTest::server_ = nullptr;
std::thread* GovernanceHttpTest::thread_ = nullptr;
int GovernanceHttpTest::port_ = 0;
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

}  // namespace
}  // namespace abis::server
