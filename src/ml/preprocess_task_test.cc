#include "ml/preprocess_task.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "compute/local_executor.h"
#include "compute/test_util.h"
#include "core/ids.h"
#include "data/columnar.h"
#include "data/csv.h"
#include "data/housing.h"
#include "data/scaler.h"

namespace raypipe::ml {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class PreprocessTaskTest : public ::testing::Test {
 protected:
  PreprocessTaskTest() : root_(fs::temp_directory_path() / core::NewId("preprocess-task-test")) {
    fs::create_directories(root_);
    data::HousingOptions options;
    options.rows = 500;
    options.seed = 3;
    housing_ = *data::GenerateHousing(options);
    EXPECT_TRUE(data::WriteCsvFile(housing_, (root_ / "housing.csv").string()).ok());
    EXPECT_TRUE(data::WriteTableFile(housing_, (root_ / "housing.rpcol").string()).ok());
  }
  ~PreprocessTaskTest() override {
    std::error_code error;
    fs::remove_all(root_, error);
  }

  PreprocessTaskSpec Spec(const std::string& input, const std::string& out) const {
    PreprocessTaskSpec spec;
    spec.home = (root_ / "home").string();
    spec.input_path = (root_ / input).string();
    spec.output_dir = (root_ / out).string();
    spec.options.target = "PRICE";
    spec.options.proportions = {0.6, 0.2, 0.2};
    spec.options.seed = 42;
    return spec;
  }

  fs::path root_;
  data::Table housing_;
};

TEST_F(PreprocessTaskTest, WritesColumnarSplitsAndTheScalerFromCsvOrColumnarInput) {
  Result<PreprocessTaskResult> from_csv = RunPreprocessTask(Spec("housing.csv", "a"));
  ASSERT_TRUE(from_csv.ok()) << from_csv.status().ToString();
  EXPECT_EQ(from_csv->input_rows, 500);
  EXPECT_EQ(from_csv->split_rows, (std::vector<int64_t>{300, 100, 100}));
  EXPECT_TRUE(from_csv->dropped.empty());  // no store columns in the input
  EXPECT_EQ(from_csv->features.size(), 8u);

  Result<data::Table> train = data::ReadTableFile((root_ / "a/train/train.rpcol").string());
  ASSERT_TRUE(train.ok()) << train.status().ToString();
  EXPECT_EQ(train->num_rows(), 300u);
  // The same table as ml::Preprocess gives in memory.
  Result<PreprocessResult> expected = Preprocess(housing_, Spec("", "").options);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(train->Equals(expected->splits[0]));
  const json scaler_json = json::parse(ReadText(root_ / "a/scaler/preprocessing.json"));
  EXPECT_EQ(scaler_json, expected->scaler.ToJson());

  // A columnar input gives the very same bytes.
  ASSERT_TRUE(RunPreprocessTask(Spec("housing.rpcol", "b")).ok());
  for (std::string_view name : kPreprocessSplitNames) {
    const std::string file = std::string(name) + "/" + std::string(name) + ".rpcol";
    EXPECT_EQ(ReadText(root_ / "a" / file), ReadText(root_ / "b" / file)) << name;
  }
  EXPECT_TRUE(ReadTableAnyFormat((root_ / "housing.rpcol").string())->Equals(housing_));
}

TEST_F(PreprocessTaskTest, ErrorsNameTheField) {
  PreprocessTaskSpec spec = Spec("housing.csv", "out");
  spec.field_prefix = "Arguments.";
  spec.options.target = "COST";
  EXPECT_EQ(std::string(RunPreprocessTask(spec).status().message())
                .rfind("Arguments.TargetColumn: no column 'COST'", 0),
            0u);
  spec = Spec("housing.csv", "out");
  spec.explicit_drops = true;
  spec.options.drop_columns = {"DECK", "PRICE"};
  EXPECT_EQ(RunPreprocessTask(spec).status().message(),
            "DropColumns[1]: cannot drop the TargetColumn");
  spec.options.drop_columns = {"POOL"};
  EXPECT_EQ(RunPreprocessTask(spec).status().message(),
            "DropColumns[0]: no column 'POOL' in the input");
  spec = Spec("missing.csv", "out");
  spec.field_prefix = "Arguments.";
  Result<PreprocessTaskResult> missing = RunPreprocessTask(spec);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(std::string(missing.status().message()).rfind("Arguments.Input: ", 0), 0u)
      << missing.status().message();
  spec = Spec("housing.csv", "out");
  spec.options.proportions = {0.5, 0.5, 0.5};
  EXPECT_EQ(RunPreprocessTask(spec).status().code(), StatusCode::kInvalidArgument);
  spec = Spec("housing.csv", "out");
  Result<PreprocessTaskResult> cancelled = RunPreprocessTask(spec, [] { return true; });
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_FALSE(fs::exists(root_ / "out" / "train"));  // nothing written
}

TEST_F(PreprocessTaskTest, SpecAndResultRoundTripThroughJson) {
  PreprocessTaskSpec spec = Spec("housing.csv", "out");
  spec.explicit_drops = true;
  spec.options.drop_columns = {"DECK"};
  spec.options.seed = 7;
  spec.field_prefix = "Arguments.";
  Result<PreprocessTaskSpec> back = PreprocessTaskSpecFromJson(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(spec));

  json both = ToJson(spec);
  both["feature_group"] = "houses";
  EXPECT_EQ(PreprocessTaskSpecFromJson(both).status().code(), StatusCode::kInvalidArgument);
  json bad = ToJson(spec);
  bad["seed"] = "seven";
  EXPECT_EQ(std::string(PreprocessTaskSpecFromJson(bad).status().message())
                .rfind("preprocess task spec: seed", 0),
            0u);
  bad = ToJson(spec);
  bad.erase("output_dir");
  EXPECT_FALSE(PreprocessTaskSpecFromJson(bad).ok());
  EXPECT_FALSE(PreprocessTaskSpecFromJson(json::array()).ok());
  EXPECT_FALSE(PreprocessTaskResult::FromJson(json{{"input_rows", 1}}).ok());
}

TEST_F(PreprocessTaskTest, RunsAsAKernelWhoseValuesRoundTrip) {
  compute::KernelRegistry kernels;
  ASSERT_TRUE(RegisterPreprocessKernels(kernels).ok());
  EXPECT_EQ(RegisterPreprocessKernels(kernels).code(), StatusCode::kAlreadyExists);
  Result<std::unique_ptr<compute::LocalExecutor>> executor =
      compute::testing::OpenRoundTripExecutor(kernels);
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  Result<compute::ObjectRef> ref = (*executor)->Submit(
      kPreprocessTaskKernel, {compute::Value::Of<json>(ToJson(Spec("housing.csv", "k")))});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  Result<std::shared_ptr<const json>> result = (*executor)->GetAs<json>(*ref);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  Result<PreprocessTaskResult> parsed = PreprocessTaskResult::FromJson(**result);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->split_rows, (std::vector<int64_t>{300, 100, 100}));
  EXPECT_TRUE(fs::exists(root_ / "k" / "test" / "test.rpcol"));

  // A malformed spec fails the task with the spec's error.
  Result<compute::ObjectRef> bad =
      (*executor)->Submit(kPreprocessTaskKernel, {compute::Value::Of<json>(json{{"home", 1}})});
  ASSERT_TRUE(bad.ok());
  Result<compute::Value> failed = (*executor)->Get(*bad);
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::ml
