#include "pipeline/steps/feature_store_ingest_step.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <utility>

#include "data/csv.h"
#include "featurestore/definition.h"
#include "featurestore/feature_store.h"
#include "featurestore/ingest.h"
#include "pipeline/steps/argument_checks.h"
#include "pipeline/steps/step_arguments.h"
#include "pipeline/steps/step_inputs.h"

namespace raypipe::pipeline {

namespace {

namespace fs = std::filesystem;
using featurestore::FeatureGroupDefinition;
using nlohmann::json;

constexpr ArgumentField kFields[] = {
    {"FeatureGroupName", ArgumentKind::kString, true},
    {"FeatureGroupDefinition", ArgumentKind::kStringOrObject},
    {"Input", ArgumentKind::kString, true},
    {"RecordIdentifier", ArgumentKind::kString},
    {"EventTime", ArgumentKind::kString},
    {"NumActors", ArgumentKind::kInteger},
    {"CpusPerActor", ArgumentKind::kFloat},
    {"TargetStores", ArgumentKind::kStringList},
};
constexpr int64_t kMaxActors = 1024;
constexpr std::string_view kOnlineStore = "OnlineStore";
constexpr std::string_view kOfflineStore = "OfflineStore";

bool HasExpression(const json& value) {
  if (IsExpression(value)) return true;
  if (value.is_object() || value.is_array()) {
    for (const json& item : value) {
      if (HasExpression(item)) return true;
    }
  }
  return false;
}

std::string FormatNumber(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

// ---- validation ----------------------------------------------------------------------------

void ValidateIngest(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!CheckArgumentFields(context, arguments, kFields,
                           "the arguments of a FeatureStoreIngest step")) {
    return;
  }
  if (auto it = arguments.find("NumActors"); it != arguments.end()) {
    std::optional<double> actors = LiteralNumber(*it);
    if (actors && (*actors < 1 || *actors > kMaxActors)) {
      context.Error(FieldPath("NumActors"), "must be 1 to " + std::to_string(kMaxActors) +
                                                ", found " + DescribeValue(*it));
    }
  }
  if (auto it = arguments.find("CpusPerActor"); it != arguments.end()) {
    std::optional<double> cpus = LiteralNumber(*it);
    if (cpus && !(*cpus > 0)) {
      context.Error(FieldPath("CpusPerActor"), "must be greater than 0, found " +
                                                   DescribeValue(*it));
    }
  }
  if (auto it = arguments.find("TargetStores"); it != arguments.end()) {
    const json list = it->is_string() ? json::array({*it}) : *it;
    if (list.is_array()) {
      if (list.empty()) context.Error(FieldPath("TargetStores"), "must name at least one store");
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) continue;
        const std::string& store = list[i].get_ref<const std::string&>();
        if (store != kOnlineStore && store != kOfflineStore) {
          const FieldPath field =
              it->is_string() ? FieldPath("TargetStores") : FieldPath("TargetStores").Index(i);
          context.Error(field, "unknown store '" + store + "'; expected OnlineStore or "
                                                           "OfflineStore");
        }
      }
    }
  }
  // A literal inline definition is checked now.
  if (auto it = arguments.find("FeatureGroupDefinition");
      it != arguments.end() && it->is_object() && !HasExpression(*it)) {
    json definition = *it;
    if (!definition.contains("FeatureGroupName")) {
      auto name = arguments.find("FeatureGroupName");
      definition["FeatureGroupName"] =
          name != arguments.end() && name->is_string() ? *name : json("placeholder");
    }
    Result<FeatureGroupDefinition> parsed =
        featurestore::ParseDefinition(definition, "FeatureGroupDefinition");
    if (!parsed.ok()) {
      context.Error(FieldPath("FeatureGroupDefinition"), std::string(parsed.status().message()));
    }
  }
}

// ---- run -----------------------------------------------------------------------------------

struct IngestArguments {
  std::string group;
  std::string input_csv;
  std::string record_identifier = "record_id";
  std::string event_time = "event_time";
  int num_actors = 4;
  double cpus_per_actor = 0.5;
  featurestore::TargetStores targets;
};

