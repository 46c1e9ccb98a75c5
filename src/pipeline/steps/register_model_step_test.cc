#include "pipeline/steps/register_model_step.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ml/model_bundle.h"
#include "ml/train.h"
#include "pipeline/steps/ml_step_test_util.h"
#include "registry/model_registry.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RegisterModelStepTest : public testing::MlStepTest {
 protected:
  void SetUp() override {
    MlStepTest::SetUp();
    WriteHousing(300);
    auto train = data::ReadCsvFile((data_dir() / "train.csv").string());
    ASSERT_TRUE(train.ok()) << train.status();
    ml::TrainOptions options;
    options.target = "PRICE";
    options.hyperparameters = {{"num_round", "5"}, {"max_depth", "3"}};
    auto trained = ml::Train(*train, {}, options);
    ASSERT_TRUE(trained.ok()) << trained.status();
    ASSERT_TRUE(ml::WriteModelBundle(data_dir() / "model", *trained->booster, trained->features,
                                     "PRICE", nullptr)
                    .ok());
    auto stored = artifacts_->PutFile((data_dir() / "model").string());
    ASSERT_TRUE(stored.ok()) << stored.status();
    model_uri_ = "artifact://" + stored->digest;
    model_digest_ = stored->digest;
    std::filesystem::create_directories(data_dir() / "evaluation");
    std::ofstream(data_dir() / "evaluation" / "evaluation.json")
        << R"({"regression_metrics": {"rmse": {"value": 1234.5, "standard_deviation": 10}}})";
  }

  json Arguments() const {
    return {{"ModelPackageGroupName", "housing-models"},
            {"Model", model_uri_},
            {"ModelMetrics", "evaluation"},
            {"Description", "the best tuned model"},
            {"CustomerMetadataProperties", {{"team", "pricing"}}}};
  }

  Result<StepOutcome> Register(json arguments, std::string execution = "exec-test-1",
                               std::string step = "RegisterTrainedModel") {
    StepContext context = Context(std::move(arguments), std::move(step), std::move(execution));
    return runner_.Run(context);
  }

  RegisterModelStepRunner runner_;
  std::string model_uri_;
  std::string model_digest_;
};

TEST_F(RegisterModelStepTest, RegistersOncePerExecutionAndStep) {
  Result<StepOutcome> first = Register(Arguments());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->properties["ModelPackageVersion"], 1);
  EXPECT_EQ(first->properties["ModelPackageGroupName"], "housing-models");
  EXPECT_EQ(first->properties["ModelPackageArn"], "model-package/housing-models/1");
  EXPECT_EQ(first->properties["ModelApprovalStatus"], "PendingManualApproval");
  EXPECT_EQ(first->properties["CustomerMetadataProperties"]["team"], "pricing");
  ASSERT_EQ(first->lineage.size(), 1u);
  EXPECT_EQ(first->lineage[0].artifact_type, "ModelPackage");
  EXPECT_EQ(first->lineage[0].uri, "model-package://housing-models/1");

  auto models = registry::ModelRegistry::Open(metadata_.get());
  ASSERT_TRUE(models.ok());
  auto package = (*models)->Describe("housing-models", 1);
  ASSERT_TRUE(package.ok()) << package.status();
  EXPECT_EQ(package->model_artifact, model_digest_);
  EXPECT_EQ(package->lineage.execution_id, "exec-test-1");
  EXPECT_EQ(package->lineage.step_name, "RegisterTrainedModel");
  EXPECT_EQ(package->customer_metadata_properties, json({{"team", "pricing"}}));
  EXPECT_EQ(package->ToJson()["CustomerMetadataProperties"]["team"], "pricing");
  EXPECT_EQ(package->description, "the best tuned model");
  EXPECT_DOUBLE_EQ(package->model_metrics["regression_metrics"]["rmse"]["value"].get<double>(),
                   1234.5);

  // A retry of the same execution and step returns the same version.
  Result<StepOutcome> again = Register(Arguments());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->properties["ModelPackageVersion"], 1);
  auto versions = (*models)->ListVersions("housing-models");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u);

  // A new execution registers the next version.
  json approved = Arguments();
  approved["ModelApprovalStatus"] = "Approved";
  Result<StepOutcome> second = Register(approved, "exec-test-2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->properties["ModelPackageVersion"], 2);
  EXPECT_EQ(second->properties["ModelApprovalStatus"], "Approved");
}

