// principals.h
//
// Principals are the people (and later devices) allowed to call the HTTP
// API. Each has one role and any number of API tokens. A token is 32 random
// bytes shown once, as "abis_" + base64url; only its BLAKE2b-256 hash
// (libsodium crypto_generichash, domain-separated) is stored, in the SQLite
// file DIR/principals.db, apart from the gallery store.
//
// The first start of a data folder creates a bootstrap admin token. It is
// revoked as soon as it has been used to create an admin principal, so the
// bootstrap file stops being a standing credential.
//
// Thread safety: a PrincipalStore is safe to use from many threads (one
// connection behind a mutex).

#ifndef ABIS_SERVER_PRINCIPALS_H_
#define ABIS_SERVER_PRINCIPALS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

struct sqlite3;

namespace abis::server {

enum class Role { kOperator, kReviewer, kSupervisor, kAuthoriser, kAuditor, kAdmin };

// Every role, in a fixed order (tests and docs enumerate them).
const std::vector<Role>& AllRoles();
std::string_view RoleName(Role role);  // "operator", ...
Result<Role> ParseRole(std::string_view name);

struct Principal {
  std::int64_t id = 0;
  std::string name;  // 1..64 of [A-Za-z0-9_.@-].
  Role role = Role::kOperator;
  std::string created_at;  // UTC ISO-8601.
  // True while authenticated by the bootstrap token.
  bool via_bootstrap_token = false;
  // The token this request authenticated with (0 when not from a token).
  std::int64_t token_id = 0;
};

// A token as listed to admins: never the secret, never its hash.
struct TokenInfo {
  std::int64_t id = 0;
  std::int64_t principal_id = 0;
  std::string principal;
  Role role = Role::kOperator;
  bool bootstrap = false;
  std::string created_at;
  std::string last_used_at;  // "" when never used. Updated at most once a minute.
  std::string revoked_at;    // "" while valid.
};

// A capture device: a principal that authenticates with a client
// certificate (mTLS), identified by the certificate's SHA-256 fingerprint.
struct DeviceInfo {
  std::int64_t id = 0;
  std::string name;  // Also the name of its principal.
  Principal principal;
  std::string fingerprint;  // Hex SHA-256 of the certificate DER.
  std::string created_at;
  std::string revoked_at;  // "" while valid.
};

struct IssuedToken {
  Principal principal;
  std::int64_t token_id = 0;
  std::string token;  // The secret; never stored, shown once.
  bool principal_created = false;
};

class PrincipalStore {
 public:
  // Opens (creating if missing) the SQLite file at `path`.
  static Result<std::unique_ptr<PrincipalStore>> Open(const std::string& path);
  ~PrincipalStore();
  PrincipalStore(const PrincipalStore&) = delete;
  PrincipalStore& operator=(const PrincipalStore&) = delete;

  // When no principal exists yet: creates the bootstrap admin and returns
  // its token; std::nullopt when the store already has principals.
  Result<std::optional<std::string>> CreateBootstrapTokenIfEmpty();

  // Issues a new token for principal `name`, creating the principal with
  // `role` when it does not exist. An existing principal keeps its role:
  // FailedPrecondition when `role` differs. InvalidArgument for a bad name.
  // When `issuer` authenticated with the bootstrap token and the role is
  // admin, the bootstrap token is revoked in the same transaction.
  Result<IssuedToken> IssueToken(const std::string& name, Role role, const Principal& issuer);

  // The principal holding this token; NotFound for an unknown or revoked
  // token (callers must not tell the two apart to clients).
  Result<Principal> Authenticate(std::string_view token);

  // Every token, oldest first.
  Result<std::vector<TokenInfo>> ListTokens();

  // Revokes token `id` (its next request gets 401). NotFound for an
  // unknown id; revoking a revoked token is OK and keeps the first time.
  Result<TokenInfo> RevokeToken(std::int64_t id);

  // Registers a device whose certificate has `fingerprint`, creating its
  // principal (`name`, `role`) when missing; AlreadyExists when the name or
  // the certificate is already registered, FailedPrecondition when a
  // principal of that name has another role.
  Result<DeviceInfo> RegisterDevice(const std::string& name, Role role,
                                    const std::string& fingerprint, const Principal& issuer);
  Result<std::vector<DeviceInfo>> ListDevices();
  // Revokes device `id`: its certificate is refused from its next request.
  Result<DeviceInfo> RevokeDevice(std::int64_t id);
  // The device with this certificate, revoked or not; NotFound if none.
  Result<DeviceInfo> FindDevice(const std::string& fingerprint);

  // Cheap liveness query for /readyz.
  Status Ping();

 private:
  explicit PrincipalStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  std::mutex mutex_;
  sqlite3* db_;
};

bool IsValidPrincipalName(std::string_view name);

}  // namespace abis::server

#endif  // ABIS_SERVER_PRINCIPALS_H_
