#include "serving/endpoint_store.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/json.h"

namespace raypipe::serving {

namespace {

using nlohmann::json;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "endpoints",
       "CREATE TABLE serving_endpoints ("
       "  name TEXT PRIMARY KEY,"
       "  host TEXT NOT NULL,"
       "  port INTEGER NOT NULL,"
       "  variants TEXT NOT NULL,"
       "  revision INTEGER NOT NULL,"
       "  created_at TEXT NOT NULL,"
       "  updated_at TEXT NOT NULL);"}};
  return kMigrations;
}

constexpr std::string_view kColumns = "name, host, port, variants, revision, created_at, updated_at";

json VariantsToJson(const std::vector<VariantConfig>& variants) {
  json out = json::array();
  for (const VariantConfig& variant : variants) {
    out.push_back({{"name", variant.name},
                   {"group", variant.group},
                   {"version", variant.version},
                   {"weight", variant.weight}});
  }
  return out;
}

Result<EndpointConfig> FromRow(const store::Row& row) {
  EndpointConfig config;
  ASSIGN_OR_RETURN(config.name, row.GetString("name"));
  ASSIGN_OR_RETURN(config.host, row.GetString("host"));
  ASSIGN_OR_RETURN(int64_t port, row.GetInt64("port"));
  config.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(config.revision, row.GetInt64("revision"));
  ASSIGN_OR_RETURN(config.created_at, row.GetString("created_at"));
  ASSIGN_OR_RETURN(config.updated_at, row.GetString("updated_at"));
  ASSIGN_OR_RETURN(std::string variants_text, row.GetString("variants"));
  const std::string where = "serving_endpoints." + config.name + ".variants";
  ASSIGN_OR_RETURN(json variants, core::ParseJson(variants_text, where));
  if (!variants.is_array()) return DataLossError(where + ": not an array");
  for (size_t variant_idx = 0; variant_idx < variants.size(); ++variant_idx) {
    const std::string item = core::JoinFieldPath(where, variant_idx);
    VariantConfig variant;
    ASSIGN_OR_RETURN(variant.name, core::GetString(variants[variant_idx], "name", item));
    ASSIGN_OR_RETURN(variant.group, core::GetString(variants[variant_idx], "group", item));
    ASSIGN_OR_RETURN(variant.version, core::GetInt64(variants[variant_idx], "version", item));
    ASSIGN_OR_RETURN(variant.weight, core::GetDouble(variants[variant_idx], "weight", item));
    config.variants.push_back(std::move(variant));
  }
  return config;
}

Status ValidatePort(int port) {
  if (port < 1 || port > 65535) {
    return InvalidArgumentError("port " + std::to_string(port) + " is out of range 1..65535");
  }
  return Status::Ok();
}

Result<int64_t> ParseVersion(std::string_view text, std::string_view whole) {
  if (text == "latest") return 0;
  int64_t version = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || ptr != text.data() + text.size() || version < 1) {
    return InvalidArgumentError("model package version \"" + std::string(text) + "\" in \"" +
                                std::string(whole) +
                                "\" must be a positive integer or \"latest\"");
  }
  return version;
}

}  // namespace

Result<VariantConfig> ParseModelPackageRef(std::string_view text) {
  VariantConfig variant;
  variant.name = std::string(kDefaultVariantName);
  const size_t colon = text.find(':');
  variant.group = std::string(text.substr(0, colon));
  if (variant.group.empty()) {
    return InvalidArgumentError("model package \"" + std::string(text) +
                                "\": expected GROUP or GROUP:VERSION");
  }
  if (colon != std::string_view::npos) {
    ASSIGN_OR_RETURN(variant.version, ParseVersion(text.substr(colon + 1), text));
  }
  return variant;
}

Result<VariantConfig> ParseVariantSpec(std::string_view text) {
  const std::string shape = "variant \"" + std::string(text) +
                            "\": expected NAME=GROUP:VERSION[:WEIGHT], e.g. Blue=housing:3:0.5";
  const size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) return InvalidArgumentError(shape);
  VariantConfig variant;
  variant.name = std::string(text.substr(0, equals));
  std::string_view rest = text.substr(equals + 1);
  const size_t first = rest.find(':');
  if (first == std::string_view::npos || first == 0) return InvalidArgumentError(shape);
  variant.group = std::string(rest.substr(0, first));
  rest = rest.substr(first + 1);
  const size_t second = rest.find(':');
  ASSIGN_OR_RETURN(variant.version, ParseVersion(rest.substr(0, second), text));
  if (second != std::string_view::npos) {
    const std::string weight_text(rest.substr(second + 1));
    char* end = nullptr;
    variant.weight = std::strtod(weight_text.c_str(), &end);
    if (weight_text.empty() || end != weight_text.c_str() + weight_text.size() ||
        !(variant.weight > 0) || !std::isfinite(variant.weight)) {
      return InvalidArgumentError("variant \"" + std::string(text) + "\": weight \"" +
                                  weight_text + "\" must be a positive number");
    }
  }
  return variant;
}