TEST_F(RegisterModelStepTest, TwoStepsOfOneExecutionRegisteringOneModelGetTwoVersions) {
  // Matched by step name, not by the model's digest: a second RegisterModel step of the same
  // execution (here registering the same bundle into the same group) is not taken for a retry.
  Result<StepOutcome> first = Register(Arguments(), "exec-test-1", "RegisterA");
  Result<StepOutcome> second = Register(Arguments(), "exec-test-1", "RegisterB");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->properties["ModelPackageVersion"], 1);
  EXPECT_EQ(second->properties["ModelPackageVersion"], 2);
  // And each step's retry finds its own version.
  EXPECT_EQ(Register(Arguments(), "exec-test-1", "RegisterB")->properties["ModelPackageVersion"],
            2);
  EXPECT_EQ(Register(Arguments(), "exec-test-1", "RegisterA")->properties["ModelPackageVersion"],
            1);
}

TEST_F(RegisterModelStepTest, APlainPathIsCopiedIntoTheArtifactStore) {
  json arguments = Arguments();
  arguments["Model"] = "model";
  arguments["ModelMetrics"] = "evaluation/evaluation.json";
  Result<StepOutcome> outcome = Register(arguments);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  auto models = registry::ModelRegistry::Open(metadata_.get());
  ASSERT_TRUE(models.ok());
  auto package = (*models)->Describe("housing-models", 1);
  ASSERT_TRUE(package.ok());
  EXPECT_EQ(package->model_artifact, model_digest_);
}

TEST_F(RegisterModelStepTest, ErrorsNameTheField) {
  auto error_of = [&](json arguments) {
    Result<StepOutcome> outcome = Register(std::move(arguments));
    EXPECT_FALSE(outcome.ok());
    return outcome.ok() ? std::string() : std::string(outcome.status().message());
  };
  json arguments = Arguments();
  arguments["ModelApprovalStatus"] = "Maybe";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.ModelApprovalStatus"));
  arguments = Arguments();
  arguments["ModelPackageGroupName"] = "bad name!";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.ModelPackageGroupName"));
  arguments = Arguments();
  arguments["Model"] = "evaluation";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Model: not a model bundle"));
  arguments = Arguments();
  arguments["ModelMetrics"] = "missing.json";
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.ModelMetrics"));
  arguments = Arguments();
  arguments["CustomerMetadataProperties"] = {{"team", {1, 2}}};
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.CustomerMetadataProperties.team"));
  arguments = Arguments();
  arguments.erase("Model");
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Model: required"));
  arguments = Arguments();
  arguments["Version"] = 3;
  EXPECT_THAT(error_of(arguments), HasSubstr("Arguments.Version: unknown field"));
  auto models = registry::ModelRegistry::Open(metadata_.get());
  ASSERT_TRUE(models.ok());
  EXPECT_FALSE((*models)->ListVersions("housing-models").ok());
}

TEST_F(RegisterModelStepTest, ValidationNamesTheField) {
  const std::string pipeline = R"(
Steps:
  - Name: Bad
    Type: RegisterModel
    Arguments:
      ModelPackageGroupName: "bad name!"
      ModelApprovalStatus: Maybe
      CustomerMetadataProperties: [a]
      Version: 2
  - Name: Good
    Type: RegisterModel
    Arguments:
      ModelPackageGroupName: housing-models
      Model: model
      ModelApprovalStatus: Approved
)";
  const std::string errors = ValidationErrors(runner_, pipeline);
  EXPECT_THAT(errors, HasSubstr("Arguments.ModelPackageGroupName"));
  EXPECT_THAT(errors, HasSubstr("Arguments.ModelApprovalStatus"));
  EXPECT_THAT(errors, HasSubstr("Arguments.CustomerMetadataProperties"));
  EXPECT_THAT(errors, HasSubstr("Arguments.Version"));
  EXPECT_THAT(errors, HasSubstr("Arguments.Model"));
  EXPECT_THAT(errors, ::testing::Not(HasSubstr("'Good'"))) << errors;
}

}  // namespace
}  // namespace raypipe::pipeline
