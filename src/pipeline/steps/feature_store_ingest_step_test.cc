#include "pipeline/steps/feature_store_ingest_step.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "data/csv.h"
#include "data/housing.h"
#include "featurestore/feature_store.h"
#include "pipeline/parser.h"
#include "pipeline/steps/step_test_context.h"
#include "pipeline/validate.h"

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FeatureStoreIngestStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data::HousingOptions options;
    options.rows = 500;
    options.seed = 3;
    housing_ = *data::GenerateHousing(options);
    ASSERT_TRUE(data::WriteCsvFile(housing_, (home_.pipeline_dir() / "housing.csv").string()).ok());
  }

  Result<StepOutcome> Run(const json& arguments) {
    StepContext context = home_.Context(runner_, arguments);
    return runner_.Run(context);
  }

  std::unique_ptr<featurestore::FeatureStore> OpenStore() {
    featurestore::FeatureStoreOptions options;
    options.home = home_.home().string();
    return std::move(featurestore::FeatureStore::Open(options)).value();
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(home_.pipeline_dir() / name) << text;
  }

  data::Table housing_;
  testing::StepTestHome home_;
  FeatureStoreIngestStepRunner runner_;
};

TEST_F(FeatureStoreIngestStepTest, CreatesTheGroupFromTheInputAndIngestsExactlyOnce) {
  const json arguments = {{"FeatureGroupName", "houses"}, {"Input", "housing.csv"},
                          {"NumActors", 3}, {"CpusPerActor", "0.5"}};
  Result<StepOutcome> first = Run(arguments);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->properties["FeatureGroupName"], "houses");
  EXPECT_EQ(first->properties["RecordCount"], 500);
  EXPECT_EQ(first->properties["IngestedCount"], 500);
  EXPECT_GT(first->metrics.at("records_per_second"), 0.0);
  ASSERT_EQ(first->lineage.size(), 1u);
  EXPECT_EQ(first->lineage[0].artifact_type, "FeatureGroup");
  EXPECT_EQ(first->lineage[0].uri, "featurestore://houses");
  EXPECT_EQ(first->lineage[0].direction, StepOutcome::LineageEntry::Direction::kOutput);

  auto store = OpenStore();
  Result<featurestore::GroupInfo> group = store->DescribeGroup("houses");
  ASSERT_TRUE(group.ok());
  const featurestore::FeatureGroupDefinition& definition = group->definition;
  EXPECT_EQ(definition.record_identifier, "record_id");
  EXPECT_EQ(definition.event_time, "event_time");
  EXPECT_TRUE(definition.online_enabled);
  ASSERT_NE(definition.Find("PRICE"), nullptr);
  EXPECT_EQ(definition.Find("PRICE")->type, featurestore::FeatureType::kIntegral);
  EXPECT_EQ(definition.Find("SQUARE_FEET")->type, featurestore::FeatureType::kFractional);
  EXPECT_EQ(definition.Find("record_id")->type, featurestore::FeatureType::kIntegral);
  EXPECT_EQ(definition.Find("event_time")->type, featurestore::FeatureType::kFractional);

  // Ids were generated 0..N-1 in input order.
  Result<featurestore::Record> record = store->GetRecord("houses", "499");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->features["PRICE"], (*housing_.ColumnByName("PRICE"))->int64s()[499]);
  EXPECT_FALSE(store->GetRecord("houses", "500").ok());

  // The same input again adds nothing.
  Result<StepOutcome> second = Run(arguments);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->properties["RecordCount"], 500);
  EXPECT_EQ(second->properties["IngestedCount"], 0);
  EXPECT_EQ(store->ReadOffline("houses")->num_rows(), 500u);
}

TEST_F(FeatureStoreIngestStepTest, StopCancelsBetweenBatchesAndARerunCompletesExactlyOnce) {
  data::HousingOptions options;
  options.rows = 200000;  // 20 batches: the stop lands while the actors still run
  options.seed = 5;
  ASSERT_TRUE(
      data::WriteCsvFile(*data::GenerateHousing(options),
                         (home_.pipeline_dir() / "big.csv").string())
          .ok());
  const json arguments = {{"FeatureGroupName", "houses"}, {"Input", "big.csv"},
                          {"NumActors", 2}};
  auto store = OpenStore();
  // Requests the stop once a committed batch is visible.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      Result<featurestore::GroupInfo> group = store->DescribeGroup("houses");
      if (group.ok() && store->Stats(*group)->offline_rows > 0) {
        home_.stop().store(true);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  Result<StepOutcome> stopped = Run(arguments);
  done.store(true);
  watcher.join();
  ASSERT_EQ(stopped.status().code(), StatusCode::kCancelled) << stopped.status().ToString();
  featurestore::GroupInfo group = *store->DescribeGroup("houses");
  const int64_t partial = store->Stats(group)->offline_rows;
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 200000);
  EXPECT_EQ(partial % 10000, 0);  // whole batches only
  EXPECT_EQ(store->Stats(group)->online_records, partial);

  home_.stop().store(false);
  Result<StepOutcome> rerun = Run(arguments);
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->properties["IngestedCount"], 200000 - partial);
  EXPECT_EQ(store->Stats(group)->offline_rows, 200000);
  EXPECT_EQ(store->Stats(group)->online_records, 200000);
}

