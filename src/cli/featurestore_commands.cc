#include "cli/featurestore_commands.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/executor_options.h"
#include "core/time.h"
#include "data/csv.h"
#include "featurestore/feature_store.h"
#include "featurestore/ingest.h"

namespace raypipe::cli {

namespace {

using featurestore::FeatureStore;

Result<std::unique_ptr<FeatureStore>> OpenStore(CommandContext& context) {
  featurestore::FeatureStoreOptions options;
  options.home = context.options().home.string();
  return FeatureStore::Open(options);
}

nlohmann::json RecordJson(const featurestore::Record& record) {
  nlohmann::json json = {{"RecordIdentifier", record.record_id},
                         {"EventTime", core::FormatIsoTime(record.event_time)},
                         {"WriteTime", core::FormatIsoTime(record.write_time)},
                         {"Record", record.features}};
  if (record.expires_at) json["ExpiresAt"] = core::FormatIsoTime(*record.expires_at);
  return json;
}

nlohmann::json DescribeJson(FeatureStore& store, const featurestore::GroupInfo& group) {
  nlohmann::json json = featurestore::ToJson(group.definition);
  json["CreationTime"] = group.created_at;
  json["OfflineStoreLocation"] = group.offline_dir;
  if (Result<featurestore::GroupStats> stats = store.Stats(group); stats.ok()) {
    json["OnlineRecords"] = stats->online_records;
    json["OfflineRows"] = stats->offline_rows;
    json["OfflineDeletes"] = stats->offline_deletes;
    json["OfflineFiles"] = stats->offline_files;
    json["LedgerEntries"] = stats->ledger_entries;
  }
  return json;
}

int RunCreateGroup(CommandContext& context, const ParsedArgs& args) {
  Result<featurestore::FeatureGroupDefinition> definition =
      featurestore::LoadDefinition(args.GetString("definition"));
  if (!definition.ok()) return context.Fail(definition.status());
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<featurestore::GroupInfo> group = (*store)->CreateGroup(*definition);
  if (!group.ok()) return context.Fail(group.status());
  if (context.json()) {
    context.out() << FormatJson(DescribeJson(**store, *group));
  } else {
    context.PrintLine("created feature group '" + group->definition.name + "' (" +
                      std::to_string(group->definition.features.size()) + " features)");
  }
  return kExitSuccess;
}

int RunList(CommandContext& context, const ParsedArgs&) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<std::vector<featurestore::GroupInfo>> groups = (*store)->ListGroups();
  if (!groups.ok()) return context.Fail(groups.status());
  std::vector<Row> rows;
  for (const featurestore::GroupInfo& group : *groups) {
    const auto& d = group.definition;
    rows.push_back({d.name, d.record_identifier, d.event_time,
                    static_cast<int64_t>(d.features.size()), d.online_enabled, d.offline_enabled,
                    group.created_at});
  }
  context.PrintTable({"name", "record_identifier", "event_time", "features", "online",
                      "offline", "created"},
                     rows);
  return kExitSuccess;
}

int RunDescribe(CommandContext& context, const ParsedArgs& args) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<featurestore::GroupInfo> group = (*store)->DescribeGroup(args.GetArg("GROUP"));
  if (!group.ok()) return context.Fail(group.status());
  context.PrintObject(DescribeJson(**store, *group));
  return kExitSuccess;
}

int RunDeleteGroup(CommandContext& context, const ParsedArgs& args) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  const std::string name = args.GetArg("GROUP");
  if (Status status = (*store)->DeleteGroup(name); !status.ok()) return context.Fail(status);
  if (context.json()) {
    context.out() << FormatJson({{"deleted", name}});
  } else {
    context.PrintLine("deleted feature group '" + name + "'");
  }
  return kExitSuccess;
}

