#include "pipeline/steps/tuning_step.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "experiments/experiment_store.h"
#include "ml/model_bundle.h"
#include "pipeline/steps/ml_step_test_util.h"
#include "pipeline/steps/register_model_step.h"
#include "pipeline/steps/training_step.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class TuningStepTest : public testing::MlStepTest {
 protected:
  static json Arguments(int jobs = 4) {
    return {{"HyperParameterTuningJobConfig",
             {{"Strategy", "Bayesian"},
              {"HyperParameterTuningJobObjective",
               {{"Type", "Minimize"}, {"MetricName", "validation:rmse"}}},
              {"ResourceLimits",
               {{"MaxNumberOfTrainingJobs", jobs}, {"MaxParallelTrainingJobs", 2}}},
              {"ParameterRanges",
               {{"IntegerParameterRanges",
                 {{{"Name", "max_depth"}, {"MinValue", "1"}, {"MaxValue", "8"}}}},
                {"ContinuousParameterRanges",
                 {{{"Name", "eta"}, {"MinValue", "0.2"}, {"MaxValue", "1"}}}}}},
              {"RandomSeed", 47}}},
            {"TrainingJobDefinition",
             {{"Channels", {{"train", "train.csv"}, {"validation", "validation.csv"}}},
              {"TargetColumn", "PRICE"},
              {"StaticHyperParameters",
               {{"objective", "reg:squarederror"},
                {"eval_metric", "mae,rmse"},
                {"tree_method", "hist"},
                {"seed", 47},
                {"num_round", 20}}}}}};
  }

  Result<StepOutcome> RunTuning(json arguments, std::string step = "HPTuning",
                                std::string execution = "exec-test-1") {
    StepContext context = Context(std::move(arguments), std::move(step), std::move(execution));
    last_staging_ = context.staging_dir;
    return runner_.Run(context);
  }

  TuningStepRunner runner_;
  std::string last_staging_;
};

TEST_F(TuningStepTest, FourJobsReportTheBestFirstAndItsModel) {
  WriteHousing(1500);
  Result<StepOutcome> outcome = RunTuning(Arguments());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const json& properties = outcome->properties;
  EXPECT_EQ(properties["HyperParameterTuningJobName"], "HPTuning-exec-test-1");
  const json& summaries = properties["TrainingJobSummaries"];
  ASSERT_EQ(summaries.size(), 4u) << summaries.dump();
  double previous = -1;
  for (const json& summary : summaries) {
    EXPECT_EQ(summary["TrainingJobStatus"], "Completed");
    EXPECT_TRUE(summary["TunedHyperParameters"].contains("max_depth"));
    EXPECT_TRUE(summary["TunedHyperParameters"].contains("eta"));
    const double value = summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"];
    EXPECT_GE(value, previous);
    previous = value;
  }
  const json& best = properties["BestTrainingJob"];
  EXPECT_EQ(best["TrainingJobName"], summaries[0]["TrainingJobName"]);
  EXPECT_EQ(best["TunedHyperParameters"], summaries[0]["TunedHyperParameters"]);
  const json& objective = best["FinalHyperParameterTuningJobObjectiveMetric"];
  EXPECT_EQ(objective["MetricName"], "validation:rmse");
  EXPECT_DOUBLE_EQ(outcome->metrics.at("validation:rmse"), objective["Value"].get<double>());
  EXPECT_TRUE(IsArtifactUri(best["ModelArtifacts"]["S3ModelArtifacts"].get<std::string>()));
  EXPECT_EQ(properties["TrainingJobStatusCounters"]["Completed"], 4);

  auto bundle = ml::LoadModelBundle(last_staging_ + "/model");
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->target, "PRICE");
  EXPECT_EQ(bundle->features.size(), 8u);

  // Each training job is a run, found by the tuning job's name.
  auto experiments = experiments::ExperimentStore::Open(metadata_.get());
  ASSERT_TRUE(experiments.ok());
  auto runs = (*experiments)->ListRuns("ml-step-test");
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 4u);
  for (const experiments::RunRecord& run : *runs) {
    EXPECT_EQ(run.source.kind, "tuning");
    EXPECT_EQ(run.source.execution_id, "HPTuning-exec-test-1");
    EXPECT_EQ(run.status, experiments::RunStatus::kCompleted);
    EXPECT_EQ(run.parameters["tree_method"], "hist");
    auto series = (*experiments)->MetricSeries(run.run_id, "validation:mae");
    ASSERT_TRUE(series.ok());
    EXPECT_EQ(series->size(), 20u);
  }

  // A second tuning job warm-starts from the first.
  json warm = Arguments(2);
  warm["WarmStartConfig"] = {{"ParentHyperParameterTuningJobs", {"HPTuning-exec-test-1"}},
                             {"WarmStartType", "IdenticalDataAndAlgorithm"}};
  Result<StepOutcome> second = RunTuning(warm, "HPTuning", "exec-test-2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->properties["TrainingJobSummaries"].size(), 2u);
  bool logged = false;
  for (const std::string& line : log_.Lines()) {
    logged = logged || line.find("warm start from 4 earlier training jobs") != std::string::npos;
  }
  EXPECT_TRUE(logged);

  warm["WarmStartConfig"]["ParentHyperParameterTuningJobs"] = {"no-such-job"};
  Result<StepOutcome> missing = RunTuning(warm, "HPTuning", "exec-test-3");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("Arguments.WarmStartConfig.ParentHyperParameterTuningJobs[0]"));
}

