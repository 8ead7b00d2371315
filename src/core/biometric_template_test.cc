#include "abis/biometric_template.h"

#include <gtest/gtest.h>

namespace abis {
namespace {

TEST(FingerPositionTest, CodesAndNamesParseToTheIsoCode) {
  EXPECT_EQ(*ParseFingerPosition("0"), 0);
  EXPECT_EQ(*ParseFingerPosition("unknown"), 0);
  EXPECT_EQ(*ParseFingerPosition("right-index"), 2);
  EXPECT_EQ(*ParseFingerPosition("2"), 2);
  EXPECT_EQ(*ParseFingerPosition("left-little"), 10);
  EXPECT_EQ(*ParseFingerPosition("10"), 10);
  for (const char* bad : {"11", "-1", "right-pinky", "", "Right-Index", "02"}) {
    EXPECT_EQ(ParseFingerPosition(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace abis
