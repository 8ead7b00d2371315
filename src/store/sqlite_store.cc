#include "store/sqlite_store.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <unordered_map>
#include <utility>

#include <sodium.h>
#include <sqlite3.h>

#include "store/record_crypto.h"
#include "templates/template_codec.h"

namespace abis {
namespace {

Status SealPlaintextTemplates(internal::SqliteConnection& connection, const SecretKey& master_key);

constexpr std::size_t kMaxGalleryNameBytes = 64;
constexpr std::size_t kMaxIdentityIdBytes = 128;
constexpr std::size_t kSha256HexBytes = 64;

// Migrations are append-only: a released step is never edited, a schema
// change is a new step (docs/store.md).
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE galleries (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

CREATE TABLE identities (
  id INTEGER PRIMARY KEY,
  gallery_id INTEGER NOT NULL REFERENCES galleries(id) ON DELETE CASCADE,
  external_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (gallery_id, external_id)
);

-- AUTOINCREMENT: reference ids appear in audit records and search indexes,
-- so an id must never be handed out again after its row is deleted.
CREATE TABLE biometric_references (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
  modality INTEGER NOT NULL CHECK (modality IN (1, 2)),
  algorithm TEXT NOT NULL,
  model_digest TEXT NOT NULL,
  quality REAL NOT NULL,
  template BLOB NOT NULL,
  source_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE INDEX biometric_references_by_identity
  ON biometric_references (identity_id, modality);
)sql";

// Encryption at rest: the template column now holds sealed templates
// (record_crypto.h), each under its own data key, kept wrapped by the master
// key in record_keys. SealPlaintextTemplates seals the rows of a version-1
// store in the same transaction.
constexpr std::string_view kMigration2 = R"sql(
ALTER TABLE biometric_references RENAME COLUMN template TO sealed_template;

-- One row per reference; deleting the reference deletes its key.
CREATE TABLE record_keys (
  reference_id INTEGER PRIMARY KEY REFERENCES biometric_references(id) ON DELETE CASCADE,
  nonce BLOB NOT NULL,
  wrapped_key BLOB NOT NULL
);

-- Proves that a later open uses the master key the store was sealed with.
CREATE TABLE master_key_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  check_value BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql";

constexpr std::array<SchemaMigration, 2> kBuiltinMigrations = {{
    {1, kMigration1, nullptr},
    {2, kMigration2, &SealPlaintextTemplates},
}};

constexpr std::string_view kCreateSchemaMigrations =
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";
constexpr std::string_view kCountTable =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
constexpr std::string_view kCountUserObjects =
    "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
constexpr std::string_view kSelectSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kInsertSchemaVersion =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)";

constexpr std::string_view kInsertGallery =
    "INSERT INTO galleries (name, created_at) VALUES (?1, ?2)";
constexpr std::string_view kSelectGalleryId = "SELECT id FROM galleries WHERE name = ?1";
constexpr std::string_view kDeleteGallery = "DELETE FROM galleries WHERE name = ?1";
constexpr std::string_view kSelectGalleryInfo =
    "SELECT g.name, g.created_at,"
    " (SELECT COUNT(*) FROM identities i WHERE i.gallery_id = g.id),"
    " (SELECT COUNT(*) FROM biometric_references r JOIN identities i ON i.id = r.identity_id"
    "  WHERE i.gallery_id = g.id)"
    " FROM galleries g WHERE g.name = ?1";
constexpr std::string_view kSelectAllGalleryInfo =
    "SELECT g.name, g.created_at,"
    " (SELECT COUNT(*) FROM identities i WHERE i.gallery_id = g.id),"
    " (SELECT COUNT(*) FROM biometric_references r JOIN identities i ON i.id = r.identity_id"
    "  WHERE i.gallery_id = g.id)"
    " FROM galleries g ORDER BY g.name";

constexpr std::string_view kSelectIdentityId =
    "SELECT id FROM identities WHERE gallery_id = ?1 AND external_id = ?2";
constexpr std::string_view kInsertIdentity =
    "INSERT INTO identities (gallery_id, external_id, created_at) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectIdentities =
    "SELECT external_id FROM identities WHERE gallery_id = ?1 ORDER BY external_id";
constexpr std::string_view kDeleteIdentity = "DELETE FROM identities WHERE id = ?1";

constexpr std::string_view kSelectGalleryModel =
    "SELECT r.algorithm, r.model_digest FROM biometric_references r"
    " JOIN identities i ON i.id = r.identity_id"
    " WHERE i.gallery_id = ?1 AND r.modality = ?2 LIMIT 1";
// The sealed template binds the reference id, which exists only after the
// insert: the row starts with an empty blob and is sealed in the same
// transaction.
constexpr std::string_view kInsertReference =
    "INSERT INTO biometric_references (identity_id, modality, algorithm, model_digest, quality,"
    " sealed_template, source_sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5, x'', ?6, ?7)";
constexpr std::string_view kUpdateSealedTemplate =
    "UPDATE biometric_references SET sealed_template = ?2 WHERE id = ?1";
constexpr std::string_view kInsertRecordKey =
    "INSERT INTO record_keys (reference_id, nonce, wrapped_key) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectGalleryReferences =
    "SELECT r.id, i.external_id, r.modality, r.algorithm, r.model_digest, r.sealed_template,"
    " r.identity_id, k.nonce, k.wrapped_key"
    " FROM biometric_references r JOIN identities i ON i.id = r.identity_id"
    " LEFT JOIN record_keys k ON k.reference_id = r.id"
    " WHERE i.gallery_id = ?1 AND r.modality = ?2 ORDER BY r.id";
constexpr std::string_view kSelectIdentityReferences =
    "SELECT r.id, i.external_id, r.modality, r.algorithm, r.model_digest, r.sealed_template,"
    " r.identity_id, k.nonce, k.wrapped_key"
    " FROM biometric_references r JOIN identities i ON i.id = r.identity_id"
    " LEFT JOIN record_keys k ON k.reference_id = r.id"
    " WHERE r.identity_id = ?1 AND r.modality = ?2 ORDER BY r.id";

// Migration 2's data step walks the version-1 rows one at a time by id.
constexpr std::string_view kSelectNextPlaintextReference =
    "SELECT id, identity_id, modality, algorithm, model_digest, sealed_template"
    " FROM biometric_references WHERE id > ?1 ORDER BY id LIMIT 1";

constexpr std::string_view kSelectMasterKeyCheck =
    "SELECT check_value FROM master_key_check WHERE id = 1";
constexpr std::string_view kInsertMasterKeyCheck =
    "INSERT INTO master_key_check (id, check_value, created_at) VALUES (1, ?1, ?2)";

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string UtcNow() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  const auto seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return buffer;
}

// Translates an SQLite result code. `db` supplies the detailed message when
// the code is its most recent error.
Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  std::string detail = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) detail = sqlite3_errmsg(db);
  std::string message = std::string(context) + ": " + detail;
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExistsError(std::move(message));
      }
      return FailedPreconditionError(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return UnavailableError(std::move(message));
    case SQLITE_NOTADB:
      return FailedPreconditionError(
          std::string(context) + ": the file is not an SQLite database (file is not a database)");
    case SQLITE_CORRUPT:
      return DataLossError(std::move(message));
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return ResourceExhaustedError(std::move(message));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDeniedError(std::move(message));
    case SQLITE_TOOBIG:
      return InvalidArgumentError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Status ValidateSourceSha256(std::string_view digest) {
  bool valid = digest.size() == kSha256HexBytes;
  for (char c : digest) valid = valid && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!valid) {
    return InvalidArgumentError(
        "source_sha256 must be 64 lower-case hex digits (the SHA-256 "
        "of the capture file)");
  }
  return Status::Ok();
}

