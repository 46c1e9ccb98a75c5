#include "featurestore/definition.h"

#include <set>

#include "core/duration.h"
#include "core/json.h"

namespace raypipe::featurestore {

namespace {

bool ValidName(std::string_view name, bool allow_leading_symbol) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if ((c == '-' || c == '_') && (i > 0 || allow_leading_symbol)) continue;
    return false;
  }
  return true;
}

Result<FeatureType> ParseFeatureType(std::string_view text, const std::string& where) {
  if (text == "Integral") return FeatureType::kIntegral;
  if (text == "Fractional") return FeatureType::kFractional;
  if (text == "String") return FeatureType::kString;
  return InvalidArgumentError(where + ": expected one of Integral, Fractional, String, found '" +
                              std::string(text) + "'");
}

Result<std::chrono::milliseconds> ParseTtl(const nlohmann::json& ttl, const std::string& where) {
  if (ttl.is_string()) {
    Result<std::chrono::milliseconds> parsed = core::ParseIsoDuration(ttl.get<std::string>());
    if (!parsed.ok()) return parsed.status().WithContext(where);
    if (parsed->count() <= 0) return InvalidArgumentError(where + ": must be positive");
    return parsed;
  }
  if (!ttl.is_object()) {
    return InvalidArgumentError(where + ": expected an object {Unit, Value} or an ISO-8601 "
                                "duration, found " + std::string(core::JsonTypeName(ttl)));
  }
  ASSIGN_OR_RETURN(std::string unit, core::GetString(ttl, "Unit", where));
  ASSIGN_OR_RETURN(int64_t value, core::GetInt64(ttl, "Value", where));
  if (value < 1) return InvalidArgumentError(where + ".Value: must be at least 1");
  int64_t seconds = 0;
  if (unit == "Seconds") {
    seconds = 1;
  } else if (unit == "Minutes") {
    seconds = 60;
  } else if (unit == "Hours") {
    seconds = 3600;
  } else if (unit == "Days") {
    seconds = 86400;
  } else if (unit == "Weeks") {
    seconds = 7 * 86400;
  } else {
    return InvalidArgumentError(where + ".Unit: expected one of Seconds, Minutes, Hours, Days, "
                                "Weeks, found '" + unit + "'");
  }
  if (value > (int64_t{1} << 40) / seconds) return InvalidArgumentError(where + ": too long");
  return std::chrono::milliseconds(value * seconds * 1000);
}

}  // namespace

std::string_view FeatureTypeName(FeatureType type) {
  switch (type) {
    case FeatureType::kIntegral: return "Integral";
    case FeatureType::kFractional: return "Fractional";
    case FeatureType::kString: return "String";
  }
  return "?";
}

data::DataType StorageType(FeatureType type) {
  switch (type) {
    case FeatureType::kIntegral: return data::DataType::kInt64;
    case FeatureType::kFractional: return data::DataType::kFloat64;
    case FeatureType::kString: return data::DataType::kString;
  }
  return data::DataType::kString;
}

const FeatureDefinition* FeatureGroupDefinition::Find(std::string_view feature) const {
  for (const FeatureDefinition& definition : features) {
    if (definition.name == feature) return &definition;
  }
  return nullptr;
}

