// governance_internal.h
//
// Private to src/governance: the Governance implementation state, the
// stored form of a search, and the JSON (de)serialisation of every record
// kept in governance.db. Not part of the library's interface.
//
// Thread safety: callers hold Governance::mutex_.

#ifndef ABIS_GOVERNANCE_GOVERNANCE_INTERNAL_H_
#define ABIS_GOVERNANCE_GOVERNANCE_INTERNAL_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "governance/disclosure.h"
#include "governance/governance.h"
#include "governance/governance_db.h"
#include "governance/governance_json.h"

namespace abis::governance {

// A search as stored: the public view without the candidate identities
// (those are sealed), plus review bookkeeping.
struct SearchRecord {
  SearchView view;  // view.candidates is always empty in storage.
  std::int64_t seal_id = 0;
  bool sealed = false;                 // Data key present (probe and candidate list readable).
  std::vector<CandidateState> states;  // Per rank - 1.
  std::vector<std::vector<ReviewRecord>> reviews;  // Per rank - 1.
  std::map<std::string, std::set<int>> opened;     // Examiner -> ranks opened.
  std::set<std::string> open_disputes;
  std::vector<std::uint64_t> audit_seqs;
  bool urgent = false;
};

struct DisclosureRecord {
  std::string id;
  std::string search_id;
  std::string recipient;
  std::string exported_by;
  std::string package_sha256;
  TimePoint exported_at;
};

// Kinds in the objects table.
inline constexpr char kKindAuthority[] = "authority";
inline constexpr char kKindGallery[] = "gallery";
inline constexpr char kKindSearch[] = "search";
inline constexpr char kKindOverride[] = "quality_override";
inline constexpr char kKindDispute[] = "dispute";
inline constexpr char kKindErasure[] = "erasure";
inline constexpr char kKindDisclosure[] = "disclosure";
inline constexpr char kKindSuspension[] = "suspension";

Result<GalleryRecord> GalleryFromJson(const nlohmann::json& json);
Result<Authority> AuthorityFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const SearchRecord& record);
Result<SearchRecord> SearchFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const CandidateInput& candidate);
Result<CandidateInput> CandidateInputFromJson(const nlohmann::json& json);
Result<QualityOverride> OverrideFromJson(const nlohmann::json& json);
Result<Dispute> DisputeFromJson(const nlohmann::json& json);
Result<ErasureRecord> ErasureFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const DisclosureRecord& record);
Result<DisclosureRecord> DisclosureFromJson(const nlohmann::json& json);
Result<Suspension> SuspensionFromJson(const nlohmann::json& json);

struct Governance::Impl {
  GovernanceOptions options;
  AuditSink* audit = nullptr;
  std::unique_ptr<GovernanceDb> db;
  std::optional<SecretKey> master_key;
  SigningKey signing_key;
  std::optional<nlohmann::json> model_card;

  TimePoint Now() const { return options.clock(); }

  // ---- Audit ----
  // Appends; Unavailable "audit_unavailable" when it cannot.
  Result<std::uint64_t> Audit(const Actor& actor, const std::string& action,
                              std::vector<std::string> object_ids, std::string details,
                              std::map<std::string, std::string> hashes = {},
                              const std::string& result = "ok");
  // Audits a refusal and returns it (or audit_unavailable).
  Status Refuse(const Actor& actor, const std::string& action, std::vector<std::string> object_ids,
                Status refusal);

  // ---- Storage ----
  template <typename T, typename FromJson>
  Result<std::optional<T>> Load(const char* kind, const std::string& id, FromJson from_json) {
    ABIS_ASSIGN_OR_RETURN(std::optional<std::string> body, db->GetObject(kind, id));
    if (!body) return std::optional<T>();
    nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
    if (j.is_discarded()) return DataLossError(std::string("governance.db: corrupt ") + kind);
    Result<T> value = from_json(j);
    if (!value.ok()) return DataLossError("governance.db: " + value.status().message());
    return std::optional<T>(std::move(*value));
  }
  template <typename T, typename FromJson>
  Result<std::vector<T>> LoadAll(const char* kind, FromJson from_json) {
    ABIS_ASSIGN_OR_RETURN(std::vector<std::string> bodies, db->ListObjects(kind));
    std::vector<T> out;
    for (const std::string& body : bodies) {
      Result<T> value = from_json(nlohmann::json::parse(body, nullptr, false));
      if (!value.ok()) return DataLossError("governance.db: " + value.status().message());
      out.push_back(std::move(*value));
    }
    return out;
  }
  Status Store(const char* kind, const std::string& id, const nlohmann::json& body);
  Result<std::optional<Authority>> LoadAuthority(const std::string& id);
  Result<std::optional<SearchRecord>> LoadSearch(const std::string& id);
  Result<std::optional<GalleryRecord>> LoadGallery(const std::string& name);
  Result<std::vector<SearchRecord>> AllSearches();
  Result<std::vector<Authority>> AllAuthorities();
  Result<Suspension> CurrentSuspension();

  // ---- Sealing ----
  Status SealSearch(SearchRecord& record, const std::vector<std::uint8_t>& probe,
                    const std::vector<CandidateInput>& candidates);
  Result<std::vector<CandidateInput>> OpenCandidates(const SearchRecord& record);
  Result<std::vector<std::uint8_t>> OpenProbeBytes(const SearchRecord& record);
  // Crypto-erases the search's data key and blobs inside the open
  // transaction, records the erasure and its audit event; appends the
  // erasure to `erased` when given (the purge report).
  Status EraseSearchData(SearchRecord& record, const Actor& actor, const std::string& rule,
                         std::vector<ErasureRecord>* erased = nullptr);

  // ---- Shared workflow pieces ----
  // Expires overdue urgent requests (stopping and purging their searches)
  // and authorities past their window. Returns the ids expired; the
  // erasures it made are appended to `erased` when given.
  Result<std::vector<std::string>> ProcessDeadlines(std::vector<ErasureRecord>* erased = nullptr);
  // Stops every active search of `authority` and purges it (inside a tx).
  Result<int> PurgeSearchesOf(const Authority& authority, const Actor& actor,
                              const std::string& rule,
                              std::vector<ErasureRecord>* erased = nullptr);
  // Authority validity + scope for `galleries`/`case_id`; no counting.
  Status CheckAuthorityScope(const Actor& actor, const Authority& authority,
                             const std::vector<std::string>& galleries, const std::string& case_id);
  // Public view; candidates decrypted when allowed. Reviews of others are
  // hidden from an examiner who has not decided that candidate.
  Result<SearchView> MakeView(const SearchRecord& record, const Actor* viewer,
                              bool with_candidates);
  // Closes an in-review search whose candidates are all decided.
  Status MaybeClose(SearchRecord& record, const Actor& actor);
};

// Runs `body` in a transaction: commit on OK, roll back otherwise.
template <typename Body>
Status InTransaction(GovernanceDb& db, Body body) {
  ABIS_RETURN_IF_ERROR(db.Begin());
  Status status = body();
  if (!status.ok()) {
    db.Rollback();
    return status;
  }
  Status committed = db.Commit();
  if (!committed.ok()) db.Rollback();
  return committed;
}

// "prefix-" + 16 random hex digits.
std::string NewId(const std::string& prefix);

bool IsLowerHex64(const std::string& text);

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_GOVERNANCE_INTERNAL_H_