// A prepared statement borrowed from the connection's cache. Destruction
// resets it and clears its bindings, ready for the next borrower.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use)
      : db_(db), stmt_(stmt), in_use_(in_use) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_),
        stmt_(std::exchange(other.stmt_, nullptr)),
        in_use_(std::exchange(other.in_use_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }

  Status BindInt64(int index, std::int64_t value) {
    return Check(sqlite3_bind_int64(stmt_, index, value));
  }
  Status BindDouble(int index, double value) {
    return Check(sqlite3_bind_double(stmt_, index, value));
  }
  Status BindText(int index, std::string_view text) {
    return Check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT));
  }
  Status BindBlob(int index, std::string_view bytes) {
    return Check(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                                   SQLITE_TRANSIENT));
  }

  // True when a row is ready, false when the statement has finished.
  Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(rc, db_, "SQLite");
  }
  // Runs a statement that returns no rows.
  Status Run() {
    ABIS_ASSIGN_OR_RETURN(bool has_row, Step());
    if (has_row) return InternalError("SQLite statement unexpectedly returned a row");
    return Status::Ok();
  }
  // Runs a statement expected to return exactly one row and reads column 0.
  Result<std::int64_t> QueryInt64() {
    ABIS_ASSIGN_OR_RETURN(bool has_row, Step());
    if (!has_row) return InternalError("SQLite query returned no row");
    return ColumnInt64(0);
  }

  std::int64_t ColumnInt64(int column) { return sqlite3_column_int64(stmt_, column); }
  bool ColumnIsNull(int column) { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string ColumnText(int column) {
    const auto* text = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
  }
  // Valid until the next Step() or the statement's destruction.
  std::span<const std::uint8_t> ColumnBlob(int column) {
    // sqlite3_column_blob first: sqlite3_column_bytes then reports its size.
    const void* blob = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (blob == nullptr) return {};
    return {static_cast<const std::uint8_t*>(blob), static_cast<std::size_t>(size)};
  }

 private:
  Status Check(int rc) { return rc == SQLITE_OK ? Status::Ok() : SqliteStatus(rc, db_, "SQLite"); }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

}  // namespace

namespace internal {

// One SQLite connection with its statement cache. Not thread-safe: the
// owning SqliteStore serialises access.
class SqliteConnection {
 public:
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path,
                                                        std::span<const SchemaMigration> migrations,
                                                        const SecretKey& master_key);