TEST_F(FeatureStoreIngestStepTest, UsesAGivenDefinitionFileOrInlineObject) {
  const json definition = {
      {"RecordIdentifierFeatureName", "house_id"},
      {"EventTimeFeatureName", "ts"},
      {"FeatureDefinitions",
       {{{"FeatureName", "house_id"}, {"FeatureType", "String"}},
        {{"FeatureName", "ts"}, {"FeatureType", "String"}},
        {{"FeatureName", "rooms"}, {"FeatureType", "Integral"}}}},
      {"OnlineStoreConfig", {{"EnableOnlineStore", false}}},
      {"OfflineStoreConfig", json::object()}};
  Write("rooms.csv", "house_id,ts,rooms\na,2026-01-01T00:00:00Z,3\nb,2026-01-02T00:00:00Z,4\n");
  Result<StepOutcome> inline_run = Run({{"FeatureGroupName", "rooms"},
                                        {"Input", "rooms.csv"},
                                        {"FeatureGroupDefinition", definition},
                                        {"TargetStores", "OfflineStore"},
                                        {"NumActors", 1}});
  ASSERT_TRUE(inline_run.ok()) << inline_run.status().ToString();
  EXPECT_EQ(inline_run->properties["IngestedCount"], 2);
  auto store = OpenStore();
  EXPECT_FALSE(store->DescribeGroup("rooms")->definition.online_enabled);
  EXPECT_EQ(store->ReadOffline("rooms")->num_rows(), 2u);

  json named = definition;
  named["FeatureGroupName"] = "rooms2";
  Write("rooms2.json", named.dump());
  Result<StepOutcome> file_run = Run({{"FeatureGroupName", "rooms2"},
                                      {"Input", "rooms.csv"},
                                      {"FeatureGroupDefinition", "rooms2.json"},
                                      {"RecordIdentifier", "house_id"}});
  ASSERT_TRUE(file_run.ok()) << file_run.status().ToString();
  EXPECT_EQ(store->DescribeGroup("rooms2")->definition.record_identifier, "house_id");

  // A definition naming another group, or an identifier the group does not use, is refused.
  Result<StepOutcome> other = Run({{"FeatureGroupName", "rooms3"},
                                   {"Input", "rooms.csv"},
                                   {"FeatureGroupDefinition", "rooms2.json"}});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(std::string(other.status().message()).rfind("Arguments.FeatureGroupDefinition: ", 0),
            0u)
      << other.status().message();
  Result<StepOutcome> wrong_id = Run({{"FeatureGroupName", "rooms2"},
                                      {"Input", "rooms.csv"},
                                      {"RecordIdentifier", "id"}});
  ASSERT_FALSE(wrong_id.ok());
  EXPECT_EQ(std::string(wrong_id.status().message()).rfind("Arguments.RecordIdentifier: ", 0), 0u)
      << wrong_id.status().message();
}

TEST_F(FeatureStoreIngestStepTest, BadArgumentsNameTheField) {
  struct Case {
    json arguments;
    std::string expected;
  };
  const json base = {{"FeatureGroupName", "houses"}, {"Input", "housing.csv"}};
  auto with = [&](const std::string& key, json value) {
    json out = base;
    if (value.is_null()) {
      out.erase(key);
    } else {
      out[key] = std::move(value);
    }
    return out;
  };
  const std::vector<Case> cases = {
      {with("NumActors", 0), "Arguments.NumActors: must be 1 to 1024"},
      {with("NumActors", "many"), "Arguments.NumActors: expected an Integer"},
      {with("CpusPerActor", -1), "Arguments.CpusPerActor: must be greater than 0"},
      {with("TargetStores", json::array({"OnlineStore", "Nowhere"})),
       "Arguments.TargetStores[1]: unknown store 'Nowhere'"},
      {with("TargetStores", json::array()), "Arguments.TargetStores: must name at least one"},
      {with("Input", nullptr), "Arguments.Input: required"},
      {with("Input", "nothing.csv"), "Arguments.Input: '"},
      {with("FeatureGroupName", nullptr), "Arguments.FeatureGroupName: required"},
      {with("Actors", 2), "Arguments.Actors: unknown field"},
      {with("FeatureGroupDefinition", 3), "Arguments.FeatureGroupDefinition: expected"},
  };
  for (const Case& c : cases) {
    Result<StepOutcome> outcome = Run(c.arguments);
    ASSERT_FALSE(outcome.ok()) << c.expected;
    EXPECT_EQ(outcome.status().code(), c.expected.find("'") != std::string::npos &&
                                               c.expected.find("Input") != std::string::npos
                                           ? StatusCode::kNotFound
                                           : StatusCode::kInvalidArgument)
        << outcome.status().ToString();
    EXPECT_EQ(std::string(outcome.status().message()).rfind(c.expected, 0), 0u)
        << outcome.status().message();
  }
  EXPECT_FALSE(OpenStore()->DescribeGroup("houses").ok());  // nothing was created
}

