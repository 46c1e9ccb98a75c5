#pragma once
// Test helpers: a unique temporary directory removed at the end, small files, and batches of
// the houses group below.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "featurestore/feature_store.h"

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

inline const core::TimePoint kT0 = FromNanos(int64_t{1'700'000'000} * 1'000'000'000);

// kT0 plus `seconds_after_t0`.
inline core::TimePoint At(double seconds_after_t0) {
  return kT0 + std::chrono::duration_cast<core::TimePoint::duration>(
                   std::chrono::duration<double>(seconds_after_t0));
}

// One row of the houses group (rooms left out: a feature missing from a batch is null).
struct HouseRow {
  int64_t id;
  double event;  // seconds after kT0
  double price;
  std::string city;
};

inline RecordBatch HousesBatch(const std::vector<HouseRow>& rows) {
  std::vector<int64_t> ids;
  std::vector<double> times, prices;
  std::vector<std::string> cities;
  RecordBatch batch;
  for (const HouseRow& row : rows) {
    ids.push_back(row.id);
    times.push_back(static_cast<double>(ToNanos(At(row.event))) / 1e9);
    prices.push_back(row.price);
    cities.push_back(row.city);
    batch.record_ids.push_back(std::to_string(row.id));
    batch.event_times.push_back(At(row.event));
  }
  batch.table = *data::Table::Make({data::Column::Int64("house_id", ids),
                                    data::Column::Float64("event_time", times),
                                    data::Column::Float64("price", prices),
                                    data::Column::String("city", cities)});
  return batch;
}

}  // namespace raypipe::featurestore::testing
