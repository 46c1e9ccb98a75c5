#include "pipeline/steps/processing_step.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <gtest/gtest.h>

#include "compute/local_executor.h"
#include "compute/test_util.h"
#include "data/columnar.h"
#include "data/csv.h"
#include "data/housing.h"
#include "data/scaler.h"
#include "featurestore/feature_store.h"
#include "ml/model_bundle.h"
#include "ml/preprocess_task.h"
#include "ml/train.h"
#include "pipeline/parser.h"
#include "pipeline/steps/feature_store_ingest_step.h"
#include "pipeline/steps/step_test_context.h"
#include "pipeline/validate.h"

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kHousingFeatures = {
    "YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS",
    "LOT_ACRES",  "GARAGE_SPACES", "FRONT_PORCH", "DECK"};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double Mean(const data::Table& table, const std::string& column) {
  std::span<const double> values = (*table.ColumnByName(column))->float64s();
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

class ProcessingStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data::HousingOptions options;
    options.rows = 1000;
    options.seed = 11;
    ASSERT_TRUE(data::WriteCsvFile(*data::GenerateHousing(options),
                                   (home_.pipeline_dir() / "housing.csv").string())
                    .ok());
  }

  static json PreprocessArguments() {
    return {{"Processor", "raypipe.preprocess"}, {"Input", "housing.csv"},
            {"TargetColumn", "PRICE"},            {"TrainSize", "0.6"},
            {"ValidationSize", 0.2},              {"TestSize", "0.2"}};
  }

  Result<StepOutcome> Run(const json& arguments, StepContext* out = nullptr) {
    StepContext context = home_.Context(runner_, arguments);
    Result<StepOutcome> outcome = runner_.Run(context);
    if (out != nullptr) *out = context;
    return outcome;
  }

  testing::StepTestHome home_;
  ProcessingStepRunner runner_;
};

TEST_F(ProcessingStepTest, PreprocessSplitsScalesOnTrainAndWritesOutputs) {
  StepContext context;
  Result<StepOutcome> outcome = Run(PreprocessArguments(), &context);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->properties["RowCounts"],
            json({{"train", 600}, {"validation", 200}, {"test", 200}}));
  EXPECT_EQ(outcome->properties["ProcessingJobName"], "exec-test-Step");
  ASSERT_TRUE(context.inputs.count("Input"));  // declared, so the CSV is in the cache key

  const fs::path staging(context.staging_dir);
  Result<data::Table> train = data::ReadTableFile((staging / "train" / "train.rpcol").string());
  Result<data::Table> validation =
      data::ReadTableFile((staging / "validation" / "validation.rpcol").string());
  Result<data::Table> test = data::ReadTableFile((staging / "test" / "test.rpcol").string());
  ASSERT_TRUE(train.ok() && validation.ok() && test.ok());
  EXPECT_EQ(train->num_rows(), 600u);
  EXPECT_EQ(validation->num_rows(), 200u);
  EXPECT_EQ(test->num_rows(), 200u);
  double largest_test_mean = 0;
  for (const std::string& feature : kHousingFeatures) {
    EXPECT_NEAR(Mean(*train, feature), 0.0, 1e-9) << feature;
    largest_test_mean = std::max(largest_test_mean, std::fabs(Mean(*test, feature)));
  }
  EXPECT_GT(largest_test_mean, 1e-3);
  EXPECT_EQ((*train->ColumnByName("PRICE"))->type(), data::DataType::kInt64);  // never scaled

  // The scaler is a model bundle's preprocessing.json, fitted on the raw training rows.
  json scaler_json =
      json::parse(ReadText(staging / "scaler" / "preprocessing.json"), nullptr, false);
  Result<data::StandardScaler> scaler = data::StandardScaler::FromJson(scaler_json);
  ASSERT_TRUE(scaler.ok()) << scaler.status().ToString();
  EXPECT_EQ(scaler->params().size(), kHousingFeatures.size());
  EXPECT_EQ(scaler->Find("PRICE"), nullptr);
  Result<data::Table> raw_train = scaler->InverseTransform(*train);
  ASSERT_TRUE(raw_train.ok());
  EXPECT_NEAR(Mean(*raw_train, "SQUARE_FEET"), scaler->Find("SQUARE_FEET")->offset, 1e-6);
  EXPECT_EQ(fs::directory_iterator(staging / "train") != fs::directory_iterator(), true);
}

