// sqlite_store.h
//
// SqliteStore keeps galleries, identities and their biometric references
// (enrolled templates) in one SQLite database file: the embedded system of
// record behind enrolment, identification and verification. Schema, pragmas
// and the migration rule are described in docs/store.md.
//
// Guarantees:
// - Durability: WAL journal with synchronous=FULL, so a change whose call
//   returned OK survives a crash or power loss.
// - Atomicity: every call that changes more than one row runs in one
//   transaction; it either fully applies or leaves the store as it was.
// - No silent model mixing: within a gallery, all references of one modality
//   share one (algorithm, model_digest). A model change forces re-enrolment
//   into a new gallery (or after deleting the old references).
// - Privacy: a reference keeps its template and the SHA-256 of the capture
//   it came from, never the capture itself.
// - Encryption at rest: each template is sealed (XChaCha20-Poly1305) under
//   its own random data key, bound to its row; the data key is stored only
//   wrapped by the master key the store is opened with (store/master_key.h),
//   which never enters the database. Deleting a reference destroys its data
//   key (crypto-erase); freed pages are zeroed (secure_delete) and the WAL
//   is checkpointed and truncated after deletions.
// - Reference ids are never reused, even after deletion, so ids recorded in
//   the audit log or a search index stay unambiguous.
//
// Names: gallery names are 1..64 characters of [A-Za-z0-9_.-]; identity
// external ids are 1..128 printable ASCII characters (0x20..0x7E) without
// leading or trailing spaces. Calls given other names return InvalidArgument.
// Timestamps are UTC ISO-8601 strings with milliseconds,
// e.g. "2024-05-01T12:34:56.789Z".
//
// Thread safety: a SqliteStore owns one connection guarded by a mutex, so
// all methods may be called concurrently; calls are serialised. Several
// processes may open the same file: WAL lets readers run beside one writer,
// and a busy database is retried for up to kBusyTimeoutMs before a call
// returns Unavailable.

#ifndef ABIS_STORE_SQLITE_STORE_H_
#define ABIS_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "abis/biometric_template.h"
#include "abis/gallery.h"
#include "abis/status.h"

#include "store/master_key.h"