  ~SqliteConnection() {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Borrows the cached statement for `sql`, preparing it on first use.
  // REQUIRES: `sql` has static storage duration (the cache keys on it).
  Result<Statement> Prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteStatus(rc, db_, "prepare");
      it = cache_.emplace(sql, CachedStatement{stmt, false}).first;
    }
    if (it->second.in_use) return InternalError("SQLite statement borrowed twice");
    it->second.in_use = true;
    return Statement(db_, it->second.stmt, &it->second.in_use);
  }

  // Runs every statement of a parameterless script (migrations).
  Status ExecScript(std::string_view sql) {
    const char* cursor = sql.data();
    const char* const end = sql.data() + sql.size();
    while (cursor < end) {
      sqlite3_stmt* stmt = nullptr;
      const char* next = nullptr;
      int rc = sqlite3_prepare_v2(db_, cursor, static_cast<int>(end - cursor), &stmt, &next);
      if (rc != SQLITE_OK) return SqliteStatus(rc, db_, "prepare");
      if (stmt == nullptr) break;  // Only whitespace or comments were left.
      do {
        rc = sqlite3_step(stmt);
      } while (rc == SQLITE_ROW);
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return SqliteStatus(rc, db_, "execute");
      cursor = next;
    }
    return Status::Ok();
  }

  // Runs a statement that needs no parameters and returns no rows.
  Status Exec(std::string_view sql) {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(sql));
    return statement.Run();
  }

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }
  int schema_version() const { return schema_version_; }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt;
    bool in_use;
  };

  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  Status Configure();
  // Sets `*sealed_plaintext` when a data step rewrote existing rows.
  Status Migrate(std::span<const SchemaMigration> migrations, const SecretKey& master_key,
                 bool* sealed_plaintext);
  Status CheckMasterKey(const SecretKey& master_key, const std::string& now);

 public:
  // Best effort, after deletions and upgrades: copies the WAL into the
  // database file and truncates it, so superseded page images (which may
  // hold deleted data keys, or plaintext from before an upgrade) do not
  // linger in the -wal file. Skipped while readers hold old snapshots.
  void TruncateWal();

 private:
  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  std::unordered_map<std::string_view, CachedStatement> cache_;
};

}  // namespace internal

namespace {

using internal::SqliteConnection;

// An SQLite transaction that rolls back unless committed. Write transactions
// take the write lock up front (BEGIN IMMEDIATE): a deferred transaction
// that later upgrades can fail with SQLITE_BUSY without the busy handler
// ever waiting.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };

  static Result<Transaction> Begin(SqliteConnection& connection, Kind kind) {
    ABIS_RETURN_IF_ERROR(
        connection.Exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
    return Transaction(&connection);
  }

  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  ~Transaction() {
    // Some errors (e.g. SQLITE_FULL) roll back by themselves; ROLLBACK
    // would then fail, so only issue it while a transaction is open.
    if (connection_ != nullptr && sqlite3_get_autocommit(connection_->db()) == 0) {
      (void)connection_->Exec("ROLLBACK");
    }
  }

  Status Commit() {
    ABIS_RETURN_IF_ERROR(connection_->Exec("COMMIT"));
    connection_ = nullptr;
    return Status::Ok();
  }

 private:
  explicit Transaction(SqliteConnection* connection) : connection_(connection) {}

  SqliteConnection* connection_;
};

Result<std::int64_t> FindGalleryId(SqliteConnection& connection, const std::string& gallery) {
  ABIS_RETURN_IF_ERROR(ValidateGalleryName(gallery));
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kSelectGalleryId));
  ABIS_RETURN_IF_ERROR(statement.BindText(1, gallery));
  ABIS_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return NotFoundError("gallery " + Quoted(gallery) + " not found");
  return statement.ColumnInt64(0);
}

Result<std::int64_t> FindIdentityId(SqliteConnection& connection, std::int64_t gallery_id,
                                    const std::string& gallery, const std::string& external_id) {
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kSelectIdentityId));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, gallery_id));
  ABIS_RETURN_IF_ERROR(statement.BindText(2, external_id));
  ABIS_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) {
    return NotFoundError("identity " + Quoted(external_id) + " not found in gallery " +
                         Quoted(gallery));
  }
  return statement.ColumnInt64(0);
}

Result<std::int64_t> FindOrCreateIdentity(SqliteConnection& connection, std::int64_t gallery_id,
                                          const std::string& gallery,
                                          const std::string& external_id, const std::string& now) {
  Result<std::int64_t> existing = FindIdentityId(connection, gallery_id, gallery, external_id);
  if (existing.ok() || existing.status().code() != StatusCode::kNotFound) return existing;
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kInsertIdentity));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, gallery_id));
  ABIS_RETURN_IF_ERROR(statement.BindText(2, external_id));
  ABIS_RETURN_IF_ERROR(statement.BindText(3, now));
  ABIS_RETURN_IF_ERROR(statement.Run());
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(connection.db()));
}

Result<GalleryInfo> ReadGalleryInfoRow(Statement& statement) {
  GalleryInfo info;
  info.name = statement.ColumnText(0);
  info.created_at = statement.ColumnText(1);
  info.identity_count = statement.ColumnInt64(2);
  info.reference_count = statement.ColumnInt64(3);
  return info;
}

// The (algorithm, model_digest) that references of one modality in a gallery
// must share.
struct ModelKey {
  std::string algorithm;
  std::string model_digest;
};

