// Encryption at rest: templates never reach the database files in
// plaintext, deleting a reference destroys its key, and tampering or a wrong
// master key is an error, never garbage.

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/digest.h"
#include "store/record_crypto.h"
#include "store/sqlite_store.h"
#include "store/store_test_helpers.h"
#include "templates/template_codec.h"

namespace abis {
namespace {

using namespace testing_store;  // NOLINT(google-build-using-namespace)

// A source digest that is easy to find: stored in the clear by design, it
// proves that the scan really reads the rows.
constexpr char kMarkerSha[] = "feedfacecafebeeffeedfacecafebeeffeedfacecafebeeffeedfacecafebeef";

// Distinctive features: no float pattern that SQLite itself would write.
Template MarkedTemplate(int person) {
  Template tmpl = FaceTemplate(0);
  for (std::size_t index = 0; index < tmpl.features.size(); ++index) {
    tmpl.features[index] = 0.3141592f * static_cast<float>(person + 1) +
                           0.0001234f * static_cast<float>(index * index);
  }
  return tmpl;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string HexToBytes(const std::string& hex) {
  std::string bytes;
  for (std::size_t index = 0; index + 1 < hex.size(); index += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(index, 2), nullptr, 16)));
  }
  return bytes;
}

std::span<const std::uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

class StoreEncryptionTest : public SqliteStoreTest {
 protected:
  // The raw contents of the database and its -wal and -shm files.
  std::vector<std::string> DatabaseFiles() const {
    std::vector<std::string> contents;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string path = PathOf("store.db") + suffix;
      if (fs::exists(path)) contents.push_back(ReadAll(path));
    }
    return contents;
  }

  bool FilesContain(const std::string& needle) const {
    for (const std::string& file : DatabaseFiles()) {
      if (file.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  // Fails the test if the database files hold a template's encoded record or
  // any 16-byte window of its features.
  void ExpectNoPlaintext(const std::vector<Template>& templates) {
    const std::vector<std::string> files = DatabaseFiles();
    ASSERT_FALSE(files.empty());
    for (std::size_t which = 0; which < templates.size(); ++which) {
      const std::string encoded = EncodeTemplate(templates[which]);
      const std::vector<float>& features = templates[which].features;
      std::string raw(features.size() * sizeof(float), '\0');
      std::memcpy(raw.data(), features.data(), raw.size());
      for (const std::string& file : files) {
        EXPECT_EQ(file.find(encoded), std::string::npos) << "template " << which;
        for (std::size_t offset = 0; offset + 16 <= raw.size(); ++offset) {
          ASSERT_EQ(file.find(raw.substr(offset, 16)), std::string::npos)
              << "template " << which << " feature bytes at offset " << offset;
        }
      }
    }
  }

  // Writes a version-1 store (plaintext template column) holding
  // `templates`, one identity each, as an older build would have.
  void WriteVersion1Store(const std::vector<Template>& templates) {
    const std::array<SchemaMigration, 1> version1 = {SqliteStore::BuiltinMigrations()[0]};
    Result<std::unique_ptr<SqliteStore>> store =
        SqliteStore::OpenWithMigrations(PathOf("store.db"), TestKey(), version1);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store->reset();
    RawDb raw(PathOf("store.db"));
    raw.Exec("INSERT INTO galleries (id, name, created_at) VALUES (1, 'g1', 'then')");
    for (std::size_t index = 0; index < templates.size(); ++index) {
      const Template& tmpl = templates[index];
      const std::string id = std::to_string(index + 1);
      raw.Exec("INSERT INTO identities (id, gallery_id, external_id, created_at) VALUES (" + id +
               ", 1, 'person-" + id + "', 'then')");
      raw.Exec(
          "INSERT INTO biometric_references (identity_id, modality, algorithm, model_digest,"
          " quality, template, source_sha256, created_at) VALUES (" +
          id + ", 1, '" + tmpl.header.algorithm + "', '" + tmpl.header.model_digest + "', 75, x'" +
          HexEncode(AsBytes(EncodeTemplate(tmpl))) + "', '" + kMarkerSha + "', 'then')");
    }
  }
};

TEST_F(StoreEncryptionTest, DatabaseFilesHoldNoPlaintextTemplates) {
  std::vector<Template> templates;
  for (int person = 0; person < 12; ++person) templates.push_back(MarkedTemplate(person));
  {
    auto store = OpenWithGallery();
    std::vector<NewReference> batch;
    for (int person = 0; person < 6; ++person) {
      batch.push_back({"person-" + std::to_string(person), templates[person], kMarkerSha});
    }
    ASSERT_TRUE(store->AddReferences("g1", batch).ok());
    for (int person = 6; person < 12; ++person) {
      ASSERT_TRUE(store
                      ->AddReference("g1", "person-" + std::to_string(person), templates[person],
                                     kMarkerSha)
                      .ok());
    }
    Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->size(), templates.size());
    for (std::size_t index = 0; index < templates.size(); ++index) {
      ExpectSameTemplate((*loaded)[index].tmpl, templates[index]);
    }

    // While the store is open, the rows sit in the WAL.
    EXPECT_TRUE(FilesContain(kMarkerSha));  // The scan sees the rows...
    ExpectNoPlaintext(templates);           // ...but no template in the clear.
    ASSERT_TRUE(store->DeleteIdentity("g1", "person-3").ok());
    ExpectNoPlaintext(templates);
  }
  // After the last connection closes, everything is in the main file.
  EXPECT_TRUE(FilesContain(kMarkerSha));
  ExpectNoPlaintext(templates);
}

TEST_F(StoreEncryptionTest, EachReferenceHasItsOwnWrappedKey) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "p1", MarkedTemplate(1), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "p1", MarkedTemplate(1), kSha).ok());
  RawDb raw(PathOf("store.db"));
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys"), 2);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(DISTINCT wrapped_key) FROM record_keys"), 2);
  // The same template sealed twice gives unrelated ciphertexts.
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(DISTINCT sealed_template) FROM biometric_references"), 2);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%template BLOB%'"
                         " AND sql NOT LIKE '%sealed_template BLOB%'"),
            0);
}

