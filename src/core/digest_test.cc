#include "core/digest.h"

#include <array>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/file_io.h"

namespace abis {
namespace {

TEST(DigestTest, KnownSha256Vectors) {
  EXPECT_EQ(Sha256Hex(std::string_view("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(std::string_view("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, HexRoundTripAndStrictDecoding) {
  std::array<std::uint8_t, 3> bytes = {0x00, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "00abff");
  std::array<std::uint8_t, 3> decoded{};
  ASSERT_TRUE(HexDecode("00abff", decoded));
  EXPECT_EQ(decoded, bytes);
  EXPECT_FALSE(HexDecode("00ABFF", decoded));  // Upper case.
  EXPECT_FALSE(HexDecode("00abf", decoded));   // Length.
  EXPECT_FALSE(HexDecode("00abfg", decoded));  // Not hex.
}

TEST(FileIoTest, RoundTripAndLimits) {
  auto dir = std::filesystem::temp_directory_path() / "abis_file_io_test";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "x.bin").string();
  ASSERT_TRUE(WriteFileAtomically(path, "hello").ok());
  auto bytes = ReadFileBytes(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "hello");
  EXPECT_EQ(ReadFileBytes(path, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFileBytes((dir / "missing").string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFileBytes(dir.string()).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace abis
