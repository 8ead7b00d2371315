// governance_db.h
//
// The governance core's own SQLite file (DIR/governance.db), apart from the
// gallery store: authorities, galleries, searches, disputes and the like as
// JSON documents keyed by (kind, id), plus the wrapped per-search data keys
// and the sealed blobs (probe, candidate list) they open. WAL journal,
// synchronous=FULL (a committed change survives power loss) and
// secure_delete=ON (a deleted wrapped key is overwritten, not left in a free
// page), so deleting a key row really crypto-erases its blobs; Checkpoint()
// also folds the WAL back so no copy lingers there.
//
// Thread safety: none; the Governance class serialises access.

#ifndef ABIS_GOVERNANCE_GOVERNANCE_DB_H_
#define ABIS_GOVERNANCE_GOVERNANCE_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abis/status.h"

struct sqlite3;

namespace abis::governance {

class GovernanceDb {
 public:
  // Opens or creates the file. Unavailable on I/O errors.
  static Result<std::unique_ptr<GovernanceDb>> Open(const std::string& path);
  ~GovernanceDb();
  GovernanceDb(const GovernanceDb&) = delete;
  GovernanceDb& operator=(const GovernanceDb&) = delete;

  Status Begin();
  Status Commit();
  void Rollback();

  Status PutObject(const std::string& kind, const std::string& id, const std::string& body);
  Result<std::optional<std::string>> GetObject(const std::string& kind, const std::string& id);
  // Bodies of every object of `kind`, in creation order.
  Result<std::vector<std::string>> ListObjects(const std::string& kind);

  // 1, 2, 3, ... per counter name, durable with the enclosing transaction.
  Result<std::int64_t> NextCounter(const std::string& name);

  struct WrappedKeyRow {
    std::string nonce;
    std::string wrapped;
  };
  Status PutKey(std::int64_t seal_id, const WrappedKeyRow& row);
  Result<std::optional<WrappedKeyRow>> GetKey(std::int64_t seal_id);
  // Deletes the key and every sealed blob of `seal_id`.
  Status EraseSeal(std::int64_t seal_id);
  Status PutSealed(std::int64_t seal_id, const std::string& part, const std::string& blob);
  Result<std::optional<std::string>> GetSealed(std::int64_t seal_id, const std::string& part);

  // PRAGMA wal_checkpoint(TRUNCATE): moves committed pages into the main
  // file and empties the WAL.
  Status Checkpoint();

 private:
  explicit GovernanceDb(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  sqlite3* db_;
};

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_GOVERNANCE_DB_H_