Result<IngestArguments> ReadArguments(const StepContext& context, const StepArguments& args) {
  std::vector<std::string_view> names;
  for (const ArgumentField& field : kFields) names.push_back(field.name);
  RETURN_IF_ERROR(args.RejectUnknown(names));
  IngestArguments out;
  ASSIGN_OR_RETURN(out.group, args.String("FeatureGroupName"));
  if (out.group.empty()) return args.Error("FeatureGroupName", "is empty");
  ASSIGN_OR_RETURN(out.record_identifier, args.String("RecordIdentifier", out.record_identifier));
  ASSIGN_OR_RETURN(out.event_time, args.String("EventTime", out.event_time));
  ASSIGN_OR_RETURN(int64_t actors, args.Integer("NumActors", out.num_actors));
  if (actors < 1 || actors > kMaxActors) {
    return args.Error("NumActors", "must be 1 to " + std::to_string(kMaxActors) + ", found " +
                                       std::to_string(actors));
  }
  out.num_actors = static_cast<int>(actors);
  ASSIGN_OR_RETURN(out.cpus_per_actor, args.Float("CpusPerActor", out.cpus_per_actor));
  if (!(out.cpus_per_actor > 0) || out.cpus_per_actor > 1024) {
    return args.Error("CpusPerActor",
                      "must be greater than 0 and at most 1024, found " +
                          FormatNumber(out.cpus_per_actor));
  }
  if (args.Has("TargetStores")) {
    ASSIGN_OR_RETURN(std::vector<std::string> stores, args.StringList("TargetStores"));
    if (stores.empty()) return args.Error("TargetStores", "must name at least one store");
    out.targets = {false, false};
    for (size_t i = 0; i < stores.size(); ++i) {
      if (stores[i] == kOnlineStore) {
        out.targets.online = true;
      } else if (stores[i] == kOfflineStore) {
        out.targets.offline = true;
      } else {
        return args.Error("TargetStores[" + std::to_string(i) + "]",
                          "unknown store '" + stores[i] + "'; expected OnlineStore or "
                                                          "OfflineStore");
      }
    }
  }
  ASSIGN_OR_RETURN(std::string input, args.String("Input"));
  ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, "Input", input));
  ASSIGN_OR_RETURN(out.input_csv, FindCsvFile(path, args.FieldName("Input")));
  return out;
}

// The definition of a group made from the input's columns (see the header).
Result<FeatureGroupDefinition> InferDefinition(const IngestArguments& arguments,
                                               const std::string& step_name) {
  data::CsvReadOptions options;
  Result<data::Table> table = data::ReadCsvFile(arguments.input_csv, options);
  if (!table.ok()) return table.status().WithContext("Arguments.Input");
  json features = json::array();
  bool has_id = false;
  bool has_time = false;
  for (const data::Column& column : table->columns()) {
    std::string type = column.type() == data::DataType::kInt64     ? "Integral"
                       : column.type() == data::DataType::kFloat64 ? "Fractional"
                                                                   : "String";
    if (column.name() == arguments.record_identifier) {
      has_id = true;
      if (type == "Fractional") type = "String";  // ids are Integral or String
    }
    if (column.name() == arguments.event_time) {
      has_time = true;
      if (type == "Integral") type = "Fractional";  // epoch seconds
    }
    features.push_back({{"FeatureName", column.name()}, {"FeatureType", type}});
  }
  if (!has_id) {
    features.push_back({{"FeatureName", arguments.record_identifier}, {"FeatureType", "Integral"}});
  }
  if (!has_time) {
    features.push_back({{"FeatureName", arguments.event_time}, {"FeatureType", "Fractional"}});
  }
  json definition = {
      {"FeatureGroupName", arguments.group},
      {"RecordIdentifierFeatureName", arguments.record_identifier},
      {"EventTimeFeatureName", arguments.event_time},
      {"FeatureDefinitions", features},
      {"OnlineStoreConfig", {{"EnableOnlineStore", true}}},
      {"OfflineStoreConfig", json::object()},
      {"Description", "inferred from the columns of " +
                          fs::path(arguments.input_csv).filename().string() + " by step " +
                          step_name}};
  return featurestore::ParseDefinition(definition, "the definition inferred from Arguments.Input");
}

