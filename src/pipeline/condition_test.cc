#include "pipeline/condition.h"

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

Result<bool> Evaluate(const char* text, const Resolver& resolver) {
  std::vector<Issue> issues;
  std::optional<Condition> condition = ParseCondition(json::parse(text), FieldPath(), &issues);
  EXPECT_TRUE(issues.empty()) << issues.front().message;
  if (!condition.has_value()) return InvalidArgumentError("unparsed");
  return EvaluateCondition(*condition, resolver);
}

MapResolver Values() {
  MapResolver resolver;
  resolver.Set("Parameters.Threshold", 15000.0);
  resolver.Set("Parameters.Mode", "fast");
  resolver.Set("Parameters.Count", 3);
  resolver.Set("Steps.Eval.PropertyFiles.Report", json::parse(R"({"rmse": 12000.5})"));
  return resolver;
}

TEST(ConditionTest, ComparesNumbersAndStrings) {
  const MapResolver resolver = Values();
  const char* rmse_ok = R"({"Type": "LessThanOrEqualTo",
      "LeftValue": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                                    "Path": "rmse"}},
      "RightValue": {"Get": "Parameters.Threshold"}})";
  EXPECT_TRUE(*Evaluate(rmse_ok, resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "Equals", "LeftValue": {"Get": "Parameters.Count"},
                            "RightValue": 3.0})", resolver));
  EXPECT_FALSE(*Evaluate(R"({"Type": "GreaterThan", "LeftValue": 3, "RightValue": 3})", resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "GreaterThanOrEqualTo", "LeftValue": 3, "RightValue": 3})",
                        resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "LessThan", "LeftValue": "abc", "RightValue": "abd"})",
                        resolver));
  EXPECT_TRUE(*Evaluate(
      R"({"Type": "LessThan", "LeftValue": -1, "RightValue": 18446744073709551615})", resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "Equals", "LeftValue": [1, 2], "RightValue": [1, 2]})",
                        resolver));
}

TEST(ConditionTest, InNotAndOr) {
  const MapResolver resolver = Values();
  EXPECT_TRUE(*Evaluate(R"({"Type": "In", "QueryValue": {"Get": "Parameters.Mode"},
                            "Values": ["slow", "fast"]})", resolver));
  EXPECT_FALSE(*Evaluate(R"({"Type": "In", "Value": {"Get": "Parameters.Mode"},
                             "In": ["slow"]})", resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1,
                            "RightValue": 2}})", resolver));
  EXPECT_FALSE(*Evaluate(R"({"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": 1,
                             "RightValue": 1}})", resolver));
  EXPECT_TRUE(*Evaluate(R"({"Type": "Or", "Conditions": [
      {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
      {"Type": "Equals", "LeftValue": "a", "RightValue": "a"}]})", resolver));
}

TEST(ConditionTest, ListsAreAnded) {
  std::vector<Issue> issues;
  const std::vector<Condition> conditions = ParseConditionList(json::parse(R"([
      {"Type": "Equals", "LeftValue": 1, "RightValue": 1},
      {"Type": "Equals", "LeftValue": 1, "RightValue": 2}])"), FieldPath(), &issues);
  ASSERT_TRUE(issues.empty());
  EXPECT_FALSE(*EvaluateConditions(conditions, Values()));
  EXPECT_TRUE(*EvaluateConditions({conditions[0]}, Values()));
  EXPECT_TRUE(*EvaluateConditions({}, Values()));
}

TEST(ConditionTest, TypeMismatchesAreErrorsNotFalse) {
  const MapResolver resolver = Values();
  Result<bool> mixed = Evaluate(R"({"Type": "Equals", "LeftValue": {"Get": "Parameters.Mode"},
                                    "RightValue": 1})", resolver);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.status().message(), "Equals cannot compare String \"fast\" with Integer 1");
  Result<bool> booleans = CompareValues(ConditionKind::kGreaterThan, json(true), json(false));
  ASSERT_FALSE(booleans.ok());
  EXPECT_EQ(booleans.status().message(),
            "GreaterThan needs numbers or strings, got true and false");
  EXPECT_FALSE(CompareValues(ConditionKind::kEquals, json(nullptr), json(nullptr)).ok());
  EXPECT_FALSE(CompareValues(ConditionKind::kIn, json(1), json(1)).ok());
}

TEST(ConditionTest, StaticTypeChecks) {
  const ReferenceTypeFn types = [](const Reference& reference) {
    return reference.name == "Mode" ? ValueType::kString : ValueType::kFloat;
  };
  std::vector<Issue> issues;
  const std::vector<Condition> conditions = ParseConditionList(json::parse(R"([
      {"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Threshold"}, "RightValue": 3},
      {"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Threshold"}, "RightValue": "x"},
      {"Type": "In", "QueryValue": {"Get": "Parameters.Mode"}, "Values": ["a", 1]},
      {"Type": "Not", "Condition": {"Type": "LessThan", "LeftValue": true, "RightValue": true}}])"),
      FieldPath("Conditions"), &issues);
  ASSERT_TRUE(issues.empty());
  for (const Condition& condition : conditions) CheckConditionTypes(condition, types, &issues);
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0].field.ToString(), "Conditions[1]");
  EXPECT_EQ(issues[0].message, "GreaterThan compares a Float with a String");
  EXPECT_EQ(issues[1].field.ToString(), "Conditions[2].Values[1]");
  EXPECT_EQ(issues[2].field.ToString(), "Conditions[3].Condition");
}

TEST(ConditionTest, MalformedConditionsAreReported) {
  std::vector<Issue> issues;
  ParseConditionList(json::parse(R"([
      "x", {}, {"Type": 1}, {"Type": "Maybe"}, {"Type": "Equals", "LeftValue": 1},
      {"Type": "In", "QueryValue": 1, "Values": 2}, {"Type": "Or", "Conditions": []},
      {"Type": "Not"}])"), FieldPath(), &issues);
  EXPECT_EQ(issues.size(), 8u);
  ParseConditionList(json::parse("[]"), FieldPath("Conditions"), &issues);
  EXPECT_EQ(issues.back().message,
            "Conditions must be a non-empty list of conditions, got List []");

  // Nesting is bounded.
  json deep = json::parse(R"({"Type": "Equals", "LeftValue": 1, "RightValue": 1})");
  for (int level = 0; level < 40; ++level) deep = json{{"Type", "Not"}, {"Condition", deep}};
  issues.clear();
  EXPECT_FALSE(ParseCondition(deep, FieldPath(), &issues).has_value());
  ASSERT_FALSE(issues.empty());
}

}  // namespace
}  // namespace raypipe::pipeline
