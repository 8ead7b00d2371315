#include "store/master_key.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

namespace abis {
namespace {

namespace fs = std::filesystem;

constexpr char kHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// The same 32 bytes in standard base64.
constexpr char kBase64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::vector<std::uint8_t> BytesOf(const SecretKey& key) {
  return {key.bytes().begin(), key.bytes().end()};
}

std::vector<std::uint8_t> Sequence() {
  std::vector<std::uint8_t> bytes;
  for (int index = 0; index < 32; ++index) bytes.push_back(static_cast<std::uint8_t>(index));
  return bytes;
}

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0);
  return info.st_mode & 07777;
}

class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "abis_key_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  void WriteFile(const std::string& path, const std::string& contents, mode_t mode) {
    std::ofstream(path, std::ios::binary) << contents;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  fs::path dir_;
};

TEST_F(MasterKeyTest, ParsesHexAndBase64) {
  for (const std::string& text :
       {std::string(kHex), std::string(kBase64), std::string("  ") + kHex + "\n",
        std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
        std::string(kBase64) + "\r\n"}) {
    Result<SecretKey> key = ParseMasterKey(text);
    ASSERT_TRUE(key.ok()) << text << ": " << key.status().ToString();
    EXPECT_EQ(BytesOf(*key), Sequence());
  }
  // URL-safe base64 of bytes that need '-' and '_'.
  Result<SecretKey> url_safe = ParseMasterKey("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8");
  ASSERT_TRUE(url_safe.ok()) << url_safe.status().ToString();
}

TEST_F(MasterKeyTest, RefusesTextThatIsNotAKey) {
  for (const std::string& text :
       {std::string(), std::string(kHex).substr(2), std::string(kHex) + "00",
        std::string(63, 'a') + "g", std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="),
        std::string("not a key at all"), std::string(kHex) + " x"}) {
    Result<SecretKey> key = ParseMasterKey(text);
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    if (!text.empty()) {
      EXPECT_EQ(key.status().message().find(text), std::string::npos);
    }
  }
}

TEST_F(MasterKeyTest, RandomKeysDiffer) {
  Result<SecretKey> first = SecretKey::Random();
  Result<SecretKey> second = SecretKey::Random();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(BytesOf(*first), BytesOf(*second));
  EXPECT_EQ(SecretKey::FromBytes(std::vector<std::uint8_t>(31)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(MasterKeyTest, CreatesAKeyFileWithOwnerOnlyMode) {
  const std::string path = PathOf("store.db.key");
  const mode_t old_umask = ::umask(0);  // The most permissive umask must not widen the mode.
  Result<LoadedMasterKey> created = LoadOrCreateMasterKeyFile(path);
  ::umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(fs::file_size(path), 65u);  // 64 hex digits and a newline.

  Result<LoadedMasterKey> loaded = LoadOrCreateMasterKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->created);
  EXPECT_EQ(BytesOf(loaded->key), BytesOf(created->key));

  // No temporary file is left next to it.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  EXPECT_EQ(CreateMasterKeyFile(path).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(BytesOf(*LoadMasterKeyFile(path)), BytesOf(created->key));
}

TEST_F(MasterKeyTest, ConcurrentCreatorsAgreeOnOneKey) {
  const std::string path = PathOf("shared.key");
  std::vector<std::vector<std::uint8_t>> keys(4);
  std::vector<std::thread> threads;
  for (std::size_t index = 0; index < keys.size(); ++index) {
    threads.emplace_back([&, index] {
      Result<LoadedMasterKey> key = LoadOrCreateMasterKeyFile(path);
      ASSERT_TRUE(key.ok()) << key.status().ToString();
      keys[index] = BytesOf(key->key);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& key : keys) EXPECT_EQ(key, keys[0]);
}

TEST_F(MasterKeyTest, RefusesKeyFilesOthersCanAccess) {
  const std::string path = PathOf("loose.key");
  for (mode_t mode : {0644, 0640, 0604, 0660, 0610, 0601}) {
    WriteFile(path, kHex, mode);
    Result<SecretKey> key = LoadMasterKeyFile(path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos)
        << key.status().message();
    EXPECT_EQ(LoadOrCreateMasterKeyFile(path).status().code(), StatusCode::kFailedPrecondition);
  }
  for (mode_t mode : {0600, 0400}) {
    WriteFile(path, std::string(kBase64) + "\n", mode);
    Result<SecretKey> key = LoadMasterKeyFile(path);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(BytesOf(*key), Sequence());
  }
}

TEST_F(MasterKeyTest, ReportsMissingMalformedAndOddFiles) {
  EXPECT_EQ(LoadMasterKeyFile(PathOf("missing.key")).status().code(), StatusCode::kNotFound);
  WriteFile(PathOf("short.key"), "abcd", 0600);
  Result<SecretKey> short_key = LoadMasterKeyFile(PathOf("short.key"));
  EXPECT_EQ(short_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_key.status().message().find("short.key"), std::string::npos);
  WriteFile(PathOf("big.key"), std::string(4096, 'a'), 0600);
  EXPECT_EQ(LoadMasterKeyFile(PathOf("big.key")).status().code(), StatusCode::kInvalidArgument);
  fs::create_directory(PathOf("folder.key"));
  ::chmod(PathOf("folder.key").c_str(), 0700);
  EXPECT_EQ(LoadMasterKeyFile(PathOf("folder.key")).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, ResolvesKeysByPrecedence) {
  const std::string db = PathOf("store.db");
  // Default: "<db>.key", created on first use.
  Result<ResolvedMasterKey> by_default = ResolveMasterKey(db, {});
  ASSERT_TRUE(by_default.ok()) << by_default.status().ToString();
  EXPECT_EQ(by_default->created_path, db + ".key");
  EXPECT_EQ(ModeOf(db + ".key"), 0600u);
  Result<ResolvedMasterKey> again = ResolveMasterKey(db, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->created_path.empty());
  EXPECT_EQ(BytesOf(again->key), BytesOf(by_default->key));

  // A value wins over a file.
  Result<ResolvedMasterKey> by_value = ResolveMasterKey(db, {kBase64, PathOf("other.key")});
  ASSERT_TRUE(by_value.ok());
  EXPECT_EQ(BytesOf(by_value->key), Sequence());
  EXPECT_FALSE(fs::exists(PathOf("other.key")));
  EXPECT_EQ(ResolveMasterKey(db, {"bad", ""}).status().code(), StatusCode::kInvalidArgument);

  // An explicit file.
  Result<ResolvedMasterKey> by_file = ResolveMasterKey(db, {"", PathOf("other.key")});
  ASSERT_TRUE(by_file.ok());
  EXPECT_EQ(by_file->created_path, PathOf("other.key"));
  EXPECT_NE(BytesOf(by_file->key), BytesOf(by_default->key));

  // In-memory stores never touch a key file.
  Result<ResolvedMasterKey> memory = ResolveMasterKey(":memory:", {"", PathOf("never.key")});
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE(fs::exists(PathOf("never.key")));
}

}  // namespace
}  // namespace abis
