#include "store/sqlite_store.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "store/store_test_helpers.h"
#include "templates/template_codec.h"

namespace abis {
namespace {

using namespace testing_store;  // NOLINT(google-build-using-namespace)

TEST_F(SqliteStoreTest, FileStoreUsesDurablePragmas) {
  auto store = OpenOrDie(PathOf("store.db"));
  Result<StoreSettings> settings = store->Settings();
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  EXPECT_EQ(settings->journal_mode, "wal");
  EXPECT_EQ(settings->synchronous, 2);
  EXPECT_TRUE(settings->foreign_keys);
  EXPECT_TRUE(settings->secure_delete);
  EXPECT_EQ(settings->busy_timeout_ms, SqliteStore::kBusyTimeoutMs);
  EXPECT_EQ(settings->schema_version, 2);

  // journal_mode is a property of the file: another connection sees it too.
  RawDb raw(PathOf("store.db"));
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, InMemoryStoreWorks) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(":memory:", TestKey());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->CreateGallery("mem").ok());
  Result<StoreSettings> settings = (*store)->Settings();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->journal_mode, "memory");
  EXPECT_EQ(settings->synchronous, 2);
}

TEST_F(SqliteStoreTest, EmptyPathIsInvalid) {
  EXPECT_EQ(CodeOf(SqliteStore::Open("", TestKey())), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, CreatesListsGetsAndDeletesGalleries) {
  auto store = OpenOrDie(PathOf("store.db"));
  Result<std::vector<GalleryInfo>> none = store->ListGalleries();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  Result<GalleryInfo> created = store->CreateGallery("watch-list.v2");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->name, "watch-list.v2");
  EXPECT_EQ(created->created_at.size(), 24u);  // 2024-05-01T12:34:56.789Z
  EXPECT_EQ(created->created_at.back(), 'Z');
  EXPECT_EQ(created->created_at[10], 'T');
  ASSERT_TRUE(store->CreateGallery("A_gallery").ok());

  Result<std::vector<GalleryInfo>> all = store->ListGalleries();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "A_gallery");
  EXPECT_EQ((*all)[1].name, "watch-list.v2");

  Result<GalleryInfo> fetched = store->GetGallery("watch-list.v2");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->created_at, created->created_at);
  EXPECT_EQ(fetched->identity_count, 0);
  EXPECT_EQ(fetched->reference_count, 0);

  EXPECT_TRUE(store->DeleteGallery("A_gallery").ok());
  EXPECT_EQ(CodeOf(store->GetGallery("A_gallery")), StatusCode::kNotFound);
  EXPECT_EQ(store->ListGalleries()->size(), 1u);
}