// Enforces one model per (gallery, modality). `pinned` remembers what this
// batch has already checked or inserted, so each modality queries the
// database once per batch.
Status CheckSameModel(SqliteConnection& connection, std::int64_t gallery_id,
                      const std::string& gallery, const TemplateHeader& header,
                      std::map<Modality, ModelKey>& pinned) {
  auto it = pinned.find(header.modality);
  if (it == pinned.end()) {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kSelectGalleryModel));
    ABIS_RETURN_IF_ERROR(statement.BindInt64(1, gallery_id));
    ABIS_RETURN_IF_ERROR(statement.BindInt64(2, static_cast<std::int64_t>(header.modality)));
    ABIS_ASSIGN_OR_RETURN(bool found, statement.Step());
    ModelKey key = found ? ModelKey{statement.ColumnText(0), statement.ColumnText(1)}
                         : ModelKey{header.algorithm, header.model_digest};
    it = pinned.emplace(header.modality, std::move(key)).first;
  }
  const ModelKey& expected = it->second;
  if (expected.algorithm != header.algorithm || expected.model_digest != header.model_digest) {
    return FailedPreconditionError(
        "gallery " + Quoted(gallery) + " holds " + std::string(ModalityName(header.modality)) +
        " references from algorithm " + Quoted(expected.algorithm) + " with model " +
        Quoted(expected.model_digest) + "; this template is from algorithm " +
        Quoted(header.algorithm) + " with model " + Quoted(header.model_digest) +
        " (a model change needs re-enrolment, templates are never mixed)");
  }
  return Status::Ok();
}

// Seals `plaintext` (an encoded template record) into the row of
// `binding.reference_id` under a fresh data key, and stores that key wrapped
// by the master key. `data_key` is scratch space, reused across rows.
Status SealIntoRow(SqliteConnection& connection, const SecretKey& master_key,
                   const TemplateBinding& binding, std::string_view plaintext,
                   SecretKey& data_key) {
  randombytes_buf(data_key.mutable_bytes().data(), SecretKey::kSize);
  const std::string sealed = SealTemplate(data_key, binding, plaintext);
  const WrappedKey wrapped = WrapDataKey(master_key, data_key, binding.reference_id);
  sodium_memzero(data_key.mutable_bytes().data(), SecretKey::kSize);
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kUpdateSealedTemplate));
    ABIS_RETURN_IF_ERROR(statement.BindInt64(1, binding.reference_id));
    ABIS_RETURN_IF_ERROR(statement.BindBlob(2, sealed));
    ABIS_RETURN_IF_ERROR(statement.Run());
  }
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kInsertRecordKey));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, binding.reference_id));
  ABIS_RETURN_IF_ERROR(statement.BindBlob(2, wrapped.nonce));
  ABIS_RETURN_IF_ERROR(statement.BindBlob(3, wrapped.ciphertext));
  return statement.Run();
}

Result<ReferenceRecord> InsertReference(SqliteConnection& connection, std::int64_t gallery_id,
                                        const std::string& gallery, const NewReference& item,
                                        const std::string& now,
                                        std::map<Modality, ModelKey>& pinned,
                                        const SecretKey& master_key, SecretKey& data_key) {
  const TemplateHeader& header = item.tmpl.header;
  ABIS_RETURN_IF_ERROR(CheckSameModel(connection, gallery_id, gallery, header, pinned));
  ABIS_ASSIGN_OR_RETURN(
      std::int64_t identity_id,
      FindOrCreateIdentity(connection, gallery_id, gallery, item.identity_external_id, now));

  ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kInsertReference));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, identity_id));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(2, static_cast<std::int64_t>(header.modality)));
  ABIS_RETURN_IF_ERROR(statement.BindText(3, header.algorithm));
  ABIS_RETURN_IF_ERROR(statement.BindText(4, header.model_digest));
  ABIS_RETURN_IF_ERROR(statement.BindDouble(5, static_cast<double>(header.quality)));
  ABIS_RETURN_IF_ERROR(statement.BindText(6, item.source_sha256));
  ABIS_RETURN_IF_ERROR(statement.BindText(7, now));
  ABIS_RETURN_IF_ERROR(statement.Run());

  ReferenceRecord record;
  record.reference_id = sqlite3_last_insert_rowid(connection.db());
  std::string plaintext = EncodeTemplate(item.tmpl);
  const TemplateBinding binding{record.reference_id, identity_id, header.modality, header.algorithm,
                                header.model_digest};
  Status sealed = SealIntoRow(connection, master_key, binding, plaintext, data_key);
  sodium_memzero(plaintext.data(), plaintext.size());
  ABIS_RETURN_IF_ERROR(sealed);
  record.identity_external_id = item.identity_external_id;
  record.gallery = gallery;
  record.created_at = now;
  record.header = header;
  return record;
}

