#include "registry/model_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "core/ids.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::registry {
namespace {

using ::testing::HasSubstr;

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

RegisterRequest Request(std::string group, std::string digest = kDigestA) {
  RegisterRequest request;
  request.group = std::move(group);
  request.model_artifact = std::move(digest);
  return request;
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(core::TimePoint(std::chrono::seconds(1'800'000'000)));
    auto store = store::SqliteMetadataStore::Open({.path = ":memory:"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto registry = ModelRegistry::Open(store_.get(), &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
  }

  ModelPackage RegisterOrDie(const RegisterRequest& request) {
    Result<ModelPackage> package = registry_->RegisterVersion(request);
    EXPECT_TRUE(package.ok()) << package.status();
    return package.ok() ? *package : ModelPackage();
  }

  core::ManualClock clock_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<ModelRegistry> registry_;
};

TEST_F(ModelRegistryTest, RegistersNumberedVersionsWithEveryField) {
  RegisterRequest request = Request("housing-models");
  request.model_metrics = {{"regression_metrics", {{"rmse", {{"value", 12.5}}}}}};
  request.description = "first";
  request.lineage.training_run_id = "run-1";
  request.lineage.execution_id = "exec-1";
  request.lineage.data_artifacts = {kDigestB};
  ModelPackage first = RegisterOrDie(request);
  EXPECT_EQ(first.group, "housing-models");
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.status, ApprovalStatus::kPendingManualApproval);
  EXPECT_EQ(first.model_artifact, kDigestA);
  EXPECT_EQ(first.model_metrics["regression_metrics"]["rmse"]["value"], 12.5);
  EXPECT_EQ(first.inference_specification, DefaultInferenceSpecification());
  EXPECT_EQ(first.description, "first");
  EXPECT_EQ(first.created_at, "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(first.updated_at, first.created_at);
  EXPECT_EQ(first.arn, "model-package/housing-models/1");
  EXPECT_EQ(first.lineage.training_run_id, "run-1");
  EXPECT_EQ(first.lineage.execution_id, "exec-1");
  EXPECT_EQ(first.lineage.data_artifacts, std::vector<std::string>{kDigestB});
  EXPECT_EQ(first.lineage.step_name, "");
  EXPECT_EQ(first.customer_metadata_properties, nlohmann::json::object());

  request.inference_specification = {{"SupportedContentTypes", {"text/csv"}}};
  ModelPackage second = RegisterOrDie(request);
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(second.inference_specification["SupportedContentTypes"][0], "text/csv");

  Result<ModelPackage> described = registry_->Describe("housing-models", 1);
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->ToJson(), first.ToJson());

  Result<ModelPackageGroup> group = registry_->DescribeGroup("housing-models");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->version_count, 2);
  EXPECT_EQ(group->latest_version, 2);
  EXPECT_FALSE(group->latest_approved_version.has_value());
}

TEST_F(ModelRegistryTest, StoresTheStepNameAndCustomerMetadataProperties) {
  RegisterRequest request = Request("housing-models");
  request.lineage.execution_id = "exec-1";
  request.lineage.step_name = "RegisterTrainedModel";
  request.customer_metadata_properties = {{"team", "pricing"}, {"ticket", "HOUSE-7"}};
  ModelPackage package = RegisterOrDie(request);
  Result<ModelPackage> described = registry_->Describe("housing-models", package.version);
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->lineage.step_name, "RegisterTrainedModel");
  EXPECT_EQ(described->customer_metadata_properties,
            nlohmann::json({{"team", "pricing"}, {"ticket", "HOUSE-7"}}));
  const nlohmann::json json = described->ToJson();
  EXPECT_EQ(json["Lineage"]["StepName"], "RegisterTrainedModel");
  EXPECT_EQ(json["CustomerMetadataProperties"]["ticket"], "HOUSE-7");

  struct Case {
    nlohmann::json properties;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {nlohmann::json::array(), "CustomerMetadataProperties must be a JSON object, found array"},
      {{{"team", 7}}, "CustomerMetadataProperties.team must be a string, found integer"},
      {{{"", "x"}}, "key '' must have 1 to 128 characters"},
      {{{std::string(129, 'k'), "x"}}, "must have 1 to 128 characters"},
      {{{"long", std::string(257, 'v')}}, "CustomerMetadataProperties.long is longer than 256"},
  };
  for (const Case& c : cases) {
    RegisterRequest bad = Request("housing-models");
    bad.customer_metadata_properties = c.properties;
    Result<ModelPackage> refused = registry_->RegisterVersion(bad);
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(refused.status().message(), HasSubstr(c.expected));
  }
  RegisterRequest many = Request("housing-models");
  for (int i = 0; i < 51; ++i) many.customer_metadata_properties["k" + std::to_string(i)] = "v";
  EXPECT_THAT(registry_->RegisterVersion(many).status().message(), HasSubstr("at most 50"));
  EXPECT_EQ(registry_->ListVersions("housing-models")->size(), 1u);  // nothing else stored
}

TEST_F(ModelRegistryTest, RefusesBadInput) {
  EXPECT_EQ(registry_->RegisterVersion(Request("bad name")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->RegisterVersion(Request("-x")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->RegisterVersion(Request(std::string(64, 'g'))).status().code(),
            StatusCode::kInvalidArgument);
  Result<ModelPackage> bad_digest = registry_->RegisterVersion(Request("g", "sha256:../x"));
  EXPECT_EQ(bad_digest.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_digest.status().message(), HasSubstr("model artifact"));
  RegisterRequest metrics = Request("g");
  metrics.model_metrics = nlohmann::json::array();
  EXPECT_THAT(registry_->RegisterVersion(metrics).status().message(),
              HasSubstr("ModelMetrics must be a JSON object, found array"));
  RegisterRequest lineage = Request("g");
  lineage.lineage.data_artifacts = {"nope"};
  EXPECT_THAT(registry_->RegisterVersion(lineage).status().message(),
              HasSubstr("bad data artifact"));
  RegisterRequest no_group = Request("absent");
  no_group.create_group = false;
  EXPECT_EQ(registry_->RegisterVersion(no_group).status().code(), StatusCode::kNotFound);
  // Nothing was created by the refused requests.
  EXPECT_TRUE(registry_->ListGroups()->empty());
}

TEST_F(ModelRegistryTest, ApprovalTransitions) {
  RegisterOrDie(Request("g"));
  clock_.Advance(std::chrono::seconds(5));
  Result<ModelPackage> approved =
      registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kApproved, "looks good");
  ASSERT_TRUE(approved.ok()) << approved.status();
  EXPECT_EQ(approved->status, ApprovalStatus::kApproved);
  EXPECT_EQ(approved->approval_description, "looks good");
  EXPECT_EQ(approved->updated_at, "2027-01-15T08:00:05.000Z");
  EXPECT_NE(approved->updated_at, approved->created_at);

  // Approved <-> Rejected both ways.
  Result<ModelPackage> rejected =
      registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kRejected, "drift");
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->status, ApprovalStatus::kRejected);
  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kApproved, "").ok());
  // The same status again updates the description.
  Result<ModelPackage> again =
      registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kApproved, "re-checked");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->approval_description, "re-checked");

  // Back to PendingManualApproval is refused and changes nothing.
  Result<ModelPackage> back =
      registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kPendingManualApproval, "x");
  EXPECT_EQ(back.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(back.status().message(),
              HasSubstr("model-package/g/1 cannot go from Approved to PendingManualApproval"));
  EXPECT_EQ(registry_->Describe("g", 1)->approval_description, "re-checked");

  // Pending -> Rejected directly.
  RegisterOrDie(Request("g"));
  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 2, ApprovalStatus::kRejected, "no").ok());
  EXPECT_EQ(registry_->UpdateApprovalStatus("g", 2, ApprovalStatus::kPendingManualApproval, "")
                .status()
                .code(),
            StatusCode::kFailedPrecondition);

  // Unknown versions and groups.
  Result<ModelPackage> missing = registry_->UpdateApprovalStatus("g", 9, ApprovalStatus::kApproved, "");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("has no version 9 (versions: 1, 2)"));
  EXPECT_EQ(registry_->UpdateApprovalStatus("h", 1, ApprovalStatus::kApproved, "").status().code(),
            StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, LatestApprovedIsTheNewestApprovedVersion) {
  Result<ModelPackage> none = registry_->LatestApproved("g");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("'g' does not exist (there are no groups)"));
  for (int i = 0; i < 4; ++i) RegisterOrDie(Request("g"));
  Result<ModelPackage> pending = registry_->LatestApproved("g");
  EXPECT_EQ(pending.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(pending.status().message(), HasSubstr("'g' has no Approved version"));

  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 1, ApprovalStatus::kApproved, "").ok());
  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 3, ApprovalStatus::kApproved, "").ok());
  EXPECT_EQ(registry_->LatestApproved("g")->version, 3);
  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 3, ApprovalStatus::kRejected, "").ok());
  EXPECT_EQ(registry_->LatestApproved("g")->version, 1);
  EXPECT_EQ(registry_->DescribeGroup("g")->latest_approved_version, 1);

  Result<std::vector<ModelPackage>> approved =
      registry_->ListVersions("g", ApprovalStatus::kApproved);
  ASSERT_TRUE(approved.ok());
  ASSERT_EQ(approved->size(), 1u);
  Result<std::vector<ModelPackage>> all = registry_->ListVersions("g");
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].version, int64_t(i + 1));
}

