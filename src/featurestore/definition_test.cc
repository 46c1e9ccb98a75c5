#include "featurestore/definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"
#include "featurestore/test_util.h"

namespace raypipe::featurestore {
namespace {

using ::testing::HasSubstr;

nlohmann::json Houses() { return nlohmann::json::parse(testing::kHousesDefinition); }

TEST(DefinitionTest, ParsesAndRoundTrips) {
  Result<FeatureGroupDefinition> parsed = ParseDefinition(Houses(), "houses.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->name, "houses");
  EXPECT_EQ(parsed->record_identifier, "house_id");
  ASSERT_EQ(parsed->features.size(), 5u);
  EXPECT_EQ(parsed->features[2].type, FeatureType::kFractional);
  EXPECT_TRUE(parsed->online_enabled);
  EXPECT_TRUE(parsed->offline_enabled);
  EXPECT_FALSE(parsed->ttl.has_value());
  Result<FeatureGroupDefinition> again = ParseDefinition(ToJson(*parsed), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ToJson(*again), ToJson(*parsed));
}

TEST(DefinitionTest, TtlForms) {
  nlohmann::json json = Houses();
  json["OnlineStoreConfig"]["TtlDuration"] = {{"Unit", "Hours"}, {"Value", 2}};
  Result<FeatureGroupDefinition> parsed = ParseDefinition(json, "g.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ttl, std::chrono::milliseconds(2 * 3600 * 1000));
  json["OnlineStoreConfig"]["TtlDuration"] = "PT90S";
  parsed = ParseDefinition(json, "g.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ttl, std::chrono::milliseconds(90'000));
  json["OnlineStoreConfig"]["TtlDuration"] = {{"Unit", "Fortnights"}, {"Value", 2}};
  parsed = ParseDefinition(json, "g.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("g.json: OnlineStoreConfig.TtlDuration.Unit"));
}

TEST(DefinitionTest, RefusesReservedNames) {
  for (const char* reserved : {"write_time", "api_invocation_time", "is_deleted"}) {
    nlohmann::json json = Houses();
    json["FeatureDefinitions"][3]["FeatureName"] = reserved;
    Result<FeatureGroupDefinition> parsed = ParseDefinition(json, "g.json");
    ASSERT_FALSE(parsed.ok()) << reserved;
    EXPECT_THAT(parsed.status().message(), HasSubstr("g.json: FeatureDefinitions[3].FeatureName"));
    EXPECT_THAT(parsed.status().message(), HasSubstr("reserved"));
  }
}

TEST(DefinitionTest, ErrorsNameFileAndField) {
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string expected;
  };
  std::vector<Case> cases = {
      {[](nlohmann::json& j) { j["FeatureDefinitions"][2]["FeatureType"] = "Float"; },
       "g.json: FeatureDefinitions[2].FeatureType: expected one of Integral, Fractional, "
       "String, found 'Float'"},
      {[](nlohmann::json& j) { j.erase("FeatureGroupName"); }, "FeatureGroupName"},
      {[](nlohmann::json& j) { j["FeatureGroupName"] = "bad name"; }, "FeatureGroupName"},
      {[](nlohmann::json& j) { j["RecordIdentifierFeatureName"] = "nope"; },
       "RecordIdentifierFeatureName: 'nope' is not in FeatureDefinitions"},
      {[](nlohmann::json& j) { j["EventTimeFeatureName"] = "rooms"; }, "not Integral"},
      {[](nlohmann::json& j) { j["RecordIdentifierFeatureName"] = "price"; }, "not Fractional"},
      {[](nlohmann::json& j) { j["FeatureDefinitions"][4]["FeatureName"] = "price"; },
       "defined twice"},
      {[](nlohmann::json& j) { j["Colour"] = "red"; }, "Colour: unknown field"},
      {[](nlohmann::json& j) {
         j.erase("OfflineStoreConfig");
         j["OnlineStoreConfig"]["EnableOnlineStore"] = false;
       },
       "at least one"},
      {[](nlohmann::json& j) { j["FeatureDefinitions"] = nlohmann::json::array(); },
       "must not be empty"},
  };
  for (const Case& c : cases) {
    nlohmann::json json = Houses();
    c.edit(json);
    Result<FeatureGroupDefinition> parsed = ParseDefinition(json, "g.json");
    ASSERT_FALSE(parsed.ok()) << c.expected;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected));
    EXPECT_THAT(parsed.status().message(), HasSubstr("g.json"));
  }
}

TEST(DefinitionTest, LoadsFileOrInline) {
  testing::TempDir dir;
  std::string path = testing::WriteText(dir.File("g.json"), testing::kHousesDefinition);
  Result<FeatureGroupDefinition> from_file = LoadDefinition(path);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  Result<FeatureGroupDefinition> inline_json = LoadDefinition(testing::kHousesDefinition);
  ASSERT_TRUE(inline_json.ok()) << inline_json.status();
  EXPECT_EQ(ToJson(*from_file), ToJson(*inline_json));
  testing::WriteText(dir.File("broken.json"), "{\n  \"FeatureGroupName\": ,\n}");
  Result<FeatureGroupDefinition> broken = LoadDefinition(dir.File("broken.json"));
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("broken.json:2:"));
  EXPECT_EQ(LoadDefinition(dir.File("missing.json")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace raypipe::featurestore