Status ValidateEndpointName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && name.front() != '-';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-');
  }
  if (!ok) {
    return InvalidArgumentError("endpoint name \"" + std::string(name) +
                                "\" must be 1-63 letters, digits and '-', not starting with '-'");
  }
  return Status::Ok();
}

Status ValidateVariants(const std::vector<VariantConfig>& variants) {
  if (variants.empty()) return InvalidArgumentError("an endpoint needs at least one variant");
  std::set<std::string> names;
  for (const VariantConfig& variant : variants) {
    if (variant.name.empty()) return InvalidArgumentError("a variant has an empty name");
    if (!names.insert(variant.name).second) {
      return InvalidArgumentError("variant '" + variant.name + "' is given twice");
    }
    if (variant.group.empty() || variant.version < 1) {
      return InvalidArgumentError("variant '" + variant.name +
                                  "' needs a model package group and a version >= 1");
    }
    if (!(variant.weight > 0) || !std::isfinite(variant.weight)) {
      return InvalidArgumentError("variant '" + variant.name + "': weight must be positive");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<EndpointStore>> EndpointStore::Open(store::MetadataStore* metadata,
                                                           const core::Clock* clock) {
  RETURN_IF_ERROR(metadata->Migrate("serving", Migrations()));
  std::unique_ptr<EndpointStore> endpoints(new EndpointStore(metadata, clock));
  if (endpoints->clock_ == nullptr) endpoints->clock_ = &endpoints->system_clock_;
  return endpoints;
}

Result<EndpointConfig> EndpointStore::Create(EndpointConfig config) {
  RETURN_IF_ERROR(ValidateEndpointName(config.name));
  RETURN_IF_ERROR(ValidatePort(config.port));
  RETURN_IF_ERROR(ValidateVariants(config.variants));
  config.revision = 1;
  config.created_at = core::FormatIsoTime(clock_->Now());
  config.updated_at = config.created_at;
  Result<store::ExecResult> inserted = metadata_->Execute(
      "INSERT INTO serving_endpoints (" + std::string(kColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?)",
      {config.name, config.host, static_cast<int64_t>(config.port),
       VariantsToJson(config.variants).dump(), config.revision, config.created_at,
       config.updated_at});
  if (!inserted.ok()) {
    if (inserted.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("endpoint '" + config.name + "' already exists");
    }
    return inserted.status();
  }
  return config;
}

Result<EndpointConfig> EndpointStore::Get(std::string_view name) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT " + std::string(kColumns) +
                                        " FROM serving_endpoints WHERE name = ?",
                                    {std::string(name)}));
  if (rows.empty()) return NotFoundError("endpoint '" + std::string(name) + "' does not exist");
  return FromRow(rows.front());
}

Result<std::vector<EndpointConfig>> EndpointStore::List() const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT " + std::string(kColumns) +
                                    " FROM serving_endpoints ORDER BY name"));
  std::vector<EndpointConfig> out;
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(EndpointConfig config, FromRow(row));
    out.push_back(std::move(config));
  }
  return out;
}

Result<EndpointConfig> EndpointStore::Update(std::string_view name,
                                             std::vector<VariantConfig> variants,
                                             std::optional<int> port) {
  RETURN_IF_ERROR(ValidateVariants(variants));
  if (port) RETURN_IF_ERROR(ValidatePort(*port));
  const std::string now = core::FormatIsoTime(clock_->Now());
  const std::string variants_text = VariantsToJson(variants).dump();
  RETURN_IF_ERROR(metadata_->Transaction([&](store::SqlSession& session) -> Status {
    ASSIGN_OR_RETURN(store::ExecResult result,
                     session.Execute("UPDATE serving_endpoints SET variants = ?, revision = "
                                     "revision + 1, updated_at = ?, port = COALESCE(?, port) "
                                     "WHERE name = ?",
                                     {variants_text, now,
                                      port ? store::SqlValue(static_cast<int64_t>(*port))
                                           : store::SqlValue(nullptr),
                                      std::string(name)}));
    if (result.changes == 0) {
      return NotFoundError("endpoint '" + std::string(name) + "' does not exist");
    }
    return Status::Ok();
  }));
  return Get(name);
}

Status EndpointStore::Delete(std::string_view name) {
  ASSIGN_OR_RETURN(store::ExecResult result,
                   metadata_->Execute("DELETE FROM serving_endpoints WHERE name = ?",
                                      {std::string(name)}));
  if (result.changes == 0) {
    return NotFoundError("endpoint '" + std::string(name) + "' does not exist");
  }
  return Status::Ok();
}

}  // namespace raypipe::serving