TEST_F(TuningStepTest, RunTimeErrorsNameTheField) {
  WriteHousing(200);
  json arguments = Arguments();
  arguments["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 0;
  Result<StepOutcome> outcome = RunTuning(arguments);
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(),
              HasSubstr("Arguments.HyperParameterTuningJobConfig.ResourceLimits."
                        "MaxNumberOfTrainingJobs"));

  arguments = Arguments();
  arguments["HyperParameterTuningJobConfig"]["Strategy"] = "Genetic";
  outcome = RunTuning(arguments);
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(),
              HasSubstr("Arguments.HyperParameterTuningJobConfig.Strategy"));

  arguments = Arguments();
  arguments["TrainingJobDefinition"]["HyperParameters"] = {{"max_depth", 3}};
  outcome = RunTuning(arguments);
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(),
              HasSubstr("Arguments.TrainingJobDefinition.HyperParameters: unknown field"));

  arguments = Arguments();
  arguments["TrainingJobDefinition"]["Channels"].erase("validation");
  outcome = RunTuning(arguments);
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(),
              HasSubstr("Arguments.TrainingJobDefinition.Channels.validation: required"));
}

TEST_F(TuningStepTest, StopEndsTheTuningJob) {
  WriteHousing(200);
  stop_ = true;
  Result<StepOutcome> outcome = RunTuning(Arguments());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kCancelled) << outcome.status();
}

TEST_F(TuningStepTest, ValidationNamesTheField) {
  const std::string pipeline = R"(
Steps:
  - Name: Zero
    Type: Tuning
    Arguments:
      HyperParameterTuningJobConfig:
        Strategy: Bayesian
        HyperParameterTuningJobObjective: {Type: Minimize, MetricName: "validation:rmse"}
        ResourceLimits: {MaxNumberOfTrainingJobs: 0, MaxParallelTrainingJobs: 1}
        ParameterRanges:
          IntegerParameterRanges: [{Name: max_depth, MinValue: "1", MaxValue: "8"}]
      TrainingJobDefinition:
        Channels: {train: data/train.csv}
        TargetColumn: PRICE
  - Name: Genetic
    Type: Tuning
    Arguments:
      HyperParameterTuningJobConfig:
        Strategy: Genetic
        HyperParameterTuningJobObjective: {Type: Minimize, MetricName: "validation:rmse"}
        ParameterRanges:
          ContinuousParameterRanges: [{Name: eta, MinValue: "0.2", MaxValue: "1"}]
      TrainingJobDefinition:
        Channels: {train: data/train.csv}
        TargetColumn: PRICE
        HyperParameters: {eta: 1}
  - Name: Good
    Type: Tuning
    Arguments:
      HyperParameterTuningJobConfig:
        HyperParameterTuningJobObjective: {Type: Minimize, MetricName: "validation:rmse"}
        ParameterRanges:
          CategoricalParameterRanges: [{Name: booster, Values: [gbtree, dart]}]
      TrainingJobDefinition:
        Channels: {train: data/train.csv, validation: data/validation.csv}
        TargetColumn: PRICE
)";
  const std::string errors = ValidationErrors(runner_, pipeline);
  EXPECT_THAT(errors, HasSubstr("Arguments.HyperParameterTuningJobConfig.ResourceLimits."
                                "MaxNumberOfTrainingJobs"));
  EXPECT_THAT(errors, HasSubstr("Arguments.HyperParameterTuningJobConfig.Strategy"));
  EXPECT_THAT(errors, HasSubstr("Arguments.TrainingJobDefinition.HyperParameters"));
  EXPECT_THAT(errors, ::testing::Not(HasSubstr("'Good'"))) << errors;
}

TEST_F(TuningStepTest, TheHousingPipelineValidatesWithTheMlStepTypes) {
  const std::filesystem::path path =
      std::filesystem::path(RAYPIPE_SOURCE_DIR) / "examples" / "housing" / "pipeline.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not there";
  StepTypeRegistry types = BuiltinStepTypes();
  types.Register(*runner_.TypeSpec());
  types.Register(*TrainingStepRunner().TypeSpec());
  types.Register(*RegisterModelStepRunner().TypeSpec());
  auto definition = LoadDefinitionFile(path, types);
  ASSERT_TRUE(definition.ok()) << definition.status();
  const ValidationReport report = Validate(*definition, types);
  EXPECT_TRUE(report.ok()) << report.ToString();
}

}  // namespace
}  // namespace raypipe::pipeline
