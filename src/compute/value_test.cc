#include "compute/value.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;

struct Point {
  double x = 0;
  double y = 0;
};

TEST(ValueTest, OfHoldsTheObjectAndGetChecksTheType) {
  Value value = Value::Of<std::string>("hello");
  ASSERT_FALSE(value.empty());
  EXPECT_TRUE(value.Is<std::string>());
  EXPECT_FALSE(value.Is<int64_t>());
  Result<const std::string*> text = value.Get<std::string>();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(**text, "hello");
  EXPECT_EQ(value.type_name(), "string");
}

TEST(ValueTest, MismatchNamesBothTypes) {
  Value value = Value::Of<std::string>("hello");
  Result<const int64_t*> number = value.Get<int64_t>();
  ASSERT_FALSE(number.ok());
  EXPECT_EQ(number.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(number.status().message()), HasSubstr("holds string, not int64"));

  Result<const Point*> point = Value::Of<double>(1.5).Get<Point>();
  ASSERT_FALSE(point.ok());
  EXPECT_THAT(std::string(point.status().message()), HasSubstr("float64"));
  EXPECT_THAT(std::string(point.status().message()), HasSubstr("Point"));
}

TEST(ValueTest, EmptyValue) {
  Value value;
  EXPECT_TRUE(value.empty());
  EXPECT_EQ(value.type(), nullptr);
  EXPECT_EQ(value.type_name(), "empty");
  EXPECT_EQ(value.address(), nullptr);
  Result<const std::string*> text = value.Get<std::string>();
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("holds empty, not string"));
  EXPECT_TRUE(Value::Share<std::string>(nullptr).empty());
}

TEST(ValueTest, CopiesShareTheObject) {
  auto object = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"a", "b", "c"});
  Value value = Value::Share(object);
  Value copy = value;
  EXPECT_EQ(value.address(), object.get());
  EXPECT_EQ(copy.address(), object.get());
  Result<const std::vector<std::string>*> list = copy.Get<std::vector<std::string>>();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, object.get());
  EXPECT_EQ(value.type_name(), "list<string>");
}

TEST(ValueTest, GetSharedOutlivesTheValue) {
  std::shared_ptr<const nlohmann::json> kept;
  {
    Value value = Value::Of(nlohmann::json{{"rmse", 1.5}});
    Result<std::shared_ptr<const nlohmann::json>> shared = value.GetShared<nlohmann::json>();
    ASSERT_TRUE(shared.ok());
    kept = *shared;
    EXPECT_FALSE(value.GetShared<std::string>().ok());
  }
  EXPECT_EQ((*kept)["rmse"], 1.5);
}

TEST(ValueTest, UserTypesHaveReadableNames) {
  Value value = Value::Of(Point{1, 2});
  EXPECT_THAT(std::string(value.type_name()), HasSubstr("Point"));
  Result<const Point*> point = value.Get<Point>();
  ASSERT_TRUE(point.ok());
  EXPECT_EQ((*point)->y, 2);
}

}  // namespace
}  // namespace raypipe::compute
