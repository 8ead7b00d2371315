// End to end over the real AuditLog: authority requested and granted ->
// search recorded -> two reviews -> confirmed -> disclosure package verified
// offline (and every tampering detected) -> retention expiry -> erasure
// proven (the data key is gone from the database files, no plaintext probe
// was ever in them) -> the audit log still verifies.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "governance/disclosure.h"
#include "governance/governance.h"
#include "governance/governance_test_fixture.h"

namespace abis::governance::test {
namespace {

using std::chrono::hours;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every byte of governance.db and its WAL / journal files.
std::string DatabaseBytes(const std::string& dir) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    std::string path = dir + "/governance.db" + suffix;
    if (std::filesystem::exists(path)) all += ReadFile(path);
  }
  return all;
}

struct KeyRow {
  std::string wrapped;
  int rows = 0;
};

// Reads the wrapped data keys straight from the file, as an attacker with
// the disk (and a backup of the master key) would.
KeyRow ReadWrappedKeys(const std::string& dir) {
  KeyRow out;
  sqlite3* db = nullptr;
  std::string path = dir + "/governance.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT wrapped FROM data_keys", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ++out.rows;
    out.wrapped.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                       sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Calls `visit` with a pointer to every leaf (string, number, bool) of `j`.
void ForEachLeaf(nlohmann::json& j, const std::string& path,
                 const std::function<void(nlohmann::json&, const std::string&)>& visit) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) ForEachLeaf(value, path + "/" + key, visit);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      ForEachLeaf(j[i], path + "/" + std::to_string(i), visit);
  } else {
    visit(j, path);
  }
}

void Mutate(nlohmann::json& leaf) {
  if (leaf.is_string()) {
    std::string s = leaf.get<std::string>();
    leaf = s.empty() ? std::string("x") : s.substr(0, s.size() - 1) + (s.back() == '0' ? "1" : "0");
  } else if (leaf.is_boolean()) {
    leaf = !leaf.get<bool>();
  } else if (leaf.is_number_integer() || leaf.is_number_unsigned()) {
    leaf = leaf.get<std::int64_t>() + 1;
  } else if (leaf.is_number_float()) {
    leaf = leaf.get<double>() * 0.5 + 0.125;
  } else if (leaf.is_null()) {
    leaf = 0;
  }
}

class EndToEndTest : public GovernanceFixture {};