TEST_F(ModelRegistryTest, GroupsAndErrorsThatNameWhatExists) {
  ASSERT_TRUE(registry_->CreateGroup("beta", "the second").ok());
  Result<ModelPackageGroup> duplicate = registry_->CreateGroup("beta", "");
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  RegisterOrDie(Request("alpha"));
  Result<std::vector<ModelPackageGroup>> groups = registry_->ListGroups();
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].name, "alpha");
  EXPECT_EQ((*groups)[0].version_count, 1);
  EXPECT_EQ((*groups)[1].name, "beta");
  EXPECT_EQ((*groups)[1].description, "the second");
  EXPECT_EQ((*groups)[1].latest_version, 0);

  Result<ModelPackage> unknown = registry_->Describe("alpah", 1);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("'alpah' does not exist (groups: alpha, beta)"));
  EXPECT_THAT(registry_->Describe("beta", 1).status().message(),
              HasSubstr("'beta' has no version 1 (it has no versions)"));
}

TEST_F(ModelRegistryTest, DeleteGroupRespectsApprovalAndTheGuard) {
  RegisterOrDie(Request("g"));
  RegisterOrDie(Request("g"));
  RegisterOrDie(Request("other"));
  ASSERT_TRUE(registry_->UpdateApprovalStatus("g", 2, ApprovalStatus::kApproved, "").ok());

  Result<int64_t> refused = registry_->DeleteGroup("g");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("Approved version(s) 2"));

  std::vector<int64_t> seen;
  registry_->SetDeleteGuard([&](std::string_view group, const std::vector<ModelPackage>& versions) {
    for (const ModelPackage& package : versions) seen.push_back(package.version);
    return group == "g" ? FailedPreconditionError("version 2 is deployed on endpoint 'prod'")
                        : Status::Ok();
  });
  Result<int64_t> guarded = registry_->DeleteGroup("g", /*force=*/true);
  EXPECT_EQ(guarded.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(guarded.status().message(), HasSubstr("deployed on endpoint 'prod'"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(registry_->ListVersions("g")->size(), 2u);

  registry_->SetDeleteGuard(nullptr);
  Result<int64_t> deleted = registry_->DeleteGroup("g", /*force=*/true);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(registry_->DescribeGroup("g").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->DeleteGroup("g").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->ListVersions("other")->size(), 1u);
  // A recreated group starts again at version 1.
  EXPECT_EQ(RegisterOrDie(Request("g")).version, 1);
}

TEST(ApprovalStatusTest, NamesRoundTrip) {
  for (ApprovalStatus status : {ApprovalStatus::kPendingManualApproval, ApprovalStatus::kApproved,
                                ApprovalStatus::kRejected}) {
    EXPECT_EQ(*ParseApprovalStatus(ApprovalStatusName(status)), status);
  }
  EXPECT_EQ(ParseApprovalStatus("approved").status().code(), StatusCode::kInvalidArgument);
}

// A database written by schema 1 (before step names and customer properties) stays readable
// after the migration: its versions read back with neither, and new versions get both.
TEST(ModelRegistryMigrationTest, ASchemaOneDatabaseStaysReadable) {
  auto store = store::SqliteMetadataStore::Open({.path = ":memory:"});
  ASSERT_TRUE(store.ok()) << store.status();
  // Schema 1's tables: migration 1 alone.
  const std::vector<store::Migration> schema_one = {RegistryMigrations().front()};
  ASSERT_EQ(schema_one.front().version, 1);
  ASSERT_TRUE((*store)->Migrate("registry", schema_one).ok());
  ASSERT_TRUE((*store)
                  ->Execute("INSERT INTO registry_groups VALUES ('old', '', "
                            "'2026-01-01T00:00:00.000Z')")
                  .ok());
  ASSERT_TRUE((*store)
                  ->Execute("INSERT INTO registry_packages VALUES ('old', 1, 'Approved', 'ok', ?,"
                            " '{}', '{}', 'v1', '2026-01-01T00:00:00.000Z',"
                            " '2026-01-01T00:00:00.000Z', 'run-1', 'exec-1', '[]')",
                            {kDigestA})
                  .ok());

  auto registry = ModelRegistry::Open(store->get());
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ(*(*store)->SchemaVersion("registry"), 2);
  Result<ModelPackage> old = (*registry)->Describe("old", 1);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->status, ApprovalStatus::kApproved);
  EXPECT_EQ(old->lineage.execution_id, "exec-1");
  EXPECT_EQ(old->lineage.step_name, "");
  EXPECT_EQ(old->customer_metadata_properties, nlohmann::json::object());

  RegisterRequest request = Request("old");
  request.lineage.step_name = "Register";
  request.customer_metadata_properties = {{"k", "v"}};
  Result<ModelPackage> added = (*registry)->RegisterVersion(request);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->version, 2);
  EXPECT_EQ(added->lineage.step_name, "Register");
  EXPECT_EQ(added->customer_metadata_properties["k"], "v");
}

class ModelRegistryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / core::NewId("registry_test");
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "metadata.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

// Several processes register into one group at once: versions 1..N, none lost or repeated.
TEST_F(ModelRegistryFileTest, ConcurrentProcessesGetDistinctVersions) {
  constexpr int kProcesses = 4;
  constexpr int kVersionsEach = 15;
  std::vector<pid_t> children;
  for (int process_idx = 0; process_idx < kProcesses; ++process_idx) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = store::SqliteMetadataStore::Open({.path = path_});
      if (!store.ok()) _exit(10);
      auto registry = ModelRegistry::Open(store->get());
      if (!registry.ok()) _exit(11);
      for (int i = 0; i < kVersionsEach; ++i) {
        RegisterRequest request = Request("shared");
        request.description = std::to_string(process_idx) + "/" + std::to_string(i);
        if (!(*registry)->RegisterVersion(request).ok()) _exit(12);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = store::SqliteMetadataStore::Open({.path = path_});
  ASSERT_TRUE(store.ok());
  auto registry = ModelRegistry::Open(store->get());
  ASSERT_TRUE(registry.ok());
  Result<std::vector<ModelPackage>> versions = (*registry)->ListVersions("shared");
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), size_t{kProcesses * kVersionsEach});
  std::set<std::string> descriptions;
  for (size_t i = 0; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].version, int64_t(i + 1));
    descriptions.insert((*versions)[i].description);
  }
  EXPECT_EQ(descriptions.size(), versions->size());
}

TEST_F(ModelRegistryFileTest, ConcurrentThreadsGetDistinctVersions) {
  auto store = store::SqliteMetadataStore::Open({.path = path_});
  ASSERT_TRUE(store.ok());
  auto registry = ModelRegistry::Open(store->get());
  ASSERT_TRUE(registry.ok());
  constexpr int kThreads = 4;
  constexpr int kVersionsEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kVersionsEach; ++i) {
        if (!(*registry)->RegisterVersion(Request("threads")).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*registry)->DescribeGroup("threads")->latest_version, kThreads * kVersionsEach);
  EXPECT_EQ((*registry)->DescribeGroup("threads")->version_count, kThreads * kVersionsEach);
}

}  // namespace
}  // namespace raypipe::registry
