#include "pipeline/expression.h"

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

MapResolver Values() {
  MapResolver resolver;
  resolver.Set("Parameters.Rows", 1000);
  resolver.Set("Parameters.Ratio", 0.25);
  resolver.Set("Execution.PipelineExecutionId", "exec-1");
  resolver.Set("Steps.Train.Outputs.model", "artifacts/ab12");
  resolver.Set("Steps.PerRegion.Outputs.model", json::array({"m/1", "m/2"}));
  resolver.Set("Steps.Eval.PropertyFiles.Report",
               json::parse(R"({"metrics": {"rmse": {"value": 1234.5}}, "all": [[1, 2]]})"));
  resolver.Set("Item", "north");
  resolver.Set("ItemIndex", 2);
  return resolver;
}

TEST(ReferenceTest, ParsesEachKind) {
  Result<Reference> parameter = ParseReference("Parameters.Rows");
  ASSERT_TRUE(parameter.ok());
  EXPECT_EQ(parameter->kind, ReferenceKind::kParameter);
  EXPECT_EQ(parameter->name, "Rows");

  Result<Reference> step =
      ParseReference("Steps.Train.FinalMetricDataList['validation:rmse'].Value");
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->kind, ReferenceKind::kStep);
  EXPECT_EQ(step->name, "Train");
  EXPECT_EQ(FormatPropertyPath(step->property), "FinalMetricDataList.validation:rmse.Value");
  EXPECT_FALSE(step->IsPropertyFile());

  Result<Reference> bracket = ParseReference("Steps.Train['Outputs'].model");
  ASSERT_TRUE(bracket.ok()) << bracket.status();
  EXPECT_EQ(bracket->ToString(), "Steps.Train.Outputs.model");

  Result<Reference> file = ParseReference("Steps.Eval.PropertyFiles.Report");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->IsPropertyFile());
  EXPECT_EQ(file->PropertyFileName(), "Report");

  EXPECT_EQ(ParseReference("Execution.StartDateTime")->kind, ReferenceKind::kExecution);
  EXPECT_EQ(ParseReference("Item")->kind, ReferenceKind::kItem);
  EXPECT_EQ(ParseReference("ItemIndex")->kind, ReferenceKind::kItemIndex);
}

TEST(ReferenceTest, RejectsMalformedReferences) {
  for (const char* text : {"", "Parameters.", "Parameters.a.b", "Execution.Nope", "Steps.",
                           "Steps.A", "Steps.A.", "Steps..x", "Steps.A.b[", "Params.X", "item"}) {
    EXPECT_FALSE(ParseReference(text).ok()) << text;
  }
  EXPECT_EQ(ParseReference("Steps.A").status().message(),
            "malformed reference 'Steps.A'; expected 'Steps.<step>.<property>'");
}

TEST(ExpressionTest, EvaluatesNestedExpressions) {
  const json value = json::parse(R"({
    "cmd": ["fit", {"Get": "Parameters.Rows"}, {"Get": "Item"}, {"Get": "ItemIndex"}],
    "tag": {"Std:Join": {"On": "-", "Values": ["run", {"Get": "Execution.PipelineExecutionId"},
                                                  {"Get": "Parameters.Ratio"}, true, null]}},
    "models": {"Std:Join": {"On": ",", "Values": {"Get": "Steps.PerRegion.Outputs.model"}}},
    "rmse": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                              "Path": "metrics.rmse.value"}},
    "first": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                               "Path": {"Std:Join": {"On": "", "Values": ["all[0]", "[1]"]}}}},
    "plain": {"nested": [1, 2.5, "x"]}
  })");
  Result<json> result = EvaluateJson(value, Values());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)["cmd"], json::parse(R"(["fit", 1000, "north", 2])"));
  EXPECT_EQ((*result)["tag"], json("run-exec-1-0.25-true-"));
  EXPECT_EQ((*result)["models"], json("m/1,m/2"));
  EXPECT_EQ((*result)["rmse"], json(1234.5));
  EXPECT_EQ((*result)["first"], json(2));
  EXPECT_EQ((*result)["plain"], value["plain"]);
}

TEST(ExpressionTest, EvaluationErrorsNameTheReference) {
  Result<json> missing = EvaluateJson(json::parse(R"({"Get": "Parameters.Nope"})"), Values());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Get Parameters.Nope: no value for Parameters.Nope");

  Result<json> path = EvaluateJson(json::parse(R"({"Std:JsonGet": {
      "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"}, "Path": "metrics.mae.value"}})"),
                                   Values());
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().message(),
            "Std:JsonGet: property file 'Report' of step 'Eval': no key 'mae' at 'metrics'");

  Result<json> join = EvaluateJson(
      json::parse(R"({"Std:Join": {"On": ",", "Values": {"Get": "Parameters.Rows"}}})"), Values());
  ASSERT_FALSE(join.ok());
  EXPECT_EQ(join.status().message(), "Std:Join: Values must be a list, got 1000");
}

