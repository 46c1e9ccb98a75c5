#include "cli/execution_commands.h"

#include <chrono>
#include <set>
#include <thread>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/pipeline_commands.h"
#include "pipeline/engine/cache.h"

namespace raypipe::cli {
namespace {

using pipeline::ExecutionRecord;
using pipeline::StepRunRecord;

nlohmann::json OrNull(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

nlohmann::json StepJson(const StepRunRecord& run) {
  nlohmann::json json = {{"StepName", run.step_name},
                         {"StepType", run.step_type},
                         {"StepStatus", run.status},
                         {"AttemptCount", run.attempt_count},
                         {"StartTime", OrNull(run.start_time)},
                         {"EndTime", OrNull(run.end_time)},
                         {"FailureReason", OrNull(run.failure_reason)},
                         {"Metadata", run.properties}};
  if (!run.cache_hit_source.empty()) {
    json["CacheHitResult"] = {{"SourcePipelineExecutionArn", run.cache_hit_source}};
  }
  if (!run.selective_source.empty()) {
    json["SelectiveExecutionResult"] = {{"SourcePipelineExecutionArn", run.selective_source}};
  }
  if (!run.log_path.empty()) json["LogPath"] = run.log_path;
  return json;
}

int RunList(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  auto executions = (*host)->engine().store().ListExecutions(args.GetString("pipeline"));
  if (!executions.ok()) return context.Fail(executions.status());
  if (context.json()) {
    // ListPipelineExecutions' summary names.
    nlohmann::json summaries = nlohmann::json::array();
    for (const ExecutionRecord& e : *executions) {
      summaries.push_back({{"PipelineExecutionId", e.id},
                           {"PipelineName", e.pipeline_name},
                           {"PipelineExecutionStatus", e.status},
                           {"StartTime", e.start_time},
                           {"EndTime", OrNull(e.end_time)},
                           {"FailureReason", OrNull(e.failure_reason)}});
    }
    context.out() << FormatJson(summaries);
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const ExecutionRecord& e : *executions) {
    rows.push_back({e.id, e.pipeline_name, e.status, e.start_time, OrNull(e.end_time),
                    OrNull(e.failure_reason)});
  }
  context.PrintTable({"ID", "PIPELINE", "STATUS", "START", "END", "FAILURE REASON"}, rows);
  return kExitSuccess;
}

int RunDescribe(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  auto e = (*host)->engine().store().GetExecution(args.GetArg("ID"));
  if (!e.ok()) return context.Fail(e.status());
  nlohmann::json object = {{"PipelineExecutionId", e->id},
                           {"PipelineName", e->pipeline_name},
                           {"PipelineExecutionStatus", e->status},
                           {"FailureReason", OrNull(e->failure_reason)},
                           {"Source", e->source_name},
                           {"Parameters", e->parameters},
                           {"StartTime", e->start_time},
                           {"EndTime", OrNull(e->end_time)},
                           {"LastModifiedTime", e->last_modified_time}};
  if (!e->from_execution.empty()) {
    object["SelectiveExecutionConfig"] = {{"SourcePipelineExecutionArn", e->from_execution},
                                          {"SelectedSteps", e->selected_steps}};
  }
  context.PrintObject(object);
  return kExitSuccess;
}

int RunSteps(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  const std::string id = args.GetArg("ID");
  if (auto e = (*host)->engine().store().GetExecution(id); !e.ok()) return context.Fail(e.status());
  auto runs = (*host)->engine().store().ListStepRuns(id);
  if (!runs.ok()) return context.Fail(runs.status());
  if (context.json()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const StepRunRecord& run : *runs) steps.push_back(StepJson(run));
    context.out() << FormatJson(steps);
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const StepRunRecord& run : *runs) {
    std::string cache = run.cache_hit_source.empty() ? "-" : "hit " + run.cache_hit_source;
    if (!run.selective_source.empty()) cache = "reused " + run.selective_source;
    rows.push_back({run.step_name, run.step_type, run.status, run.attempt_count, cache,
                    OrNull(run.start_time), OrNull(run.end_time), OrNull(run.failure_reason)});
  }
  context.PrintTable({"STEP", "TYPE", "STATUS", "ATTEMPTS", "CACHE", "START", "END",
                      "FAILURE REASON"},
                     rows);
  return kExitSuccess;
}

int RunRetry(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, true);
  if (!host.ok()) return context.Fail(host.status());
  const std::string id = args.GetArg("ID");
  if (Status status = (*host)->engine().PrepareRetry(id); !status.ok()) {
    return context.Fail(status);
  }
  context.PrintLine("retrying execution " + id);
  return RunExecutionAndReport(context, **host, id);
}

int RunStop(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  pipeline::Engine& engine = (*host)->engine();
  const std::string id = args.GetArg("ID");
  if (Status status = engine.RequestStop(id); !status.ok()) return context.Fail(status);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(args.GetInt64("wait"));
  Result<ExecutionRecord> e = engine.store().GetExecution(id);
  while (e.ok() && !pipeline::IsTerminalExecutionStatus(e->status)) {
    if (!pipeline::IsProcessAlive(e->orchestrator_pid)) {
      // Nobody is running it: stop it here.
      if (Status status = engine.store().MarkAbandonedStopped(id, engine.Now()); !status.ok()) {
        return context.Fail(status);
      }
    } else if (std::chrono::steady_clock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    e = engine.store().GetExecution(id);
  }
  if (!e.ok()) return context.Fail(e.status());
  if (context.json()) {
    context.out() << FormatJson({{"PipelineExecutionId", id}, {"PipelineExecutionStatus", e->status}});
  } else {
    context.out() << "execution " << id << " " << e->status << "\n";
  }
  return kExitSuccess;
}

int RunExplainCache(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  pipeline::ExecutionStore& store = (*host)->engine().store();
  const std::string id = args.GetArg("ID");
  const std::string step = args.GetArg("STEP");
  auto e = store.GetExecution(id);
  if (!e.ok()) return context.Fail(e.status());
  auto run = store.GetStepRun(id, step);
  if (!run.ok()) return context.Fail(run.status());
  if (!run->has_value()) {
    return context.Fail(NotFoundError("execution " + id + " has no run of step '" + step + "'"));
  }
  const StepRunRecord& r = **run;
  if (r.cache_explain.empty()) {
    return context.Fail(NotFoundError("step '" + step + "' has no cache record (type " +
                                      r.step_type + " is not cached)"));
  }
  nlohmann::json result = {{"Step", step},
                           {"Execution", id},
                           {"Key", r.cache_explain.value("Key", "")},
                           {"Enabled", r.cache_explain.value("Enabled", false)},
                           {"Result", r.cache_explain.value("Result", "")},
                           {"Reason", r.cache_explain.value("Reason", "")},
                           {"Parts", r.cache_explain.value("Parts", nlohmann::json::object())}};
  // The newest earlier run of the step in this pipeline, and what changed since.
  auto executions = store.ListExecutions(e->pipeline_name, 200);
  if (executions.ok()) {
    for (const ExecutionRecord& other : *executions) {
      if (other.id == id || other.start_time > e->start_time) continue;
      auto previous = store.GetStepRun(other.id, step);
      if (!previous.ok() || !previous->has_value() || (*previous)->cache_key.empty()) continue;
      const StepRunRecord& p = **previous;
      std::vector<std::string> changes = pipeline::DiffCacheKeyParts(
          p.cache_explain.value("Parts", nlohmann::json::object()),
          r.cache_explain.value("Parts", nlohmann::json::object()));
      result["Previous"] = {{"Execution", other.id}, {"Status", p.status}, {"Key", p.cache_key},
                            {"Changes", changes}};
      break;
    }
  }
  if (context.json()) {
    context.out() << FormatJson(result);
    return kExitSuccess;
  }
  std::ostream& out = context.out();
  out << "step " << step << " of execution " << id << ": cache "
      << result["Result"].get<std::string>() << "\n  " << result["Reason"].get<std::string>()
      << "\nkey " << result["Key"].get<std::string>() << "\n";
  const nlohmann::json& parts = result["Parts"];
  out << "  StepType               " << parts.value("StepType", "") << "\n";
  out << "  ImplementationVersion  " << parts.value("ImplementationVersion", "") << "\n";
  out << "  Arguments              " << parts.value("Arguments", nlohmann::json()).dump() << "\n";
  for (const char* group : {"Inputs", "Code"}) {
    if (!parts.contains(group)) continue;
    for (const auto& [name, digest] : parts[group].items()) {
      out << "  " << group << " " << name << "  " << digest.get<std::string>() << "\n";
    }
  }
  if (result.contains("Previous")) {
    const nlohmann::json& previous = result["Previous"];
    out << "previous run: execution " << previous["Execution"].get<std::string>() << " ("
        << previous["Status"].get<std::string>() << ")";
    if (previous["Changes"].empty()) {
      out << ", same key\n";
    } else {
      out << ", changed:\n";
      for (const auto& change : previous["Changes"]) out << "  " << change.get<std::string>() << "\n";
    }
  } else {
    out << "no earlier run of this step\n";
  }
  return kExitSuccess;
}

std::string DotQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int RunLineage(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  const std::string id = args.GetArg("ID");
  if (auto e = (*host)->engine().store().GetExecution(id); !e.ok()) return context.Fail(e.status());
  auto lineage = (*host)->engine().store().ListLineage(id);
  if (!lineage.ok()) return context.Fail(lineage.status());
  std::string format = args.GetString("format");
  if (format == "table" && context.json()) format = "json";
  if (format == "dot") {
    std::ostream& out = context.out();
    out << "digraph lineage {\n  rankdir=LR;\n";
    std::set<std::string> steps, artifacts;
    for (const auto& edge : *lineage) {
      if (steps.insert(edge.step_name).second) {
        out << "  " << DotQuote("step:" + edge.step_name) << " [shape=box, label="
            << DotQuote(edge.step_name) << "];\n";
      }
      if (artifacts.insert(edge.uri).second) {
        std::string label = edge.artifact_type + "\\n" +
                            (edge.digest.size() > 19 ? edge.digest.substr(0, 19) : edge.uri);
        out << "  " << DotQuote(edge.uri) << " [shape=ellipse, label=\"" << label << "\"];\n";
      }
      if (edge.direction == "Input") {
        out << "  " << DotQuote(edge.uri) << " -> " << DotQuote("step:" + edge.step_name)
            << ";\n";
      } else {
        out << "  " << DotQuote("step:" + edge.step_name) << " -> " << DotQuote(edge.uri)
            << ";\n";
      }
    }
    out << "}\n";
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const auto& edge : *lineage) {
    rows.push_back({edge.step_name, edge.direction, edge.name, edge.artifact_type, edge.uri,
                    edge.digest});
  }
  std::vector<std::string> columns = {"STEP", "DIRECTION", "NAME", "TYPE", "URI", "DIGEST"};
  if (format == "json") {
    context.out() << FormatJson(RowsToJson(columns, rows));
  } else {
    context.PrintTable(columns, rows);
  }
  return kExitSuccess;
}

}  // namespace

Status RegisterExecutionCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("execution", "Inspect and control pipeline executions"));

  CommandSpec list;
  list.path = "execution list";
  list.summary = "List executions, newest first";
  list.flags.push_back(FlagSpec::Value("pipeline", FlagType::kString, "NAME",
                                       "Only this pipeline's executions"));
  list.handler = RunList;
  RETURN_IF_ERROR(registry.Add(std::move(list)));

  CommandSpec describe;
  describe.path = "execution describe";
  describe.summary = "Show an execution's status, failure reason and parameters";
  describe.args.push_back(ArgSpec::Required("ID", "The execution id (exec-...)"));
  describe.handler = RunDescribe;
  RETURN_IF_ERROR(registry.Add(std::move(describe)));

  CommandSpec steps;
  steps.path = "execution steps";
  steps.summary = "List an execution's steps: status, attempts, cache hits, failure reasons";
  steps.args.push_back(ArgSpec::Required("ID", "The execution id"));
  steps.handler = RunSteps;
  RETURN_IF_ERROR(registry.Add(std::move(steps)));

  CommandSpec retry;
  retry.path = "execution retry";
  retry.summary = "Rerun the failed, stopped and unfinished steps under the same id";
  retry.args.push_back(ArgSpec::Required("ID", "The execution id"));
  retry.handler = RunRetry;
  RETURN_IF_ERROR(registry.Add(std::move(retry)));

  CommandSpec stop;
  stop.path = "execution stop";
  stop.summary = "Stop a running execution";
  stop.args.push_back(ArgSpec::Required("ID", "The execution id"));
  stop.flags.push_back(FlagSpec::Value("wait", FlagType::kInt64, "SECONDS",
                                       "How long to wait for the execution to stop")
                           .Default("30")
                           .Min(0)
                           .Max(3600));
  stop.handler = RunStop;
  RETURN_IF_ERROR(registry.Add(std::move(stop)));

  CommandSpec explain;
  explain.path = "execution explain-cache";
  explain.summary = "Show a step's cache key parts and why it hit or missed";
  explain.args.push_back(ArgSpec::Required("ID", "The execution id"));
  explain.args.push_back(ArgSpec::Required("STEP", "The step name"));
  explain.handler = RunExplainCache;
  RETURN_IF_ERROR(registry.Add(std::move(explain)));

  CommandSpec lineage;
  lineage.path = "execution lineage";
  lineage.summary = "Show the artifacts each step read and wrote";
  lineage.args.push_back(ArgSpec::Required("ID", "The execution id"));
  lineage.flags.push_back(FlagSpec::Value("format", FlagType::kString, "FORMAT",
                                          "table, dot (Graphviz) or json")
                              .Default("table")
                              .OneOf({"table", "dot", "json"}));
  lineage.handler = RunLineage;
  return registry.Add(std::move(lineage));
}

}  // namespace raypipe::cli
