#include "pipeline/property_path.h"

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

TEST(PropertyPathTest, ParsesKeysIndexesAndQuotedKeys) {
  Result<PropertyPath> path = ParsePropertyPath("a.b[0]['c.d'][\"e\"].f");
  ASSERT_TRUE(path.ok()) << path.status();
  ASSERT_EQ(path->size(), 6u);
  EXPECT_EQ((*path)[0].key, "a");
  EXPECT_EQ((*path)[2].kind, PathSegment::Kind::kIndex);
  EXPECT_EQ((*path)[2].index, 0u);
  EXPECT_EQ((*path)[3].key, "c.d");
  EXPECT_EQ((*path)[4].key, "e");
  EXPECT_EQ(FormatPropertyPath(*path), "a.b[0]['c.d'].e.f");
}

TEST(PropertyPathTest, StartsWithABracket) {
  Result<PropertyPath> path = ParsePropertyPath("['all rows'][2]");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(FormatPropertyPath(*path), "['all rows'][2]");
}

TEST(PropertyPathTest, RejectsMalformedPathsWithTheColumn) {
  for (const char* text : {"", "a..b", ".a", "a.", "a[", "a[x]", "a['b]", "a['b'x", "a b", "a]"}) {
    Result<PropertyPath> path = ParsePropertyPath(text);
    EXPECT_FALSE(path.ok()) << text;
    EXPECT_EQ(path.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(ParsePropertyPath("a..b").status().message(),
            "malformed path 'a..b' at column 3: empty key");
}

TEST(PropertyPathTest, WildcardsOnlyWhenAllowed) {
  EXPECT_FALSE(ParsePropertyPath("A[*]").ok());
  Result<PropertyPath> pattern = ParsePropertyPath("A[*].*", /*allow_wildcards=*/true);
  ASSERT_TRUE(pattern.ok());
  EXPECT_TRUE(MatchesPattern(*ParsePropertyPath("A[3].x"), *pattern));
  EXPECT_TRUE(MatchesPattern(*ParsePropertyPath("A[3]['y.z']"), *pattern));
  EXPECT_FALSE(MatchesPattern(*ParsePropertyPath("A.b.x"), *pattern));
  EXPECT_FALSE(MatchesPattern(*ParsePropertyPath("A[3]"), *pattern));
  EXPECT_FALSE(MatchesPattern(*ParsePropertyPath("A[3].x.y"), *pattern));
}

TEST(PropertyPathTest, GetsValuesAndNamesWhatIsMissing) {
  const json document = json::parse(R"({"m": {"rmse": {"value": 12.5}}, "l": [1, {"k": "v"}]})");
  EXPECT_EQ(*GetAtPath(document, *ParsePropertyPath("m.rmse.value")), json(12.5));
  EXPECT_EQ(*GetAtPath(document, *ParsePropertyPath("l[1]['k']")), json("v"));
  EXPECT_EQ(*GetAtPath(document, PropertyPath{}), document);

  Result<json> missing = GetAtPath(document, *ParsePropertyPath("m.mae.value"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no key 'mae' at 'm'");
  Result<json> out_of_range = GetAtPath(document, *ParsePropertyPath("l[5]"));
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(out_of_range.status().message(), "index [5] is out of range at 'l' (size 2)");
  Result<json> wrong_kind = GetAtPath(document, *ParsePropertyPath("m[0]"));
  EXPECT_EQ(wrong_kind.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::pipeline
