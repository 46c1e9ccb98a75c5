#include "cli/experiments_commands.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "experiments/compare.h"
#include "experiments/experiment_store.h"
#include "store/home.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::cli {

namespace {

using experiments::ExperimentStore;
using experiments::MetricSummary;
using experiments::RunRecord;
using nlohmann::json;

struct Stores {
  std::unique_ptr<store::SqliteMetadataStore> metadata;
  std::unique_ptr<ExperimentStore> experiments;
};

Result<Stores> OpenStores(const CommandContext& context) {
  Stores stores;
  const std::filesystem::path& home = context.options().home;
  ASSIGN_OR_RETURN(stores.metadata, store::OpenHomeMetadata(home));
  ASSIGN_OR_RETURN(stores.experiments, ExperimentStore::Open(stores.metadata.get()));
  return stores;
}

// A metric value for tables: 6 significant digits; NaN as "nan".
std::string Number(double value) {
  if (std::isnan(value)) return "nan";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

json NumberJson(double value) { return std::isnan(value) ? json(nullptr) : json(value); }

json SummaryJson(const MetricSummary& summary) {
  return {{"name", summary.name},
          {"goal", experiments::MetricGoalName(experiments::GoalOf(summary.name))},
          {"count", summary.count},
          {"last_step", summary.last_step},
          {"last", NumberJson(summary.last)},
          {"min", NumberJson(summary.min)},
          {"max", NumberJson(summary.max)}};
}

std::string Source(const RunRecord& run) {
  std::string text = run.source.kind;
  if (!run.source.execution_id.empty()) text += (text.empty() ? "" : " ") + run.source.execution_id;
  if (!run.source.step_name.empty()) text += (text.empty() ? "" : "/") + run.source.step_name;
  return text;
}

int RunList(CommandContext& context, const ParsedArgs&) {
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<std::vector<experiments::Experiment>> all = stores->experiments->ListExperiments();
  if (!all.ok()) return context.Fail(all.status());
  if (context.json()) {
    json records = json::array();
    for (const auto& experiment : *all) records.push_back(experiment.ToJson());
    context.PrintRecords(records);
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const auto& experiment : *all) {
    rows.push_back(
        {experiment.name, experiment.run_count, experiment.created_at, experiment.description});
  }
  context.PrintTable({"experiment", "runs", "created", "description"}, rows);
  return kExitSuccess;
}

int RunRuns(CommandContext& context, const ParsedArgs& args) {
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<std::vector<RunRecord>> runs = stores->experiments->ListRuns(args.GetArg("EXPERIMENT"));
  if (!runs.ok()) return context.Fail(runs.status());
  const std::string metric = args.GetString("metric");
  json records = json::array();
  std::vector<Row> rows;
  for (const RunRecord& run : *runs) {
    json final_value = nullptr;
    if (!metric.empty()) {
      Result<std::vector<MetricSummary>> summaries =
          stores->experiments->MetricSummaries(run.run_id);
      if (!summaries.ok()) return context.Fail(summaries.status());
      for (const MetricSummary& summary : *summaries) {
        if (summary.name == metric) final_value = NumberJson(summary.last);
      }
    }
    json record = run.ToJson();
    if (!metric.empty()) record["FinalMetric"] = {{"name", metric}, {"value", final_value}};
    records.push_back(std::move(record));
    Row row = {run.run_id, run.name, std::string(experiments::RunStatusName(run.status)),
               Source(run), run.created_at, run.ended_at.empty() ? json(nullptr) : json(run.ended_at)};
    if (!metric.empty()) row.push_back(final_value);
    rows.push_back(std::move(row));
  }
  if (context.json()) {
    context.PrintRecords(records);
    return kExitSuccess;
  }
  std::vector<std::string> columns = {"run", "name", "status", "source", "created", "ended"};
  if (!metric.empty()) columns.push_back(metric);
  context.PrintTable(columns, rows);
  return kExitSuccess;
}

int RunShow(CommandContext& context, const ParsedArgs& args) {
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  const std::string run_id = args.GetArg("RUN");
  Result<RunRecord> run = stores->experiments->DescribeRun(run_id);
  if (!run.ok()) return context.Fail(run.status());
  Result<std::vector<MetricSummary>> summaries = stores->experiments->MetricSummaries(run_id);
  if (!summaries.ok()) return context.Fail(summaries.status());
  const std::string metric = args.GetString("metric");
  std::vector<experiments::MetricPoint> series;
  if (!metric.empty()) {
    Result<std::vector<experiments::MetricPoint>> points =
        stores->experiments->MetricSeries(run_id, metric);
    if (!points.ok()) return context.Fail(points.status());
    if (points->empty()) {
      std::string names;
      for (const MetricSummary& summary : *summaries) {
        names += (names.empty() ? "" : ", ") + summary.name;
      }
      return context.Fail(NotFoundError("run '" + run_id + "' has no metric '" + metric + "' (" +
                                        (names.empty() ? "it logged none" : "metrics: " + names) +
                                        ")"));
    }
    series = std::move(*points);
  }

  if (context.json()) {
    json result = run->ToJson();
    result["Metrics"] = json::array();
    for (const MetricSummary& summary : *summaries) result["Metrics"].push_back(SummaryJson(summary));
    if (!metric.empty()) {
      json points = json::array();
      for (const auto& point : series) {
        points.push_back({{"step", point.step}, {"value", NumberJson(point.value)},
                          {"time", point.time}});
      }
      result["Series"] = {{"name", metric}, {"points", points}};
    }
    context.PrintObject(result);
    return kExitSuccess;
  }
  json header = run->ToJson();
  header.erase("Parameters");
  context.PrintObject(header);
  if (!run->parameters.empty()) {
    context.PrintLine("");
    std::vector<Row> rows;
    for (const auto& [name, value] : run->parameters.items()) rows.push_back({name, value});
    context.PrintTable({"parameter", "value"}, rows);
  }
  if (!summaries->empty()) {
    context.PrintLine("");
    std::vector<Row> rows;
    for (const MetricSummary& summary : *summaries) {
      rows.push_back({summary.name, Number(summary.last), Number(summary.min), Number(summary.max),
                      summary.count, summary.last_step});
    }
    context.PrintTable({"metric", "final", "min", "max", "points", "last_step"}, rows);
  }
  if (!metric.empty()) {
    context.PrintLine("");
    std::vector<Row> rows;
    for (const auto& point : series) rows.push_back({point.step, Number(point.value), point.time});
    context.PrintTable({"step", metric, "time"}, rows);
  }
  return kExitSuccess;
}

int RunCompare(CommandContext& context, const ParsedArgs& args) {
  std::vector<std::string> run_ids = args.GetArgs("RUN");
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<experiments::RunComparison> comparison =
      experiments::CompareRuns(*stores->experiments, run_ids);
  if (!comparison.ok()) {
    if (comparison.status().code() == StatusCode::kInvalidArgument) {
      return context.UsageError(comparison.status().message());
    }
    return context.Fail(comparison.status());
  }
  if (context.json()) {
    context.PrintObject(comparison->ToJson());
    return kExitSuccess;
  }
  std::vector<std::string> columns = {"", "goal"};
  for (const RunRecord& run : comparison->runs) columns.push_back(run.run_id);
  std::vector<Row> rows;
  rows.push_back({"name", ""});
  rows.push_back({"status", ""});
  for (const RunRecord& run : comparison->runs) {
    rows[0].push_back(run.name);
    rows[1].push_back(std::string(experiments::RunStatusName(run.status)));
  }
  for (const std::string& name : comparison->parameter_names) {
    Row row = {"param " + name, ""};
    for (const RunRecord& run : comparison->runs) {
      row.push_back(run.parameters.contains(name) ? run.parameters[name] : json(nullptr));
    }
    rows.push_back(std::move(row));
  }
  for (const experiments::MetricComparison& metric : comparison->metrics) {
    Row row = {metric.name, std::string(experiments::MetricGoalName(metric.goal))};
    for (size_t i = 0; i < metric.values.size(); ++i) {
      if (!metric.values[i]) {
        row.push_back(nullptr);
        continue;
      }
      std::string text = Number(*metric.values[i]);
      if (metric.best && *metric.best == i) text += " *";
      row.push_back(text);
    }
    rows.push_back(std::move(row));
  }
  context.PrintTable(columns, rows);
  context.PrintLine("* best final value (lower is better for rmse, mse, mae, mape, error, "
                    "logloss, loss; higher for auc, accuracy, r2, precision, recall, f1, ndcg, "
                    "map)");
  return kExitSuccess;
}

}  // namespace

Status RegisterExperimentsCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("experiments", "Experiments, runs and their metrics"));

  CommandSpec list;
  list.path = "experiments list";
  list.summary = "List the experiments";
  list.examples = {"raypipe experiments list --output json"};
  list.handler = RunList;
  RETURN_IF_ERROR(registry.Add(std::move(list)));

  CommandSpec runs;
  runs.path = "experiments runs";
  runs.summary = "List the runs of an experiment, oldest first";
  runs.args.push_back(ArgSpec::Required("EXPERIMENT", "The experiment"));
  runs.flags.push_back(FlagSpec::Value("metric", FlagType::kString, "NAME",
                                       "Add a column with this metric's final value"));
  runs.examples = {"raypipe experiments runs housing --metric validation:rmse"};
  runs.handler = RunRuns;
  RETURN_IF_ERROR(registry.Add(std::move(runs)));

  CommandSpec show;
  show.path = "experiments show";
  show.summary = "Show a run: source, status, parameters and metrics";
  show.args.push_back(ArgSpec::Required("RUN", "The run id (run-...)"));
  show.flags.push_back(FlagSpec::Value("metric", FlagType::kString, "NAME",
                                       "Also print this metric's series, step by step"));
  show.examples = {"raypipe experiments show run-01jd3m5q8v7k2x9c4n6t0w1yzr --metric "
                   "validation:rmse"};
  show.handler = RunShow;
  RETURN_IF_ERROR(registry.Add(std::move(show)));

  CommandSpec compare;
  compare.path = "experiments compare";
  compare.summary = "Compare runs' parameters and final metrics, marking the best";
  compare.description =
      "Each metric's final value (at its highest step) per run; '*' marks the best. Lower is "
      "better when the metric's name contains rmse, mse, mae, mape, error, logloss or loss; "
      "otherwise higher is better when it contains auc, accuracy, r2, precision, recall, f1, "
      "ndcg or map; other metrics have no best.";
  compare.args.push_back(ArgSpec::Required("RUN", "Run ids (run-...)").Variadic());
  compare.examples = {"raypipe experiments compare run-01jd... run-01je..."};
  compare.handler = RunCompare;
  return registry.Add(std::move(compare));
}

}  // namespace raypipe::cli