// `describe_items`: prefix errors with the item index (batch calls).
Result<std::vector<ReferenceRecord>> InsertReferences(SqliteConnection& connection,
                                                      const std::string& gallery,
                                                      std::span<const NewReference> items,
                                                      bool describe_items,
                                                      const SecretKey& master_key) {
  auto item_context = [&](std::size_t index) {
    return describe_items ? "reference item " + std::to_string(index) : std::string("reference");
  };
  // Everything checkable without the database is checked before the write
  // lock is taken.
  ABIS_RETURN_IF_ERROR(ValidateGalleryName(gallery));
  for (std::size_t index = 0; index < items.size(); ++index) {
    const NewReference& item = items[index];
    Status status = ValidateIdentityExternalId(item.identity_external_id);
    if (status.ok()) status = ValidateTemplate(item.tmpl);
    if (status.ok()) status = ValidateSourceSha256(item.source_sha256);
    if (!status.ok()) return status.WithContext(item_context(index));
  }

  const std::string now = UtcNow();
  ABIS_ASSIGN_OR_RETURN(SecretKey data_key, SecretKey::Random());
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(connection, Transaction::Kind::kWrite));
  ABIS_ASSIGN_OR_RETURN(std::int64_t gallery_id, FindGalleryId(connection, gallery));
  std::map<Modality, ModelKey> pinned;
  std::vector<ReferenceRecord> records;
  records.reserve(items.size());
  for (std::size_t index = 0; index < items.size(); ++index) {
    Result<ReferenceRecord> record = InsertReference(connection, gallery_id, gallery, items[index],
                                                     now, pinned, master_key, data_key);
    if (!record.ok()) return record.status().WithContext(item_context(index));
    records.push_back(std::move(record).value());
  }
  ABIS_RETURN_IF_ERROR(transaction.Commit());
  return records;
}

// Plaintext of one template, wiped when it goes out of scope.
class PlaintextBuffer {
 public:
  // Reserved up front so that growing never leaves an unwiped copy behind.
  PlaintextBuffer() { bytes_.reserve(kMaxEncodedTemplateBytes); }
  ~PlaintextBuffer() { sodium_memzero(bytes_.data(), bytes_.size()); }
  PlaintextBuffer(const PlaintextBuffer&) = delete;
  PlaintextBuffer& operator=(const PlaintextBuffer&) = delete;
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads rows of (id, external_id, modality, algorithm, model_digest,
// sealed_template, identity_id, key nonce, wrapped key), opens each sealed
// template and checks the decoded template against its row.
Result<std::vector<StoredReference>> ReadReferenceRows(Statement& statement, Modality modality,
                                                       const SecretKey& master_key) {
  ABIS_ASSIGN_OR_RETURN(SecretKey data_key, SecretKey::Random());
  PlaintextBuffer plaintext;
  std::vector<StoredReference> references;
  while (true) {
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (!has_row) break;
    StoredReference reference;
    reference.reference_id = statement.ColumnInt64(0);
    reference.identity_external_id = statement.ColumnText(1);
    const std::string context = "reference " + std::to_string(reference.reference_id);
    const std::string algorithm = statement.ColumnText(3);
    const std::string model_digest = statement.ColumnText(4);
    const TemplateBinding binding{reference.reference_id, statement.ColumnInt64(6),
                                  static_cast<Modality>(statement.ColumnInt64(2)), algorithm,
                                  model_digest};
    if (statement.ColumnIsNull(8)) {
      return DataLossError(context + ": its data key is missing, so its template cannot be read");
    }
    Status status = UnwrapDataKey(master_key, statement.ColumnBlob(7), statement.ColumnBlob(8),
                                  reference.reference_id, data_key);
    if (status.ok()) {
      status = OpenSealedTemplate(data_key, binding, statement.ColumnBlob(5), plaintext.bytes());
    }
    sodium_memzero(data_key.mutable_bytes().data(), SecretKey::kSize);
    if (!status.ok()) return status.WithContext(context);
    Result<Template> decoded = DecodeTemplate(std::string_view(plaintext.bytes()));
    if (!decoded.ok()) {
      return DataLossError(context +
                           ": stored template does not decode: " + decoded.status().ToString());
    }
    reference.tmpl = std::move(decoded).value();
    const TemplateHeader& header = reference.tmpl.header;
    if (header.modality != modality ||
        statement.ColumnInt64(2) != static_cast<std::int64_t>(modality) ||
        header.algorithm != statement.ColumnText(3) ||
        header.model_digest != statement.ColumnText(4)) {
      return DataLossError(context + ": stored template header disagrees with its row");
    }
    references.push_back(std::move(reference));
  }
  return references;
}

// Migration 2's data step: seals every version-1 plaintext template in place
// and gives it a wrapped data key. Runs inside the migration transaction, so
// either every row is sealed or the store stays at version 1.
Status SealPlaintextTemplates(SqliteConnection& connection, const SecretKey& master_key) {
  ABIS_ASSIGN_OR_RETURN(SecretKey data_key, SecretKey::Random());
  PlaintextBuffer plaintext;
  std::int64_t last_id = 0;
  while (true) {
    TemplateBinding binding;
    std::string algorithm;
    std::string model_digest;
    {
      ABIS_ASSIGN_OR_RETURN(Statement statement, connection.Prepare(kSelectNextPlaintextReference));
      ABIS_RETURN_IF_ERROR(statement.BindInt64(1, last_id));
      ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
      if (!has_row) break;
      binding.reference_id = statement.ColumnInt64(0);
      binding.identity_row_id = statement.ColumnInt64(1);
      binding.modality = static_cast<Modality>(statement.ColumnInt64(2));
      algorithm = statement.ColumnText(3);
      model_digest = statement.ColumnText(4);
      const std::span<const std::uint8_t> blob = statement.ColumnBlob(5);
      plaintext.bytes().assign(reinterpret_cast<const char*>(blob.data()), blob.size());
    }
    binding.algorithm = algorithm;
    binding.model_digest = model_digest;
    Status status = SealIntoRow(connection, master_key, binding, plaintext.bytes(), data_key);
    if (!status.ok()) {
      return status.WithContext("sealing reference " + std::to_string(binding.reference_id));
    }
    last_id = binding.reference_id;
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, std::span<const SchemaMigration> migrations,
    const SecretKey& master_key) {
  if (path.empty()) return InvalidArgumentError("store path is empty");
  for (std::size_t index = 0; index < migrations.size(); ++index) {
    if (migrations[index].version != static_cast<int>(index) + 1) {
      return InvalidArgumentError("schema migrations must be numbered 1, 2, 3, ... in order");
    }
  }

  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  // The handle is owned from here on, even when opening failed.
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db, path));
  const std::string context = "store " + Quoted(path);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db, context);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, SqliteStore::kBusyTimeoutMs);

  ABIS_RETURN_IF_ERROR(connection->Configure().WithContext(context));
  bool sealed_plaintext = false;
  ABIS_RETURN_IF_ERROR(
      connection->Migrate(migrations, master_key, &sealed_plaintext).WithContext(context));
  if (sealed_plaintext) {
    // The upgrade overwrote plaintext templates; VACUUM rebuilds the file so
    // that no free page or slack space still holds them, then the WAL that
    // carried the rebuild is folded back and truncated. The upgrade itself
    // has committed, so a VACUUM refused by a busy writer does not fail the
    // open (docs/store.md, Residual risks).
    (void)connection->Exec("VACUUM");
    connection->TruncateWal();
  }
  return connection;
}