TEST_F(SqliteStoreTest, GalleryErrorsHaveTheRightCodes) {
  auto store = OpenOrDie(PathOf("store.db"));
  ASSERT_TRUE(store->CreateGallery("g1").ok());
  EXPECT_EQ(CodeOf(store->CreateGallery("g1")), StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeOf(store->GetGallery("missing")), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->DeleteGallery("missing")), StatusCode::kNotFound);
  for (const std::string& bad :
       {std::string(), std::string(65, 'a'), std::string("a b"), std::string("a/b"),
        std::string("caf\xc3\xa9"), std::string("x\0y", 3), std::string("g1;DROP")}) {
    EXPECT_EQ(CodeOf(store->CreateGallery(bad)), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(CodeOf(store->GetGallery(bad)), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(store->CreateGallery(std::string(64, 'z')).ok());
}

TEST_F(SqliteStoreTest, AddsAndLoadsReferences) {
  auto store = OpenWithGallery();
  Result<ReferenceRecord> first = store->AddReference("g1", "person-1", FaceTemplate(1), kSha);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GT(first->reference_id, 0);
  EXPECT_EQ(first->identity_external_id, "person-1");
  EXPECT_EQ(first->gallery, "g1");
  EXPECT_EQ(first->header.model_digest, kModelA);
  EXPECT_EQ(first->created_at.back(), 'Z');

  Result<ReferenceRecord> second = store->AddReference("g1", "person-1", FaceTemplate(2), kSha);
  Result<ReferenceRecord> third = store->AddReference("g1", "person 2", FaceTemplate(3), kSha);
  ASSERT_TRUE(second.ok() && third.ok());
  EXPECT_GT(second->reference_id, first->reference_id);
  EXPECT_GT(third->reference_id, second->reference_id);

  Result<GalleryInfo> info = store->GetGallery("g1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->identity_count, 2);
  EXPECT_EQ(info->reference_count, 3);

  Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[0].reference_id, first->reference_id);
  EXPECT_EQ((*loaded)[0].identity_external_id, "person-1");
  EXPECT_EQ((*loaded)[2].identity_external_id, "person 2");
  ExpectSameTemplate((*loaded)[1].tmpl, FaceTemplate(2));

  Result<std::vector<StoredReference>> one =
      store->LoadIdentityReferences("g1", "person-1", Modality::kFace);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->size(), 2u);
  ExpectSameTemplate((*one)[0].tmpl, FaceTemplate(1));
  ExpectSameTemplate((*one)[1].tmpl, FaceTemplate(2));

  // The capture itself is never stored, only its digest.
  RawDb raw(PathOf("store.db"));
  EXPECT_EQ(raw.QueryText("SELECT source_sha256 FROM biometric_references LIMIT 1"), kSha);
}

TEST_F(SqliteStoreTest, ModalitiesAreKeptApart) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  // Another modality may use another algorithm.
  Result<ReferenceRecord> finger = store->AddReference("g1", "p1", FingerTemplate(5), kSha);
  ASSERT_TRUE(finger.ok()) << finger.status().ToString();

  Result<std::vector<StoredReference>> faces = store->LoadReferences("g1", Modality::kFace);
  Result<std::vector<StoredReference>> fingers = store->LoadReferences("g1", Modality::kFinger);
  ASSERT_TRUE(faces.ok() && fingers.ok());
  ASSERT_EQ(faces->size(), 1u);
  ASSERT_EQ(fingers->size(), 1u);
  ExpectSameTemplate((*fingers)[0].tmpl, FingerTemplate(5));

  ASSERT_TRUE(store->CreateGallery("g2").ok());
  ASSERT_TRUE(store->AddReference("g2", "p9", FaceTemplate(1), kSha).ok());
  Result<std::vector<StoredReference>> no_fingers =
      store->LoadIdentityReferences("g2", "p9", Modality::kFinger);
  ASSERT_TRUE(no_fingers.ok());
  EXPECT_TRUE(no_fingers->empty());
}

TEST_F(SqliteStoreTest, AddReferenceValidatesItsInputs) {
  auto store = OpenWithGallery();
  EXPECT_EQ(CodeOf(store->AddReference("missing", "p1", FaceTemplate(1), kSha)),
            StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->AddReference("bad name", "p1", FaceTemplate(1), kSha)),
            StatusCode::kInvalidArgument);
  for (const std::string& bad_id :
       {std::string(), std::string(129, 'x'), std::string("a\nb"), std::string("tab\t"),
        std::string("del\x7f"), std::string(" lead"), std::string("trail "),
        std::string("nul\0x", 5), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(CodeOf(store->AddReference("g1", bad_id, FaceTemplate(1), kSha)),
              StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(store->AddReference("g1", std::string(128, 'x'), FaceTemplate(1), kSha).ok());
  EXPECT_TRUE(store->AddReference("g1", "O'Brien; DROP TABLE x --", FaceTemplate(1), kSha).ok());

  Template no_features = FaceTemplate(1);
  no_features.features.clear();
  EXPECT_EQ(CodeOf(store->AddReference("g1", "p1", no_features, kSha)),
            StatusCode::kInvalidArgument);
  Template nan = FaceTemplate(1);
  nan.features[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(CodeOf(store->AddReference("g1", "p1", nan, kSha)), StatusCode::kInvalidArgument);

  for (const std::string& bad_sha : {std::string(), std::string(63, 'a'), std::string(65, 'a'),
                                     std::string(64, 'A'), std::string(64, 'g')}) {
    EXPECT_EQ(CodeOf(store->AddReference("g1", "p1", FaceTemplate(1), bad_sha)),
              StatusCode::kInvalidArgument)
        << bad_sha;
  }
  EXPECT_EQ(store->GetGallery("g1")->reference_count, 2);
}

TEST_F(SqliteStoreTest, RefusesToMixModelsInOneGallery) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1, kModelA), kSha).ok());

  Result<ReferenceRecord> other_model =
      store->AddReference("g1", "p2", FaceTemplate(1, kModelB), kSha);
  EXPECT_EQ(CodeOf(other_model), StatusCode::kFailedPrecondition);
  EXPECT_NE(other_model.status().message().find("re-enrolment"), std::string::npos);
  EXPECT_EQ(CodeOf(store->AddReference("g1", "p1", FaceTemplate(1, kModelA, "face/other"), kSha)),
            StatusCode::kFailedPrecondition);
  // The refused identity p2 was not left behind.
  EXPECT_EQ(store->ListIdentities("g1")->size(), 1u);

  // Another gallery may hold the other model.
  ASSERT_TRUE(store->CreateGallery("g2").ok());
  EXPECT_TRUE(store->AddReference("g2", "p1", FaceTemplate(1, kModelB), kSha).ok());

  // Once the old references are gone, the gallery may be re-enrolled.
  ASSERT_TRUE(store->DeleteIdentity("g1", "p1").ok());
  EXPECT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1, kModelB), kSha).ok());
}

