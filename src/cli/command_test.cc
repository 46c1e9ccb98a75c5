#include "cli/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;

TEST(CommandTest, ParseNumbersIsStrict) {
  EXPECT_EQ(ParseInt64("42"), 42);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "+1", "1.0", "0x10", "9223372036854775808", "1e3"}) {
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint64("-1").has_value());
  EXPECT_FALSE(ParseUint64("18446744073709551616").has_value());
  EXPECT_DOUBLE_EQ(ParseDouble("2.5e-3").value(), 2.5e-3);
  EXPECT_DOUBLE_EQ(ParseDouble("-1").value(), -1.0);
  for (const char* bad : {"", " 1", "1.5x", "nan", "inf", "-inf", "1e999"}) {
    EXPECT_FALSE(ParseDouble(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("0"), false);
  EXPECT_FALSE(ParseBool("TRUE").has_value());
}

TEST(CommandTest, CheckFlagValueNamesFlagAndValue) {
  FlagSpec rows = FlagSpec::Value("rows", FlagType::kInt64, "N", "rows").Min(1).Max(1e9);
  EXPECT_TRUE(CheckFlagValue(rows, "1000000000").ok());
  Status status = CheckFlagValue(rows, "1000000001");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid value '1000000001' for --rows: must be at most 1000000000");
  EXPECT_EQ(CheckFlagValue(rows, "0").message(),
            "invalid value '0' for --rows: must be at least 1");
  EXPECT_EQ(CheckFlagValue(rows, "abc").message(),
            "invalid value 'abc' for --rows: expected an integer");
  FlagSpec rate = FlagSpec::Value("rate", FlagType::kDouble, "X", "rate").Min(0.5);
  EXPECT_EQ(CheckFlagValue(rate, "0.25").message(),
            "invalid value '0.25' for --rate: must be at least 0.5");
  EXPECT_TRUE(CheckFlagValue(rate, "0.5").ok());
}

TEST(CommandTest, ValueNames) {
  EXPECT_EQ(ValueName(FlagSpec::Value("a", FlagType::kInt64, "", "")), "N");
  EXPECT_EQ(ValueName(FlagSpec::Value("a", FlagType::kString, "", "")), "TEXT");
  EXPECT_EQ(ValueName(FlagSpec::Value("a", FlagType::kString, "", "").OneOf({"x", "y"})), "x|y");
  EXPECT_EQ(ValueName(FlagSpec::Value("a", FlagType::kString, "FILE", "")), "FILE");
  EXPECT_EQ(ValueName(FlagSpec::Bool("a", "")), "");
}

TEST(CommandTest, ParsedArgsDefaultsAndGivenValues) {
  ParsedArgs args;
  args.SetFlagType("rows", FlagType::kInt64, "10");
  args.SetFlagType("name", FlagType::kString, std::nullopt);
  args.SetFlagType("param", FlagType::kString, std::nullopt);
  EXPECT_FALSE(args.Has("rows"));
  EXPECT_EQ(args.GetInt64("rows"), 10);
  EXPECT_EQ(args.GetString("name"), "");
  args.AddFlagValue("rows", "12");
  EXPECT_TRUE(args.Has("rows"));
  EXPECT_EQ(args.GetInt64("rows"), 12);
  args.AddFlagValue("param", "a=1");
  args.AddFlagValue("param", "b=2");
  EXPECT_EQ(args.GetAll("param"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(args.GetString("param"), "b=2");
  args.AddArg("ID", "x");
  args.AddArg("ID", "y");
  EXPECT_EQ(args.GetArg("ID"), "x");
  EXPECT_EQ(args.GetArgs("ID"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(args.GetArg("MISSING"), "");
}

}  // namespace
}  // namespace raypipe::cli