namespace abis {

namespace internal {
class SqliteConnection;
}  // namespace internal

// What AddReference(s) stored.
struct ReferenceRecord {
  std::int64_t reference_id = 0;  // Unique across the store, never reused.
  std::string identity_external_id;
  std::string gallery;
  std::string created_at;  // UTC ISO-8601.
  TemplateHeader header;
};

// A reference as loaded for comparison or search.
struct StoredReference {
  std::int64_t reference_id = 0;
  std::string identity_external_id;
  Template tmpl;
};

// One item of a batch enrolment (AddReferences).
struct NewReference {
  std::string identity_external_id;
  Template tmpl;
  // Lower-case hex SHA-256 of the capture file the template came from.
  std::string source_sha256;
};

// One schema step: `sql` (one or more statements) takes the schema from
// version - 1 to `version`. `data_step`, when set, then rewrites rows in the
// same transaction (e.g. sealing the plaintext templates of a version-1
// store under the master key); a failure rolls the whole upgrade back.
struct SchemaMigration {
  using DataStep = Status (*)(internal::SqliteConnection& connection, const SecretKey& master_key);
  int version = 0;
  std::string_view sql;
  DataStep data_step = nullptr;
};

// The connection settings in force, as SQLite reports them.
struct StoreSettings {
  std::string journal_mode;  // "wal" ("memory" for ":memory:").
  int synchronous = 0;       // 2 = FULL.
  bool foreign_keys = false;
  bool secure_delete = false;  // Deleted content is overwritten with zeros.
  int busy_timeout_ms = 0;
  int schema_version = 0;
};

// OK for 1..64 characters of [A-Za-z0-9_.-]; InvalidArgument otherwise.
Status ValidateGalleryName(std::string_view name);
// OK for 1..128 printable ASCII characters without leading or trailing
// spaces; InvalidArgument otherwise.
Status ValidateIdentityExternalId(std::string_view external_id);

class SqliteStore {
 public:
  // How long a call waits for another connection's lock.
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens the store at `path`, creating the file if missing (":memory:" gives
  // a private in-memory store, for tests), and brings its schema up to date:
  // pending migrations run in order inside one transaction, so an upgrade
  // either completes or leaves the file at its old version. Upgrading a
  // version-1 store seals all its plaintext templates under `master_key`
  // (all or nothing), then vacuums the file so no plaintext page remains.
  // `master_key` wraps every record's data key; a new store remembers a
  // check value of it, and later opens must give the same key.
  // Returns:
  //   PermissionDenied: `master_key` is not the key this store was created
  //     with; or the file is read-only.
  //   FailedPrecondition: the file is not an SQLite database, is an SQLite
  //     database that is not an abis store, or has a schema version newer
  //     than this build knows (an older build must never write to it).
  //   DataLoss: the database file is corrupt.
  //   Unavailable: the file cannot be opened or written.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, SecretKey master_key);

  // As Open, with an explicit migration list instead of the built-in one.
  // For migration tests. REQUIRES: versions are 1, 2, 3, ... in order, and
  // the list starts with the built-in migrations (the store's statements
  // need the current schema).
  static Result<std::unique_ptr<SqliteStore>> OpenWithMigrations(
      const std::string& path, SecretKey master_key, std::span<const SchemaMigration> migrations);

  // The built-in migrations; the last version is the current schema.
  static std::span<const SchemaMigration> BuiltinMigrations();

  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Galleries.

  // InvalidArgument for a bad name; AlreadyExists if the name is taken.
  Result<GalleryInfo> CreateGallery(const std::string& name);
  // NotFound if absent.
  Result<GalleryInfo> GetGallery(const std::string& name) const;
  // Ordered by name; empty when there are none.
  Result<std::vector<GalleryInfo>> ListGalleries() const;
  // Deletes the gallery with all its identities and references, and their
  // data keys (crypto-erase), atomically. NotFound if absent.
  Status DeleteGallery(const std::string& name);

  // References.

  // Enrols `tmpl` for `identity_external_id` in `gallery`, creating the
  // identity if it is new. `source_sha256` is the lower-case hex SHA-256 of
  // the capture file.
  // Returns:
  //   InvalidArgument: bad gallery name, identity id, template
  //     (ValidateTemplate) or digest.
  //   NotFound: the gallery does not exist (galleries are never implicit).
  //   FailedPrecondition: the gallery already holds references of this
  //     modality made by another algorithm or model.
  Result<ReferenceRecord> AddReference(const std::string& gallery,
                                       const std::string& identity_external_id,
                                       const Template& tmpl, const std::string& source_sha256);

  // Batch enrolment: as AddReference for each item, all in one transaction
  // (all or nothing). Items are also checked against each other, so a batch
  // that mixes models is refused as a whole. The error names the failing item
  // by index. Returns the records in item order.
  Result<std::vector<ReferenceRecord>> AddReferences(const std::string& gallery,
                                                     std::span<const NewReference> references);

  // All references of `modality` in `gallery`, ordered by reference id.
  // NotFound if the gallery is absent; DataLoss naming the reference id if a
  // stored template's data key is missing or does not unwrap, if the sealed
  // template fails authentication (tampered, or moved from another row), or
  // if it does not decode or disagrees with its row.
  Result<std::vector<StoredReference>> LoadReferences(const std::string& gallery,
                                                      Modality modality) const;

  // The references of `modality` of one identity, ordered by reference id
  // (empty if it has none of that modality). NotFound if the gallery or the
  // identity is unknown; DataLoss as for LoadReferences.
  Result<std::vector<StoredReference>> LoadIdentityReferences(
      const std::string& gallery, const std::string& identity_external_id, Modality modality) const;

  // Identities.

  // External ids in `gallery`, in byte order. NotFound if the gallery is
  // absent.
  Result<std::vector<std::string>> ListIdentities(const std::string& gallery) const;

  // Deletes the identity and all its references, and their data keys
  // (crypto-erase), atomically. NotFound if the gallery or the identity is
  // unknown.
  Status DeleteIdentity(const std::string& gallery, const std::string& identity_external_id);

  // Diagnostics: the pragmas in force on this store's connection.
  Result<StoreSettings> Settings() const;

 private:
  SqliteStore(std::unique_ptr<internal::SqliteConnection> connection, SecretKey master_key);

  mutable std::mutex mutex_;
  std::unique_ptr<internal::SqliteConnection> connection_;  // Guarded by mutex_.
  const SecretKey master_key_;
};

}  // namespace abis

#endif  // ABIS_STORE_SQLITE_STORE_H_