TEST_F(SqliteStoreTest, IdentitiesListAndDeleteWithCascade) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "zed", FaceTemplate(1), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "alice", FaceTemplate(2), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "alice", FingerTemplate(2), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "bob", FaceTemplate(3), kSha).ok());

  Result<std::vector<std::string>> ids = store->ListIdentities("g1");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"alice", "bob", "zed"}));

  ASSERT_TRUE(store->DeleteIdentity("g1", "alice").ok());
  EXPECT_EQ(*store->ListIdentities("g1"), (std::vector<std::string>{"bob", "zed"}));
  EXPECT_EQ(store->GetGallery("g1")->reference_count, 2);
  EXPECT_EQ(store->LoadReferences("g1", Modality::kFinger)->size(), 0u);
  EXPECT_EQ(CodeOf(store->LoadIdentityReferences("g1", "alice", Modality::kFace)),
            StatusCode::kNotFound);

  EXPECT_EQ(CodeOf(store->DeleteIdentity("g1", "alice")), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->DeleteIdentity("missing", "bob")), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->DeleteIdentity("g1", "")), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(store->ListIdentities("missing")), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->LoadReferences("missing", Modality::kFace)), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store->LoadIdentityReferences("missing", "bob", Modality::kFace)),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, DeleteGalleryCascadesToIdentitiesAndReferences) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->CreateGallery("keep").ok());
  ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  ASSERT_TRUE(store->AddReference("g1", "p2", FaceTemplate(2), kSha).ok());
  ASSERT_TRUE(store->AddReference("keep", "p1", FaceTemplate(3), kSha).ok());

  ASSERT_TRUE(store->DeleteGallery("g1").ok());
  RawDb raw(PathOf("store.db"));
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM identities"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM biometric_references"), 1);

  ASSERT_TRUE(store->CreateGallery("g1").ok());
  EXPECT_EQ(store->GetGallery("g1")->identity_count, 0);
  EXPECT_EQ(store->LoadReferences("keep", Modality::kFace)->size(), 1u);
}

TEST_F(SqliteStoreTest, ReferenceIdsAreNeverReused) {
  auto store = OpenWithGallery();
  Result<ReferenceRecord> first = store->AddReference("g1", "p1", FaceTemplate(1), kSha);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store->DeleteIdentity("g1", "p1").ok());
  Result<ReferenceRecord> second = store->AddReference("g1", "p1", FaceTemplate(1), kSha);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->reference_id, first->reference_id);
}

TEST_F(SqliteStoreTest, BatchInsertsEverythingInOrder) {
  auto store = OpenWithGallery();
  std::vector<NewReference> batch;
  for (int index = 0; index < 50; ++index) {
    batch.push_back({"person-" + std::to_string(index % 20), FaceTemplate(index), kSha});
  }
  Result<std::vector<ReferenceRecord>> records = store->AddReferences("g1", batch);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 50u);
  for (std::size_t index = 1; index < records->size(); ++index) {
    EXPECT_GT((*records)[index].reference_id, (*records)[index - 1].reference_id);
  }
  EXPECT_EQ((*records)[7].identity_external_id, "person-7");
  EXPECT_EQ(store->GetGallery("g1")->identity_count, 20);

  Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 50u);
  ExpectSameTemplate((*loaded)[33].tmpl, FaceTemplate(33));

  EXPECT_TRUE(store->AddReferences("g1", {})->empty());
  EXPECT_EQ(CodeOf(store->AddReferences("missing", batch)), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, BatchIsAllOrNothing) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "existing", FaceTemplate(0), kSha).ok());

  // Fails inside the transaction, after two items were written.
  std::vector<NewReference> mixed = {{"new-1", FaceTemplate(1), kSha},
                                     {"existing", FaceTemplate(2), kSha},
                                     {"new-2", FaceTemplate(3, kModelB), kSha},
                                     {"new-3", FaceTemplate(4), kSha}};
  Result<std::vector<ReferenceRecord>> refused = store->AddReferences("g1", mixed);
  EXPECT_EQ(CodeOf(refused), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("item 2"), std::string::npos)
      << refused.status().message();

  // Fails validation before anything is written.
  std::vector<NewReference> invalid = mixed;
  invalid[2].tmpl = FaceTemplate(3);
  invalid[2].tmpl.features[0] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(CodeOf(store->AddReferences("g1", invalid)), StatusCode::kInvalidArgument);

  Result<GalleryInfo> info = store->GetGallery("g1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->identity_count, 1);
  EXPECT_EQ(info->reference_count, 1);
  EXPECT_EQ(*store->ListIdentities("g1"), std::vector<std::string>{"existing"});

  // A batch that mixes models within itself is refused too.
  ASSERT_TRUE(store->CreateGallery("empty").ok());
  std::vector<NewReference> self_mixed = {{"a", FaceTemplate(1, kModelB), kSha},
                                          {"b", FaceTemplate(2, kModelA), kSha}};
  EXPECT_EQ(CodeOf(store->AddReferences("empty", self_mixed)), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetGallery("empty")->reference_count, 0);

  // The store is still usable after the rollbacks.
  invalid[2].tmpl = FaceTemplate(3);
  EXPECT_TRUE(store->AddReferences("g1", invalid).ok());
  EXPECT_EQ(store->GetGallery("g1")->reference_count, 5);
}