int RunIngest(CommandContext& context, const ParsedArgs& args) {
  featurestore::IngestOptions options;
  options.group = args.GetArg("GROUP");
  options.input = args.GetString("input");
  options.definition = args.GetString("definition");
  options.num_actors = static_cast<int>(args.GetInt64("actors"));
  options.cpus_per_actor = args.GetDouble("cpus-per-actor");
  options.batch_size = args.GetInt64("batch-size");
  options.rejects_path = args.GetString("rejects");
  const std::string targets = args.GetString("target-stores");
  options.targets.online = targets.find("online") != std::string::npos;
  options.targets.offline = targets.find("offline") != std::string::npos;
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  compute::KernelRegistry kernels;
  if (Status registered = featurestore::RegisterIngestKernels(kernels); !registered.ok()) {
    return context.Fail(registered);
  }
  Result<std::unique_ptr<compute::Executor>> executor = OpenExecutorFor(context, kernels);
  if (!executor.ok()) return context.Fail(executor.status());
  options.executor = executor->get();
  Result<featurestore::IngestSummary> summary = featurestore::Ingest(**store, options);
  if (!summary.ok()) return context.Fail(summary.status());
  if (context.json()) {
    context.out() << FormatJson({{"group", summary->group},
                                 {"rows", summary->rows_read},
                                 {"ingested", summary->ingested},
                                 {"duplicates", summary->duplicates},
                                 {"rejected", summary->rejected},
                                 {"rejects_file", summary->rejects_path},
                                 {"actors", summary->actors},
                                 {"batches", summary->batches},
                                 {"part_retries", summary->part_retries},
                                 {"seconds", summary->seconds}});
  } else {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.2f", summary->seconds);
    context.PrintLine("ingested " + std::to_string(summary->ingested) + " of " +
                      std::to_string(summary->rows_read) + " rows into '" + summary->group +
                      "' with " + std::to_string(summary->actors) + " actors in " + seconds +
                      " s (" + std::to_string(summary->duplicates) + " already stored, " +
                      std::to_string(summary->rejected) + " rejected)");
    if (summary->rejected > 0) {
      context.PrintLine("rejected rows are in " + summary->rejects_path + "; first: " +
                        summary->first_reject);
    }
  }
  if (summary->rejected > 0 && !args.GetBool("allow-rejects")) {
    PrintError(context.err(), "raypipe",
               std::to_string(summary->rejected) + " rows were rejected (see " +
                   summary->rejects_path + "); pass --allow-rejects to accept that");
    return kExitFailure;
  }
  return kExitSuccess;
}

int RunGetRecord(CommandContext& context, const ParsedArgs& args) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<featurestore::Record> record =
      (*store)->GetRecord(args.GetArg("GROUP"), args.GetArg("ID"));
  if (!record.ok()) return context.Fail(record.status());
  if (context.json()) {
    context.out() << FormatJson(RecordJson(*record));
  } else {
    nlohmann::json flat = record->features;
    if (record->expires_at) flat["ExpiresAt"] = core::FormatIsoTime(*record->expires_at);
    context.PrintObject(flat);
  }
  return kExitSuccess;
}

int RunBatchGet(CommandContext& context, const ParsedArgs& args) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<featurestore::BatchGetResult> result =
      (*store)->BatchGetRecord(args.GetArg("GROUP"), args.GetArgs("ID"));
  if (!result.ok()) return context.Fail(result.status());
  if (context.json()) {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& record : result->records) records.push_back(RecordJson(record));
    context.out() << FormatJson({{"Records", records}, {"NotFound", result->not_found}});
  } else {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& record : result->records) records.push_back(record.features);
    context.PrintRecords(records);
    if (!result->not_found.empty()) {
      std::string missing;
      for (const std::string& id : result->not_found) missing += (missing.empty() ? "" : ", ") + id;
      context.PrintLine("not found: " + missing);
    }
  }
  return kExitSuccess;
}

int RunDeleteRecord(CommandContext& context, const ParsedArgs& args) {
  std::optional<core::TimePoint> event_time;
  if (args.Has("event-time")) {
    Result<core::TimePoint> parsed = core::ParseEventTime(args.GetString("event-time"));
    if (!parsed.ok()) return context.UsageError("--event-time: " + std::string(parsed.status().message()));
    event_time = *parsed;
  }
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  const bool hard = args.GetBool("hard");
  Status status = (*store)->DeleteRecord(
      args.GetArg("GROUP"), args.GetArg("ID"), event_time,
      hard ? featurestore::DeleteMode::kHard : featurestore::DeleteMode::kSoft);
  if (!status.ok()) return context.Fail(status);
  if (context.json()) {
    context.out() << FormatJson({{"deleted", args.GetArg("ID")}, {"hard", hard}});
  } else {
    context.PrintLine(std::string(hard ? "hard" : "soft") + "-deleted record '" +
                      args.GetArg("ID") + "'");
  }
  return kExitSuccess;
}