Status SqliteConnection::Configure() {
  // journal_mode is the first statement to read the file, so a file that is
  // not a database fails here.
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare("PRAGMA journal_mode = WAL"));
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    const std::string mode = has_row ? statement.ColumnText(0) : std::string();
    if (mode != "wal" && !(path_ == ":memory:" && mode == "memory")) {
      return UnavailableError("cannot enable the WAL journal (journal_mode is " + Quoted(mode) +
                              ")");
    }
  }
  ABIS_RETURN_IF_ERROR(Exec("PRAGMA synchronous = FULL"));
  {
    // Deleted rows (data keys, sealed templates) are overwritten with zeros
    // instead of lingering in free space.
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare("PRAGMA secure_delete = ON"));
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (!has_row || statement.ColumnInt64(0) != 1) {
      return FailedPreconditionError("this SQLite build cannot enable secure_delete");
    }
  }
  ABIS_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys = ON"));
  // The pragma is silently ignored by builds without foreign keys, and then
  // deletes would not cascade.
  ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare("PRAGMA foreign_keys"));
  ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
  if (!has_row || statement.ColumnInt64(0) != 1) {
    return FailedPreconditionError("this SQLite build does not enforce foreign keys");
  }
  return Status::Ok();
}

Status SqliteConnection::Migrate(std::span<const SchemaMigration> migrations,
                                 const SecretKey& master_key, bool* sealed_plaintext) {
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(*this, Transaction::Kind::kWrite));
  std::int64_t has_migrations_table = 0;
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kCountTable));
    ABIS_RETURN_IF_ERROR(statement.BindText(1, "schema_migrations"));
    ABIS_ASSIGN_OR_RETURN(has_migrations_table, statement.QueryInt64());
  }
  if (has_migrations_table == 0) {
    // Never build our schema inside somebody else's database.
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kCountUserObjects));
    ABIS_ASSIGN_OR_RETURN(std::int64_t user_objects, statement.QueryInt64());
    if (user_objects != 0) {
      return FailedPreconditionError(
          "is an SQLite database but not an abis store (it has no schema_migrations table)");
    }
    ABIS_RETURN_IF_ERROR(ExecScript(kCreateSchemaMigrations));
  }

  std::int64_t current = 0;
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kSelectSchemaVersion));
    ABIS_ASSIGN_OR_RETURN(current, statement.QueryInt64());
  }
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return FailedPreconditionError("schema version " + std::to_string(current) +
                                   " is newer than this build supports (" + std::to_string(latest) +
                                   "); use a newer abis");
  }

  const std::string now = UtcNow();
  for (const SchemaMigration& migration : migrations) {
    if (migration.version <= current) continue;
    const std::string context = "schema migration " + std::to_string(migration.version);
    ABIS_RETURN_IF_ERROR(ExecScript(migration.sql).WithContext(context));
    if (migration.data_step != nullptr) {
      const int changes_before = sqlite3_total_changes(db_);
      ABIS_RETURN_IF_ERROR(migration.data_step(*this, master_key).WithContext(context));
      *sealed_plaintext = *sealed_plaintext || sqlite3_total_changes(db_) != changes_before;
    }
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kInsertSchemaVersion));
    ABIS_RETURN_IF_ERROR(statement.BindInt64(1, migration.version));
    ABIS_RETURN_IF_ERROR(statement.BindText(2, now));
    ABIS_RETURN_IF_ERROR(statement.Run().WithContext(context));
  }
  ABIS_RETURN_IF_ERROR(CheckMasterKey(master_key, now));
  ABIS_RETURN_IF_ERROR(transaction.Commit());
  schema_version_ = std::max(static_cast<int>(current), latest);
  return Status::Ok();
}

