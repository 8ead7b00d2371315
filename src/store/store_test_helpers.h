// store_test_helpers.h
//
// Fixtures shared by the store tests: sample templates, a raw second
// connection for inspecting and tampering with a store file, and a
// temporary folder per test.

#ifndef ABIS_STORE_STORE_TEST_HELPERS_H_
#define ABIS_STORE_STORE_TEST_HELPERS_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "store/master_key.h"
#include "store/sqlite_store.h"

namespace abis {
namespace testing_store {

namespace fs = std::filesystem;

// The master key the tests open their stores with.
constexpr char kTestKeyHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

inline SecretKey TestKey() { return std::move(ParseMasterKey(kTestKeyHex)).value(); }

constexpr char kModelA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kModelB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kSha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

inline Template FaceTemplate(float seed, const std::string& model = kModelA,
                             const std::string& algorithm = "face/dlib-resnet-v1") {
  Template tmpl;
  tmpl.header.modality = Modality::kFace;
  tmpl.header.algorithm = algorithm;
  tmpl.header.model_digest = model;
  tmpl.header.quality = 75.0f;
  for (int index = 0; index < 128; ++index) tmpl.features.push_back(seed + 0.01f * index);
  return tmpl;
}

inline Template FingerTemplate(float seed) {
  Template tmpl;
  tmpl.header.modality = Modality::kFinger;
  tmpl.header.algorithm = "finger/minutiae-v1";
  tmpl.header.model_digest = "";
  tmpl.header.quality = 40.0f;
  tmpl.features = {seed, seed + 1, seed + 2, seed + 3};
  return tmpl;
}

inline void ExpectSameTemplate(const Template& actual, const Template& expected) {
  EXPECT_EQ(actual.header.modality, expected.header.modality);
  EXPECT_EQ(actual.header.algorithm, expected.header.algorithm);
  EXPECT_EQ(actual.header.model_digest, expected.header.model_digest);
  EXPECT_EQ(actual.header.quality, expected.header.quality);
  EXPECT_EQ(actual.features, expected.features);
}

template <typename T>
StatusCode CodeOf(const Result<T>& result) {
  return result.ok() ? StatusCode::kOk : result.status().code();
}
inline StatusCode CodeOf(const Status& status) { return status.code(); }

// A second, plain connection to a store file: lets tests inspect and tamper
// with what SqliteStore wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << " in " << sql;
    sqlite3_free(error);
  }
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string value;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return value;
  }
  std::int64_t QueryInt(const std::string& sql) { return std::stoll(QueryText(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

// Inverts the bits of byte `offset` of one blob cell.
inline void FlipBlobByte(RawDb& raw, const std::string& table, const std::string& column,
                         const std::string& where, std::size_t offset) {
  std::string hex = raw.QueryText("SELECT hex(" + column + ") FROM " + table + " WHERE " + where);
  ASSERT_GT(hex.size(), 2 * offset + 1);
  for (std::size_t index = 2 * offset; index < 2 * offset + 2; ++index) {
    const int nibble = std::stoi(hex.substr(index, 1), nullptr, 16) ^ 0xF;
    hex[index] = "0123456789ABCDEF"[nibble];
  }
  raw.Exec("UPDATE " + table + " SET " + column + " = x'" + hex + "' WHERE " + where);
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "abis_store_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path) {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, TestKey());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<SqliteStore> OpenWithGallery(const std::string& gallery = "g1") {
    auto store = OpenOrDie(PathOf("store.db"));
    EXPECT_TRUE(store->CreateGallery(gallery).ok());
    return store;
  }

  fs::path dir_;
};

}  // namespace testing_store
}  // namespace abis

#endif  // ABIS_STORE_STORE_TEST_HELPERS_H_
