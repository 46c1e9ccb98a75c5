#include "pipeline/parameters.h"

#include <gtest/gtest.h>

#include "pipeline/parser.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

PipelineDefinition Definition() {
  Result<PipelineDefinition> definition = ParseDefinition(R"(
Parameters:
  - {Name: Rows, Type: Integer, DefaultValue: 100}
  - {Name: RMSEThreshold, Type: Float, DefaultValue: 15000}
  - {Name: Mode, Type: String, DefaultValue: fast}
  - {Name: Verbose, Type: Boolean, DefaultValue: false}
  - {Name: Seed, Type: Integer}
Steps:
  - {Name: A, Type: Fail}
)", "params.yaml");
  EXPECT_TRUE(definition.ok()) << definition.status();
  return std::move(definition).value();
}

TEST(ParametersTest, DefaultsAndOverridesAreTyped) {
  Result<ParameterValues> values =
      ResolveParameters(Definition(), {{"Seed", "7"}, {"RMSEThreshold", "1.5e4"},
                                       {"Verbose", "TRUE"}, {"Mode", "0.60"}});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->at("Rows"), json(100));
  EXPECT_EQ(values->at("Seed"), json(7));
  EXPECT_EQ(values->at("RMSEThreshold"), json(15000.0));
  EXPECT_TRUE(values->at("RMSEThreshold").is_number_float());
  EXPECT_EQ(values->at("Verbose"), json(true));
  EXPECT_EQ(values->at("Mode"), json("0.60"));
}

TEST(ParametersTest, ReportsEveryProblemAtOnce) {
  Result<ParameterValues> values = ResolveParameters(
      Definition(), {{"RMSEThreshold", "abc"}, {"Rows", "1.5"}, {"Colour", "red"}});
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(values.status().message(),
            "--param Colour=red: pipeline 'params' has no parameter 'Colour' (it declares Rows, "
            "RMSEThreshold, Mode, Verbose, Seed)\n"
            "--param RMSEThreshold=abc: expected Float\n"
            "--param Rows=1.5: expected Integer\n"
            "parameter 'Seed' has no DefaultValue; pass --param Seed=VALUE (Integer)");
}

TEST(ParametersTest, ParsesValuesStrictly) {
  EXPECT_EQ(*ParseParameterValue(ParameterType::kInteger, "-42"), json(-42));
  EXPECT_EQ(*ParseParameterValue(ParameterType::kInteger, "+42"), json(42));
  EXPECT_EQ(*ParseParameterValue(ParameterType::kFloat, "3"), json(3.0));
  EXPECT_EQ(*ParseParameterValue(ParameterType::kString, ""), json(""));
  EXPECT_EQ(*ParseParameterValue(ParameterType::kBoolean, "False"), json(false));
  for (const char* text : {"", "1e3", "12abc", "99999999999999999999", " 1"}) {
    EXPECT_FALSE(ParseParameterValue(ParameterType::kInteger, text).ok()) << text;
  }
  for (const char* text : {"", "nan", "inf", "1e999", "1,5", "0x10"}) {
    EXPECT_FALSE(ParseParameterValue(ParameterType::kFloat, text).ok()) << text;
  }
  for (const char* text : {"", "yes", "1", "truth"}) {
    EXPECT_FALSE(ParseParameterValue(ParameterType::kBoolean, text).ok()) << text;
  }
}

TEST(ParametersTest, SplitsOverrideFlags) {
  auto flag = ParseParameterOverride("Path=a=b");
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->first, "Path");
  EXPECT_EQ(flag->second, "a=b");
  EXPECT_EQ(ParseParameterOverride("Empty=")->second, "");
  EXPECT_FALSE(ParseParameterOverride("NoEquals").ok());
  EXPECT_FALSE(ParseParameterOverride("=x").ok());
}

}  // namespace
}  // namespace raypipe::pipeline
