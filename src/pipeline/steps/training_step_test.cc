#include "pipeline/steps/training_step.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"
#include "data/scaler.h"
#include "experiments/experiment_store.h"
#include "ml/model_bundle.h"
#include "pipeline/steps/ml_step_test_util.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class TrainingStepTest : public testing::MlStepTest {
 protected:
  static json Arguments(int num_round = 40) {
    return {{"Channels", {{"train", "train.csv"}, {"validation", "validation.csv"}}},
            {"TargetColumn", "PRICE"},
            {"HyperParameters", {{"max_depth", 5}, {"eta", 0.3}}},
            {"StaticHyperParameters",
             {{"objective", "reg:squarederror"},
              {"eval_metric", "rmse"},
              {"tree_method", "hist"},
              {"seed", 47},
              {"num_round", std::to_string(num_round)}}}};
  }

  // The RMSE of the bundle's predictions on the raw rows of data/<name>.csv.
  double BundleRmse(const std::string& bundle_dir, const std::string& name) {
    auto bundle = ml::LoadModelBundle(bundle_dir);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    if (!bundle.ok()) return NAN;
    auto table = data::ReadCsvFile((data_dir() / (name + ".csv")).string());
    EXPECT_TRUE(table.ok()) << table.status();
    std::vector<float> rows;
    for (size_t row = 0; row < table->num_rows(); ++row) {
      for (const std::string& feature : bundle->features) {
        rows.push_back(static_cast<float>(testing::NumberAt(*table, feature, row)));
      }
    }
    auto predictions = ml::PredictRows(*bundle, rows, table->num_rows());
    EXPECT_TRUE(predictions.ok()) << predictions.status();
    double sum = 0;
    for (size_t row = 0; row < table->num_rows(); ++row) {
      double error = testing::NumberAt(*table, "PRICE", row) - (*predictions)[row];
      sum += error * error;
    }
    return std::sqrt(sum / static_cast<double>(table->num_rows()));
  }

  Result<StepOutcome> RunTraining(json arguments, std::string step = "Train") {
    StepContext context = Context(std::move(arguments), std::move(step));
    last_staging_ = context.staging_dir;
    return runner_.Run(context);
  }

  TrainingStepRunner runner_;
  std::string last_staging_;
};

TEST_F(TrainingStepTest, WritesABundleWithThePreprocessingAndReportsValidationRmse) {
  WriteHousing(3000);
  // Scale the features as the Processing step does; the scaler goes into the bundle, so the
  // bundle predicts from raw rows.
  auto train = data::ReadCsvFile((data_dir() / "train.csv").string());
  auto validation = data::ReadCsvFile((data_dir() / "validation.csv").string());
  ASSERT_TRUE(train.ok() && validation.ok());
  std::vector<std::string> features;
  for (const std::string& name : train->ColumnNames()) {
    if (name != "PRICE") features.push_back(name);
  }
  data::StandardScaler scaler;
  ASSERT_TRUE(scaler.Fit(*train, features).ok());
  ASSERT_TRUE(data::WriteCsvFile(*scaler.Transform(*train), (data_dir() / "scaled-train.csv").string()).ok());
  std::filesystem::create_directories(data_dir() / "scaled-validation");
  ASSERT_TRUE(data::WriteCsvFile(*scaler.Transform(*validation),
                                 (data_dir() / "scaled-validation" / "validation.csv").string())
                  .ok());
  std::filesystem::create_directories(data_dir() / "scaler");
  {
    std::ofstream out(data_dir() / "scaler" / "preprocessing.json");
    out << scaler.ToJson().dump();
  }
  json arguments = Arguments();
  arguments["Channels"] = {{"train", "scaled-train.csv"}, {"validation", "scaled-validation"}};
  arguments["Preprocessing"] = "scaler";

  Result<StepOutcome> outcome = RunTraining(arguments);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const std::string bundle_dir = last_staging_ + "/model";
  auto bundle = ml::LoadModelBundle(bundle_dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->features.size(), 8u);
  EXPECT_EQ(bundle->target, "PRICE");
  EXPECT_TRUE(bundle->preprocessing.has_value());

  ASSERT_TRUE(outcome->metrics.contains("validation:rmse"));
  ASSERT_TRUE(outcome->metrics.contains("train:rmse"));
  const double reported = outcome->metrics.at("validation:rmse");
  EXPECT_GT(reported, 0);
  EXPECT_NEAR(BundleRmse(bundle_dir, "validation"), reported, reported * 0.01);

  const json& properties = outcome->properties;
  EXPECT_EQ(properties["TrainingJobName"], "Train-exec-test-1");
  const std::string model_uri = properties["ModelArtifacts"]["S3ModelArtifacts"];
  EXPECT_TRUE(IsArtifactUri(model_uri)) << model_uri;
  bool listed = false;
  for (const json& entry : properties["FinalMetricDataList"]) {
    if (entry["MetricName"] == "validation:rmse") {
      listed = true;
      EXPECT_DOUBLE_EQ(entry["Value"].get<double>(), reported);
    }
  }
  EXPECT_TRUE(listed) << properties.dump();

  // The run: parameters, a point per round, the final value.
  auto experiments = experiments::ExperimentStore::Open(metadata_.get());
  ASSERT_TRUE(experiments.ok());
  auto runs = (*experiments)->ListRuns("ml-step-test");
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 1u);
  const experiments::RunRecord& run = runs->front();
  EXPECT_EQ(run.name, "Train-exec-test-1");
  EXPECT_EQ(run.status, experiments::RunStatus::kCompleted);
  EXPECT_EQ(run.source.kind, "pipeline");
  EXPECT_EQ(run.source.step_name, "Train");
  EXPECT_EQ(run.parameters["max_depth"], "5");
  EXPECT_EQ(run.parameters["eta"], "0.3");
  EXPECT_EQ(properties["TrainingRunId"], run.run_id);
  auto series = (*experiments)->MetricSeries(run.run_id, "validation:rmse");
  ASSERT_TRUE(series.ok());
  EXPECT_EQ(series->size(), 40u);
  auto final_value = (*experiments)->MetricSeries(run.run_id, "final:validation:rmse");
  ASSERT_TRUE(final_value.ok());
  ASSERT_EQ(final_value->size(), 1u);
  EXPECT_DOUBLE_EQ(final_value->front().value, reported);
}