TEST_F(SqliteStoreTest, PersistsAcrossReopen) {
  std::int64_t reference_id = 0;
  {
    auto store = OpenWithGallery();
    Result<ReferenceRecord> record = store->AddReference("g1", "p1", FaceTemplate(7), kSha);
    ASSERT_TRUE(record.ok());
    reference_id = record->reference_id;
  }
  auto store = OpenOrDie(PathOf("store.db"));
  Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].reference_id, reference_id);
  ExpectSameTemplate((*loaded)[0].tmpl, FaceTemplate(7));
  EXPECT_EQ(store->Settings()->schema_version, 2);
}

TEST_F(SqliteStoreTest, MigratesAnEmptyFile) {
  const std::string path = PathOf("empty.db");
  std::ofstream(path).close();
  ASSERT_EQ(fs::file_size(path), 0u);
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->CreateGallery("g").ok());
  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), 2);
  EXPECT_EQ(raw.QueryText("SELECT applied_at FROM schema_migrations").back(), 'Z');
}

TEST_F(SqliteStoreTest, RefusesANewerSchemaVersion) {
  const std::string path = PathOf("store.db");
  OpenOrDie(path).reset();
  {
    RawDb raw(path);
    raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, TestKey());
  ASSERT_EQ(CodeOf(store), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM schema_migrations"), 3);
}

TEST_F(SqliteStoreTest, UpgradesAnOlderSchemaKeepingData) {
  const std::string path = PathOf("store.db");
  {
    auto store = OpenWithGallery();
    ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  }
  const std::array<SchemaMigration, 3> upgraded = {{
      SqliteStore::BuiltinMigrations()[0],
      SqliteStore::BuiltinMigrations()[1],
      {3,
       "CREATE TABLE cases (id INTEGER PRIMARY KEY, label TEXT);"
       "INSERT INTO cases (label) VALUES ('seed');"},
  }};
  Result<std::unique_ptr<SqliteStore>> store =
      SqliteStore::OpenWithMigrations(path, TestKey(), upgraded);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Settings()->schema_version, 3);
  EXPECT_EQ((*store)->LoadReferences("g1", Modality::kFace)->size(), 1u);
  store->reset();

  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), 3);
  EXPECT_EQ(raw.QueryText("SELECT label FROM cases"), "seed");
  // This build's own schema (version 2) is older: it must refuse the file.
  EXPECT_EQ(CodeOf(SqliteStore::Open(path, TestKey())), StatusCode::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, FailedMigrationLeavesTheOldVersion) {
  const std::string path = PathOf("store.db");
  {
    auto store = OpenWithGallery();
    ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  }
  const std::array<SchemaMigration, 3> broken = {{
      SqliteStore::BuiltinMigrations()[0],
      SqliteStore::BuiltinMigrations()[1],
      {3, "CREATE TABLE half_done (x INTEGER); DROP TABLE galleries; THIS IS NOT SQL;"},
  }};
  EXPECT_FALSE(SqliteStore::OpenWithMigrations(path, TestKey(), broken).ok());

  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), 2);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"), 0);
  auto store = OpenOrDie(path);
  EXPECT_EQ(store->GetGallery("g1")->reference_count, 1);
}