// The definition FeatureGroupDefinition gives, or nullopt when the field is absent.
Result<std::optional<FeatureGroupDefinition>> GivenDefinition(const StepContext& context,
                                                              const StepArguments& args,
                                                              const std::string& group) {
  if (!args.Has("FeatureGroupDefinition")) return std::optional<FeatureGroupDefinition>();
  const std::string field = args.FieldName("FeatureGroupDefinition");
  const json& raw = args.Raw("FeatureGroupDefinition");
  Result<FeatureGroupDefinition> parsed = InvalidArgumentError(
      field + ": expected a JSON file path or an object in CreateFeatureGroup's shape");
  if (raw.is_object()) {
    json definition = raw;
    if (!definition.contains("FeatureGroupName")) definition["FeatureGroupName"] = group;
    parsed = featurestore::ParseDefinition(definition, field);
  } else if (raw.is_string()) {
    ASSIGN_OR_RETURN(std::string path,
                     ResolveInputPath(context, "FeatureGroupDefinition", raw.get<std::string>()));
    parsed = featurestore::LoadDefinition(path);
    if (!parsed.ok()) return parsed.status().WithContext(field);
  }
  if (!parsed.ok()) return parsed.status();
  if (parsed->name != group) {
    return args.Error("FeatureGroupDefinition",
                      "defines feature group '" + parsed->name + "', but FeatureGroupName is '" +
                          group + "'");
  }
  return std::optional<FeatureGroupDefinition>(std::move(parsed).value());
}

}  // namespace

Status RegisterFeatureStoreIngestStepKernels(compute::KernelRegistry& registry) {
  return featurestore::RegisterIngestKernels(registry);
}

Result<std::vector<InputDeclaration>> FeatureStoreIngestStepRunner::DeclareInputs(
    const json& arguments, const std::string& pipeline_dir) const {
  std::vector<InputDeclaration> inputs;
  if (auto input = DeclarePathInput(arguments, "Input", pipeline_dir)) {
    inputs.push_back(std::move(*input));
  }
  if (auto definition = DeclarePathInput(arguments, "FeatureGroupDefinition", pipeline_dir)) {
    // A file read where it is: only its content digest goes into the cache key.
    if (!IsArtifactUri(definition->source)) definition->kind = InputDeclaration::Kind::kCode;
    inputs.push_back(std::move(*definition));
  }
  return inputs;
}