Result<FeatureGroupDefinition> ParseDefinition(const nlohmann::json& json,
                                               std::string_view source) {
  const std::string where(source);
  if (!json.is_object()) {
    return InvalidArgumentError(where + ": expected a JSON object, found " +
                                std::string(core::JsonTypeName(json)));
  }
  static const std::set<std::string, std::less<>> kKnown = {
      "FeatureGroupName",  "RecordIdentifierFeatureName", "EventTimeFeatureName",
      "FeatureDefinitions", "OnlineStoreConfig",          "OfflineStoreConfig",
      "Description",        "RoleArn",                    "Tags"};
  for (const auto& item : json.items()) {
    if (!kKnown.contains(item.key())) {
      return InvalidArgumentError(where + ": " + item.key() + ": unknown field");
    }
  }
  FeatureGroupDefinition definition;
  const std::string root = where + ":";
  auto field = [&](std::string_view key) { return where + ": " + std::string(key); };
  ASSIGN_OR_RETURN(definition.name, core::GetString(json, "FeatureGroupName", root));
  if (!ValidName(definition.name, false)) {
    return InvalidArgumentError(field("FeatureGroupName") + ": '" + definition.name +
                                "' must be 1-64 letters, digits, '-' or '_', starting with a "
                                "letter or digit");
  }
  ASSIGN_OR_RETURN(definition.record_identifier,
                   core::GetString(json, "RecordIdentifierFeatureName", root));
  ASSIGN_OR_RETURN(definition.event_time, core::GetString(json, "EventTimeFeatureName", root));
  ASSIGN_OR_RETURN(const nlohmann::json* features,
                   core::GetArray(json, "FeatureDefinitions", root));
  if (features->empty()) {
    return InvalidArgumentError(field("FeatureDefinitions") + ": must not be empty");
  }
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < features->size(); ++i) {
    const std::string item = where + ": " + core::JoinFieldPath("FeatureDefinitions", i);
    const nlohmann::json& feature = (*features)[i];
    if (!feature.is_object()) return InvalidArgumentError(item + ": expected an object");
    FeatureDefinition parsed;
    ASSIGN_OR_RETURN(parsed.name, core::GetString(feature, "FeatureName", item));
    ASSIGN_OR_RETURN(std::string type, core::GetString(feature, "FeatureType", item));
    ASSIGN_OR_RETURN(parsed.type, ParseFeatureType(type, item + ".FeatureType"));
    if (parsed.name == kWriteTime || parsed.name == kApiInvocationTime ||
        parsed.name == kIsDeleted) {
      return InvalidArgumentError(item + ".FeatureName: '" + parsed.name +
                                  "' is reserved (write_time, api_invocation_time and "
                                  "is_deleted are added by the offline store)");
    }
    if (!ValidName(parsed.name, true)) {
      return InvalidArgumentError(item + ".FeatureName: '" + parsed.name +
                                  "' must be 1-64 letters, digits, '-' or '_'");
    }
    if (!names.insert(parsed.name).second) {
      return InvalidArgumentError(item + ".FeatureName: '" + parsed.name +
                                  "' is defined twice");
    }
    definition.features.push_back(std::move(parsed));
  }
  const FeatureDefinition* id = definition.Find(definition.record_identifier);
  if (id == nullptr) {
    return InvalidArgumentError(field("RecordIdentifierFeatureName") + ": '" +
                                definition.record_identifier +
                                "' is not in FeatureDefinitions");
  }
  if (id->type == FeatureType::kFractional) {
    return InvalidArgumentError(field("RecordIdentifierFeatureName") + ": '" + id->name +
                                "' must be Integral or String, not Fractional");
  }
  const FeatureDefinition* event_time = definition.Find(definition.event_time);
  if (event_time == nullptr) {
    return InvalidArgumentError(field("EventTimeFeatureName") + ": '" + definition.event_time +
                                "' is not in FeatureDefinitions");
  }
  if (event_time->type == FeatureType::kIntegral) {
    return InvalidArgumentError(field("EventTimeFeatureName") + ": '" + event_time->name +
                                "' must be Fractional (epoch seconds) or String (ISO-8601), "
                                "not Integral");
  }
  if (definition.record_identifier == definition.event_time) {
    return InvalidArgumentError(field("EventTimeFeatureName") +
                                ": must differ from RecordIdentifierFeatureName");
  }
  ASSIGN_OR_RETURN(std::optional<std::string> description,
                   core::GetOptionalString(json, "Description", root));
  definition.description = description.value_or("");
  definition.online_enabled = false;
  definition.offline_enabled = false;
  if (json.contains("OnlineStoreConfig") && !json["OnlineStoreConfig"].is_null()) {
    const std::string online = field("OnlineStoreConfig");
    ASSIGN_OR_RETURN(const nlohmann::json* config, core::GetObject(json, "OnlineStoreConfig",
                                                                   root));
    ASSIGN_OR_RETURN(std::optional<bool> enabled,
                     core::GetOptionalBool(*config, "EnableOnlineStore", online));
    definition.online_enabled = enabled.value_or(true);
    if (config->contains("TtlDuration") && !(*config)["TtlDuration"].is_null()) {
      ASSIGN_OR_RETURN(std::chrono::milliseconds ttl,
                       ParseTtl((*config)["TtlDuration"], online + ".TtlDuration"));
      definition.ttl = ttl;
    }
  }
  if (json.contains("OfflineStoreConfig") && !json["OfflineStoreConfig"].is_null()) {
    ASSIGN_OR_RETURN(const nlohmann::json* config, core::GetObject(json, "OfflineStoreConfig",
                                                                   root));
    (void)config;
    definition.offline_enabled = true;
  }
  if (!definition.online_enabled && !definition.offline_enabled) {
    return InvalidArgumentError(where + ": at least one of OnlineStoreConfig (with "
                                "EnableOnlineStore true) and OfflineStoreConfig is required");
  }
  return definition;
}

Result<FeatureGroupDefinition> LoadDefinition(const std::string& text_or_path) {
  size_t first = text_or_path.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text_or_path[first] == '{') {
    ASSIGN_OR_RETURN(nlohmann::json json, core::ParseJson(text_or_path, "<inline>"));
    return ParseDefinition(json, "<inline>");
  }
  ASSIGN_OR_RETURN(nlohmann::json json, core::ReadJsonFile(text_or_path));
  return ParseDefinition(json, text_or_path);
}

nlohmann::json ToJson(const FeatureGroupDefinition& definition) {
  nlohmann::json features = nlohmann::json::array();
  for (const FeatureDefinition& feature : definition.features) {
    features.push_back({{"FeatureName", feature.name},
                        {"FeatureType", std::string(FeatureTypeName(feature.type))}});
  }
  nlohmann::json json = {{"FeatureGroupName", definition.name},
                         {"RecordIdentifierFeatureName", definition.record_identifier},
                         {"EventTimeFeatureName", definition.event_time},
                         {"FeatureDefinitions", features},
                         {"Description", definition.description}};
  if (definition.online_enabled) {
    nlohmann::json online = {{"EnableOnlineStore", true}};
    if (definition.ttl) {
      if (definition.ttl->count() % 1000 == 0) {
        online["TtlDuration"] = {{"Unit", "Seconds"}, {"Value", definition.ttl->count() / 1000}};
      } else {
        online["TtlDuration"] = core::FormatIsoDuration(*definition.ttl);
      }
    }
    json["OnlineStoreConfig"] = online;
  }
  if (definition.offline_enabled) json["OfflineStoreConfig"] = nlohmann::json::object();
  return json;
}

}  // namespace raypipe::featurestore