Status SqliteConnection::CheckMasterKey(const SecretKey& master_key, const std::string& now) {
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kCountTable));
    ABIS_RETURN_IF_ERROR(statement.BindText(1, "master_key_check"));
    ABIS_ASSIGN_OR_RETURN(std::int64_t has_table, statement.QueryInt64());
    if (has_table == 0) return Status::Ok();  // A schema older than encryption (tests).
  }
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kSelectMasterKeyCheck));
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (has_row) {
      if (!VerifyMasterKeyCheck(master_key, statement.ColumnBlob(0))) {
        return PermissionDeniedError(
            "the master key does not open this store (it was sealed with another key); give"
            " the key it was created with (--key, ABIS_MASTER_KEY_FILE or ABIS_MASTER_KEY)");
      }
      return Status::Ok();
    }
  }
  ABIS_ASSIGN_OR_RETURN(Statement statement, Prepare(kInsertMasterKeyCheck));
  ABIS_RETURN_IF_ERROR(statement.BindBlob(1, MakeMasterKeyCheck(master_key)));
  ABIS_RETURN_IF_ERROR(statement.BindText(2, now));
  return statement.Run();
}

void SqliteConnection::TruncateWal() {
  if (path_ == ":memory:") return;
  Result<Statement> statement = Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  if (statement.ok()) (void)statement->Step();
}

}  // namespace internal

Status ValidateGalleryName(std::string_view name) {
  bool valid = !name.empty() && name.size() <= kMaxGalleryNameBytes;
  for (char c : name) {
    valid = valid && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-');
  }
  if (!valid) {
    return InvalidArgumentError("gallery name " + Quoted(name) + " must be 1.." +
                                std::to_string(kMaxGalleryNameBytes) +
                                " characters of [A-Za-z0-9_.-]");
  }
  return Status::Ok();
}

Status ValidateIdentityExternalId(std::string_view external_id) {
  bool valid = !external_id.empty() && external_id.size() <= kMaxIdentityIdBytes &&
               external_id.front() != ' ' && external_id.back() != ' ';
  for (char c : external_id) valid = valid && c >= 0x20 && c <= 0x7E;
  if (!valid) {
    // The id is not echoed: it may hold control characters.
    return InvalidArgumentError("identity id must be 1.." + std::to_string(kMaxIdentityIdBytes) +
                                " printable ASCII characters without leading or trailing spaces");
  }
  return Status::Ok();
}

SqliteStore::SqliteStore(std::unique_ptr<internal::SqliteConnection> connection,
                         SecretKey master_key)
    : connection_(std::move(connection)), master_key_(std::move(master_key)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       SecretKey master_key) {
  return OpenWithMigrations(path, std::move(master_key), BuiltinMigrations());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenWithMigrations(
    const std::string& path, SecretKey master_key, std::span<const SchemaMigration> migrations) {
  ABIS_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteConnection> connection,
                        internal::SqliteConnection::Open(path, migrations, master_key));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(connection), std::move(master_key)));
}

std::span<const SchemaMigration> SqliteStore::BuiltinMigrations() { return kBuiltinMigrations; }

Result<GalleryInfo> SqliteStore::CreateGallery(const std::string& name) {
  ABIS_RETURN_IF_ERROR(ValidateGalleryName(name));
  std::lock_guard<std::mutex> lock(mutex_);
  GalleryInfo info;
  info.name = name;
  info.created_at = UtcNow();
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kInsertGallery));
  ABIS_RETURN_IF_ERROR(statement.BindText(1, name));
  ABIS_RETURN_IF_ERROR(statement.BindText(2, info.created_at));
  Status status = statement.Run();
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("gallery " + Quoted(name) + " already exists");
  }
  ABIS_RETURN_IF_ERROR(status);
  return info;
}

Result<GalleryInfo> SqliteStore::GetGallery(const std::string& name) const {
  ABIS_RETURN_IF_ERROR(ValidateGalleryName(name));
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kSelectGalleryInfo));
  ABIS_RETURN_IF_ERROR(statement.BindText(1, name));
  ABIS_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return NotFoundError("gallery " + Quoted(name) + " not found");
  return ReadGalleryInfoRow(statement);
}

Result<std::vector<GalleryInfo>> SqliteStore::ListGalleries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kSelectAllGalleryInfo));
  std::vector<GalleryInfo> galleries;
  while (true) {
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (!has_row) break;
    ABIS_ASSIGN_OR_RETURN(GalleryInfo info, ReadGalleryInfoRow(statement));
    galleries.push_back(std::move(info));
  }
  return galleries;
}

