#include "server/principals.h"

#include <array>
#include <chrono>
#include <ctime>

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

namespace abis::server {
namespace {

constexpr std::string_view kTokenPrefix = "abis_";
constexpr std::size_t kTokenBytes = 32;

std::string NowUtc() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(millis));
  return out;
}

// Domain-separated BLAKE2b-256 of the token text.
std::array<unsigned char, 32> HashToken(std::string_view token) {
  static constexpr std::string_view kDomain = "abis api token v1\n";
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()),
                            kDomain.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(token.data()),
                            token.size());
  std::array<unsigned char, 32> hash{};
  crypto_generichash_final(&state, hash.data(), hash.size());
  return hash;
}

std::string NewTokenText() {
  std::array<unsigned char, kTokenBytes> secret{};
  randombytes_buf(secret.data(), secret.size());
  std::string encoded(
      sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), secret.data(), secret.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  encoded.resize(std::char_traits<char>::length(encoded.c_str()));
  sodium_memzero(secret.data(), secret.size());
  return std::string(kTokenPrefix) + encoded;
}

// RAII prepared statement.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindBlob(int index, const void* data, int size) {
    sqlite3_bind_blob(stmt_, index, data, size, SQLITE_TRANSIENT);
  }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  std::int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Status SqlError(sqlite3* db, std::string_view what) {
  return InternalError("principal store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS principals (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by INTEGER REFERENCES principals(id));
CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY,
  principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
  token_hash BLOB NOT NULL UNIQUE,
  bootstrap INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE IF NOT EXISTS devices (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  principal_id INTEGER NOT NULL REFERENCES principals(id),
  fingerprint TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by INTEGER REFERENCES principals(id),
  revoked_at TEXT);
)sql";

// Added after the first schema; older files get the column on open.
constexpr const char* kAddLastUsed = "ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT";

// The UTC time `seconds` before now, in NowUtc's format (for comparisons).
std::string UtcSecondsAgo(int seconds) {
  std::time_t then = std::time(nullptr) - seconds;
  std::tm tm{};
  gmtime_r(&then, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buffer;
}

}  // namespace

const std::vector<Role>& AllRoles() {
  static const std::vector<Role> kRoles = {Role::kOperator,   Role::kReviewer, Role::kSupervisor,
                                           Role::kAuthoriser, Role::kAuditor,  Role::kAdmin};
  return kRoles;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOperator:
      return "operator";
    case Role::kReviewer:
      return "reviewer";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kAuthoriser:
      return "authoriser";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role role : AllRoles()) {
    if (RoleName(role) == name) return role;
  }
  return InvalidArgumentError(
      "unknown role; one of operator, reviewer, supervisor, authoriser, auditor, admin");
}

bool IsValidPrincipalName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<PrincipalStore>> PrincipalStore::Open(const std::string& path) {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  // Owner-only from the start (SQLite gives -wal and -shm the same mode).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status status = UnavailableError("cannot open the principal store");
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<PrincipalStore> store(new PrincipalStore(db));
  sqlite3_busy_timeout(db, 5000);
  ABIS_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  ABIS_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  ABIS_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  ABIS_RETURN_IF_ERROR(store->Exec(kSchema));
  {
    Statement probe(db, "SELECT last_used_at FROM api_tokens LIMIT 0");
    if (!probe.ok()) ABIS_RETURN_IF_ERROR(store->Exec(kAddLastUsed));
  }
  return store;
}

PrincipalStore::~PrincipalStore() { sqlite3_close(db_); }

Status PrincipalStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return InternalError("principal store: " + message);
  }
  return Status::Ok();
}

