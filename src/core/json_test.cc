#include "core/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/env.h"
#include "core/ids.h"

namespace raypipe::core {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseJsonTest, ParsesValidText) {
  Result<json> parsed = ParseJson(R"({"a": [1, 2.5, "x"], "b": null})", "inline");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)["a"][1].get<double>(), 2.5);
  EXPECT_TRUE((*parsed)["b"].is_null());
}

TEST(ParseJsonTest, ErrorNamesSourceLineAndColumn) {
  Result<json> parsed = ParseJson("{\n  \"a\": x\n}", "pipeline.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("pipeline.json:2:8: "));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("invalid literal"));
  EXPECT_THAT(std::string(parsed.status().message()), Not(HasSubstr("json.exception")));
}

TEST(ParseJsonTest, ErrorAtEndOfInputAndTrailingGarbage) {
  EXPECT_THAT(std::string(ParseJson("", "empty.json").status().message()),
              StartsWith("empty.json:1:1: "));
  EXPECT_THAT(std::string(ParseJson("{\"a\": 1}\n  z", "t.json").status().message()),
              StartsWith("t.json:2:3: "));
}

TEST(ParseJsonTest, RefusesAbsurdNesting) {
  std::string deep(100000, '[');
  Result<json> parsed = ParseJson(deep, "deep.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("nesting deeper than"));
  // Brackets inside strings do not count.
  std::string in_string = "[\"" + std::string(2000, '[') + "\"]";
  EXPECT_TRUE(ParseJson(in_string, "s.json").ok());
}

TEST(ReadJsonFileTest, ReadsAndReportsMissingFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / (NewId("json_test") + ".json");
  { std::ofstream(path) << R"({"k": 7})"; }
  Result<json> parsed = ReadJsonFile(path.string());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)["k"].get<int>(), 7);

  { std::ofstream(path) << "{\"k\": }"; }
  Result<json> broken = ReadJsonFile(path.string());
  EXPECT_THAT(std::string(broken.status().message()), StartsWith(path.string() + ":1:7: "));

  std::filesystem::remove(path);
  EXPECT_EQ(ReadJsonFile(path.string()).status().code(), StatusCode::kNotFound);
}

TEST(JsonGettersTest, TypedValues) {
  json object = json::parse(
      R"({"s": "text", "i": 42, "neg": -3, "f": 2.0, "d": 0.25, "b": true, "n": null})");
  EXPECT_EQ(*GetString(object, "s", "cfg"), "text");
  EXPECT_EQ(*GetInt64(object, "i", "cfg"), 42);
  EXPECT_EQ(*GetInt64(object, "neg", "cfg"), -3);
  EXPECT_EQ(*GetInt64(object, "f", "cfg"), 2);  // integral float accepted
  EXPECT_EQ(*GetDouble(object, "d", "cfg"), 0.25);
  EXPECT_EQ(*GetDouble(object, "i", "cfg"), 42.0);
  EXPECT_TRUE(*GetBool(object, "b", "cfg"));
}

TEST(JsonGettersTest, ErrorsNameTheFieldPath) {
  json object = json::parse(R"({"s": 5, "d": 0.5, "big": 18446744073709551615, "n": null})");
  Status missing = GetString(object, "name", "pipeline.json: Steps[2]").status();
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.message(), "pipeline.json: Steps[2].name: missing required field");
  EXPECT_EQ(GetString(object, "s", "Steps[0]").status().message(),
            "Steps[0].s: expected a string, found integer 5");
  EXPECT_EQ(GetInt64(object, "d", "x").status().message(),
            "x.d: expected an integer, found number 0.5");
  EXPECT_THAT(std::string(GetInt64(object, "big", "x").status().message()),
              HasSubstr("out of range"));
  EXPECT_EQ(GetBool(object, "s", "").status().message(), "s: expected a boolean, found integer 5");
  EXPECT_EQ(GetString(object, "n", "x").status().message(), "x.n: missing required field");
  EXPECT_THAT(std::string(GetString(json::array(), "k", "Steps").status().message()),
              HasSubstr("Steps: expected an object, found array"));
}

TEST(JsonGettersTest, OptionalVariants) {
  json object = json::parse(R"({"s": "v", "n": null, "wrong": "7"})");
  Result<std::optional<std::string>> present = GetOptionalString(object, "s", "x");
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(present->value(), "v");
  Result<std::optional<int64_t>> absent = GetOptionalInt64(object, "absent", "x");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  EXPECT_FALSE(GetOptionalDouble(object, "n", "x")->has_value());
  EXPECT_FALSE(GetOptionalBool(object, "n", "x")->has_value());
  EXPECT_EQ(GetOptionalInt64(object, "wrong", "x").status().message(),
            "x.wrong: expected an integer, found string \"7\"");
}

TEST(JsonGettersTest, ObjectAndArray) {
  json object = json::parse(R"({"o": {"k": 1}, "a": [1, 2]})");
  Result<const json*> inner = GetObject(object, "o", "root");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ((**inner)["k"].get<int>(), 1);
  Result<const json*> list = GetArray(object, "a", "root");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)->size(), 2u);
  EXPECT_EQ(GetArray(object, "o", "root").status().message(),
            "root.o: expected an array, found object {\"k\":1}");
  EXPECT_EQ(JoinFieldPath("Steps", 3), "Steps[3]");
  EXPECT_EQ(JoinFieldPath(JoinFieldPath("Steps", 3), "Name"), "Steps[3].Name");
}

TEST(CanonicalJsonTest, SortedKeysNoSpacesStableNumbers) {
  json a = json::parse(R"({"b": 1, "a": {"z": [1, 2.5, 1.0], "y": "t"}})");
  json b;
  b["a"]["y"] = "t";
  b["a"]["z"] = json::array({1, 2.5, 1.0});
  b["b"] = 1;
  EXPECT_EQ(CanonicalJson(a), R"({"a":{"y":"t","z":[1,2.5,1.0]},"b":1})");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(CanonicalJson(json(0.1)), "0.1");
  EXPECT_EQ(CanonicalJson(json(1e300)), "1e+300");
  EXPECT_EQ(CanonicalJson(json(std::nan(""))), "null");
}

TEST(CanonicalJsonTest, InvalidUtf8DoesNotThrow) {
  json value = std::string(
      "a\xff"
      "b");
  EXPECT_EQ(CanonicalJson(value),
            "\"a\xEF\xBF\xBD"
            "b\"");
}

}  // namespace
}  // namespace raypipe::core
