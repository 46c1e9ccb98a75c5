#pragma once
// Feature group definitions, shaped like SageMaker's CreateFeatureGroup request (JSON):
//
//   {"FeatureGroupName": "houses", "RecordIdentifierFeatureName": "house_id",
//    "EventTimeFeatureName": "event_time",
//    "FeatureDefinitions": [{"FeatureName": "house_id", "FeatureType": "Integral"},
//                           {"FeatureName": "event_time", "FeatureType": "Fractional"},
//                           {"FeatureName": "PRICE", "FeatureType": "Fractional"}],
//    "OnlineStoreConfig": {"EnableOnlineStore": true,
//                          "TtlDuration": {"Unit": "Days", "Value": 30}},
//    "OfflineStoreConfig": {}, "Description": "..."}
//
// TtlDuration is SageMaker's {Unit: Seconds|Minutes|Hours|Days|Weeks, Value: N >= 1} or an
// ISO-8601 duration string ("P30D"). Rules: the group name is 1-64 of [A-Za-z0-9-_] starting
// with a letter or digit; feature names are 1-64 of [A-Za-z0-9_-] and unique; write_time,
// api_invocation_time and is_deleted are reserved; the record identifier is an Integral or
// String feature, the event time a Fractional or String one; at least one of the stores is on.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::featurestore {

enum class FeatureType { kIntegral, kFractional, kString };

// "Integral", "Fractional", "String".
std::string_view FeatureTypeName(FeatureType type);
// The Table type a feature is stored as: Int64, Float64, String.
data::DataType StorageType(FeatureType type);

struct FeatureDefinition {
  std::string name;
  FeatureType type = FeatureType::kString;
};

struct FeatureGroupDefinition {
  std::string name;
  std::string record_identifier;
  std::string event_time;
  std::vector<FeatureDefinition> features;
  bool online_enabled = true;
  std::optional<std::chrono::milliseconds> ttl;  // online records expire at event time + ttl
  bool offline_enabled = true;
  std::string description;

  // nullptr when no feature has that name.
  const FeatureDefinition* Find(std::string_view feature) const;
};

inline constexpr std::string_view kWriteTime = "write_time";
inline constexpr std::string_view kApiInvocationTime = "api_invocation_time";
inline constexpr std::string_view kIsDeleted = "is_deleted";

// Parses and validates a definition. Errors are InvalidArgument and name `source` (a file name
// or "<inline>") and the field: "group.json: FeatureDefinitions[2].FeatureType: expected one of
// Integral, Fractional, String, found 'Float'".
Result<FeatureGroupDefinition> ParseDefinition(const nlohmann::json& json,
                                               std::string_view source);
// Reads the file (or, when `text_or_path` starts with '{', the inline JSON) and parses it.
Result<FeatureGroupDefinition> LoadDefinition(const std::string& text_or_path);
// The canonical JSON form (TtlDuration as {Unit: Seconds, Value: N} when whole seconds, else an
// ISO string). ParseDefinition(ToJson(d)) == d.
nlohmann::json ToJson(const FeatureGroupDefinition& definition);

}  // namespace raypipe::featurestore