TEST(ExpressionTest, CollectsReferencesWithTheirFields) {
  const json value = json::parse(R"({"Command": ["run", {"Get": "Parameters.Rows"},
      {"Std:Join": {"On": "", "Values": [{"Get": "Steps.A.Outputs.x"}]}}]})");
  std::vector<Issue> issues;
  const Expression expression = ParseExpression(value, FieldPath("Arguments"), &issues);
  EXPECT_TRUE(issues.empty());
  const std::vector<LocatedReference> references = CollectReferences(expression);
  ASSERT_EQ(references.size(), 2u);
  EXPECT_EQ(references[0].reference.ToString(), "Parameters.Rows");
  EXPECT_EQ(references[0].field.ToString(), "Arguments.Command[1]");
  EXPECT_EQ(references[1].reference.ToString(), "Steps.A.Outputs.x");
  EXPECT_EQ(references[1].field.ToString(), "Arguments.Command[2].Std:Join.Values[0]");
}

TEST(ExpressionTest, ReportsEveryMalformedExpression) {
  const json value = json::parse(R"([
    {"Get": 1},
    {"Get": "Parameters.X", "Other": 2},
    {"Std:Unknown": {}},
    {"Std:Join": {"On": ",", "Values": "x"}},
    {"Std:Join": {"Values": []}},
    {"Std:JsonGet": {"PropertyFile": "Report", "Path": "a"}},
    {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.R"}, "Path": "a[x]"}},
    {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.R"}, "Path": 3}}
  ])");
  std::vector<Issue> issues;
  ParseExpression(value, FieldPath(), &issues);
  ASSERT_EQ(issues.size(), 8u);
  EXPECT_EQ(issues[0].field.ToString(), "[0].Get");
  EXPECT_EQ(issues[3].message, "Values must be a list, got \"x\"");
  EXPECT_EQ(issues[4].field.ToString(), "[4].Std:Join.On");
  EXPECT_EQ(issues[5].field.ToString(), "[5].Std:JsonGet.PropertyFile");
  EXPECT_EQ(ParseExpression(value).status().message(),
            "field '[0].Get': Get takes a string such as \"Parameters.X\", got 1");
}

TEST(ExpressionTest, InfersStaticTypes) {
  const ReferenceTypeFn types = [](const Reference& reference) {
    return reference.kind == ReferenceKind::kParameter ? ValueType::kFloat : ValueType::kUnknown;
  };
  auto type_of = [&](const char* text) {
    return InferType(*ParseExpression(json::parse(text)), types);
  };
  EXPECT_EQ(type_of(R"({"Get": "Parameters.X"})"), ValueType::kFloat);
  EXPECT_EQ(type_of(R"({"Get": "Steps.A.Outputs.x"})"), ValueType::kUnknown);
  EXPECT_EQ(type_of(R"({"Std:Join": {"On": "", "Values": []}})"), ValueType::kString);
  EXPECT_EQ(type_of("3"), ValueType::kInteger);
  EXPECT_EQ(type_of("[1]"), ValueType::kList);

  std::vector<Issue> issues;
  const Expression join = *ParseExpression(
      json::parse(R"({"Std:Join": {"On": "", "Values": [{"Get": "Parameters.X"}, [1], {}]}})"));
  CheckExpressionTypes(join, types, &issues);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].message, "Std:Join joins scalars; this is a List");
  EXPECT_EQ(issues[1].message, "Std:Join joins scalars; this is an Object");
}

TEST(ExpressionTest, RendersValuesAsText) {
  EXPECT_EQ(ValueToText(json("a b")), "a b");
  EXPECT_EQ(ValueToText(json(42)), "42");
  EXPECT_EQ(ValueToText(json(0.1)), "0.1");
  EXPECT_EQ(ValueToText(json(1e21)), "1e+21");
  EXPECT_EQ(ValueToText(json(false)), "false");
  EXPECT_EQ(ValueToText(json(nullptr)), "");
  EXPECT_EQ(ValueToText(json::parse("[1,\"a\"]")), "[1,\"a\"]");
}

}  // namespace
}  // namespace raypipe::pipeline