Status SqliteStore::DeleteGallery(const std::string& name) {
  ABIS_RETURN_IF_ERROR(ValidateGalleryName(name));
  std::lock_guard<std::mutex> lock(mutex_);
  // One statement is one transaction; the cascades to identities and
  // references run inside it.
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kDeleteGallery));
  ABIS_RETURN_IF_ERROR(statement.BindText(1, name));
  ABIS_RETURN_IF_ERROR(statement.Run());
  if (sqlite3_changes(connection_->db()) == 0) {
    return NotFoundError("gallery " + Quoted(name) + " not found");
  }
  connection_->TruncateWal();
  return Status::Ok();
}

Result<ReferenceRecord> SqliteStore::AddReference(const std::string& gallery,
                                                  const std::string& identity_external_id,
                                                  const Template& tmpl,
                                                  const std::string& source_sha256) {
  const NewReference item{identity_external_id, tmpl, source_sha256};
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(std::vector<ReferenceRecord> records,
                        InsertReferences(*connection_, gallery, {&item, 1},
                                         /*describe_items=*/false, master_key_));
  return std::move(records.front());
}

Result<std::vector<ReferenceRecord>> SqliteStore::AddReferences(
    const std::string& gallery, std::span<const NewReference> references) {
  std::lock_guard<std::mutex> lock(mutex_);
  return InsertReferences(*connection_, gallery, references, /*describe_items=*/true, master_key_);
}

Result<std::vector<StoredReference>> SqliteStore::LoadReferences(const std::string& gallery,
                                                                 Modality modality) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // One read transaction: the gallery lookup and the scan see one snapshot.
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(*connection_, Transaction::Kind::kRead));
  ABIS_ASSIGN_OR_RETURN(std::int64_t gallery_id, FindGalleryId(*connection_, gallery));
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kSelectGalleryReferences));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, gallery_id));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(2, static_cast<std::int64_t>(modality)));
  return ReadReferenceRows(statement, modality, master_key_);
}

Result<std::vector<StoredReference>> SqliteStore::LoadIdentityReferences(
    const std::string& gallery, const std::string& identity_external_id, Modality modality) const {
  ABIS_RETURN_IF_ERROR(ValidateIdentityExternalId(identity_external_id));
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(*connection_, Transaction::Kind::kRead));
  ABIS_ASSIGN_OR_RETURN(std::int64_t gallery_id, FindGalleryId(*connection_, gallery));
  ABIS_ASSIGN_OR_RETURN(std::int64_t identity_id,
                        FindIdentityId(*connection_, gallery_id, gallery, identity_external_id));
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kSelectIdentityReferences));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, identity_id));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(2, static_cast<std::int64_t>(modality)));
  return ReadReferenceRows(statement, modality, master_key_);
}

Result<std::vector<std::string>> SqliteStore::ListIdentities(const std::string& gallery) const {
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(*connection_, Transaction::Kind::kRead));
  ABIS_ASSIGN_OR_RETURN(std::int64_t gallery_id, FindGalleryId(*connection_, gallery));
  ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kSelectIdentities));
  ABIS_RETURN_IF_ERROR(statement.BindInt64(1, gallery_id));
  std::vector<std::string> identities;
  while (true) {
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (!has_row) break;
    identities.push_back(statement.ColumnText(0));
  }
  return identities;
}

Status SqliteStore::DeleteIdentity(const std::string& gallery,
                                   const std::string& identity_external_id) {
  ABIS_RETURN_IF_ERROR(ValidateIdentityExternalId(identity_external_id));
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(Transaction transaction,
                        Transaction::Begin(*connection_, Transaction::Kind::kWrite));
  ABIS_ASSIGN_OR_RETURN(std::int64_t gallery_id, FindGalleryId(*connection_, gallery));
  ABIS_ASSIGN_OR_RETURN(std::int64_t identity_id,
                        FindIdentityId(*connection_, gallery_id, gallery, identity_external_id));
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare(kDeleteIdentity));
    ABIS_RETURN_IF_ERROR(statement.BindInt64(1, identity_id));
    ABIS_RETURN_IF_ERROR(statement.Run());
  }
  ABIS_RETURN_IF_ERROR(transaction.Commit());
  connection_->TruncateWal();
  return Status::Ok();
}

Result<StoreSettings> SqliteStore::Settings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  StoreSettings settings;
  settings.schema_version = connection_->schema_version();
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare("PRAGMA journal_mode"));
    ABIS_ASSIGN_OR_RETURN(bool has_row, statement.Step());
    if (has_row) settings.journal_mode = statement.ColumnText(0);
  }
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare("PRAGMA synchronous"));
    ABIS_ASSIGN_OR_RETURN(settings.synchronous, statement.QueryInt64());
  }
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare("PRAGMA foreign_keys"));
    ABIS_ASSIGN_OR_RETURN(settings.foreign_keys, statement.QueryInt64());
  }
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare("PRAGMA secure_delete"));
    ABIS_ASSIGN_OR_RETURN(settings.secure_delete, statement.QueryInt64());
  }
  {
    ABIS_ASSIGN_OR_RETURN(Statement statement, connection_->Prepare("PRAGMA busy_timeout"));
    ABIS_ASSIGN_OR_RETURN(settings.busy_timeout_ms, statement.QueryInt64());
  }
  return settings;
}

}  // namespace abis
