#include "cli/model_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/registry.h"
#include "core/ids.h"
#include "serving/endpoint_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

class ModelCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / core::NewId("model_commands_test");
    home_ = dir_ / "home";
    bundle_ = dir_ / "bundle";
    std::filesystem::create_directories(bundle_);
    Write(bundle_ / "xgboost-model.json", "{\"learner\": {}}");
    Write(bundle_ / "raypipe-model.json",
          R"({"format": "raypipe.model.v1", "framework": "xgboost", "features": ["A", "B"],)"
          R"( "target": "PRICE", "objective": "reg:squarederror"})");
    Write(dir_ / "evaluation.json",
          R"({"regression_metrics": {"rmse": {"value": 1234.5, "standard_deviation": 2}}})");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }

  Outcome Run(std::vector<std::string> args) {
    CommandRegistry registry;
    EXPECT_TRUE(RegisterModelCommands(registry).ok());
    args.push_back("--home");
    args.push_back(home_.string());
    std::ostringstream out, err;
    RunEnvironment env{out, err, [](const std::string&) { return std::nullopt; }, dir_};
    int exit_code = RunCommandLine(registry, AppInfo(), args, env);
    return {exit_code, out.str(), err.str()};
  }

  Outcome Register(const std::string& group) {
    return Run({"model", "register", group, "--model-dir", bundle_.string(), "--metrics",
                (dir_ / "evaluation.json").string()});
  }

  std::filesystem::path dir_, home_, bundle_;
};

