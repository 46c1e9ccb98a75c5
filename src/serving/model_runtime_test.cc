#include "serving/model_runtime.h"

#include <map>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serving/fake_model.h"
#include "serving/metrics.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

Variant MakeVariant(std::string name, double weight, float bias) {
  Variant variant;
  variant.name = std::move(name);
  variant.weight = weight;
  variant.model_version = "g:" + std::to_string(static_cast<int>(bias));
  variant.model = std::make_shared<FakeModel>(std::vector<std::string>{"A"}, bias);
  return variant;
}

TEST(ModelRuntimeTest, EmptyUntilFirstSwap) {
  Metrics metrics;
  ModelRuntime runtime(&metrics);
  EXPECT_EQ(runtime.Current(), nullptr);
  ASSERT_TRUE(runtime.Swap({MakeVariant("AllTraffic", 1, 1)}).ok());
  ASSERT_NE(runtime.Current(), nullptr);
  EXPECT_EQ(runtime.Current()->generation(), 1u);
}

TEST(ModelRuntimeTest, OldSnapshotSurvivesSwap) {
  Metrics metrics;
  ModelRuntime runtime(&metrics);
  ASSERT_TRUE(runtime.Swap({MakeVariant("AllTraffic", 1, 1)}).ok());
  std::shared_ptr<const VariantSet> in_flight = runtime.Current();
  ASSERT_TRUE(runtime.Swap({MakeVariant("AllTraffic", 1, 2)}).ok());
  EXPECT_EQ(in_flight->variants()[0].model_version, "g:1");
  EXPECT_EQ(runtime.Current()->variants()[0].model_version, "g:2");
  EXPECT_EQ(runtime.Current()->generation(), 2u);
  // Counters carry over between sets for the same variant name.
  EXPECT_EQ(in_flight->variants()[0].metrics, runtime.Current()->variants()[0].metrics);
}

TEST(ModelRuntimeTest, RejectsBadVariantsAndKeepsCurrent) {
  Metrics metrics;
  ModelRuntime runtime(&metrics);
  ASSERT_TRUE(runtime.Swap({MakeVariant("A", 1, 1)}).ok());
  EXPECT_FALSE(runtime.Swap({}).ok());
  Status twice = runtime.Swap({MakeVariant("A", 1, 1), MakeVariant("A", 1, 2)});
  EXPECT_THAT(twice.message(), HasSubstr("given twice"));
  Status zero = runtime.Swap({MakeVariant("B", 0, 1)});
  EXPECT_THAT(zero.message(), HasSubstr("weight must be a positive number"));
  Variant no_model = MakeVariant("C", 1, 1);
  no_model.model = nullptr;
  EXPECT_FALSE(runtime.Swap({no_model}).ok());
  EXPECT_EQ(runtime.Current()->variants()[0].name, "A");
}

TEST(VariantSetTest, PicksByWeight) {
  VariantSet set({MakeVariant("A", 1, 1), MakeVariant("B", 3, 2)}, 1);
  std::map<std::string, int> counts;
  uint64_t state = 12345;
  for (int draw = 0; draw < 40000; ++draw) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    ++counts[set.Pick(state).name];
  }
  EXPECT_NEAR(counts["A"] / 40000.0, 0.25, 0.02);
  EXPECT_NEAR(counts["B"] / 40000.0, 0.75, 0.02);
  EXPECT_EQ(set.Pick(0).name, "A");
  EXPECT_EQ(set.Pick(~0ULL).name, "B");
  EXPECT_NE(set.Find("B"), nullptr);
  EXPECT_EQ(set.Find("C"), nullptr);
}

TEST(MetricsTest, RendersPrometheusText) {
  Metrics metrics;
  auto counters = metrics.ForVariant("A");
  counters->requests += 3;
  counters->errors_4xx += 1;
  metrics.ObserveLatency(0.0003);
  metrics.ObserveLatency(2.0);
  metrics.CountRejected(415);
  metrics.SetServing({{"A", "housing:3", 1.0}});
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_requests_total{variant=\"A\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_errors_total{variant=\"A\",class=\"4xx\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_rejected_total{code=\"415\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_latency_seconds_bucket{le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("raypipe_endpoint_latency_seconds_count 2\n"));
  EXPECT_THAT(text,
              HasSubstr("raypipe_endpoint_model_info{variant=\"A\",model=\"housing:3\",weight=\"1\"} 1"));
}

}  // namespace
}  // namespace raypipe::serving