TEST_F(StoreEncryptionTest, DeletingAReferenceDestroysItsKey) {
  auto store = OpenWithGallery();
  Result<ReferenceRecord> victim = store->AddReference("g1", "leaver", MarkedTemplate(1), kSha);
  ASSERT_TRUE(victim.ok());
  ASSERT_TRUE(store->AddReference("g1", "stayer", MarkedTemplate(2), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "stayer", MarkedTemplate(3), kSha).ok());
  const std::string id = std::to_string(victim->reference_id);

  // What an attacker who copied the file before the deletion would hold.
  RawDb raw(PathOf("store.db"));
  const std::string sealed = HexToBytes(
      raw.QueryText("SELECT hex(sealed_template) FROM biometric_references WHERE id = " + id));
  const std::string wrapped = HexToBytes(
      raw.QueryText("SELECT hex(wrapped_key) FROM record_keys WHERE reference_id = " + id));
  const std::int64_t identity_row =
      raw.QueryInt("SELECT identity_id FROM biometric_references WHERE id = " + id);
  ASSERT_FALSE(sealed.empty());
  ASSERT_EQ(wrapped.size(), kWrappedKeyBytes);
  ASSERT_TRUE(FilesContain(wrapped));

  ASSERT_TRUE(store->DeleteIdentity("g1", "leaver").ok());
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys WHERE reference_id = " + id), 0);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys"), 2);
  // Neither the key nor the sealed template survives in the files: deleted
  // cells are zeroed and the WAL is truncated.
  EXPECT_FALSE(FilesContain(wrapped));
  EXPECT_FALSE(FilesContain(sealed));
  EXPECT_EQ(fs::file_size(PathOf("store.db-wal")), 0u);

  // Nothing left in the store, even with the master key, opens the copy.
  const Template& header_source = MarkedTemplate(1);
  const TemplateBinding binding{victim->reference_id, identity_row, Modality::kFace,
                                header_source.header.algorithm, header_source.header.model_digest};
  SecretKey master_key = TestKey();
  SecretKey data_key = std::move(SecretKey::Random()).value();
  int tried = 0;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(PathOf("store.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT reference_id, nonce, wrapped_key FROM record_keys", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const std::int64_t reference_id = sqlite3_column_int64(stmt, 0);
    const std::span<const std::uint8_t> nonce(
        static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 1)),
        static_cast<std::size_t>(sqlite3_column_bytes(stmt, 1)));
    const std::span<const std::uint8_t> key(
        static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 2)),
        static_cast<std::size_t>(sqlite3_column_bytes(stmt, 2)));
    // Under the deleted reference's binding no remaining key unwraps...
    EXPECT_EQ(UnwrapDataKey(master_key, nonce, key, victim->reference_id, data_key).code(),
              StatusCode::kDataLoss);
    // ...and the keys that do unwrap (their own) do not open the copy.
    ASSERT_TRUE(UnwrapDataKey(master_key, nonce, key, reference_id, data_key).ok());
    std::string plaintext;
    EXPECT_EQ(OpenSealedTemplate(data_key, binding, AsBytes(sealed), plaintext).code(),
              StatusCode::kDataLoss);
    EXPECT_TRUE(plaintext.empty());
    ++tried;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(tried, 2);
}

