#pragma once

// Endpoint records in the metadata store (component "serving", table serving_endpoints): which
// model package versions an endpoint serves, as production variants with traffic weights, and
// where it listens. `raypipe serve NAME` watches its record's revision and hot-swaps the models
// when `raypipe endpoint update` changes it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "store/metadata_store.h"

namespace raypipe::serving {

inline constexpr std::string_view kDefaultVariantName = "AllTraffic";
inline constexpr int kDefaultPort = 8080;

struct VariantConfig {
  std::string name;      // unique within the endpoint
  std::string group;     // model package group
  int64_t version = 0;   // model package version; 0 in a spec means "latest Approved"
  double weight = 1.0;   // > 0
  friend bool operator==(const VariantConfig&, const VariantConfig&) = default;
};

struct EndpointConfig {
  std::string name;
  std::string host = "127.0.0.1";
  int port = kDefaultPort;
  std::vector<VariantConfig> variants;
  int64_t revision = 0;    // 1 at creation, +1 per update
  std::string created_at;  // ISO-8601 UTC
  std::string updated_at;
};

// "housing" -> {group housing, version 0}; "housing:3" -> version 3. InvalidArgument otherwise.
Result<VariantConfig> ParseModelPackageRef(std::string_view text);
// "Blue=housing:3:0.5" (NAME=GROUP:VERSION:WEIGHT; VERSION may be "latest", WEIGHT defaults
// to 1). InvalidArgument naming the text and the expected shape.
Result<VariantConfig> ParseVariantSpec(std::string_view text);
// Endpoint names: 1-63 letters, digits and '-', starting with a letter or digit.
Status ValidateEndpointName(std::string_view name);
// At least one variant, unique names, resolved versions (>= 1), positive finite weights.
Status ValidateVariants(const std::vector<VariantConfig>& variants);

// Thread-safe (the metadata store is).
class EndpointStore {
 public:
  // Migrates the "serving" schema. `metadata` and `clock` must outlive the store; clock defaults
  // to the system clock.
  static Result<std::unique_ptr<EndpointStore>> Open(store::MetadataStore* metadata,
                                                     const core::Clock* clock = nullptr);

  // AlreadyExists naming the endpoint; InvalidArgument for a bad name, port or variants.
  Result<EndpointConfig> Create(EndpointConfig config);
  // NotFound naming the endpoint.
  Result<EndpointConfig> Get(std::string_view name) const;
  // Sorted by name.
  Result<std::vector<EndpointConfig>> List() const;
  // Replaces the variants (and the port when given), bumping the revision.
  Result<EndpointConfig> Update(std::string_view name, std::vector<VariantConfig> variants,
                                std::optional<int> port = std::nullopt);
  // NotFound naming the endpoint.
  Status Delete(std::string_view name);

 private:
  EndpointStore(store::MetadataStore* metadata, const core::Clock* clock)
      : metadata_(metadata), clock_(clock) {}

  store::MetadataStore* metadata_;
  const core::Clock* clock_;
  core::SystemClock system_clock_;
};

}  // namespace raypipe::serving