TEST_F(ProcessingStepTest, SameSeedSameSplitOtherSeedOtherSplit) {
  StepContext first, second, third;
  ASSERT_TRUE(Run(PreprocessArguments(), &first).ok());
  ASSERT_TRUE(Run(PreprocessArguments(), &second).ok());
  json other = PreprocessArguments();
  other["Seed"] = 7;
  ASSERT_TRUE(Run(other, &third).ok());
  const std::string a = ReadText(fs::path(first.staging_dir) / "train" / "train.rpcol");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, ReadText(fs::path(second.staging_dir) / "train" / "train.rpcol"));
  EXPECT_NE(a, ReadText(fs::path(third.staging_dir) / "train" / "train.rpcol"));
}

TEST_F(ProcessingStepTest, SizesNotSummingToOneFailNamingTheFields) {
  json arguments = PreprocessArguments();
  arguments["TestSize"] = "0.1";
  Result<StepOutcome> outcome = Run(arguments);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome.status().message(),
            "Arguments.TrainSize + ValidationSize + TestSize = 0.9, must be 1");
}

TEST_F(ProcessingStepTest, BadPreprocessArgumentsNameTheField) {
  struct Case {
    json change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{{"Sead", 1}}, "Arguments.Sead: unknown field"},
      {{{"TrainSize", "most"}}, "Arguments.TrainSize: expected a Float"},
      {{{"TrainSize", 0}}, "Arguments.TrainSize: must be greater than 0"},
      {{{"Seed", "x"}}, "Arguments.Seed: expected an Integer"},
      {{{"TargetColumn", "COST"}}, "Arguments.TargetColumn: no column 'COST'"},
      {{{"DropColumns", {"DECK", "POOL"}}}, "Arguments.DropColumns[1]: no column 'POOL'"},
      {{{"DropColumns", {"PRICE"}}}, "Arguments.DropColumns[0]: cannot drop the TargetColumn"},
      {{{"FeatureGroupName", "houses"}}, "Arguments.Input: give FeatureGroupName or Input"},
      {{{"Input", "missing.csv"}}, "Arguments.Input: '"},
      {{{"Input", nullptr}}, "Arguments.FeatureGroupName: raypipe.preprocess needs"},
      {{{"Processor", "raypipe.nope"}}, "Arguments.Processor: unknown processor 'raypipe.nope'"},
  };
  for (const Case& c : cases) {
    json arguments = PreprocessArguments();
    for (const auto& [key, value] : c.change.items()) {
      if (value.is_null()) {
        arguments.erase(key);
      } else {
        arguments[key] = value;
      }
    }
    Result<StepOutcome> outcome = Run(arguments);
    ASSERT_FALSE(outcome.ok()) << c.expected;
    EXPECT_EQ(std::string(outcome.status().message()).rfind(c.expected, 0), 0u)
        << outcome.status().message();
  }
  json arguments = PreprocessArguments();
  arguments.erase("TargetColumn");
  EXPECT_EQ(Run(arguments).status().message(), "Arguments.TargetColumn: required, a String");
}

TEST_F(ProcessingStepTest, PreprocessReadsTheFeatureGroupsNewestLiveRecords) {
  FeatureStoreIngestStepRunner ingest;
  StepContext ingest_context = home_.Context(
      ingest, {{"FeatureGroupName", "houses"}, {"Input", "housing.csv"}, {"NumActors", 2}});
  Result<StepOutcome> ingested = ingest.Run(ingest_context);
  ASSERT_TRUE(ingested.ok()) << ingested.status().ToString();
  {
    featurestore::FeatureStoreOptions options;
    options.home = home_.home().string();
    auto store = featurestore::FeatureStore::Open(options);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->DeleteRecord("houses", "3", std::nullopt,
                                       featurestore::DeleteMode::kSoft)
                    .ok());
  }
  json arguments = PreprocessArguments();
  arguments.erase("Input");
  arguments["FeatureGroupName"] = "houses";
  StepContext context;
  Result<StepOutcome> outcome = Run(arguments, &context);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  // 999 live records: the deleted one is left out.
  EXPECT_EQ(outcome->properties["RowCounts"],
            json({{"train", 599}, {"validation", 200}, {"test", 200}}));
  Result<data::Table> train =
      data::ReadTableFile((fs::path(context.staging_dir) / "train" / "train.rpcol").string());
  ASSERT_TRUE(train.ok());
  std::vector<std::string> expected = {"PRICE"};
  expected.insert(expected.end(), kHousingFeatures.begin(), kHousingFeatures.end());
  EXPECT_EQ(train->ColumnNames(), expected);  // the store's columns are dropped
  ASSERT_EQ(outcome->lineage.size(), 1u);
  EXPECT_EQ(outcome->lineage[0].uri, "featurestore://houses");
  EXPECT_EQ(outcome->lineage[0].direction, StepOutcome::LineageEntry::Direction::kInput);

  arguments["FeatureGroupName"] = "flats";
  Result<StepOutcome> missing = Run(arguments);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(std::string(missing.status().message()).rfind("Arguments.FeatureGroupName: ", 0), 0u)
      << missing.status().message();
}