Result<StepOutcome> FeatureStoreIngestStepRunner::Run(StepContext& context) {
  StepArguments args(context.arguments);
  ASSIGN_OR_RETURN(IngestArguments arguments, ReadArguments(context, args));
  ASSIGN_OR_RETURN(std::optional<FeatureGroupDefinition> given,
                   GivenDefinition(context, args, arguments.group));

  featurestore::FeatureStoreOptions store_options;
  store_options.home = context.home;
  ASSIGN_OR_RETURN(std::unique_ptr<featurestore::FeatureStore> store,
                   featurestore::FeatureStore::Open(store_options));
  Result<featurestore::GroupInfo> group = store->DescribeGroup(arguments.group);
  if (!group.ok() && group.status().code() == StatusCode::kNotFound) {
    FeatureGroupDefinition definition;
    if (given.has_value()) {
      definition = std::move(*given);
    } else {
      ASSIGN_OR_RETURN(definition, InferDefinition(arguments, context.step_name));
    }
    group = store->CreateGroup(definition);
    if (!group.ok() && group.status().code() == StatusCode::kAlreadyExists) {
      group = store->DescribeGroup(arguments.group);  // another run created it first
    } else if (group.ok()) {
      std::string features;
      for (const auto& feature : definition.features) {
        features += (features.empty() ? "" : ", ") + feature.name + ":" +
                    std::string(featurestore::FeatureTypeName(feature.type));
      }
      context.Log("created feature group '" + arguments.group + "' (" +
                  (given.has_value() ? "from FeatureGroupDefinition" : "inferred from the input") +
                  "): " + features);
    }
  }
  if (!group.ok()) return group.status().WithContext(args.FieldName("FeatureGroupName"));
  const FeatureGroupDefinition& definition = group->definition;
  if (args.Has("RecordIdentifier") && arguments.record_identifier != definition.record_identifier) {
    return args.Error("RecordIdentifier", "'" + arguments.record_identifier +
                                              "', but feature group '" + arguments.group +
                                              "' identifies records by '" +
                                              definition.record_identifier + "'");
  }
  if (args.Has("EventTime") && arguments.event_time != definition.event_time) {
    return args.Error("EventTime", "'" + arguments.event_time + "', but feature group '" +
                                       arguments.group + "' has event time feature '" +
                                       definition.event_time + "'");
  }
  if (!(arguments.targets.online && definition.online_enabled) &&
      !(arguments.targets.offline && definition.offline_enabled)) {
    return args.Error("TargetStores", "feature group '" + arguments.group +
                                          "' has none of the stores named");
  }
  if (context.StopRequested()) return CancelledError("the execution is being stopped");

  featurestore::IngestOptions options;
  options.group = arguments.group;
  options.input = arguments.input_csv;
  options.num_actors = arguments.num_actors;
  options.cpus_per_actor = arguments.cpus_per_actor;
  options.targets = arguments.targets;
  options.executor = context.executor;
  // A stop cancels the actors between batches: committed batches stay whole, and rerunning the
  // step stores exactly the rest.
  options.stop_requested = [&context] { return context.StopRequested(); };
  context.Log("ingesting " + arguments.input_csv + " into '" + arguments.group + "' with " +
              std::to_string(arguments.num_actors) + " actors of " +
              FormatNumber(arguments.cpus_per_actor) + " CPU");
  Result<featurestore::IngestSummary> summary = featurestore::Ingest(*store, options);
  if (!summary.ok()) {
    return summary.status().WithContext("ingesting Arguments.Input into feature group '" +
                                        arguments.group + "'");
  }
  const double rate =
      summary->seconds > 0 ? static_cast<double>(summary->rows_read) / summary->seconds : 0;
  context.Log("read " + std::to_string(summary->rows_read) + " rows: " +
              std::to_string(summary->ingested) + " newly stored, " +
              std::to_string(summary->duplicates) + " already stored, " +
              std::to_string(summary->rejected) + " rejected; " +
              std::to_string(summary->batches) + " batches in " +
              FormatNumber(summary->seconds) + " s (" + FormatNumber(rate) + " rows/s)");
  if (summary->rejected > 0) {
    return args.Error("Input", std::to_string(summary->rejected) + " of " +
                                   std::to_string(summary->rows_read) +
                                   " rows were rejected (first: " + summary->first_reject +
                                   "); they are in " + summary->rejects_path +
                                   "; the other rows are stored");
  }

  StepOutcome outcome;
  outcome.properties["FeatureGroupName"] = arguments.group;
  outcome.properties["RecordCount"] = summary->rows_read;
  outcome.properties["IngestedCount"] = summary->ingested;
  outcome.metrics["records_per_second"] = rate;
  outcome.lineage.push_back({StepOutcome::LineageEntry::Direction::kOutput, "FeatureGroup",
                             "featurestore://" + arguments.group, ""});
  return outcome;
}

std::optional<StepTypeSpec> FeatureStoreIngestStepRunner::TypeSpec() const {
  StepTypeSpec spec;
  spec.type = std::string(Type());
  spec.validate_arguments = ValidateIngest;
  spec.property_type = PropertyTable({{"FeatureGroupName", ValueType::kString},
                                      {"RecordCount", ValueType::kInteger},
                                      {"IngestedCount", ValueType::kInteger},
                                      {"Metrics.*", ValueType::kFloat}});
  spec.string_fields = {"FeatureGroupName", "Input", "RecordIdentifier", "EventTime",
                        "TargetStores[*]"};
  return spec;
}

}  // namespace raypipe::pipeline
