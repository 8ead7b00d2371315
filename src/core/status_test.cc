#include "abis/status.h"

#include <gtest/gtest.h>

namespace abis {
namespace {

Result<int> ParsePositive(int value) {
  if (value <= 0) return InvalidArgumentError("not positive");
  return value;
}

Result<int> Doubled(int value) {
  ABIS_ASSIGN_OR_RETURN(int parsed, ParsePositive(value));
  return parsed * 2;
}

Status Check(int value) {
  ABIS_RETURN_IF_ERROR(ParsePositive(value).status());
  return Status::Ok();
}

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.ToString(), "ok");
}

TEST(StatusTest, CodesHaveStableNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kDataLoss), "data_loss");
  EXPECT_EQ(static_cast<int>(StatusCode::kFailedPrecondition), 9);
}

TEST(StatusTest, WithContextKeepsCode) {
  Status status = NotFoundError("gallery x").WithContext("identify");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "identify: gallery x");
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> failed = Doubled(-1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Check(3).ok());
  EXPECT_EQ(Check(0).code(), StatusCode::kInvalidArgument);
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternal) {
  Result<int> odd{Status::Ok()};
  EXPECT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace abis