TEST_F(ProcessingStepTest, EvaluateWritesTheSeedsReportLayout) {
  StepContext prepared;
  ASSERT_TRUE(Run(PreprocessArguments(), &prepared).ok());
  const std::string test_uri = home_.Commit(prepared, "test");
  Result<data::Table> train =
      data::ReadTableFile((fs::path(prepared.staging_dir) / "train" / "train.rpcol").string());
  ASSERT_TRUE(train.ok());
  ml::TrainOptions options;
  options.target = "PRICE";
  options.hyperparameters = {{"num_round", "30"}, {"max_depth", "4"}, {"seed", "47"},
                             {"nthread", "1"}};
  std::vector<ml::EvalSet> evals;
  Result<ml::TrainResult> trained = ml::Train(*train, evals, options);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  const fs::path model_dir = home_.pipeline_dir() / "model";
  ASSERT_TRUE(ml::WriteModelBundle(model_dir, *trained->booster, trained->features, "PRICE",
                                   nullptr)
                  .ok());
  const std::string model_uri = home_.artifacts().PutFile(model_dir.string())->uri;

  StepContext context;
  Result<StepOutcome> outcome = Run({{"Processor", "raypipe.evaluate"},
                                     {"Model", model_uri},
                                     {"TestData", test_uri},
                                     {"TargetColumn", "PRICE"}},
                                    &context);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(context.inputs.count("Model") + context.inputs.count("TestData"), 2u);

  // By hand: the model on the scaled test rows, as evaluate.py computes it.
  Result<data::Table> test =
      data::ReadTableFile((fs::path(prepared.staging_dir) / "test" / "test.rpcol").string());
  ASSERT_TRUE(test.ok());
  std::vector<float> rows;
  for (size_t r = 0; r < test->num_rows(); ++r) {
    for (const std::string& feature : trained->features) {
      const data::Column* column = *test->ColumnByName(feature);
      rows.push_back(static_cast<float>(column->type() == data::DataType::kInt64
                                            ? static_cast<double>(column->int64s()[r])
                                            : column->float64s()[r]));
    }
  }
  std::vector<float> predictions = *trained->booster->PredictDense(rows, test->num_rows());
  std::span<const int64_t> prices = (*test->ColumnByName("PRICE"))->int64s();
  double squares = 0, absolute = 0, sum = 0;
  std::vector<double> errors;
  for (size_t r = 0; r < prices.size(); ++r) {
    errors.push_back(static_cast<double>(prices[r]) - static_cast<double>(predictions[r]));
    squares += errors.back() * errors.back();
    absolute += std::fabs(errors.back());
    sum += errors.back();
  }
  const double n = static_cast<double>(errors.size());
  double spread = 0;
  for (double error : errors) spread += (error - sum / n) * (error - sum / n);
  const double rmse = std::sqrt(squares / n);
  const double mae = absolute / n;
  const double deviation = std::sqrt(spread / n);

  json report = json::parse(
      ReadText(fs::path(context.staging_dir) / "evaluation" / "evaluation.json"), nullptr, false);
  ASSERT_TRUE(report.is_object());
  ASSERT_EQ(report.size(), 1u);
  const json& metrics = report.at("regression_metrics");
  ASSERT_EQ(metrics.size(), 2u);
  const double tolerance = 1e-6 * rmse;
  EXPECT_NEAR(metrics["rmse"]["value"].get<double>(), rmse, tolerance);
  EXPECT_NEAR(metrics["mae"]["value"].get<double>(), mae, tolerance);
  EXPECT_NEAR(metrics["rmse"]["standard_deviation"].get<double>(), deviation, tolerance);
  EXPECT_NEAR(metrics["mae"]["standard_deviation"].get<double>(), deviation, tolerance);
  EXPECT_NEAR(outcome->metrics.at("rmse"), rmse, tolerance);
  EXPECT_NEAR(outcome->metrics.at("mae"), mae, tolerance);
  EXPECT_LT(rmse, 30000.0);  // the model learned the prices

  // The same split as CSV (a directory of one .csv, as before the columnar outputs) evaluates
  // to the same numbers.
  const fs::path csv_dir = home_.pipeline_dir() / "test-csv";
  fs::create_directories(csv_dir);
  ASSERT_TRUE(data::WriteCsvFile(*test, (csv_dir / "test.csv").string()).ok());
  Result<StepOutcome> from_csv = Run({{"Processor", "raypipe.evaluate"},
                                      {"Model", model_uri},
                                      {"TestData", "test-csv"},
                                      {"TargetColumn", "PRICE"}});
  ASSERT_TRUE(from_csv.ok()) << from_csv.status().ToString();
  EXPECT_DOUBLE_EQ(from_csv->metrics.at("rmse"), outcome->metrics.at("rmse"));
}