TEST_F(EndToEndTest, AuthorityToErasureWithOfflineVerifiedDisclosure) {
  // 1. Authority: requested by the operator, granted by an authoriser.
  auto requested = gov_->CreateAuthority(operator_, Request());
  ASSERT_TRUE(requested.ok()) << requested.status().ToString();
  ASSERT_TRUE(gov_->GrantAuthority(authoriser_, requested->id, "probable cause shown").ok());

  // 2. Search recorded; the probe is sealed, never stored in clear.
  SearchView search = RunSearch(requested->id, 42, 3);
  ASSERT_EQ(search.state, SearchState::kInReview);
  const std::vector<std::uint8_t> probe = Probe(42);
  const std::string probe_window(probe.begin() + 100, probe.begin() + 164);
  EXPECT_EQ(DatabaseBytes(dir_.path()).find(probe_window), std::string::npos);
  EXPECT_EQ(DatabaseBytes(dir_.path()).find("person-100"), std::string::npos);

  // 3. Two reviews -> rank 1 CONFIRMED, the search MATCHED and retained.
  SearchView closed = ConfirmFirst(search);
  ASSERT_EQ(closed.state, SearchState::kMatched);
  EXPECT_EQ(closed.candidates[0].state, CandidateState::kConfirmed);
  auto probe_back = gov_->OpenProbe(examiner1_, search.id);
  ASSERT_TRUE(probe_back.ok());
  EXPECT_EQ(*probe_back, probe);

  // 4. Disclosure package, exported (and audited), verified offline.
  DisclosureRequest request{search.id, "court-registry-district-4", "trial disclosure", false};
  ExpectRefused(gov_->ExportDisclosure(operator_, request).status(), StatusCode::kPermissionDenied,
                "role_cannot_disclose", "gov.disclosure.export");
  DisclosureRequest with_image = request;
  with_image.include_probe_image = true;
  ExpectRefused(gov_->ExportDisclosure(supervisor_, with_image).status(),
                StatusCode::kPermissionDenied, "probe_image_not_allowed", "gov.disclosure.export");
  auto exported = gov_->ExportDisclosure(supervisor_, request);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  AuditEvent export_event = LastEvent();
  EXPECT_EQ(export_event.action, "gov.disclosure.export");
  EXPECT_EQ(export_event.hashes.at("package_sha256"), exported->package_sha256);
  EXPECT_EQ(Sha256Hex(exported->package_json), exported->package_sha256);

  const std::string signer = gov_->disclosure_public_key_hex();
  const std::string audit_key = log_->public_key_hex();
  DisclosureVerifyReport report;
  Status verified = VerifyDisclosurePackage(exported->package_json, signer, audit_key, &report);
  ASSERT_TRUE(verified.ok()) << verified.ToString() << " " << report.reason;
  EXPECT_EQ(report.search_id, search.id);
  // request + grant + authorise + result + 6 opens + 6 reviews + confirm + exclude x2 + close.
  EXPECT_GE(report.audit_events_verified, 18u);

  nlohmann::json package = nlohmann::json::parse(exported->package_json);
  EXPECT_EQ(package["format"], kDisclosureFormat);
  EXPECT_EQ(package["authority"]["id"], requested->id);
  EXPECT_EQ(package["authority"]["decided_by"], authoriser_.name);
  EXPECT_EQ(package["probe"]["sha256"], Sha256Hex(probe));
  EXPECT_FALSE(package["probe"].contains("image_base64"));
  ASSERT_EQ(package["candidates"].size(), 3u);
  EXPECT_EQ(package["candidates"][0]["rank"], 1);
  EXPECT_EQ(package["candidates"][0]["state"], "CONFIRMED");
  EXPECT_TRUE(package["candidates"][0]["fmr"].is_number());
  EXPECT_EQ(package["candidates"][0]["reviews"].size(), 2u);
  EXPECT_EQ(package["algorithm"]["algorithm"], "face/dlib-resnet-v1");
  EXPECT_EQ(package["algorithm"]["model_card"]["metrics"]["fnir_at_rank_20"], 0.02);
  EXPECT_FALSE(package.contains("match"));
  EXPECT_FALSE(package["candidates"][0].contains("match"));
  EXPECT_NE(package["marking"].get<std::string>().find("not an identification"), std::string::npos);

  // Any change to any field breaks verification.
  int leaves = 0;
  ForEachLeaf(package, "", [&](nlohmann::json& leaf, const std::string& path) {
    nlohmann::json saved = leaf;
    Mutate(leaf);
    ++leaves;
    EXPECT_FALSE(VerifyDisclosurePackage(package.dump(), signer, audit_key).ok())
        << "tampering " << path << " went unnoticed";
    leaf = saved;
  });
  EXPECT_GT(leaves, 200);
  ASSERT_TRUE(VerifyDisclosurePackage(package.dump(), signer, audit_key).ok());
  // Dropping a candidate, or the whole audit section, also fails.
  nlohmann::json dropped = package;
  dropped["candidates"].erase(2);
  EXPECT_FALSE(VerifyDisclosurePackage(dropped.dump(), signer, audit_key).ok());
  // A package re-signed by anyone else fails against the pinned key...
  nlohmann::json forged = package;
  forged.erase("signature");
  forged["candidates"][0]["score"] = 0.999;
  auto other_key = SigningKeyFromSeedHex(std::string(64, 'b'));
  ASSERT_TRUE(other_key.ok());
  ASSERT_TRUE(SignDisclosurePackage(forged, *other_key).ok());
  EXPECT_FALSE(VerifyDisclosurePackage(forged.dump(), signer, audit_key).ok());
  EXPECT_TRUE(VerifyDisclosurePackage(forged.dump(), other_key->public_key_hex, audit_key).ok());
  // ...and even the deployment's own key cannot rewrite history: an audit
  // event altered and re-signed no longer matches the log's Merkle tree.
  nlohmann::json rewritten = package;
  rewritten.erase("signature");
  rewritten["audit"]["events"][1]["event"]["actor"] = "someone-else";
  auto deployment_key = SigningKeyFromSeedHex(std::string(64, 'a'));
  ASSERT_TRUE(deployment_key.ok());
  ASSERT_TRUE(SignDisclosurePackage(rewritten, *deployment_key).ok());
  DisclosureVerifyReport rewritten_report;
  EXPECT_FALSE(
      VerifyDisclosurePackage(rewritten.dump(), signer, audit_key, &rewritten_report).ok());
  EXPECT_NE(rewritten_report.reason.find("not proven"), std::string::npos);

  // 5. Retention expiry crypto-erases the probe and candidate list.
  KeyRow before = ReadWrappedKeys(dir_.path());
  ASSERT_EQ(before.rows, 1);
  ASSERT_FALSE(before.wrapped.empty());
  EXPECT_NE(DatabaseBytes(dir_.path()).find(before.wrapped), std::string::npos);
  now_ += hours(24 * 30) + std::chrono::seconds(1);
  auto purge = gov_->RunRetention(supervisor_);
  ASSERT_TRUE(purge.ok()) << purge.status().ToString();
  ASSERT_EQ(purge->erased.size(), 1u);
  EXPECT_EQ(purge->erased[0].rule, "retention_expired");

  // 6. Erasure proven: no wrapped key row, its bytes nowhere in the files
  //    (secure_delete + WAL checkpoint), no plaintext probe or identity.
  KeyRow after = ReadWrappedKeys(dir_.path());
  EXPECT_EQ(after.rows, 0);
  std::string bytes = DatabaseBytes(dir_.path());
  EXPECT_EQ(bytes.find(before.wrapped), std::string::npos);
  EXPECT_EQ(bytes.find(probe_window), std::string::npos);
  EXPECT_EQ(bytes.find("person-100"), std::string::npos);
  EXPECT_EQ(GovernanceReason(gov_->OpenProbe(examiner1_, search.id).status()),
            "search_data_erased");
  // The audit log holds no probe bytes either, and still verifies.
  EXPECT_EQ(ReadFile(dir_.path() + "/audit/events.log").find(probe_window), std::string::npos);
  VerifyReport audit_report;
  Status audit_ok = VerifyAuditLog(dir_.path(), &audit_report);
  EXPECT_TRUE(audit_ok.ok()) << audit_ok.ToString() << " " << audit_report.reason;
  // The earlier disclosure still verifies offline after erasure.
  EXPECT_TRUE(VerifyDisclosurePackage(exported->package_json, signer, audit_key).ok());
  // And a later disclosure says what was erased rather than failing.
  auto later = gov_->ExportDisclosure(supervisor_, request);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  nlohmann::json later_package = nlohmann::json::parse(later->package_json);
  EXPECT_EQ(later_package["candidates"][0]["erased"], true);
  EXPECT_EQ(later_package["candidates"][0]["identity"], "");
  EXPECT_TRUE(VerifyDisclosurePackage(later->package_json, signer, audit_key).ok());
}

class ProbeImagePolicyTest : public GovernanceFixture {
 protected:
  void Configure(GovernanceOptions& options) override {
    options.disclosure_may_include_probe_image = true;
  }
};

TEST_F(ProbeImagePolicyTest, ImageIncludedOnlyWhenPolicyAllows) {
  Authority a = Issued();
  SearchView s = ConfirmFirst(RunSearch(a.id, 3, 2));
  DisclosureRequest request{s.id, "court-registry-1", "trial", true};
  auto exported = gov_->ExportDisclosure(supervisor_, request);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  nlohmann::json package = nlohmann::json::parse(exported->package_json);
  ASSERT_TRUE(package["probe"].contains("image_base64"));
  EXPECT_FALSE(package["probe"]["image_base64"].get<std::string>().empty());
  EXPECT_NE(LastEvent().details.find("probe_image=1"), std::string::npos);
  EXPECT_TRUE(VerifyDisclosurePackage(exported->package_json, gov_->disclosure_public_key_hex(),
                                      log_->public_key_hex())
                  .ok());
}

}  // namespace
}  // namespace abis::governance::test
