// Unit tests of the engine's pure parts: retry policies, cache keys, the step runner registry.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/engine/cache.h"
#include "pipeline/engine/retry.h"
#include "pipeline/step_runner.h"
#include "pipeline/steps/command_step.h"

namespace raypipe::pipeline {
namespace {

using std::chrono::milliseconds;

RetryPolicy Policy(std::vector<std::string> types, int64_t interval, double backoff,
                   std::optional<int64_t> max_attempts, std::optional<int64_t> expire_min) {
  RetryPolicy policy;
  policy.exception_types = std::move(types);
  policy.interval_seconds = interval;
  policy.backoff_rate = backoff;
  policy.max_attempts = max_attempts;
  policy.expire_after_min = expire_min;
  return policy;
}

TEST(RetryTrackerTest, BacksOffAndStopsAfterMaxAttempts) {
  std::vector<RetryPolicy> policies = {Policy({"Step.SERVICE_FAULT"}, 2, 3.0, 2, std::nullopt)};
  RetryTracker tracker(&policies);
  Status lost = UnavailableError("worker lost");
  EXPECT_EQ(tracker.NextDelay(lost, milliseconds(0)), milliseconds(2000));
  EXPECT_EQ(tracker.NextDelay(lost, milliseconds(0)), milliseconds(6000));
  EXPECT_EQ(tracker.NextDelay(lost, milliseconds(0)), std::nullopt);
}

TEST(RetryTrackerTest, OnlyMatchingTransientErrorsAreRetried) {
  std::vector<RetryPolicy> policies = {Policy({"Step.THROTTLING"}, 1, 1.0, 5, std::nullopt)};
  RetryTracker tracker(&policies);
  EXPECT_EQ(tracker.NextDelay(UnavailableError("x"), milliseconds(0)), std::nullopt);
  EXPECT_EQ(tracker.NextDelay(InvalidArgumentError("x"), milliseconds(0)), std::nullopt);
  EXPECT_EQ(tracker.NextDelay(DeadlineExceededError("x"), milliseconds(0)), milliseconds(1000));
}

TEST(RetryTrackerTest, ExpireAfterMinBoundsTheTimeSinceTheFirstAttempt) {
  std::vector<RetryPolicy> policies = {
      Policy({"SageMaker.CAPACITY_ERROR"}, 30, 1.0, std::nullopt, 1)};
  RetryTracker tracker(&policies);
  Status capacity = ResourceExhaustedError("no capacity");
  EXPECT_EQ(tracker.NextDelay(capacity, milliseconds(0)), milliseconds(30000));
  EXPECT_EQ(tracker.NextDelay(capacity, milliseconds(40000)), std::nullopt);
}

TEST(RetryExceptionTypeTest, MapsTransientCodes) {
  EXPECT_EQ(RetryExceptionType(UnavailableError("x")), "Step.SERVICE_FAULT");
  EXPECT_EQ(RetryExceptionType(AbortedError("x")), "SageMaker.JOB_INTERNAL_ERROR");
  EXPECT_EQ(RetryExceptionType(ResourceExhaustedError("quota limit")), "SageMaker.RESOURCE_LIMIT");
  EXPECT_EQ(RetryExceptionType(UnknownError("x")), "");
}

TEST(CacheKeyTest, DependsOnContentNotOrder) {
  CacheKeyParts a;
  a.step_type = "Command";
  a.implementation_version = "1";
  a.arguments = nlohmann::json::parse(R"({"b": 1, "a": [1, 2]})");
  a.inputs["raw"] = "sha256:aa";
  CacheKeyParts b = a;
  b.arguments = nlohmann::json::parse(R"({"a": [1, 2], "b": 1})");
  EXPECT_EQ(ComputeCacheKey(a), ComputeCacheKey(b));
  b.inputs["raw"] = "sha256:bb";
  EXPECT_NE(ComputeCacheKey(a), ComputeCacheKey(b));
  b = a;
  b.implementation_version = "2";
  EXPECT_NE(ComputeCacheKey(a), ComputeCacheKey(b));
  EXPECT_THAT(DiffCacheKeyParts(CacheKeyPartsToJson(a), CacheKeyPartsToJson(b)),
              ::testing::ElementsAre("ImplementationVersion: \"1\" -> \"2\""));
}

TEST(StepRunnerRegistryTest, RefusesDuplicatesAndNull) {
  StepRunnerRegistry registry;
  EXPECT_TRUE(registry.Register(std::make_unique<CommandStepRunner>()).ok());
  EXPECT_EQ(registry.Register(std::make_unique<CommandStepRunner>()).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Register(nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(registry.Find("Command"), nullptr);
  EXPECT_EQ(registry.Find("Training"), nullptr);
  EXPECT_THAT(registry.Types(), ::testing::ElementsAre("Command"));
}

TEST(StepRunnerTest, DefaultInputsAreTheArtifactUrisInArguments) {
  CommandStepRunner command;
  const std::string uri = "artifact://sha256:" + std::string(64, 'a');
  EXPECT_TRUE(IsArtifactUri(uri));
  EXPECT_FALSE(IsArtifactUri("artifact://sha256:../x"));
  auto inputs = command.StepRunner::DeclareInputs(
      nlohmann::json{{"Train", uri}, {"List", {1, uri}}}, "/tmp");
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 2u);
  EXPECT_EQ((*inputs)[0].name, "List[1]");
  EXPECT_EQ((*inputs)[1].name, "Train");
}

TEST(CommandStepTest, MalformedArgumentsNameTheField) {
  CommandStepRunner command;
  auto inputs = command.DeclareInputs(nlohmann::json{{"Command", nlohmann::json::array()}}, "/");
  EXPECT_THAT(std::string(inputs.status().message()), ::testing::HasSubstr("Arguments.Command"));
  inputs = command.DeclareInputs(
      nlohmann::json::parse(R"({"Command": ["x"], "MetricDefinitions": [{"Name": "m", "Regex": "("}]})"),
      "/");
  EXPECT_THAT(std::string(inputs.status().message()),
              ::testing::HasSubstr("MetricDefinitions[0].Regex"));
}

}  // namespace
}  // namespace raypipe::pipeline
