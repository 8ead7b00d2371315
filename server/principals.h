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
};

struct IssuedToken {
  Principal principal;
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
