#include "pipeline/steps/step_arguments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

TEST(StepArgumentsTest, ReadsTypedValuesAndNumbersInStrings) {
  const json arguments = {{"Name", "housing"}, {"Workers", 3},      {"Share", "0.6"},
                          {"Rounds", "100"},   {"Enabled", true},   {"Ratio", 2.0},
                          {"Tags", {"a", "b"}}};
  StepArguments args(arguments);
  EXPECT_EQ(*args.String("Name"), "housing");
  EXPECT_EQ(*args.Integer("Workers"), 3);
  EXPECT_DOUBLE_EQ(*args.Float("Share"), 0.6);
  EXPECT_EQ(*args.Integer("Rounds"), 100);
  EXPECT_EQ(*args.Integer("Ratio"), 2);
  EXPECT_TRUE(*args.Boolean("Enabled"));
  EXPECT_EQ(*args.StringList("Tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*args.Integer("Missing", 7), 7);
  EXPECT_EQ(*args.String("Missing", "x"), "x");
}

TEST(StepArgumentsTest, ErrorsNameTheField) {
  const json arguments = {{"Workers", "two"}, {"Share", "0.6x"}, {"Nested", {{"Depth", "deep"}}}};
  StepArguments args(arguments);
  Result<int64_t> workers = args.Integer("Workers");
  ASSERT_FALSE(workers.ok());
  EXPECT_THAT(workers.status().message(),
              HasSubstr("Arguments.Workers: expected an Integer, found \"two\""));
  EXPECT_FALSE(args.Float("Share").ok());
  Result<std::string> missing = args.String("Group");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("Arguments.Group: required"));
  Result<StepArguments> nested = args.Object("Nested");
  ASSERT_TRUE(nested.ok());
  Result<int64_t> depth = nested->Integer("Depth");
  ASSERT_FALSE(depth.ok());
  EXPECT_THAT(depth.status().message(), HasSubstr("Arguments.Nested.Depth"));
  EXPECT_FALSE(args.Object("Workers").ok());
}

TEST(StepArgumentsTest, RejectsUnknownFields) {
  const json arguments = {{"Known", 1}, {"Typo", 2}};
  Status status = StepArguments(arguments).RejectUnknown({"Known"});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("Arguments.Typo: unknown field (known: Known)"));
  EXPECT_TRUE(StepArguments(arguments).RejectUnknown({"Known", "Typo"}).ok());
}

}  // namespace
}  // namespace raypipe::pipeline