TEST_F(StoreEncryptionTest, DeletingAGalleryDestroysItsKeys) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->CreateGallery("keep").ok());
  ASSERT_TRUE(store->AddReference("g1", "p1", MarkedTemplate(1), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "p2", MarkedTemplate(2), kSha).ok());
  ASSERT_TRUE(store->AddReference("keep", "p1", MarkedTemplate(3), kSha).ok());
  ASSERT_TRUE(store->DeleteGallery("g1").ok());
  RawDb raw(PathOf("store.db"));
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys k JOIN biometric_references r"
                         " ON r.id = k.reference_id"),
            1);
  EXPECT_EQ(fs::file_size(PathOf("store.db-wal")), 0u);
  EXPECT_EQ(store->LoadReferences("keep", Modality::kFace)->size(), 1u);
}

TEST_F(StoreEncryptionTest, WrongMasterKeyIsRefused) {
  {
    auto store = OpenWithGallery();
    ASSERT_TRUE(store->AddReference("g1", "p1", MarkedTemplate(1), kSha).ok());
  }
  Result<std::unique_ptr<SqliteStore>> other =
      SqliteStore::Open(PathOf("store.db"), std::move(SecretKey::Random()).value());
  ASSERT_EQ(CodeOf(other), StatusCode::kPermissionDenied);
  EXPECT_NE(other.status().message().find("master key"), std::string::npos)
      << other.status().message();
  EXPECT_NE(other.status().message().find("store.db"), std::string::npos);

  // Even with the check value removed, the wrong key yields DataLoss naming
  // the reference, never a garbage template.
  {
    RawDb raw(PathOf("store.db"));
    raw.Exec("DELETE FROM master_key_check");
  }
  Result<std::unique_ptr<SqliteStore>> forced =
      SqliteStore::Open(PathOf("store.db"), std::move(SecretKey::Random()).value());
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  Result<std::vector<StoredReference>> loaded = (*forced)->LoadReferences("g1", Modality::kFace);
  ASSERT_EQ(CodeOf(loaded), StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("reference 1"), std::string::npos)
      << loaded.status().message();
  EXPECT_NE(loaded.status().message().find("master key"), std::string::npos);
}

TEST_F(StoreEncryptionTest, TamperingIsDataLossNamingTheReference) {
  auto store = OpenWithGallery();
  Result<ReferenceRecord> first = store->AddReference("g1", "p1", MarkedTemplate(1), kSha);
  Result<ReferenceRecord> second = store->AddReference("g1", "p2", MarkedTemplate(2), kSha);
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string id = std::to_string(second->reference_id);
  const std::string where = "id = " + id;
  auto expect_data_loss = [&](const std::string& what) {
    Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
    ASSERT_EQ(CodeOf(loaded), StatusCode::kDataLoss) << what;
    EXPECT_NE(loaded.status().message().find("reference " + id), std::string::npos)
        << what << ": " << loaded.status().message();
    EXPECT_TRUE(store->LoadIdentityReferences("g1", "p1", Modality::kFace).ok()) << what;
  };
  RawDb raw(PathOf("store.db"));
  const std::string original =
      raw.QueryText("SELECT hex(sealed_template) FROM biometric_references WHERE " + where);
  auto restore = [&] {
    raw.Exec("UPDATE biometric_references SET sealed_template = x'" + original + "' WHERE " +
             where);
    ASSERT_TRUE(store->LoadReferences("g1", Modality::kFace).ok());
  };

  for (std::size_t offset : {std::size_t{0}, std::size_t{30}, original.size() / 2 - 1}) {
    FlipBlobByte(raw, "biometric_references", "sealed_template", where, offset);
    expect_data_loss("flipped sealed byte " + std::to_string(offset));
    restore();
  }

  // A sealed template moved to another row does not open there.
  raw.Exec(
      "UPDATE biometric_references SET sealed_template = (SELECT sealed_template FROM"
      " biometric_references WHERE id = " +
      std::to_string(first->reference_id) + ") WHERE " + where);
  expect_data_loss("template copied from another row");
  restore();

  // Editing the row's columns breaks the binding too.
  raw.Exec(
      "UPDATE biometric_references SET identity_id = (SELECT id FROM identities WHERE"
      " external_id = 'p2') WHERE id = " +
      std::to_string(first->reference_id));
  {
    Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
    ASSERT_EQ(CodeOf(loaded), StatusCode::kDataLoss);
    EXPECT_NE(loaded.status().message().find("reference " + std::to_string(first->reference_id)),
              std::string::npos);
  }
  raw.Exec(
      "UPDATE biometric_references SET identity_id = (SELECT id FROM identities WHERE"
      " external_id = 'p1') WHERE id = " +
      std::to_string(first->reference_id));
  ASSERT_TRUE(store->LoadReferences("g1", Modality::kFace).ok());

  FlipBlobByte(raw, "record_keys", "wrapped_key", "reference_id = " + id, 5);
  expect_data_loss("flipped wrapped key byte");
  FlipBlobByte(raw, "record_keys", "wrapped_key", "reference_id = " + id, 5);
  ASSERT_TRUE(store->LoadReferences("g1", Modality::kFace).ok());

  raw.Exec("DELETE FROM record_keys WHERE reference_id = " + id);
  expect_data_loss("missing key");
}

