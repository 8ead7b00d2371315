// The `abis audit` contract: verify exits 0 only for a log that verifies
// whole; show lists events.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "testing/scratch_dir.h"

namespace abis {
namespace {

namespace fs = std::filesystem;

using CliRun = testing::CommandRun;

CliRun Abis(const std::string& arguments) {
  return testing::RunCommand(std::string(ABIS_CLI_PATH) + " " + arguments + " 2>/dev/null");
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuditLogOptions options;
    options.note = [](const std::string&) {};
    auto log = AuditLog::Open(dir_, options);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 3; ++i) {
      AuditEvent event;
      event.actor = "officer" + std::to_string(i);
      event.device = "ws-1";
      event.action = "search";
      event.object_ids = {"gallery:watch"};
      event.hashes = {{"probe_sha256", std::string(64, 'c')}};
      event.result = "ok";
      ASSERT_TRUE((*log)->Append(event).ok());
    }
  }
  testing::ScratchDir scratch_{"audit_cli"};
  std::string dir_ = scratch_.path();
};

TEST_F(AuditCliTest, VerifyPassesOnIntactLogAndFailsOnAFlippedByte) {
  CliRun ok = Abis("audit verify --data " + dir_ + " --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto report = nlohmann::json::parse(ok.output);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["events"].get<int>(), 3);
  EXPECT_EQ(Abis("audit verify --data " + dir_).exit_code, 0);

  const std::string path = dir_ + "/audit/events.log";
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() / 2] ^= 0x01;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  CliRun bad = Abis("audit verify --data " + dir_ + " --json");
  EXPECT_NE(bad.exit_code, 0);
  auto failed = nlohmann::json::parse(bad.output);
  EXPECT_FALSE(failed["ok"].get<bool>());
  EXPECT_FALSE(failed["reason"].get<std::string>().empty());
  EXPECT_NE(Abis("audit verify --data " + dir_).exit_code, 0);
}

TEST_F(AuditCliTest, VerifyFailsForMissingLogAndWrongKey) {
  EXPECT_NE(Abis("audit verify --data " + dir_ + "/nothing").exit_code, 0);
  EXPECT_NE(Abis("audit verify --data " + dir_ + " --public-key " + std::string(64, '0')).exit_code,
            0);
}

TEST_F(AuditCliTest, ShowListsEvents) {
  CliRun run = Abis("audit show --data " + dir_ + " --from 1 --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["total"].get<int>(), 3);
  ASSERT_EQ(doc["events"].size(), 2u);
  EXPECT_EQ(doc["events"][0]["seq"].get<int>(), 1);
  EXPECT_EQ(doc["events"][0]["actor"].get<std::string>(), "officer1");
  EXPECT_EQ(Abis("audit show --data " + dir_).exit_code, 0);
}

}  // namespace
}  // namespace abis
