#include "pipeline/dag.h"

#include <gtest/gtest.h>

#include "pipeline/parser.h"

namespace raypipe::pipeline {
namespace {

PipelineDefinition Parse(std::string_view text) {
  Result<PipelineDefinition> definition = ParseDefinition(text, "dag.yaml");
  EXPECT_TRUE(definition.ok()) << definition.status();
  return std::move(definition).value();
}

std::vector<std::string> Names(const Dag& dag, const std::vector<size_t>& steps) {
  std::vector<std::string> names;
  for (size_t step : steps) names.push_back(dag.name(step));
  return names;
}

TEST(DagTest, EdgesFromDependsOnReferencesAndBranches) {
  const PipelineDefinition definition = Parse(R"(
Steps:
  - Name: Deploy
    Type: Command
    Arguments: {Command: [deploy, {Get: Steps.Register.Outputs.model}]}
  - Name: Check
    Type: Condition
    Arguments:
      Conditions:
        - Type: Equals
          LeftValue: {Std:JsonGet: {PropertyFile: {Get: Steps.Eval.PropertyFiles.R}, Path: a}}
          RightValue: 1
      IfSteps: [Register]
  - Name: Eval
    Type: Command
    DependsOn: [Prepare]
    Arguments: {Command: [eval]}
  - Name: Register
    Type: Command
    Arguments: {Command: [register], Outputs: [{OutputName: model}]}
  - Name: Prepare
    Type: Command
    Arguments: {Command: [prepare]}
)");
  const Dag dag = Dag::Build(definition);
  ASSERT_EQ(dag.size(), 5u);
  const size_t deploy = *dag.Find("Deploy"), check = *dag.Find("Check"),
               eval = *dag.Find("Eval"), reg = *dag.Find("Register"), prep = *dag.Find("Prepare");
  EXPECT_EQ(dag.Upstream(deploy), std::vector<size_t>{reg});
  EXPECT_EQ(dag.Upstream(check), std::vector<size_t>{eval});
  EXPECT_EQ(dag.Upstream(reg), std::vector<size_t>{check});
  EXPECT_EQ(dag.Downstream(prep), std::vector<size_t>{eval});
  EXPECT_TRUE(dag.IsUpstream(prep, deploy));
  EXPECT_FALSE(dag.IsUpstream(deploy, prep));

  const DagEdge* branch = dag.FindEdge(check, reg);
  ASSERT_NE(branch, nullptr);
  EXPECT_EQ(branch->kind, EdgeKind::kBranch);
  EXPECT_EQ(branch->owner, check);
  EXPECT_EQ(branch->field.ToString(), "Arguments.IfSteps[0]");
  const DagEdge* reference = dag.FindEdge(eval, check);
  ASSERT_NE(reference, nullptr);
  EXPECT_EQ(reference->kind, EdgeKind::kReference);
  EXPECT_EQ(reference->field.ToString(),
            "Arguments.Conditions[0].LeftValue.Std:JsonGet.PropertyFile");

  Result<std::vector<size_t>> order = dag.TopologicalOrder();
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(Names(dag, *order),
            (std::vector<std::string>{"Prepare", "Eval", "Check", "Register", "Deploy"}));
  EXPECT_TRUE(dag.Cycles().empty());
}

TEST(DagTest, FindsEveryCycleOnce) {
  const PipelineDefinition definition = Parse(R"(
Steps:
  - {Name: A, Type: Fail, DependsOn: [C]}
  - {Name: B, Type: Fail, DependsOn: [A]}
  - {Name: C, Type: Fail, DependsOn: [B, Z]}
  - {Name: Z, Type: Fail}
  - {Name: S, Type: Fail, DependsOn: [S]}
  - {Name: X, Type: Fail, DependsOn: [Y]}
  - {Name: Y, Type: Fail, DependsOn: [X, A]}
)");
  const Dag dag = Dag::Build(definition);
  const std::vector<std::vector<size_t>> cycles = dag.Cycles();
  ASSERT_EQ(cycles.size(), 3u);
  EXPECT_EQ(dag.FormatCycle(cycles[0]), "A -> B -> C -> A");
  EXPECT_EQ(dag.FormatCycle(cycles[1]), "S -> S");
  EXPECT_EQ(dag.FormatCycle(cycles[2]), "X -> Y -> X");
  Result<std::vector<size_t>> order = dag.TopologicalOrder();
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(order.status().message(), "dependency cycle: A -> B -> C -> A");
}

TEST(DagTest, LongChainsDoNotExhaustTheStack) {
  // S0 <- S1 <- ... <- S99999 <- S0: a recursive walk would need 100000 frames.
  constexpr size_t kSteps = 100000;
  PipelineDefinition definition;
  for (size_t index = 0; index < kSteps; ++index) {
    StepDefinition step;
    step.name = "S" + std::to_string(index);
    step.type = "Fail";
    step.depends_on.push_back("S" + std::to_string((index + kSteps - 1) % kSteps));
    definition.steps.push_back(std::move(step));
  }
  const Dag dag = Dag::Build(definition);
  const std::vector<std::vector<size_t>> cycles = dag.Cycles();
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0].size(), kSteps + 1);
  EXPECT_EQ(dag.name(cycles[0][1]), "S1");
  EXPECT_FALSE(dag.TopologicalOrder().ok());
}

TEST(DagTest, UnknownNamesMakeNoEdges) {
  const PipelineDefinition definition = Parse(R"(
Steps:
  - {Name: A, Type: Fail, DependsOn: [Ghost]}
  - Name: B
    Type: Command
    Arguments: {Command: [run, {Get: Steps.Phantom.Outputs.x}]}
)");
  const Dag dag = Dag::Build(definition);
  EXPECT_TRUE(dag.edges().empty());
  EXPECT_FALSE(dag.Find("Ghost").has_value());
}

}  // namespace
}  // namespace raypipe::pipeline