TEST_F(FeatureStoreIngestStepTest, RejectedRowsFailTheStepNamingTheLine) {
  Write("bad.csv", "PRICE,SQUARE_FEET\n100,2000.5\n200,lots\n300,1500\n");
  Result<StepOutcome> outcome =
      Run({{"FeatureGroupName", "small"},
           {"Input", "bad.csv"},
           {"FeatureGroupDefinition",
            {{"RecordIdentifierFeatureName", "record_id"},
             {"EventTimeFeatureName", "event_time"},
             {"FeatureDefinitions",
              {{{"FeatureName", "record_id"}, {"FeatureType", "Integral"}},
               {{"FeatureName", "event_time"}, {"FeatureType", "Fractional"}},
               {{"FeatureName", "PRICE"}, {"FeatureType", "Integral"}},
               {{"FeatureName", "SQUARE_FEET"}, {"FeatureType", "Fractional"}}}},
             {"OfflineStoreConfig", json::object()}}}});
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(std::string(outcome.status().message())
                  .starts_with("Arguments.Input: 1 of 3 rows were rejected (first: line 3: "))
      << outcome.status().message();
  EXPECT_EQ(OpenStore()->ReadOffline("small")->num_rows(), 2u);  // the valid rows are stored
}

ValidationReport ValidateYaml(const std::string& arguments) {
  StepRunnerRegistry runners;
  EXPECT_TRUE(runners.Register(std::make_unique<FeatureStoreIngestStepRunner>()).ok());
  const StepTypeRegistry types = runners.ValidationTypes();
  const std::string text =
      "Steps:\n  - Name: Ingest\n    Type: FeatureStoreIngest\n    Arguments:\n" + arguments +
      "  - Name: Use\n    Type: Fail\n    Arguments:\n"
      "      ErrorMessage: {Std:Join: {On: ' ', Values: [{Get: Steps.Ingest.IngestedCount}, "
      "{Get: Steps.Ingest.RecordCount}]}}\n";
  Result<PipelineDefinition> definition = ParseDefinition(text, "p.yaml", types);
  EXPECT_TRUE(definition.ok()) << definition.status().ToString();
  if (!definition.ok()) return {};
  return Validate(*definition, types);
}

TEST(FeatureStoreIngestValidationTest, ChecksArgumentsStatically) {
  ValidationReport good = ValidateYaml(
      "      FeatureGroupName: houses\n      Input: data.csv\n      NumActors: 4\n"
      "      CpusPerActor: 0.5\n      TargetStores: [OnlineStore, OfflineStore]\n");
  EXPECT_TRUE(good.ok()) << good.ToString();

  ValidationReport bad = ValidateYaml(
      "      FeatureGroupName: houses\n      NumActors: 0\n      CpusPerActor: fast\n"
      "      TargetStores: [Nowhere]\n      Extra: 1\n"
      "      FeatureGroupDefinition: {FeatureDefinitions: []}\n");
  auto has = [&](const std::string& field, const std::string& part) {
    for (const Diagnostic& error : bad.errors) {
      if (error.field == field && error.message.find(part) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("Arguments.Input", "missing")) << bad.ToString();
  EXPECT_TRUE(has("Arguments.NumActors", "must be 1 to 1024")) << bad.ToString();
  EXPECT_TRUE(has("Arguments.CpusPerActor", "expected a Float")) << bad.ToString();
  EXPECT_TRUE(has("Arguments.TargetStores[0]", "unknown store 'Nowhere'")) << bad.ToString();
  EXPECT_TRUE(has("Arguments.Extra", "unknown field")) << bad.ToString();
  EXPECT_TRUE(has("Arguments.FeatureGroupDefinition", "")) << bad.ToString();
}

}  // namespace
}  // namespace raypipe::pipeline