TEST_F(SqliteStoreTest, RejectsMisnumberedMigrations) {
  const std::array<SchemaMigration, 2> gap = {{{1, "SELECT 1;"}, {3, "SELECT 1;"}}};
  EXPECT_EQ(CodeOf(SqliteStore::OpenWithMigrations(PathOf("x.db"), TestKey(), gap)),
            StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseGivesAClearError) {
  const std::string path = PathOf("photo.jpg");
  {
    std::ofstream out(path, std::ios::binary);
    for (int index = 0; index < 200; ++index) out << "this is not an SQLite database ";
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, TestKey());
  ASSERT_EQ(CodeOf(store), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find("photo.jpg"), std::string::npos);
}

TEST_F(SqliteStoreTest, ForeignSqliteDatabaseIsNotTakenOver) {
  const std::string path = PathOf("other.db");
  {
    RawDb raw(path);
    raw.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)");
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, TestKey());
  ASSERT_EQ(CodeOf(store), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("not an abis store"), std::string::npos);
  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'galleries'"), 0);
}

TEST_F(SqliteStoreTest, DirectoryPathIsAnError) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_.string(), TestKey());
  EXPECT_FALSE(store.ok());
}

TEST_F(SqliteStoreTest, CorruptedTemplateBlobIsDataLoss) {
  auto store = OpenWithGallery();
  ASSERT_TRUE(store->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  Result<ReferenceRecord> victim = store->AddReference("g1", "p2", FaceTemplate(2), kSha);
  ASSERT_TRUE(victim.ok());
  const std::string id = std::to_string(victim->reference_id);
  {
    RawDb raw(PathOf("store.db"));
    // Flip one byte inside the sealed features; authentication catches it.
    FlipBlobByte(raw, "biometric_references", "sealed_template", "id = " + id, 60);
  }
  Result<std::vector<StoredReference>> loaded = store->LoadReferences("g1", Modality::kFace);
  ASSERT_EQ(CodeOf(loaded), StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("reference " + id), std::string::npos)
      << loaded.status().message();
  EXPECT_EQ(CodeOf(store->LoadIdentityReferences("g1", "p2", Modality::kFace)),
            StatusCode::kDataLoss);
  EXPECT_TRUE(store->LoadIdentityReferences("g1", "p1", Modality::kFace).ok());

  {
    RawDb raw(PathOf("store.db"));
    raw.Exec("UPDATE biometric_references SET sealed_template = x'00' WHERE id = " + id);
  }
  EXPECT_EQ(CodeOf(store->LoadReferences("g1", Modality::kFace)), StatusCode::kDataLoss);
}

TEST_F(SqliteStoreTest, TemplateThatDisagreesWithItsRowIsDataLoss) {
  auto store = OpenWithGallery();
  Result<ReferenceRecord> record = store->AddReference("g1", "p1", FaceTemplate(1), kSha);
  ASSERT_TRUE(record.ok());
  {
    RawDb raw(PathOf("store.db"));
    raw.Exec("UPDATE biometric_references SET model_digest = 'swapped'");
  }
  EXPECT_EQ(CodeOf(store->LoadReferences("g1", Modality::kFace)), StatusCode::kDataLoss);
}

TEST_F(SqliteStoreTest, ConcurrentWritersThroughOneStore) {
  auto store = OpenWithGallery();
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&store, thread] {
      for (int index = 0; index < 25; ++index) {
        const std::string id = "t" + std::to_string(thread) + "-" + std::to_string(index);
        EXPECT_TRUE(store->AddReference("g1", id, FaceTemplate(index), kSha).ok());
        EXPECT_TRUE(store->LoadIdentityReferences("g1", id, Modality::kFace).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store->GetGallery("g1")->reference_count, 100);
}

TEST_F(SqliteStoreTest, TwoConnectionsShareOneFile) {
  auto writer = OpenWithGallery();
  auto reader = OpenOrDie(PathOf("store.db"));
  ASSERT_TRUE(writer->AddReference("g1", "p1", FaceTemplate(1), kSha).ok());
  EXPECT_EQ(reader->LoadReferences("g1", Modality::kFace)->size(), 1u);
  ASSERT_TRUE(reader->AddReference("g1", "p2", FaceTemplate(2), kSha).ok());
  EXPECT_EQ(writer->GetGallery("g1")->reference_count, 2);
  EXPECT_EQ(CodeOf(reader->AddReference("g1", "p3", FaceTemplate(3, kModelB), kSha)),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace abis
