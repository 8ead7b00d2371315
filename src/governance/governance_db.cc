#include "governance/governance_db.h"

#include <utility>

#include <sqlite3.h>

namespace abis::governance {
namespace {

Status SqlError(sqlite3* db, const char* what) {
  return UnavailableError(std::string("governance.db: ") + what + ": " + sqlite3_errmsg(db));
}

// A prepared statement finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }
  void BindText(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int index, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void BindInt(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  std::string ColumnBytes(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<GovernanceDb>> GovernanceDb::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<GovernanceDb> db(new GovernanceDb(raw));
  if (rc != SQLITE_OK) return SqlError(raw, "open");
  sqlite3_busy_timeout(raw, 5000);
  const char* setup[] = {
      "PRAGMA journal_mode = WAL",
      "PRAGMA synchronous = FULL",
      "PRAGMA secure_delete = ON",
      "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL, "
      "body TEXT NOT NULL, PRIMARY KEY (kind, id))",
      "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
      "CREATE TABLE IF NOT EXISTS data_keys (seal_id INTEGER PRIMARY KEY, nonce BLOB NOT NULL, "
      "wrapped BLOB NOT NULL)",
      "CREATE TABLE IF NOT EXISTS sealed (seal_id INTEGER NOT NULL, part TEXT NOT NULL, "
      "blob BLOB NOT NULL, PRIMARY KEY (seal_id, part))",
  };
  for (const char* sql : setup) ABIS_RETURN_IF_ERROR(db->Exec(sql));
  return db;
}

GovernanceDb::~GovernanceDb() { sqlite3_close(db_); }

Status GovernanceDb::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error == nullptr ? "unknown" : error;
    sqlite3_free(error);
    return UnavailableError("governance.db: " + message);
  }
  return Status::Ok();
}

Status GovernanceDb::Begin() { return Exec("BEGIN IMMEDIATE"); }
Status GovernanceDb::Commit() { return Exec("COMMIT"); }
void GovernanceDb::Rollback() { (void)Exec("ROLLBACK"); }

Status GovernanceDb::PutObject(const std::string& kind, const std::string& id,
                               const std::string& body) {
  Statement stmt(db_,
                 "INSERT INTO objects (kind, id, body) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body");
  if (!stmt.ok()) return SqlError(db_, "prepare put");
  stmt.BindText(1, kind);
  stmt.BindText(2, id);
  stmt.BindText(3, body);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db_, "put");
  return Status::Ok();
}

Result<std::optional<std::string>> GovernanceDb::GetObject(const std::string& kind,
                                                           const std::string& id) {
  Statement stmt(db_, "SELECT body FROM objects WHERE kind = ?1 AND id = ?2");
  if (!stmt.ok()) return SqlError(db_, "prepare get");
  stmt.BindText(1, kind);
  stmt.BindText(2, id);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get");
  return std::optional<std::string>(stmt.ColumnBytes(0));
}

Result<std::vector<std::string>> GovernanceDb::ListObjects(const std::string& kind) {
  Statement stmt(db_, "SELECT body FROM objects WHERE kind = ?1 ORDER BY rowid");
  if (!stmt.ok()) return SqlError(db_, "prepare list");
  stmt.BindText(1, kind);
  std::vector<std::string> bodies;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) bodies.push_back(stmt.ColumnBytes(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "list");
  return bodies;
}

Result<std::int64_t> GovernanceDb::NextCounter(const std::string& name) {
  Statement stmt(db_,
                 "INSERT INTO counters (name, value) VALUES (?1, 1) "
                 "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value");
  if (!stmt.ok()) return SqlError(db_, "prepare counter");
  stmt.BindText(1, name);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return SqlError(db_, "counter");
  std::int64_t value = sqlite3_column_int64(stmt.get(), 0);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db_, "counter");
  return value;
}

Status GovernanceDb::PutKey(std::int64_t seal_id, const WrappedKeyRow& row) {
  Statement stmt(db_, "INSERT INTO data_keys (seal_id, nonce, wrapped) VALUES (?1, ?2, ?3)");
  if (!stmt.ok()) return SqlError(db_, "prepare key");
  stmt.BindInt(1, seal_id);
  stmt.BindBlob(2, row.nonce);
  stmt.BindBlob(3, row.wrapped);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db_, "key");
  return Status::Ok();
}

Result<std::optional<GovernanceDb::WrappedKeyRow>> GovernanceDb::GetKey(std::int64_t seal_id) {
  Statement stmt(db_, "SELECT nonce, wrapped FROM data_keys WHERE seal_id = ?1");
  if (!stmt.ok()) return SqlError(db_, "prepare key");
  stmt.BindInt(1, seal_id);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<WrappedKeyRow>();
  if (rc != SQLITE_ROW) return SqlError(db_, "key");
  return std::optional<WrappedKeyRow>(WrappedKeyRow{stmt.ColumnBytes(0), stmt.ColumnBytes(1)});
}

Status GovernanceDb::EraseSeal(std::int64_t seal_id) {
  for (const char* sql :
       {"DELETE FROM data_keys WHERE seal_id = ?1", "DELETE FROM sealed WHERE seal_id = ?1"}) {
    Statement stmt(db_, sql);
    if (!stmt.ok()) return SqlError(db_, "prepare erase");
    stmt.BindInt(1, seal_id);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db_, "erase");
  }
  return Status::Ok();
}

Status GovernanceDb::PutSealed(std::int64_t seal_id, const std::string& part,
                               const std::string& blob) {
  Statement stmt(db_,
                 "INSERT INTO sealed (seal_id, part, blob) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (seal_id, part) DO UPDATE SET blob = excluded.blob");
  if (!stmt.ok()) return SqlError(db_, "prepare sealed");
  stmt.BindInt(1, seal_id);
  stmt.BindText(2, part);
  stmt.BindBlob(3, blob);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db_, "sealed");
  return Status::Ok();
}

Result<std::optional<std::string>> GovernanceDb::GetSealed(std::int64_t seal_id,
                                                           const std::string& part) {
  Statement stmt(db_, "SELECT blob FROM sealed WHERE seal_id = ?1 AND part = ?2");
  if (!stmt.ok()) return SqlError(db_, "prepare sealed");
  stmt.BindInt(1, seal_id);
  stmt.BindText(2, part);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqlError(db_, "sealed");
  return std::optional<std::string>(stmt.ColumnBytes(0));
}

Status GovernanceDb::Checkpoint() {
  Statement stmt(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  if (!stmt.ok()) return SqlError(db_, "prepare checkpoint");
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "checkpoint");
  return Status::Ok();
}

}  // namespace abis::governance