Result<std::optional<std::string>> PrincipalStore::CreateBootstrapTokenIfEmpty() {
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto rollback = [this](Status status) {
    (void)Exec("ROLLBACK");
    return status;
  };
  {
    Statement count(db_, "SELECT COUNT(*) FROM principals");
    if (!count.ok() || count.Step() != SQLITE_ROW) return rollback(SqlError(db_, "count"));
    if (count.Int(0) > 0) {
      (void)Exec("ROLLBACK");
      return std::optional<std::string>();
    }
  }
  std::string now = NowUtc();
  Statement insert(db_,
                   "INSERT INTO principals (name, role, created_at) VALUES ('bootstrap-admin', "
                   "'admin', ?1)");
  if (!insert.ok()) return rollback(SqlError(db_, "prepare"));
  insert.Bind(1, now);
  if (insert.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert principal"));
  std::int64_t id = sqlite3_last_insert_rowid(db_);
  std::string token = NewTokenText();
  auto hash = HashToken(token);
  Statement add(db_,
                "INSERT INTO api_tokens (principal_id, token_hash, bootstrap, created_at) "
                "VALUES (?1, ?2, 1, ?3)");
  if (!add.ok()) return rollback(SqlError(db_, "prepare"));
  add.Bind(1, id);
  add.BindBlob(2, hash.data(), static_cast<int>(hash.size()));
  add.Bind(3, now);
  if (add.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert token"));
  ABIS_RETURN_IF_ERROR(Exec("COMMIT"));
  return std::optional<std::string>(std::move(token));
}

Result<IssuedToken> PrincipalStore::IssueToken(const std::string& name, Role role,
                                               const Principal& issuer) {
  if (!IsValidPrincipalName(name)) {
    return InvalidArgumentError("principal name must be 1..64 of [A-Za-z0-9_.@-]");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto rollback = [this](Status status) {
    (void)Exec("ROLLBACK");
    return status;
  };
  IssuedToken issued;
  std::string now = NowUtc();
  {
    Statement find(db_, "SELECT id, role, created_at FROM principals WHERE name = ?1");
    if (!find.ok()) return rollback(SqlError(db_, "prepare"));
    find.Bind(1, name);
    int rc = find.Step();
    if (rc == SQLITE_ROW) {
      auto existing_role = ParseRole(find.Text(1));
      if (!existing_role.ok()) return rollback(DataLossError("principal store: bad role"));
      if (*existing_role != role) {
        return rollback(FailedPreconditionError("principal exists with role " +
                                                std::string(RoleName(*existing_role)) +
                                                "; issuing a token does not change a role"));
      }
      issued.principal = {find.Int(0), name, role, find.Text(2)};
    } else if (rc == SQLITE_DONE) {
      Statement insert(
          db_, "INSERT INTO principals (name, role, created_at, created_by) VALUES (?1,?2,?3,?4)");
      if (!insert.ok()) return rollback(SqlError(db_, "prepare"));
      insert.Bind(1, name);
      insert.Bind(2, RoleName(role));
      insert.Bind(3, now);
      insert.Bind(4, issuer.id);
      if (insert.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert principal"));
      issued.principal = {sqlite3_last_insert_rowid(db_), name, role, now};
      issued.principal_created = true;
    } else {
      return rollback(SqlError(db_, "find principal"));
    }
  }
  issued.token = NewTokenText();
  auto hash = HashToken(issued.token);
  Statement add(db_,
                "INSERT INTO api_tokens (principal_id, token_hash, created_at) VALUES (?1,?2,?3)");
  if (!add.ok()) return rollback(SqlError(db_, "prepare"));
  add.Bind(1, issued.principal.id);
  add.BindBlob(2, hash.data(), static_cast<int>(hash.size()));
  add.Bind(3, now);
  if (add.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert token"));
  issued.token_id = sqlite3_last_insert_rowid(db_);
  if (issuer.via_bootstrap_token && role == Role::kAdmin) {
    Statement revoke(db_,
                     "UPDATE api_tokens SET revoked_at = ?1 WHERE bootstrap = 1 AND revoked_at "
                     "IS NULL");
    if (!revoke.ok()) return rollback(SqlError(db_, "prepare"));
    revoke.Bind(1, now);
    if (revoke.Step() != SQLITE_DONE) return rollback(SqlError(db_, "revoke bootstrap"));
  }
  ABIS_RETURN_IF_ERROR(Exec("COMMIT"));
  return issued;
}

Result<Principal> PrincipalStore::Authenticate(std::string_view token) {
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix || token.size() > 128) {
    return NotFoundError("unknown token");
  }
  auto hash = HashToken(token);
  std::lock_guard<std::mutex> lock(mutex_);
  Statement find(db_,
                 "SELECT p.id, p.name, p.role, p.created_at, t.bootstrap, t.id, "
                 "t.last_used_at FROM api_tokens t JOIN principals p ON p.id = t.principal_id "
                 "WHERE t.token_hash = ?1 AND t.revoked_at IS NULL");
  if (!find.ok()) return SqlError(db_, "prepare");
  find.BindBlob(1, hash.data(), static_cast<int>(hash.size()));
  int rc = find.Step();
  if (rc == SQLITE_DONE) return NotFoundError("unknown token");
  if (rc != SQLITE_ROW) return SqlError(db_, "authenticate");
  auto role = ParseRole(find.Text(2));
  if (!role.ok()) return DataLossError("principal store: bad role");
  Principal principal{find.Int(0),  find.Text(1),     *role,
                      find.Text(3), find.Int(4) != 0, find.Int(5)};
  // last_used_at at minute granularity: a write per request would put a
  // synchronous commit on every call.
  std::string last_used = find.Text(6);
  if (last_used.empty() || last_used < UtcSecondsAgo(60)) {
    Statement touch(db_, "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2");
    if (touch.ok()) {
      touch.Bind(1, NowUtc());
      touch.Bind(2, principal.token_id);
      (void)touch.Step();  // Best effort: a stale last-use time must not refuse a request.
    }
  }
  return principal;
}

namespace {
constexpr const char* kTokenColumns =
    "SELECT t.id, p.id, p.name, p.role, t.bootstrap, t.created_at, t.last_used_at, "
    "t.revoked_at FROM api_tokens t JOIN principals p ON p.id = t.principal_id ";

Result<TokenInfo> ReadTokenRow(Statement& row) {
  TokenInfo info;
  info.id = row.Int(0);
  info.principal_id = row.Int(1);
  info.principal = row.Text(2);
  auto role = ParseRole(row.Text(3));
  if (!role.ok()) return DataLossError("principal store: bad role");
  info.role = *role;
  info.bootstrap = row.Int(4) != 0;
  info.created_at = row.Text(5);
  info.last_used_at = row.Text(6);
  info.revoked_at = row.Text(7);
  return info;
}
}  // namespace

Result<std::vector<TokenInfo>> PrincipalStore::ListTokens() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement list(db_, (std::string(kTokenColumns) + "ORDER BY t.id").c_str());
  if (!list.ok()) return SqlError(db_, "prepare");
  std::vector<TokenInfo> tokens;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    ABIS_ASSIGN_OR_RETURN(TokenInfo info, ReadTokenRow(list));
    tokens.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list tokens");
  return tokens;
}

Result<TokenInfo> PrincipalStore::RevokeToken(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement revoke(db_,
                   "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL");
  if (!revoke.ok()) return SqlError(db_, "prepare");
  revoke.Bind(1, NowUtc());
  revoke.Bind(2, id);
  if (revoke.Step() != SQLITE_DONE) return SqlError(db_, "revoke token");
  Statement find(db_, (std::string(kTokenColumns) + "WHERE t.id = ?1").c_str());
  if (!find.ok()) return SqlError(db_, "prepare");
  find.Bind(1, id);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return NotFoundError("no token " + std::to_string(id));
  if (rc != SQLITE_ROW) return SqlError(db_, "find token");
  return ReadTokenRow(find);
}

namespace {
constexpr const char* kDeviceColumns =
    "SELECT d.id, d.name, p.id, p.name, p.role, p.created_at, d.fingerprint, d.created_at, "
    "d.revoked_at FROM devices d JOIN principals p ON p.id = d.principal_id ";

Result<DeviceInfo> ReadDeviceRow(Statement& row) {
  DeviceInfo info;
  info.id = row.Int(0);
  info.name = row.Text(1);
  auto role = ParseRole(row.Text(4));
  if (!role.ok()) return DataLossError("principal store: bad role");
  info.principal = {row.Int(2), row.Text(3), *role, row.Text(5)};
  info.fingerprint = row.Text(6);
  info.created_at = row.Text(7);
  info.revoked_at = row.Text(8);
  return info;
}
}  // namespace

Result<DeviceInfo> PrincipalStore::RegisterDevice(const std::string& name, Role role,
                                                  const std::string& fingerprint,
                                                  const Principal& issuer) {
  if (!IsValidPrincipalName(name)) {
    return InvalidArgumentError("device name must be 1..64 of [A-Za-z0-9_.@-]");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ABIS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto rollback = [this](Status status) {
    (void)Exec("ROLLBACK");
    return status;
  };
  std::string now = NowUtc();
  {
    Statement taken(db_, "SELECT 1 FROM devices WHERE name = ?1 OR fingerprint = ?2");
    if (!taken.ok()) return rollback(SqlError(db_, "prepare"));
    taken.Bind(1, name);
    taken.Bind(2, fingerprint);
    if (taken.Step() == SQLITE_ROW) {
      return rollback(AlreadyExistsError("a device with this name or certificate exists"));
    }
  }
  std::int64_t principal_id = 0;
  {
    Statement find(db_, "SELECT id, role FROM principals WHERE name = ?1");
    if (!find.ok()) return rollback(SqlError(db_, "prepare"));
    find.Bind(1, name);
    int rc = find.Step();
    if (rc == SQLITE_ROW) {
      if (find.Text(1) != RoleName(role)) {
        return rollback(FailedPreconditionError("a principal of that name has another role"));
      }
      principal_id = find.Int(0);
    } else if (rc == SQLITE_DONE) {
      Statement insert(
          db_, "INSERT INTO principals (name, role, created_at, created_by) VALUES (?1,?2,?3,?4)");
      if (!insert.ok()) return rollback(SqlError(db_, "prepare"));
      insert.Bind(1, name);
      insert.Bind(2, RoleName(role));
      insert.Bind(3, now);
      // No issuer (id 0): registered offline, not through the API.
      if (issuer.id != 0) insert.Bind(4, issuer.id);
      if (insert.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert principal"));
      principal_id = sqlite3_last_insert_rowid(db_);
    } else {
      return rollback(SqlError(db_, "find principal"));
    }
  }
  Statement add(db_,
                "INSERT INTO devices (name, principal_id, fingerprint, created_at, created_by) "
                "VALUES (?1,?2,?3,?4,?5)");
  if (!add.ok()) return rollback(SqlError(db_, "prepare"));
  add.Bind(1, name);
  add.Bind(2, principal_id);
  add.Bind(3, fingerprint);
  add.Bind(4, now);
  if (issuer.id != 0) add.Bind(5, issuer.id);
  if (add.Step() != SQLITE_DONE) return rollback(SqlError(db_, "insert device"));
  std::int64_t id = sqlite3_last_insert_rowid(db_);
  Statement read(db_, (std::string(kDeviceColumns) + "WHERE d.id = ?1").c_str());
  if (!read.ok()) return rollback(SqlError(db_, "prepare"));
  read.Bind(1, id);
  if (read.Step() != SQLITE_ROW) return rollback(SqlError(db_, "read device"));
  auto info = ReadDeviceRow(read);
  if (!info.ok()) return rollback(info.status());
  ABIS_RETURN_IF_ERROR(Exec("COMMIT"));
  return info;
}

Result<std::vector<DeviceInfo>> PrincipalStore::ListDevices() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement list(db_, (std::string(kDeviceColumns) + "ORDER BY d.id").c_str());
  if (!list.ok()) return SqlError(db_, "prepare");
  std::vector<DeviceInfo> devices;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    ABIS_ASSIGN_OR_RETURN(DeviceInfo info, ReadDeviceRow(list));
    devices.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list devices");
  return devices;
}

Result<DeviceInfo> PrincipalStore::RevokeDevice(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement revoke(db_, "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL");
  if (!revoke.ok()) return SqlError(db_, "prepare");
  revoke.Bind(1, NowUtc());
  revoke.Bind(2, id);
  if (revoke.Step() != SQLITE_DONE) return SqlError(db_, "revoke device");
  Statement find(db_, (std::string(kDeviceColumns) + "WHERE d.id = ?1").c_str());
  if (!find.ok()) return SqlError(db_, "prepare");
  find.Bind(1, id);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return NotFoundError("no device " + std::to_string(id));
  if (rc != SQLITE_ROW) return SqlError(db_, "find device");
  return ReadDeviceRow(find);
}

Result<DeviceInfo> PrincipalStore::FindDevice(const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement find(db_, (std::string(kDeviceColumns) + "WHERE d.fingerprint = ?1").c_str());
  if (!find.ok()) return SqlError(db_, "prepare");
  find.Bind(1, fingerprint);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return NotFoundError("unknown device certificate");
  if (rc != SQLITE_ROW) return SqlError(db_, "find device");
  return ReadDeviceRow(find);
}

Status PrincipalStore::Ping() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement ping(db_, "SELECT 1");
  if (!ping.ok() || ping.Step() != SQLITE_ROW) return UnavailableError("principal store");
  return Status::Ok();
}

}  // namespace abis::server
