#include "ml/tuning/tuning_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::ml::tuning {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json HousingConfig() {
  return json::parse(R"({
    "Strategy": "Bayesian",
    "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": "4"},
    "ParameterRanges": {
      "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "8",
                                  "ScalingType": "Auto"}],
      "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.2", "MaxValue": "1"}],
      "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}]
    },
    "TrainingJobEarlyStoppingType": "Auto",
    "RandomSeed": 47,
    "StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 2, "MaxResource": "50"}}
  })");
}

std::string ErrorOf(const json& config) {
  Result<TuningJobConfig> parsed = ParseHyperParameterTuningJobConfig(config);
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(TuningConfigTest, ParsesEveryField) {
  Result<TuningJobConfig> config = ParseHyperParameterTuningJobConfig(HousingConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->strategy, StrategyType::kBayesian);
  EXPECT_EQ(config->objective_type, ObjectiveType::kMinimize);
  EXPECT_EQ(config->objective_metric, "validation:rmse");
  EXPECT_EQ(config->max_jobs, 4);
  EXPECT_EQ(config->max_parallel_jobs, 4);
  EXPECT_EQ(config->early_stopping, EarlyStoppingType::kAuto);
  EXPECT_EQ(config->random_seed, 47u);
  EXPECT_EQ(config->min_resource, 2);
  EXPECT_EQ(config->max_resource, 50);
  ASSERT_EQ(config->space.dimensions(), 3u);
  EXPECT_EQ(config->space.ranges()[0].name, "max_depth");
  EXPECT_EQ(config->space.ranges()[2].values, (std::vector<std::string>{"gbtree", "dart"}));
}

TEST(TuningConfigTest, DefaultsWhenOptionalFieldsAreAbsent) {
  json config = HousingConfig();
  for (const char* key : {"Strategy", "ResourceLimits", "TrainingJobEarlyStoppingType",
                          "RandomSeed", "StrategyConfig"}) {
    config.erase(key);
  }
  Result<TuningJobConfig> parsed = ParseHyperParameterTuningJobConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->strategy, StrategyType::kBayesian);
  EXPECT_EQ(parsed->max_jobs, 10);
  EXPECT_EQ(parsed->max_parallel_jobs, 1);
  EXPECT_EQ(parsed->early_stopping, EarlyStoppingType::kOff);
}

TEST(TuningConfigTest, ErrorsNameTheField) {
  json config = HousingConfig();
  config["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 0;
  EXPECT_THAT(ErrorOf(config),
              HasSubstr("HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs: "
                        "must be between 1 and"));

  config = HousingConfig();
  config["Strategy"] = "Genetic";
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperParameterTuningJobConfig.Strategy: "));
  EXPECT_THAT(ErrorOf(config), HasSubstr("Genetic"));

  config = HousingConfig();
  config["HyperParameterTuningJobObjective"]["Type"] = "Lower";
  EXPECT_THAT(ErrorOf(config),
              HasSubstr("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type"));

  config = HousingConfig();
  config["HyperParameterTuningJobObjective"].erase("MetricName");
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperParameterTuningJobObjective.MetricName: required"));

  config = HousingConfig();
  config["ParameterRanges"]["IntegerParameterRanges"][0]["MinValue"] = "9";
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperParameterTuningJobConfig.ParameterRanges"));

  config = HousingConfig();
  config.erase("ParameterRanges");
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperParameterTuningJobConfig.ParameterRanges: required"));

  config = HousingConfig();
  config["MaxJobs"] = 3;
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperParameterTuningJobConfig.MaxJobs: unknown field"));

  config = HousingConfig();
  config["ResourceLimits"]["MaxParallelTrainingJobs"] = "four";
  EXPECT_THAT(ErrorOf(config), HasSubstr("MaxParallelTrainingJobs: expected an Integer"));

  config = HousingConfig();
  config["StrategyConfig"]["HyperbandStrategyConfig"]["MaxResource"] = 1;
  EXPECT_THAT(ErrorOf(config), HasSubstr("HyperbandStrategyConfig.MaxResource: must be at least"));

  EXPECT_THAT(ErrorOf(json::array()), HasSubstr("HyperParameterTuningJobConfig: expected an object"));
}

TEST(TuningConfigTest, WarmStartConfig) {
  Result<WarmStartConfig> parsed = ParseWarmStartConfig(json::parse(
      R"({"ParentHyperParameterTuningJobs": ["a", {"HyperParameterTuningJobName": "b"}],
          "WarmStartType": "IdenticalDataAndAlgorithm"})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->parent_jobs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parsed->type, "IdenticalDataAndAlgorithm");

  Result<WarmStartConfig> empty =
      ParseWarmStartConfig(json::parse(R"({"ParentHyperParameterTuningJobs": []})"));
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(),
              HasSubstr("WarmStartConfig.ParentHyperParameterTuningJobs: required"));
  Result<WarmStartConfig> bad_type = ParseWarmStartConfig(
      json::parse(R"({"ParentHyperParameterTuningJobs": ["a"], "WarmStartType": "Same"})"));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_THAT(bad_type.status().message(), HasSubstr("WarmStartConfig.WarmStartType"));
  Result<WarmStartConfig> bad_parent = ParseWarmStartConfig(
      json::parse(R"({"ParentHyperParameterTuningJobs": [3]})"));
  ASSERT_FALSE(bad_parent.ok());
  EXPECT_THAT(bad_parent.status().message(),
              HasSubstr("WarmStartConfig.ParentHyperParameterTuningJobs[0]"));
}

}  // namespace
}  // namespace raypipe::ml::tuning
