#include "pipeline/engine/cache.h"

#include <set>

#include "core/hash.h"
#include "core/json.h"
#include "pipeline/definition.h"

namespace raypipe::pipeline {
namespace {

void Diff(const nlohmann::json& before, const nlohmann::json& after, const std::string& at,
          std::vector<std::string>* out) {
  if (before == after) return;
  if (before.is_object() && after.is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : before.items()) keys.insert(key);
    for (const auto& [key, value] : after.items()) keys.insert(key);
    for (const std::string& key : keys) {
      std::string path = at.empty() ? key : at + "." + key;
      const nlohmann::json missing;
      Diff(before.contains(key) ? before[key] : missing, after.contains(key) ? after[key] : missing,
           path, out);
    }
    return;
  }
  if (before.is_array() && after.is_array() && before.size() == after.size()) {
    for (size_t i = 0; i < before.size(); ++i) {
      Diff(before[i], after[i], at + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  out->push_back(at + ": " + (before.is_null() ? "(none)" : DescribeValue(before)) + " -> " +
                 (after.is_null() ? "(none)" : DescribeValue(after)));
}

}  // namespace

nlohmann::json CacheKeyPartsToJson(const CacheKeyParts& parts) {
  nlohmann::json json = nlohmann::json::object();
  json["StepType"] = parts.step_type;
  json["ImplementationVersion"] = parts.implementation_version;
  json["Arguments"] = parts.arguments;
  json["Inputs"] = nlohmann::json(parts.inputs);
  json["Code"] = nlohmann::json(parts.code);
  return json;
}

std::string ComputeCacheKey(const CacheKeyParts& parts) {
  return "sha256:" + core::Sha256Hex(core::CanonicalJson(CacheKeyPartsToJson(parts)));
}

std::vector<std::string> DiffCacheKeyParts(const nlohmann::json& before,
                                           const nlohmann::json& after) {
  std::vector<std::string> out;
  Diff(before, after, "", &out);
  return out;
}

}  // namespace raypipe::pipeline