TEST_F(TrainingStepTest, TwoWorkersMatchOneWorkerWithinTwoPercent) {
  WriteHousing(4000);
  Result<StepOutcome> single = RunTraining(Arguments(), "Single");
  ASSERT_TRUE(single.ok()) << single.status();
  json arguments = Arguments();
  arguments["NumWorkers"] = 2;
  arguments["CpusPerWorker"] = "1";
  Result<StepOutcome> distributed = RunTraining(arguments, "Distributed");
  ASSERT_TRUE(distributed.ok()) << distributed.status();
  ASSERT_TRUE(ml::LoadModelBundle(last_staging_ + "/model").ok());
  const double one = single->metrics.at("validation:rmse");
  const double two = distributed->metrics.at("validation:rmse");
  EXPECT_NEAR(two, one, one * 0.02) << "1 worker " << one << ", 2 workers " << two;
}

TEST_F(TrainingStepTest, RunTimeErrorsNameTheField) {
  WriteHousing(200);
  auto error_of = [&](json arguments) {
    Result<StepOutcome> outcome = RunTraining(std::move(arguments));
    EXPECT_FALSE(outcome.ok());
    return outcome.ok() ? std::string() : outcome.status().ToString();
  };
  json arguments = Arguments();
  arguments.erase("TargetColumn");
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.TargetColumn: required"));
  arguments = Arguments();
  arguments["TargetColumn"] = "COST";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.TargetColumn"));
  arguments = Arguments();
  arguments["Epochs"] = 3;
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Epochs: unknown field"));
  arguments = Arguments();
  arguments["NumWorkers"] = "two";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.NumWorkers: expected an Integer"));
  arguments = Arguments();
  arguments["Channels"]["train"] = "missing.csv";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Channels.train: '"));
  arguments = Arguments();
  arguments["Channels"]["test"] = "test.csv";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Channels.test: unknown field"));
  arguments = Arguments();
  arguments["HyperParameters"]["max_depth"] = json::array({1});
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.HyperParameters.max_depth"));
  arguments = Arguments();
  arguments["HyperParameters"]["max_depth"] = "deep";
  EXPECT_THAT(error_of(arguments), HasSubstr("max_depth"));
}

TEST_F(TrainingStepTest, StopEndsTheRunAsStopped) {
  WriteHousing(200);
  stop_ = true;
  Result<StepOutcome> outcome = RunTraining(Arguments());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kCancelled);
  auto experiments = experiments::ExperimentStore::Open(metadata_.get());
  ASSERT_TRUE(experiments.ok());
  auto runs = (*experiments)->ListRuns("ml-step-test");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().status, experiments::RunStatus::kStopped);
}

TEST_F(TrainingStepTest, DeclaresPlainPathsAsInputs) {
  const json arguments = {{"Channels", {{"train", "train.csv"},
                                        {"validation", "artifact://sha256:" + std::string(64, 'a')}}},
                          {"Preprocessing", "scaler/preprocessing.json"},
                          {"TargetColumn", "PRICE"}};
  auto inputs = runner_.DeclareInputs(arguments, data_dir().string());
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  std::vector<std::string> names;
  for (const InputDeclaration& input : *inputs) names.push_back(input.name);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("Channels.train", "Channels.validation",
                                                     "Preprocessing"));
}

TEST_F(TrainingStepTest, ValidationNamesTheField) {
  const std::string pipeline = R"(
Parameters:
  - {Name: Workers, Type: Integer, DefaultValue: 2}
Steps:
  - Name: Train
    Type: Training
    Arguments:
      Channels: {train: data/train.csv, test: data/test.csv}
      NumWorkers: 0
      CpusPerWorker: many
      HyperParameters: {max_depth: [1, 2]}
      Epochs: 3
  - Name: Good
    Type: Training
    Arguments:
      Channels: {train: data/train.csv}
      TargetColumn: PRICE
      NumWorkers: {Get: Parameters.Workers}
      StaticHyperParameters: {num_round: 10}
)";
  const std::string errors = ValidationErrors(runner_, pipeline);
  EXPECT_THAT(errors, HasSubstr("Arguments.Channels.test"));
  EXPECT_THAT(errors, HasSubstr("Arguments.NumWorkers"));
  EXPECT_THAT(errors, HasSubstr("Arguments.CpusPerWorker"));
  EXPECT_THAT(errors, HasSubstr("Arguments.HyperParameters.max_depth"));
  EXPECT_THAT(errors, HasSubstr("Arguments.Epochs"));
  EXPECT_THAT(errors, HasSubstr("Arguments.TargetColumn"));
  EXPECT_THAT(errors, ::testing::Not(HasSubstr("'Good'"))) << errors;
}

}  // namespace
}  // namespace raypipe::pipeline