TEST_F(StoreEncryptionTest, UpgradeSealsVersion1PlaintextTemplates) {
  std::vector<Template> templates;
  for (int person = 0; person < 5; ++person) templates.push_back(MarkedTemplate(person));
  WriteVersion1Store(templates);
  // The scan sees the plaintext of a version-1 store.
  {
    RawDb raw(PathOf("store.db"));
    raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  ASSERT_TRUE(FilesContain(EncodeTemplate(templates[2])));

  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(PathOf("store.db"), TestKey());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->Settings()->schema_version, 2);
    Result<std::vector<StoredReference>> loaded = (*store)->LoadReferences("g1", Modality::kFace);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->size(), templates.size());
    for (std::size_t index = 0; index < templates.size(); ++index) {
      EXPECT_EQ((*loaded)[index].reference_id, static_cast<std::int64_t>(index + 1));
      ExpectSameTemplate((*loaded)[index].tmpl, templates[index]);
    }
    ExpectNoPlaintext(templates);
    RawDb raw(PathOf("store.db"));
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM record_keys"), 5);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM pragma_table_info('biometric_references')"
                           " WHERE name = 'template'"),
              0);
  }
  ExpectNoPlaintext(templates);
  EXPECT_TRUE(FilesContain(kMarkerSha));
  // The upgraded store is bound to the key it was sealed with.
  EXPECT_EQ(CodeOf(SqliteStore::Open(PathOf("store.db"), std::move(SecretKey::Random()).value())),
            StatusCode::kPermissionDenied);
}

TEST_F(StoreEncryptionTest, FailedUpgradeLeavesVersion1Intact) {
  std::vector<Template> templates;
  for (int person = 0; person < 4; ++person) templates.push_back(MarkedTemplate(person));
  WriteVersion1Store(templates);
  {
    // Make sealing fail on the third row, after two were sealed.
    RawDb raw(PathOf("store.db"));
    raw.Exec(
        "CREATE TRIGGER fail_third BEFORE UPDATE ON biometric_references WHEN old.id = 3"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  Result<std::unique_ptr<SqliteStore>> refused = SqliteStore::Open(PathOf("store.db"), TestKey());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("reference 3"), std::string::npos)
      << refused.status().message();
  {
    RawDb raw(PathOf("store.db"));
    EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), 1);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'record_keys'"), 0);
    for (std::size_t index = 0; index < templates.size(); ++index) {
      EXPECT_EQ(raw.QueryText("SELECT lower(hex(template)) FROM biometric_references WHERE id = " +
                              std::to_string(index + 1)),
                HexEncode(AsBytes(EncodeTemplate(templates[index]))));
    }
    raw.Exec("DROP TRIGGER fail_third");
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(PathOf("store.db"), TestKey());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<std::vector<StoredReference>> loaded = (*store)->LoadReferences("g1", Modality::kFace);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), templates.size());
  ExpectSameTemplate((*loaded)[2].tmpl, templates[2]);
}

TEST_F(StoreEncryptionTest, InMemoryStoreEncryptsToo) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(":memory:", TestKey());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->CreateGallery("g").ok());
  ASSERT_TRUE((*store)->AddReference("g", "p", MarkedTemplate(1), kSha).ok());
  ASSERT_TRUE((*store)->DeleteIdentity("g", "p").ok());
  ASSERT_TRUE((*store)->AddReference("g", "p", MarkedTemplate(2), kSha).ok());
  Result<std::vector<StoredReference>> loaded = (*store)->LoadReferences("g", Modality::kFace);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  ExpectSameTemplate((*loaded)[0].tmpl, MarkedTemplate(2));
}

}  // namespace
}  // namespace abis
