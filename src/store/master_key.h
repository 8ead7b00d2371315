// master_key.h
//
// Secret keys for encryption at rest (docs/store.md, "Encryption at rest").
// The store seals every template under its own random data key; the data key
// is wrapped by one 32-byte master key that never enters the database. This
// header loads that master key: from a key file with owner-only permissions,
// from a text value (e.g. the environment), or by creating a new random key
// file atomically with mode 0600.
//
// Key bytes live in sodium_malloc'd memory (guard pages, locked against
// swapping where the system allows, zeroed when freed) and are never copied
// into ordinary heap buffers by this module.
//
// Thread safety: SecretKey is a move-only value; its const methods may run
// concurrently. The free functions are thread-safe.

#ifndef ABIS_STORE_MASTER_KEY_H_
#define ABIS_STORE_MASTER_KEY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "abis/status.h"

namespace abis {

// 32 secret bytes (an XChaCha20-Poly1305 key) in sodium_malloc'd memory.
class SecretKey {
 public:
  static constexpr std::size_t kSize = 32;

  // A fresh key from the system CSPRNG. ResourceExhausted if secure memory
  // cannot be allocated.
  static Result<SecretKey> Random();
  // A copy of exactly kSize bytes; InvalidArgument for another length.
  static Result<SecretKey> FromBytes(std::span<const std::uint8_t> bytes);

  SecretKey(SecretKey&&) noexcept = default;
  SecretKey& operator=(SecretKey&&) noexcept = default;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey() = default;

  // REQUIRES: not moved from.
  std::span<const std::uint8_t, kSize> bytes() const {
    return std::span<const std::uint8_t, kSize>(bytes_.get(), kSize);
  }
  std::span<std::uint8_t, kSize> mutable_bytes() {
    return std::span<std::uint8_t, kSize>(bytes_.get(), kSize);
  }

 private:
  struct SodiumFree {
    void operator()(std::uint8_t* bytes) const;
  };
  explicit SecretKey(std::unique_ptr<std::uint8_t, SodiumFree> bytes) : bytes_(std::move(bytes)) {}
  static Result<SecretKey> Allocate();

  std::unique_ptr<std::uint8_t, SodiumFree> bytes_;
};

// Parses a master key written as text: 64 hex digits, or standard or
// URL-safe base64 (padded or not) of 32 bytes. Surrounding whitespace is
// ignored. InvalidArgument otherwise; the message never echoes the text.
Result<SecretKey> ParseMasterKey(std::string_view text);

// Reads a key file holding ParseMasterKey text (CreateMasterKeyFile writes
// 64 hex digits and a newline).
// Returns:
//   NotFound: no file at `path`.
//   FailedPrecondition: not a regular file, or its mode grants any access to
//     group or others (the message gives the mode and the chmod to run).
//   InvalidArgument: the contents are not a key.
//   Unavailable: an I/O error.
Result<SecretKey> LoadMasterKeyFile(const std::string& path);

// Creates a key file with a new random key, atomically and with mode 0600:
// the file is written and fsynced under a temporary name, then linked into
// place only if `path` does not exist yet, so a concurrent creator or an
// existing key is never overwritten. AlreadyExists if `path` exists.
Result<SecretKey> CreateMasterKeyFile(const std::string& path);

struct LoadedMasterKey {
  SecretKey key;
  bool created = false;  // True when this call created the key file.
};

// LoadMasterKeyFile, or CreateMasterKeyFile when `path` does not exist (if
// another process creates it in between, that key is loaded instead).
Result<LoadedMasterKey> LoadOrCreateMasterKeyFile(const std::string& path);

// Where a store's master key comes from, in order of precedence.
struct MasterKeySource {
  // Key text as for ParseMasterKey (e.g. from env ABIS_MASTER_KEY).
  std::string key_text;
  // Key file; empty means "<database_path>.key". Created on first use.
  std::string key_path;
};

struct ResolvedMasterKey {
  SecretKey key;
  std::string description;   // Where it came from, for messages ("key file '...'").
  std::string created_path;  // The key file this call created, else empty.
};

// Picks the master key for the store at `database_path`: ":memory:" stores
// get an ephemeral random key (nothing outlives them); otherwise
// `source.key_text` if set, else the key file `source.key_path`, else
// "<database_path>.key", loading the file or creating it on first use.
// Errors as for ParseMasterKey and LoadOrCreateMasterKeyFile, with context.
Result<ResolvedMasterKey> ResolveMasterKey(const std::string& database_path,
                                           const MasterKeySource& source);

}  // namespace abis

#endif  // ABIS_STORE_MASTER_KEY_H_