TEST_F(ModelCommandsTest, RegisterThenListAndDescribe) {
  Outcome empty = Run({"model", "groups"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_THAT(empty.out, StartsWith("group"));

  Outcome first = Register("housing");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out,
              StartsWith("registered model-package/housing/1 (PendingManualApproval, model sha256:"));
  Outcome second = Run({"model", "register", "housing", "--model-dir", bundle_.string(),
                        "--output", "json", "--content-type", "text/csv"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  nlohmann::json package = nlohmann::json::parse(second.out);
  EXPECT_EQ(package["ModelPackageVersion"], 2);
  EXPECT_EQ(package["InferenceSpecification"]["SupportedContentTypes"],
            nlohmann::json({"text/csv"}));
  // The same bundle content is stored once: both versions point at the same digest.
  Outcome versions = Run({"model", "versions", "housing", "--output", "json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  nlohmann::json list = nlohmann::json::parse(versions.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["ModelArtifact"], list[1]["ModelArtifact"]);
  EXPECT_EQ(list[0]["ModelMetrics"]["regression_metrics"]["rmse"]["value"], 1234.5);
  EXPECT_TRUE(std::filesystem::exists(home_ / "artifacts"));

  Outcome table = Run({"model", "versions", "housing"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("1234.5"));
  EXPECT_THAT(table.out, HasSubstr("PendingManualApproval"));

  Outcome groups = Run({"model", "groups", "--output", "json"});
  ASSERT_EQ(groups.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(groups.out)[0]["VersionCount"], 2);

  Outcome describe = Run({"model", "describe", "housing", "2", "--output", "json"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_EQ(nlohmann::json::parse(describe.out)["ModelPackageArn"], "model-package/housing/2");
  Outcome described_table = Run({"model", "describe", "housing", "1"});
  ASSERT_EQ(described_table.exit_code, 0);
  EXPECT_THAT(described_table.out, HasSubstr("ModelApprovalStatus"));
}

TEST_F(ModelCommandsTest, ErrorsNameWhatExists) {
  ASSERT_EQ(Register("housing").exit_code, 0);
  Outcome typo = Run({"model", "versions", "housng"});
  EXPECT_EQ(typo.exit_code, kExitFailure);
  EXPECT_THAT(typo.err, HasSubstr("'housng' does not exist (groups: housing)"));
  EXPECT_THAT(typo.err, HasSubstr("did you mean 'housing'?"));
  Outcome version = Run({"model", "describe", "housing", "7"});
  EXPECT_EQ(version.exit_code, kExitFailure);
  EXPECT_THAT(version.err, HasSubstr("has no version 7 (versions: 1)"));
  Outcome not_a_number = Run({"model", "describe", "housing", "one"});
  EXPECT_EQ(not_a_number.exit_code, kExitUsage);
  EXPECT_THAT(not_a_number.err, HasSubstr("expected a version number"));
  EXPECT_EQ(Run({"model", "approve", "housing", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"model", "versions", "housing", "--status", "Done"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"model", "register", "bad_name", "--model-dir", bundle_.string()}).exit_code,
            kExitUsage);

  Outcome no_bundle = Run({"model", "register", "housing", "--model-dir", dir_.string()});
  EXPECT_EQ(no_bundle.exit_code, kExitFailure);
  EXPECT_THAT(no_bundle.err, HasSubstr("raypipe-model.json"));
  Write(bundle_ / "raypipe-model.json", R"({"format": "other", "features": ["A"]})");
  Outcome bad_format = Register("housing");
  EXPECT_EQ(bad_format.exit_code, kExitFailure);
  EXPECT_THAT(bad_format.err, HasSubstr("format: expected \"raypipe.model.v1\""));
  // Nothing was registered by the failures.
  EXPECT_EQ(nlohmann::json::parse(Run({"model", "versions", "housing", "--output", "json"}).out)
                .size(),
            1u);
}

TEST_F(ModelCommandsTest, ApproveRejectAndDeleteGroup) {
  ASSERT_EQ(Register("housing").exit_code, 0);
  Outcome approve = Run({"model", "approve", "housing", "1", "--description", "rmse ok"});
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  EXPECT_EQ(approve.out, "model-package/housing/1: PendingManualApproval -> Approved\n");
  Outcome delete_approved = Run({"model", "delete-group", "housing"});
  EXPECT_EQ(delete_approved.exit_code, kExitFailure);
  EXPECT_THAT(delete_approved.err, HasSubstr("Approved version(s) 1"));
  EXPECT_THAT(delete_approved.err, HasSubstr("--force"));

  Outcome reject = Run({"model", "reject", "housing", "1", "--output", "json"});
  ASSERT_EQ(reject.exit_code, 0) << reject.err;
  nlohmann::json rejected = nlohmann::json::parse(reject.out);
  EXPECT_EQ(rejected["ModelApprovalStatus"], "Rejected");
  EXPECT_EQ(rejected["ApprovalDescription"], "");

  Outcome deleted = Run({"model", "delete-group", "housing"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_THAT(deleted.out, StartsWith("deleted model package group housing (1 version(s)"));
  EXPECT_EQ(Run({"model", "delete-group", "housing"}).exit_code, kExitFailure);
}

TEST_F(ModelCommandsTest, DeleteGroupIsRefusedWhileAnEndpointServesIt) {
  ASSERT_EQ(Register("housing").exit_code, 0);
  {
    auto metadata = store::SqliteMetadataStore::Open({.path = (home_ / "metadata.db").string()});
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    auto endpoints = serving::EndpointStore::Open(metadata->get());
    ASSERT_TRUE(endpoints.ok()) << endpoints.status();
    serving::EndpointConfig config;
    config.name = "prod";
    serving::VariantConfig variant;
    variant.name = "AllTraffic";
    variant.group = "housing";
    variant.version = 1;
    config.variants.push_back(variant);
    Result<serving::EndpointConfig> created = (*endpoints)->Create(config);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  Outcome refused = Run({"model", "delete-group", "housing", "--force"});
  EXPECT_EQ(refused.exit_code, kExitFailure);
  EXPECT_THAT(refused.err, HasSubstr("version 1 is deployed on endpoint 'prod'"));
  EXPECT_EQ(nlohmann::json::parse(Run({"model", "versions", "housing", "--output", "json"}).out)
                .size(),
            1u);
}

}  // namespace
}  // namespace raypipe::cli
