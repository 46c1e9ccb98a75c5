#include "serving/deploy_step.h"

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "pipeline/parser.h"
#include "pipeline/validate.h"
#include "registry/model_registry.h"
#include "serving/endpoint_runner.h"
#include "serving/endpoint_store.h"
#include "serving/http_client.h"
#include "serving/test_bundle.h"
#include "serving/test_util.h"
#include "store/artifact_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::serving {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

using serving::testing::FreePort;

// A temp home with a real registry: housing:1 (offset 1000, Approved), housing:2 (offset 2000,
// Approved), housing:3 (offset 3000, PendingManualApproval), each a real model bundle.
class DeployStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / core::NewId("deploy-step-test");
    std::filesystem::create_directories(home_ / "staging");
    store::SqliteOptions metadata_options;
    metadata_options.path = (home_ / "metadata.db").string();
    metadata_ = std::move(store::SqliteMetadataStore::Open(metadata_options).value());
    store::ArtifactStoreOptions artifact_options;
    artifact_options.root = (home_ / "artifacts").string();
    artifacts_ = std::move(store::ArtifactStore::Open(artifact_options).value());
    registry_ = std::move(registry::ModelRegistry::Open(metadata_.get()).value());
    endpoints_ = std::move(EndpointStore::Open(metadata_.get()).value());
    const Status registered = RegisterTestHousingVersions(home_, *artifacts_, *registry_);
    ASSERT_TRUE(registered.ok()) << registered;
    definition_.name = "DeployModel";
    definition_.type = "Deploy";
  }
  void TearDown() override {
    endpoints_.reset();
    registry_.reset();
    artifacts_.reset();
    metadata_.reset();
    std::filesystem::remove_all(home_);
  }

  // Runs the step as the engine would, with the arguments already resolved.
  Result<pipeline::StepOutcome> RunStep(json arguments) {
    pipeline::StepContext context;
    context.execution_id = "exec-test";
    context.pipeline_name = "housing";
    context.step_name = "DeployModel";
    context.step_type = "Deploy";
    context.arguments = std::move(arguments);
    context.definition = &definition_;
    context.pipeline_dir = home_.string();
    context.home = home_.string();
    context.staging_dir = (home_ / "staging").string();
    context.metadata = metadata_.get();
    context.artifacts = artifacts_.get();
    context.stop = &stop_;
    context.log = &log_;
    return runner_.Run(context);
  }

  std::filesystem::path home_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<store::ArtifactStore> artifacts_;
  std::unique_ptr<registry::ModelRegistry> registry_;
  std::unique_ptr<EndpointStore> endpoints_;
  pipeline::StepDefinition definition_;
  std::atomic<bool> stop_{false};
  pipeline::MemoryStepLog log_;
  DeployStepRunner runner_{DeployStepOptions{std::chrono::seconds(20)}};
};

