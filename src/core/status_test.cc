#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace raypipe {
namespace {

TEST(StatusTest, OkByDefault) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status status = NotFoundError("no step 'Train'");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no step 'Train'");
  EXPECT_EQ(status.ToString(), "NotFound: no step 'Train'");
}

TEST(StatusTest, CopiesAreIndependent) {
  Status original = InternalError("boom");
  Status copy = original;
  original = Status::Ok();
  EXPECT_EQ(copy.ToString(), "Internal: boom");
}

TEST(StatusTest, WithContextPrefixesMessage) {
  EXPECT_EQ(InvalidArgumentError("bad").WithContext("pipeline.yaml:3").ToString(),
            "InvalidArgument: pipeline.yaml:3: bad");
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
}

TEST(StatusTest, TransientCodes) {
  EXPECT_TRUE(UnavailableError("").IsTransient());
  EXPECT_TRUE(DeadlineExceededError("").IsTransient());
  EXPECT_FALSE(InvalidArgumentError("").IsTransient());
  EXPECT_FALSE(DataLossError("").IsTransient());
}

Result<int> Half(int value) {
  if (value % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(value));
  return value / 2;
}

Result<int> Quarter(int value) {
  ASSIGN_OR_RETURN(int half, Half(value));
  ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

Status CheckEven(int value) {
  RETURN_IF_ERROR(Half(value));
  return Status::Ok();
}

TEST(ResultTest, ValueAndError) {
  Result<int> good = Half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(ResultTest, MacrosPropagate) {
  EXPECT_EQ(*Quarter(12), 3);
  EXPECT_EQ(Quarter(6).status().message(), "odd: 3");
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(1).ok());
}

TEST(ResultTest, OkStatusWithoutValueIsAnError) {
  Result<int> result(Status::Ok());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(7));
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> value = std::move(result).value();
  EXPECT_EQ(*value, 7);
}

}  // namespace
}  // namespace raypipe