int RunExport(CommandContext& context, const ParsedArgs& args) {
  std::optional<core::TimePoint> as_of;
  if (args.Has("as-of")) {
    Result<core::TimePoint> parsed = core::ParseEventTime(args.GetString("as-of"));
    if (!parsed.ok()) return context.UsageError("--as-of: " + std::string(parsed.status().message()));
    as_of = *parsed;
  }
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  Result<data::Table> table = (*store)->ReadOffline(args.GetArg("GROUP"), as_of);
  if (!table.ok()) return context.Fail(table.status());
  const std::string out = args.GetString("out");
  if (out == "-") {
    context.out() << data::WriteCsvString(*table);
    return kExitSuccess;
  }
  if (Status status = data::WriteCsvFile(*table, out); !status.ok()) {
    return context.Fail(status.WithContext("cannot write --out " + out));
  }
  if (context.json()) {
    context.out() << FormatJson({{"rows", table->num_rows()}, {"path", out}});
  } else {
    context.PrintLine("exported " + std::to_string(table->num_rows()) + " rows to " + out);
  }
  return kExitSuccess;
}

int RunCleanup(CommandContext& context, const ParsedArgs& args) {
  Result<std::unique_ptr<FeatureStore>> store = OpenStore(context);
  if (!store.ok()) return context.Fail(store.status());
  featurestore::CleanupOptions options;
  options.temp_min_age = std::chrono::seconds(args.GetInt64("temp-min-age"));
  if (args.Has("ledger-max-age")) {
    options.ledger_max_age = std::chrono::seconds(args.GetInt64("ledger-max-age"));
  }
  Result<featurestore::CleanupResult> cleaned =
      (*store)->CleanupOfflineFiles(args.GetArg("GROUP"), options);
  if (!cleaned.ok()) return context.Fail(cleaned.status());
  if (context.json()) {
    context.out() << FormatJson({{"removed_files", cleaned->removed_files},
                                 {"removed_bytes", cleaned->removed_bytes},
                                 {"removed", cleaned->removed},
                                 {"ledger_removed", cleaned->ledger_removed},
                                 {"batches_removed", cleaned->batches_removed}});
  } else {
    context.PrintLine("removed " + std::to_string(cleaned->removed_files) +
                      " unregistered offline files (" + std::to_string(cleaned->removed_bytes) +
                      " bytes)");
    if (options.ledger_max_age) {
      context.PrintLine("forgot " + std::to_string(cleaned->ledger_removed) +
                        " ledger entries and " + std::to_string(cleaned->batches_removed) +
                        " batch digests older than " +
                        std::to_string(options.ledger_max_age->count()) + " s");
    }
  }
  return kExitSuccess;
}

ArgSpec GroupArg() { return ArgSpec::Required("GROUP", "The feature group's name"); }

}  // namespace