TEST_F(DeployStepTest, CreatesThenUpdatesTheEndpoint) {
  const int port = FreePort();
  auto created = RunStep(
      {{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"Port", port}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->properties["EndpointName"], "prod");
  EXPECT_EQ(created->properties["EndpointArn"], "endpoint/prod");
  EXPECT_EQ(created->properties["EndpointUrl"], "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(created->properties["ModelPackageVersion"], 2);  // the latest Approved
  EXPECT_EQ(created->properties["ModelPackageArn"], "model-package/housing/2");
  EXPECT_EQ(created->properties["EndpointStatus"], "NotServing");
  ASSERT_EQ(created->lineage.size(), 2u);
  EXPECT_EQ(created->lineage[0].direction, pipeline::StepOutcome::LineageEntry::Direction::kInput);
  EXPECT_EQ(created->lineage[0].artifact_type, "ModelPackage");
  EXPECT_EQ(created->lineage[0].uri, "model-package/housing/2");
  EXPECT_EQ(created->lineage[0].digest, registry_->Describe("housing", 2)->model_artifact);
  EXPECT_EQ(created->lineage[1].direction, pipeline::StepOutcome::LineageEntry::Direction::kOutput);
  EXPECT_EQ(created->lineage[1].artifact_type, "Endpoint");
  EXPECT_EQ(created->lineage[1].uri, "endpoint/prod");
  auto record = endpoints_->Get("prod");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->revision, 1);
  EXPECT_EQ(record->port, port);
  EXPECT_EQ(record->variants,
            (std::vector<VariantConfig>{{"AllTraffic", "housing", 2, 1.0}}));

  // RegisterModel's ModelPackageArn picks the version; Port (a String parameter) moves it.
  const int new_port = FreePort();
  auto updated = RunStep({{"EndpointName", "prod"},
                          {"ModelPackageGroupName", "housing"},
                          {"ModelPackageArn", "model-package/housing/1"},
                          {"Port", std::to_string(new_port)}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->properties["ModelPackageVersion"], 1);
  EXPECT_EQ(updated->properties["EndpointUrl"], "http://127.0.0.1:" + std::to_string(new_port));
  record = endpoints_->Get("prod");
  EXPECT_EQ(record->revision, 2);
  EXPECT_EQ(record->variants.front().version, 1);

  // The same deployment again (a rerun after a crash) keeps the revision: no reload.
  auto again = RunStep({{"EndpointName", "prod"},
                        {"ModelPackageGroupName", "housing"},
                        {"ModelPackageVersion", 1}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(endpoints_->Get("prod")->revision, 2);
  EXPECT_EQ(endpoints_->Get("prod")->port, new_port);
  EXPECT_THAT(log_.Lines(), ::testing::Contains(HasSubstr("unchanged endpoint prod")));
}

TEST_F(DeployStepTest, OnlyApprovedVersionsDeployUnlessAllowed) {
  auto refused = RunStep(
      {{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"ModelPackageVersion", 3}});
  const int port = FreePort();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("housing:3 is PendingManualApproval"));
  EXPECT_THAT(refused.status().message(), HasSubstr("deploying endpoint 'prod'"));
  EXPECT_EQ(endpoints_->Get("prod").status().code(), StatusCode::kNotFound);  // nothing written

  auto allowed = RunStep({{"EndpointName", "prod"},
                          {"ModelPackageGroupName", "housing"},
                          {"ModelPackageVersion", 3},
                          {"Port", port},
                          {"AllowUnapproved", true}});
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(endpoints_->Get("prod")->variants.front().version, 3);

  auto missing = RunStep(
      {{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"ModelPackageVersion", 9}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(endpoints_->Get("prod")->variants.front().version, 3);  // unchanged
}

TEST_F(DeployStepTest, VariantsSplitTrafficByWeight) {
  auto deployed = RunStep(
      {{"EndpointName", "ab"},
       {"ModelPackageGroupName", "housing"},
       {"Port", FreePort()},
       {"ModelPackageVersion", 2},
       {"Variants", json::array({{{"VariantName", "Blue"}, {"ModelPackageVersion", 1},
                                  {"InitialVariantWeight", 0.9}},
                                 {{"VariantName", "Green"}, {"InitialVariantWeight", "0.1"}}})}});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  EXPECT_EQ(endpoints_->Get("ab")->variants,
            (std::vector<VariantConfig>{{"Blue", "housing", 1, 0.9}, {"Green", "housing", 2, 0.1}}));
  EXPECT_EQ(deployed->lineage.size(), 3u);
}

TEST_F(DeployStepTest, BadArgumentsNameTheField) {
  struct Case {
    json arguments;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"ModelPackageGroupName", "housing"}}, "Arguments.EndpointName: required"},
      {{{"EndpointName", "prod"}}, "Arguments.ModelPackageGroupName: required"},
      {{{"EndpointName", "bad name"}, {"ModelPackageGroupName", "housing"}},
       "Arguments.EndpointName: endpoint name"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"Prot", 1}},
       "Arguments.Prot: unknown field"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"Port", 70000}},
       "Arguments.Port: must be 1-65535"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"ModelPackageVersion", "x"}},
       "Arguments.ModelPackageVersion"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"ModelPackageArn", "model-package/other/1"}},
       "Arguments.ModelPackageArn: names group \"other\""},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"ModelPackageArn", "model-package/housing/2"}, {"ModelPackageVersion", 1}},
       "Arguments.ModelPackageArn: names version 2 but ModelPackageVersion is 1"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"ModelPackageArn", "housing-2"}},
       "Arguments.ModelPackageArn: expected a model package ARN"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"Variants", json::array({{{"VariantName", "A"}}, {{"VariantName", "A"}}})}},
       "Arguments.Variants[1].VariantName: \"A\" is given twice"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"Variants", json::array({{{"VariantName", "A"}, {"InitialVariantWeight", -1}}})}},
       "Arguments.Variants[0].InitialVariantWeight: must be a positive number"},
      {{{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"},
        {"AllowUnapproved", "maybe"}},
       "Arguments.AllowUnapproved"},
  };
  for (const Case& test_case : cases) {
    auto outcome = RunStep(test_case.arguments);
    ASSERT_FALSE(outcome.ok()) << test_case.arguments.dump();
    EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument) << outcome.status();
    EXPECT_THAT(outcome.status().message(), HasSubstr(test_case.message))
        << test_case.arguments.dump();
  }
  EXPECT_EQ(endpoints_->List()->size(), 0u);
}

