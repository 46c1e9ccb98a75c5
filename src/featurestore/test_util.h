#pragma once
// Test helpers: a unique temporary directory removed at the end, and small files.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace raypipe::featurestore::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "raypipe-featurestore-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    path_ = made != nullptr ? std::string(made) : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// A group with an Integral id, a Fractional event time and three features.
inline constexpr const char* kHousesDefinition = R"({
  "FeatureGroupName": "houses",
  "RecordIdentifierFeatureName": "house_id",
  "EventTimeFeatureName": "event_time",
  "FeatureDefinitions": [
    {"FeatureName": "house_id", "FeatureType": "Integral"},
    {"FeatureName": "event_time", "FeatureType": "Fractional"},
    {"FeatureName": "price", "FeatureType": "Fractional"},
    {"FeatureName": "rooms", "FeatureType": "Integral"},
    {"FeatureName": "city", "FeatureType": "String"}
  ],
  "OnlineStoreConfig": {"EnableOnlineStore": true},
  "OfflineStoreConfig": {},
  "Description": "test houses"
})";

}  // namespace raypipe::featurestore::testing