Status RegisterFeatureStoreCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("featurestore",
                                    "Feature groups, ingestion, online and offline records"));
  {
    CommandSpec spec;
    spec.path = "featurestore create-group";
    spec.summary = "Create a feature group from a CreateFeatureGroup-style JSON definition";
    spec.flags.push_back(FlagSpec::Value("definition", FlagType::kString, "FILE",
                                         "The definition: a JSON file, or inline JSON")
                             .Required());
    spec.examples = {"raypipe featurestore create-group --definition houses.json"};
    spec.handler = RunCreateGroup;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore list";
    spec.summary = "List the feature groups";
    spec.handler = RunList;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore describe";
    spec.summary = "Show a feature group's definition and record counts";
    spec.args.push_back(GroupArg());
    spec.handler = RunDescribe;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore delete-group";
    spec.summary = "Delete a feature group with its online and offline records";
    spec.args.push_back(GroupArg());
    spec.handler = RunDeleteGroup;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore ingest";
    spec.summary = "Ingest a CSV file with parallel actors, exactly once per (id, event time)";
    spec.description =
        "The rows are split into --actors contiguous parts, each written by an actor holding "
        "--cpus-per-actor CPUs in batches of --batch-size rows. Running the same ingestion "
        "again adds nothing. Rows with a wrong type, a missing record identifier or a bad event "
        "time are written with their line numbers to the rejects file; the command then exits "
        "1 unless --allow-rejects.";
    spec.args.push_back(GroupArg());
    spec.flags.push_back(
        FlagSpec::Value("input", FlagType::kString, "FILE", "The CSV file to ingest").Required());
    spec.flags.push_back(FlagSpec::Value("actors", FlagType::kInt64, "N", "Ingestion actors")
                             .Default("4")
                             .Min(1)
                             .Max(1024));
    spec.flags.push_back(
        FlagSpec::Value("cpus-per-actor", FlagType::kDouble, "X", "CPUs each actor holds")
            .Default("0.5")
            .Min(0.0001)
            .Max(1024));
    spec.flags.push_back(
        FlagSpec::Value("batch-size", FlagType::kInt64, "N", "Rows per committed batch")
            .Default("10000")
            .Min(1)
            .Max(10'000'000));
    spec.flags.push_back(FlagSpec::Value("definition", FlagType::kString, "FILE",
                                         "Create the group from this definition when missing"));
    spec.flags.push_back(FlagSpec::Value("rejects", FlagType::kString, "FILE",
                                         "Where rejected rows go (default under the home)"));
    spec.flags.push_back(
        FlagSpec::Bool("allow-rejects", "Exit 0 even when rows were rejected"));
    spec.flags.push_back(FlagSpec::Value("target-stores", FlagType::kString, "STORES",
                                         "Which stores to write")
                             .Default("online,offline")
                             .OneOf({"online,offline", "offline,online", "online", "offline"}));
    spec.examples = {"raypipe featurestore ingest houses --input houses.csv --actors 4"};
    spec.handler = RunIngest;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore get-record";
    spec.summary = "Show the online record of an id";
    spec.args.push_back(GroupArg());
    spec.args.push_back(ArgSpec::Required("ID", "The record identifier"));
    spec.handler = RunGetRecord;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore batch-get";
    spec.summary = "Show the online records of several ids";
    spec.args.push_back(GroupArg());
    spec.args.push_back(ArgSpec::Required("ID", "Record identifiers").Variadic());
    spec.handler = RunBatchGet;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore delete-record";
    spec.summary = "Delete a record (soft by default)";
    spec.args.push_back(GroupArg());
    spec.args.push_back(ArgSpec::Required("ID", "The record identifier"));
    spec.flags.push_back(FlagSpec::Bool("hard", "Remove the online record instead of marking it"));
    spec.flags.push_back(FlagSpec::Value("event-time", FlagType::kString, "TIME",
                                         "The delete's event time (default now); must be newer "
                                         "than the record's"));
    spec.handler = RunDeleteRecord;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore export";
    spec.summary = "Export the offline store to CSV, optionally as of a time";
    spec.args.push_back(GroupArg());
    spec.flags.push_back(FlagSpec::Value("out", FlagType::kString, "FILE",
                                         "The CSV file to write, or - for standard output")
                             .Required());
    spec.flags.push_back(FlagSpec::Value("as-of", FlagType::kString, "TIME",
                                         "Only the newest record per id at this time"));
    spec.examples = {"raypipe featurestore export houses --out houses.csv",
                     "raypipe featurestore export houses --out - --as-of 2026-11-26T00:00:00Z"};
    spec.handler = RunExport;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  {
    CommandSpec spec;
    spec.path = "featurestore cleanup";
    spec.summary =
        "Remove offline files that no catalog row references (left by a crash); trim the ledger";
    spec.description =
        "An ingestion killed between writing an offline file and committing it leaves a file "
        "that is never read. This removes such files (the first ingestion into the group in a "
        "process does too); registered files are never touched, and writers may run meanwhile. "
        "With --ledger-max-age it also bounds the exactly-once ledger: (record id, event time) "
        "pairs with an event time older than that are forgotten, so a replay of such an old "
        "event would be stored again.";
    spec.args.push_back(GroupArg());
    spec.flags.push_back(FlagSpec::Value("temp-min-age", FlagType::kInt64, "SECONDS",
                                         "Keep temporary files younger than this")
                             .Default("3600")
                             .Min(0));
    spec.flags.push_back(FlagSpec::Value("ledger-max-age", FlagType::kInt64, "SECONDS",
                                         "Also trim the exactly-once ledger: forget events "
                                         "older than this (a replay of one is stored again)")
                             .Min(0));
    spec.examples = {"raypipe featurestore cleanup houses",
                     "raypipe featurestore cleanup houses --ledger-max-age 2592000"};
    spec.handler = RunCleanup;
    RETURN_IF_ERROR(registry.Add(std::move(spec)));
  }
  return Status::Ok();
}

}  // namespace raypipe::cli