TEST_F(DeployStepTest, RunningServerHotSwapsToTheDeployedVersion) {
  const int port = FreePort();
  auto created = RunStep({{"EndpointName", "prod"},
                          {"ModelPackageGroupName", "housing"},
                          {"ModelPackageVersion", 1},
                          {"Port", port}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->properties["EndpointStatus"], "NotServing");

  // What `raypipe serve prod` does: serve the record and follow its revision.
  EndpointRunnerOptions options;
  options.endpoint = "prod";
  options.workers = 1;
  auto runner = EndpointRunner::Start(options, endpoints_.get(), registry_.get(), artifacts_.get());
  ASSERT_TRUE(runner.ok()) << runner.status();
  std::atomic<bool> done{false};
  std::thread follower([&] {
    while (!done.load()) {
      (void)(*runner)->Refresh();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  auto updated = RunStep(
      {{"EndpointName", "prod"}, {"ModelPackageGroupName", "housing"}, {"ModelPackageVersion", 2}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->properties["EndpointStatus"], "InService");
  auto client = HttpClient::Connect("127.0.0.1", port);
  ASSERT_TRUE(client.ok()) << client.status();
  auto response =
      (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}}, "3,100,0");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("x-raypipe-model"), "housing:2");
  EXPECT_NEAR(std::stod(response->body), 2030.0, 2.0);

  done = true;
  follower.join();
  (*runner)->Shutdown(std::chrono::milliseconds(1000));
}

TEST_F(DeployStepTest, TypeSpecChecksArgumentsAtValidateTime) {
  pipeline::StepTypeRegistry types = pipeline::BuiltinStepTypes();
  types.Register(*runner_.TypeSpec());
  auto definition = pipeline::ParseDefinition(R"(
Parameters:
  - {Name: Version, Type: Integer, DefaultValue: 1}
Steps:
  - Name: Good
    Type: Deploy
    Arguments:
      EndpointName: prod
      ModelPackageGroupName: housing
      ModelPackageVersion: {"Get": "Parameters.Version"}
      Variants: [{VariantName: Blue, InitialVariantWeight: 2}]
  - Name: Bad
    Type: Deploy
    CacheConfig: {Enabled: true}
    Arguments:
      EndpointName: "bad name"
      ModelPackageArn: "nope"
      Port: 0
      Variants: [{VariantName: A, Weight: 1}]
)",
                                               "deploy.yaml", types);
  ASSERT_TRUE(definition.ok()) << definition.status();
  const pipeline::ValidationReport report = pipeline::Validate(*definition, types);
  const std::string text = report.ToString();
  EXPECT_THAT(text, Not(HasSubstr("Good")));
  EXPECT_THAT(text, HasSubstr("Arguments.EndpointName"));
  EXPECT_THAT(text, HasSubstr("Arguments.ModelPackageGroupName"));
  EXPECT_THAT(text, HasSubstr("Arguments.ModelPackageArn"));
  EXPECT_THAT(text, HasSubstr("Arguments.Port"));
  EXPECT_THAT(text, HasSubstr("Arguments.Variants[0].Weight"));
  EXPECT_THAT(text, HasSubstr("CacheConfig"));
  EXPECT_EQ(report.errors.size(), 6u) << text;
}

}  // namespace
}  // namespace raypipe::serving