TEST_F(ProcessingStepTest, PreprocessRunsAsAnExecutorTaskWhoseValuesRoundTrip) {
  // An executor that knows the kernel and serializes every value crossing into and out of it,
  // as the Ray backend does.
  compute::KernelRegistry kernels;
  ASSERT_TRUE(ml::RegisterPreprocessKernels(kernels).ok());
  Result<std::unique_ptr<compute::LocalExecutor>> executor =
      compute::testing::OpenRoundTripExecutor(kernels);
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  StepContext on_executor = home_.Context(runner_, PreprocessArguments());
  on_executor.executor = executor->get();
  Result<StepOutcome> outcome = runner_.Run(on_executor);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->properties["RowCounts"],
            json({{"train", 600}, {"validation", 200}, {"test", 200}}));
  auto ran_in_driver = [this] {
    for (const std::string& line : home_.log().Lines()) {
      if (line.find("preprocessing in the driver") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_FALSE(ran_in_driver());

  // The fixture's executor lacks the kernel: the step runs it in the driver, with the same
  // bytes as output.
  StepContext in_driver;
  ASSERT_TRUE(Run(PreprocessArguments(), &in_driver).ok());
  EXPECT_TRUE(ran_in_driver());
  for (std::string_view name : {"train", "validation", "test"}) {
    const fs::path file = fs::path(std::string(name)) / (std::string(name) + ".rpcol");
    const std::string bytes = ReadText(fs::path(on_executor.staging_dir) / file);
    EXPECT_FALSE(bytes.empty()) << name;
    EXPECT_EQ(bytes, ReadText(fs::path(in_driver.staging_dir) / file)) << name;
  }

  // The kernel's errors come back through the executor, naming the field.
  json arguments = PreprocessArguments();
  arguments["DropColumns"] = {"POOL"};
  StepContext failing = home_.Context(runner_, arguments);
  failing.executor = executor->get();
  Result<StepOutcome> failed = runner_.Run(failing);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(failed.status().message()).find("Arguments.DropColumns[0]: no column"),
            std::string::npos)
      << failed.status().message();
}

TEST_F(ProcessingStepTest, BadEvaluateArgumentsNameTheField) {
  StepContext prepared;
  ASSERT_TRUE(Run(PreprocessArguments(), &prepared).ok());
  const std::string test_uri = home_.Commit(prepared, "test");
  const json base = {{"Processor", "raypipe.evaluate"},
                     {"Model", test_uri},
                     {"TestData", test_uri},
                     {"TargetColumn", "PRICE"}};
  Result<StepOutcome> not_a_model = Run(base);
  ASSERT_FALSE(not_a_model.ok());
  EXPECT_EQ(std::string(not_a_model.status().message()).rfind("Arguments.Model: ", 0), 0u)
      << not_a_model.status().message();

  json missing = base;
  missing.erase("Model");
  EXPECT_EQ(Run(missing).status().message(), "Arguments.Model: required, a String");
  json unknown = base;
  unknown["Seed"] = 3;
  EXPECT_EQ(std::string(Run(unknown).status().message()).rfind("Arguments.Seed: unknown", 0), 0u);
  json two_csvs = base;
  const fs::path dir = home_.pipeline_dir() / "two";
  fs::create_directories(dir);
  std::ofstream(dir / "a.csv") << "x\n1\n";
  std::ofstream(dir / "b.csv") << "x\n1\n";
  two_csvs["Model"] = "two";  // read where it is: a directory, but not a model bundle
  two_csvs["TestData"] = "two";
  Result<StepOutcome> outcome = Run(two_csvs);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(std::string(outcome.status().message()).rfind("Arguments.Model: ", 0), 0u)
      << outcome.status().message();
}

// Validate sees the runner's TypeSpec: a bad processor fails before anything runs.
ValidationReport ValidateYaml(const std::string& steps) {
  StepRunnerRegistry runners;
  EXPECT_TRUE(runners.Register(std::make_unique<ProcessingStepRunner>()).ok());
  EXPECT_TRUE(runners.Register(std::make_unique<FeatureStoreIngestStepRunner>()).ok());
  const StepTypeRegistry types = runners.ValidationTypes();
  const std::string text = "Parameters:\n"
                           "  - {Name: TrainSize, Type: String, DefaultValue: '0.6'}\n"
                           "Steps:\n" + steps;
  Result<PipelineDefinition> definition = ParseDefinition(text, "p.yaml", types);
  EXPECT_TRUE(definition.ok()) << definition.status().ToString();
  if (!definition.ok()) return {};
  return Validate(*definition, types);
}

bool HasError(const ValidationReport& report, const std::string& field,
              const std::string& message_part) {
  for (const Diagnostic& error : report.errors) {
    if (error.field == field && error.message.find(message_part) != std::string::npos) return true;
  }
  return false;
}

TEST(ProcessingValidationTest, UnknownProcessorFailsValidateNamingTheField) {
  ValidationReport report = ValidateYaml(
      "  - Name: Prep\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.nope\n      Input: data.csv\n");
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(HasError(report, "Arguments.Processor", "unknown processor 'raypipe.nope'"))
      << report.ToString();
  EXPECT_EQ(report.errors[0].step, "Prep");
  EXPECT_GT(report.errors[0].line, 0);
}

TEST(ProcessingValidationTest, ChecksFieldsStatically) {
  ValidationReport report = ValidateYaml(
      "  - Name: Prep\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.preprocess\n      Input: data.csv\n"
      "      TargetColumn: PRICE\n      TrainSize: 0.6\n      ValidationSize: '0.2'\n"
      "      TestSize: 0.1\n      Seed: lots\n      Shuffle: true\n"
      "  - Name: Eval\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.evaluate\n      TestData: {Get: Steps.Prep.Outputs.test}\n"
      "      TargetColumn: PRICE\n"
      "  - Name: Use\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.preprocess\n      Input: {Get: Steps.Eval.Outputs.train}\n"
      "      TargetColumn: PRICE\n      TrainSize: {Get: Parameters.TrainSize}\n");
  EXPECT_TRUE(HasError(report, "Arguments", "TrainSize + ValidationSize + TestSize = 0.9"))
      << report.ToString();
  EXPECT_TRUE(HasError(report, "Arguments.Seed", "expected an Integer")) << report.ToString();
  EXPECT_TRUE(HasError(report, "Arguments.Shuffle", "unknown field")) << report.ToString();
  EXPECT_TRUE(HasError(report, "Arguments.Model", "missing")) << report.ToString();
  // Evaluate's outputs are known by processor: Eval has no output 'train'.
  bool found = false;
  for (const Diagnostic& error : report.errors) {
    found = found || (error.step == "Use" && error.message.find("train") != std::string::npos);
  }
  EXPECT_TRUE(found) << report.ToString();
  // A String parameter passes for a Float size; the sizes then are checked at run time.
  EXPECT_FALSE(HasError(report, "Arguments.TrainSize", "")) << report.ToString();
}

TEST(ProcessingValidationTest, AGoodDefinitionValidates) {
  ValidationReport report = ValidateYaml(
      "  - Name: Prep\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.preprocess\n      FeatureGroupName: houses\n"
      "      TargetColumn: PRICE\n      TrainSize: {Get: Parameters.TrainSize}\n"
      "      ValidationSize: '0.2'\n      TestSize: '0.2'\n      DropColumns: [DECK]\n"
      "  - Name: Eval\n    Type: Processing\n    Arguments:\n"
      "      Processor: raypipe.evaluate\n      Model: model\n"
      "      TestData: {Get: Steps.Prep.Outputs.test}\n      TargetColumn: PRICE\n"
      "    PropertyFiles: [{PropertyFileName: EvaluationReport, OutputName: evaluation, "
      "FilePath: evaluation.json}]\n");
  EXPECT_TRUE(report.ok()) << report.ToString();
}

}  // namespace
}  // namespace raypipe::pipeline
