#pragma once

// Cache keys of step runs (DESIGN.md section 4). The key is the SHA-256 of the canonical JSON
// of its parts: the step type, the runner's implementation version, the resolved arguments
// (canonical JSON) and the content digests of the step's inputs (artifacts and the code files
// a Command names). Paths and mtimes never enter it: the same content under another path, or
// a touched file, gives the same key.

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace raypipe::pipeline {

struct CacheKeyParts {
  std::string step_type;
  std::string implementation_version;
  nlohmann::json arguments;                  // resolved
  std::map<std::string, std::string> inputs;  // InputName -> digest (artifacts)
  std::map<std::string, std::string> code;    // "Code:<file>" -> digest
};

// The parts as JSON (what explain-cache prints) and the key.
nlohmann::json CacheKeyPartsToJson(const CacheKeyParts& parts);
std::string ComputeCacheKey(const CacheKeyParts& parts);

// The top-level parts that differ between two CacheKeyPartsToJson values, as readable lines:
// "Arguments.Command[2]: \"10\" -> \"20\"", "Code:prepare.py: sha256:ab.. -> sha256:cd..".
std::vector<std::string> DiffCacheKeyParts(const nlohmann::json& before,
                                           const nlohmann::json& after);

}  // namespace raypipe::pipeline
