// /api/pipelines and /api/executions: definitions and their DAG, executions (start, stop,
// retry), step runs with their arguments, metrics, cache explanation and logs, and lineage from
// raw data to the endpoints serving the registered model.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/logging.h"
#include "pipeline/dag.h"
#include "pipeline/engine/cache.h"
#include "studio/api.h"

namespace raypipe::studio {
namespace {

using nlohmann::json;
using pipeline::ExecutionRecord;
using pipeline::StepRunRecord;

constexpr int64_t kDefaultLogBytes = 64 * 1024;
constexpr int64_t kMaxLogBytes = 4 * 1024 * 1024;

const char* EdgeKindName(pipeline::EdgeKind kind) {
  switch (kind) {
    case pipeline::EdgeKind::kDependsOn:
      return "DependsOn";
    case pipeline::EdgeKind::kReference:
      return "Reference";
    case pipeline::EdgeKind::kBranch:
      return "Branch";
  }
  return "DependsOn";
}

json ExecutionJson(const ExecutionRecord& e) {
  return {{"PipelineExecutionId", e.id},
          {"PipelineName", e.pipeline_name},
          {"PipelineExecutionStatus", e.status},
          {"FailureReason", e.failure_reason},
          {"Parameters", e.parameters},
          {"SourceName", e.source_name},
          {"FromExecution", e.from_execution},
          {"SelectedSteps", e.selected_steps},
          {"StartTime", e.start_time},
          {"EndTime", e.end_time},
          {"LastModifiedTime", e.last_modified_time},
          {"StopRequested", e.stop_requested}};
}

json StepRunJson(const StepRunRecord& r) {
  return {{"StepName", r.step_name},
          {"StepType", r.step_type},
          {"StepStatus", r.status},
          {"AttemptCount", r.attempt_count},
          {"FailureReason", r.failure_reason},
          {"CacheHit", !r.cache_hit_source.empty()},
          {"CacheHitSource", r.cache_hit_source},
          {"SelectiveSource", r.selective_source},
          {"Metrics", r.properties.value("Metrics", json::object())},
          {"StartTime", r.start_time},
          {"EndTime", r.end_time},
          {"HasLog", !r.log_path.empty()}};
}

// The DAG of a definition: one node per step (with its latest run when `runs` is given; a
// ForEach step's node takes the run named after it, or its iterations' worst status).
Result<json> DagJson(pipeline::Engine& engine, const std::string& text,
                     const std::string& source_name, const std::vector<StepRunRecord>* runs) {
  ASSIGN_OR_RETURN(pipeline::PipelineDefinition definition, engine.Load(text, source_name));
  const pipeline::Dag dag = pipeline::Dag::Build(definition);
  std::map<std::string, const StepRunRecord*> by_name;
  std::map<std::string, std::vector<const StepRunRecord*>> iterations;
  if (runs != nullptr) {
    for (const StepRunRecord& run : *runs) {
      by_name[run.step_name] = &run;
      const size_t bracket = run.step_name.find('[');
      if (bracket != std::string::npos) {
        iterations[run.step_name.substr(0, bracket)].push_back(&run);
      }
    }
  }
  json nodes = json::array();
  for (size_t index = 0; index < dag.size(); ++index) {
    const pipeline::StepDefinition& step = definition.steps[index];
    json node = {{"name", step.name},
                 {"type", step.type},
                 {"display_name", step.display_name},
                 {"description", step.description},
                 {"status", runs == nullptr ? "" : "NotStarted"}};
    if (auto it = by_name.find(step.name); it != by_name.end()) {
      node["status"] = it->second->status;
      node["attempts"] = it->second->attempt_count;
      node["cache_hit"] = !it->second->cache_hit_source.empty();
    } else if (auto iter = iterations.find(step.name); iter != iterations.end()) {
      std::string status = "Succeeded";
      for (const StepRunRecord* run : iter->second) {
        if (run->status == "Failed") status = "Failed";
        else if (status != "Failed" && run->status != "Succeeded") status = run->status;
      }
      node["status"] = status;
    }
    nodes.push_back(std::move(node));
  }
  json edges = json::array();
  std::set<std::pair<size_t, size_t>> seen;
  for (const pipeline::DagEdge& edge : dag.edges()) {
    if (!seen.insert({edge.from, edge.to}).second) continue;
    edges.push_back({{"from", dag.name(edge.from)},
                     {"to", dag.name(edge.to)},
                     {"kind", EdgeKindName(edge.kind)}});
  }
  return json{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
}

// Parameter overrides from a JSON object; strings as given, numbers and booleans as their
// JSON text.
Result<std::map<std::string, std::string>> ParameterOverrides(const json& body) {
  std::map<std::string, std::string> overrides;
  if (!body.contains("parameters")) return overrides;
  const json& parameters = body["parameters"];
  if (!parameters.is_object()) {
    return InvalidArgumentError("field 'parameters' must be an object of NAME: VALUE, found " +
                                std::string(parameters.type_name()));
  }
  for (const auto& [name, value] : parameters.items()) {
    if (value.is_string()) {
      overrides[name] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      overrides[name] = value.dump();
    } else {
      return InvalidArgumentError("field 'parameters." + name +
                                  "' must be a string, number or boolean, found " +
                                  std::string(value.type_name()));
    }
  }
  return overrides;
}

Result<StepRunRecord> FindStepRun(pipeline::ExecutionStore& store, const std::string& id,
                                  const std::string& step) {
  ASSIGN_OR_RETURN(ExecutionRecord execution, store.GetExecution(id));
  (void)execution;
  ASSIGN_OR_RETURN(std::optional<StepRunRecord> run, store.GetStepRun(id, step));
  if (!run) return NotFoundError("execution " + id + " has no run of step '" + step + "'");
  return std::move(*run);
}

// The step's Arguments as written in the execution's definition ({} when not found).
json StepArguments(pipeline::Engine& engine, const ExecutionRecord& execution,
                   const std::string& step_name) {
  Result<pipeline::PipelineDefinition> definition =
      engine.Load(execution.definition_text, execution.source_name);
  if (!definition.ok()) return json::object();
  const std::string base = step_name.substr(0, step_name.find('['));
  for (const pipeline::StepDefinition& step : definition->steps) {
    if (step.name == base) return step.arguments;
  }
  return json::object();
}

// The last `max_bytes` of a step's log; "" when it has none.
Result<json> ReadLogTail(const StepRunRecord& run, int64_t max_bytes) {
  if (run.log_path.empty()) return json{{"path", ""}, {"text", ""}, {"truncated", false}};
  std::ifstream file(run.log_path, std::ios::binary);
  if (!file) {
    return NotFoundError("the log of step '" + run.step_name + "' (" + run.log_path +
                         ") cannot be read");
  }
  file.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(file.tellg());
  const int64_t start = std::max<int64_t>(0, size - max_bytes);
  file.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  return json{{"path", run.log_path}, {"text", text}, {"size", size}, {"truncated", start > 0}};
}

Result<json> LineageGraph(const ApiContext& context, const std::string& id) {
  pipeline::ExecutionStore& store = context.host->engine().store();
  ASSIGN_OR_RETURN(ExecutionRecord execution, store.GetExecution(id));
  ASSIGN_OR_RETURN(std::vector<pipeline::LineageRecord> lineage, store.ListLineage(id));
  ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store.ListStepRuns(id));
  json nodes = json::array();
  json edges = json::array();
  std::set<std::string> seen;
  auto add_node = [&](const std::string& node_id, const std::string& kind,
                      const std::string& label, json extra) {
    if (!seen.insert(node_id).second) return;
    extra["id"] = node_id;
    extra["kind"] = kind;
    extra["label"] = label;
    nodes.push_back(std::move(extra));
  };
  std::map<std::string, std::string> producer;  // digest -> step node producing it
  for (const pipeline::LineageRecord& edge : lineage) {
    const std::string step_node = "step:" + edge.step_name;
    add_node(step_node, "Step", edge.step_name, json::object());
    const std::string artifact_node =
        "artifact:" + (edge.digest.empty() ? edge.uri : edge.digest);
    add_node(artifact_node, edge.artifact_type.empty() ? "Artifact" : edge.artifact_type,
             edge.name.empty() ? edge.artifact_type : edge.name,
             {{"uri", edge.uri}, {"digest", edge.digest}});
    if (edge.direction == "Input") {
      edges.push_back({{"from", artifact_node}, {"to", step_node}});
    } else {
      edges.push_back({{"from", step_node}, {"to", artifact_node}});
      if (!edge.digest.empty()) producer[edge.digest] = artifact_node;
    }
  }
  for (const StepRunRecord& run : runs) {
    add_node("step:" + run.step_name, "Step", run.step_name, json::object());
  }
  // Model versions this execution registered, and the endpoints that serve them.
  ASSIGN_OR_RETURN(std::vector<registry::ModelPackageGroup> groups, context.registry->ListGroups());
  std::vector<std::pair<std::string, int64_t>> models;
  for (const registry::ModelPackageGroup& group : groups) {
    ASSIGN_OR_RETURN(std::vector<registry::ModelPackage> versions,
                     context.registry->ListVersions(group.name));
    for (const registry::ModelPackage& version : versions) {
      if (version.lineage.execution_id != id) continue;
      const std::string node = "model:" + group.name + "/" + std::to_string(version.version);
      add_node(node, "ModelPackage", group.name + " v" + std::to_string(version.version),
               {{"group", group.name},
                {"version", version.version},
                {"status", std::string(registry::ApprovalStatusName(version.status))}});
      models.emplace_back(group.name, version.version);
      std::string from;
      if (auto it = producer.find(version.model_artifact); it != producer.end()) from = it->second;
      for (const StepRunRecord& run : runs) {
        if (from.empty() && run.step_type == "RegisterModel") from = "step:" + run.step_name;
      }
      if (!from.empty()) edges.push_back({{"from", from}, {"to", node}});
    }
  }
  if (!models.empty()) {
    ASSIGN_OR_RETURN(std::vector<serving::EndpointConfig> endpoints, context.endpoints->List());
    for (const serving::EndpointConfig& endpoint : endpoints) {
      for (const serving::VariantConfig& variant : endpoint.variants) {
        for (const auto& [group, version] : models) {
          if (variant.group != group || variant.version != version) continue;
          const std::string node = "endpoint:" + endpoint.name;
          add_node(node, "Endpoint", endpoint.name, {{"port", endpoint.port}});
          edges.push_back({{"from", "model:" + group + "/" + std::to_string(version)},
                           {"to", node},
                           {"variant", variant.name}});
        }
      }
    }
  }
  return json{{"PipelineExecutionId", execution.id}, {"nodes", nodes}, {"edges", edges}};
}

}  // namespace

ExecutionLauncher::~ExecutionLauncher() { StopAll(); }

void ExecutionLauncher::Launch(const std::string& execution_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return;
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([engine = engine_, execution_id, done] {
    Result<ExecutionRecord> finished = engine->RunExecution(execution_id);
    if (!finished.ok()) {
      RAYPIPE_LOG(Warning) << "studio: execution " << execution_id << ": "
                           << finished.status().ToString();
    }
    done->store(true);
  });
  runs_.push_back({execution_id, std::move(done), std::move(thread)});
}

void ExecutionLauncher::StopAll() {
  std::vector<Run> runs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    runs.swap(runs_);
  }
  for (const Run& run : runs) {
    if (run.done->load()) continue;
    Result<ExecutionRecord> record = engine_->store().GetExecution(run.execution_id);
    if (record.ok() && !pipeline::IsTerminalExecutionStatus(record->status)) {
      engine_->RequestStop(run.execution_id).IgnoreError();
    }
  }
  for (Run& run : runs) run.thread.join();
}

Status AddPipelineRoutes(Router& router, const ApiContext& context) {
  pipeline::Engine& engine = context.host->engine();
  pipeline::ExecutionStore& store = engine.store();

  RETURN_IF_ERROR(router.Add({"GET", "/api/pipelines", "List pipelines with their last execution",
                              {}, false, [&store](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<pipeline::PipelineRecord> pipelines, store.ListPipelines());
    json items = json::array();
    for (const auto& p : pipelines) {
      json item = {{"PipelineName", p.name}, {"SourceName", p.source_name},
                   {"CreatedTime", p.created_time}, {"LastModifiedTime", p.updated_time},
                   {"LastExecution", nullptr}};
      ASSIGN_OR_RETURN(std::vector<ExecutionRecord> last, store.ListExecutions(p.name, 1));
      if (!last.empty()) {
        item["LastExecution"] = {{"PipelineExecutionId", last.front().id},
                                 {"PipelineExecutionStatus", last.front().status},
                                 {"StartTime", last.front().start_time}};
      }
      items.push_back(std::move(item));
    }
    return ApiResponse{200, {{"pipelines", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/pipelines/{name}",
                              "A pipeline: its definition text, parameters and DAG", {}, false,
                              [&engine, &store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(pipeline::PipelineRecord p, store.GetPipeline(request.Param("name")));
    ASSIGN_OR_RETURN(json dag, DagJson(engine, p.definition_text, p.source_name, nullptr));
    json parameters = json::array();
    Result<pipeline::PipelineDefinition> definition =
        engine.Load(p.definition_text, p.source_name);
    if (definition.ok()) {
      for (const auto& parameter : definition->parameters) {
        parameters.push_back({{"Name", parameter.name},
                              {"Type", std::string(pipeline::ParameterTypeName(parameter.type))},
                              {"DefaultValue", parameter.default_value.value_or(json())}});
      }
    }
    return ApiResponse{200, {{"PipelineName", p.name}, {"SourceName", p.source_name},
                             {"PipelineDirectory", p.pipeline_dir},
                             {"DefinitionText", p.definition_text},
                             {"CreatedTime", p.created_time},
                             {"LastModifiedTime", p.updated_time},
                             {"Parameters", std::move(parameters)}, {"dag", std::move(dag)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"POST", "/api/pipelines/{name}/executions",
                              "Start an execution of a stored pipeline; body {\"parameters\": "
                              "{NAME: VALUE}}; it runs in the studio process",
                              {}, true,
                              [&engine, &store, launcher = context.launcher](
                                  const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(json body, request.JsonBody());
    ASSIGN_OR_RETURN(pipeline::PipelineRecord p, store.GetPipeline(request.Param("name")));
    pipeline::StartRequest start;
    start.definition_text = p.definition_text;
    start.source_name = p.source_name;
    start.pipeline_dir = p.pipeline_dir;
    ASSIGN_OR_RETURN(start.parameters, ParameterOverrides(body));
    ASSIGN_OR_RETURN(std::string id, engine.StartExecution(start));
    launcher->Launch(id);
    ASSIGN_OR_RETURN(ExecutionRecord record, store.GetExecution(id));
    return ApiResponse{201, ExecutionJson(record)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions", "List executions, newest first",
                              {{"pipeline", "only this pipeline's executions"},
                               {"limit", "at most this many (1-10000, default 100)"}},
                              false, [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(int64_t limit, request.QueryInt("limit", 100, 1, 10000));
    ASSIGN_OR_RETURN(std::vector<ExecutionRecord> executions,
                     store.ListExecutions(request.Query("pipeline"), limit));
    json items = json::array();
    for (const ExecutionRecord& e : executions) {
      json item = ExecutionJson(e);
      item.erase("Parameters");
      items.push_back(std::move(item));
    }
    return ApiResponse{200, {{"executions", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions/{id}",
                              "An execution with its step runs and its DAG colored by status",
                              {}, false,
                              [&engine, &store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(ExecutionRecord e, store.GetExecution(request.Param("id")));
    ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store.ListStepRuns(e.id));
    json body = ExecutionJson(e);
    json steps = json::array();
    for (const StepRunRecord& run : runs) steps.push_back(StepRunJson(run));
    body["steps"] = std::move(steps);
    Result<json> dag = DagJson(engine, e.definition_text, e.source_name, &runs);
    body["dag"] = dag.ok() ? *dag : json{{"nodes", json::array()}, {"edges", json::array()},
                                         {"error", std::string(dag.status().message())}};
    return ApiResponse{200, std::move(body)};
  }}));

  RETURN_IF_ERROR(router.Add({"POST", "/api/executions/{id}/stop",
                              "Ask a running execution to stop", {}, true,
                              [&engine, &store](const ApiRequest& request) -> Result<ApiResponse> {
    const std::string& id = request.Param("id");
    RETURN_IF_ERROR(engine.RequestStop(id));
    ASSIGN_OR_RETURN(ExecutionRecord record, store.GetExecution(id));
    return ApiResponse{202, ExecutionJson(record)};
  }}));

  RETURN_IF_ERROR(router.Add({"POST", "/api/executions/{id}/retry",
                              "Rerun the failed or stopped steps of an execution (same id) in the "
                              "studio process", {}, true,
                              [&engine, &store, launcher = context.launcher](
                                  const ApiRequest& request) -> Result<ApiResponse> {
    const std::string& id = request.Param("id");
    RETURN_IF_ERROR(engine.PrepareRetry(id));
    launcher->Launch(id);
    ASSIGN_OR_RETURN(ExecutionRecord record, store.GetExecution(id));
    return ApiResponse{202, ExecutionJson(record)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions/{id}/steps",
                              "The step runs of an execution, in start order", {}, false,
                              [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(ExecutionRecord e, store.GetExecution(request.Param("id")));
    ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store.ListStepRuns(e.id));
    json steps = json::array();
    for (const StepRunRecord& run : runs) steps.push_back(StepRunJson(run));
    return ApiResponse{200, {{"PipelineExecutionId", e.id}, {"steps", std::move(steps)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions/{id}/steps/{step}",
                              "A step run: arguments, properties, metrics, attempts and the "
                              "cache result with its explanation", {}, false,
                              [&engine, &store](const ApiRequest& request) -> Result<ApiResponse> {
    const std::string& id = request.Param("id");
    const std::string& step = request.Param("step");
    ASSIGN_OR_RETURN(StepRunRecord run, FindStepRun(store, id, step));
    ASSIGN_OR_RETURN(ExecutionRecord e, store.GetExecution(id));
    json body = StepRunJson(run);
    body["Arguments"] = StepArguments(engine, e, step);
    body["Properties"] = run.properties;
    json explanation = run.cache_explain;
    if (!run.cache_key.empty()) {
      // What changed since the step's previous run in this pipeline (as explain-cache says).
      Result<std::vector<ExecutionRecord>> executions = store.ListExecutions(e.pipeline_name, 200);
      if (executions.ok()) {
        for (const ExecutionRecord& other : *executions) {
          if (other.id == id || other.start_time > e.start_time) continue;
          Result<std::optional<StepRunRecord>> previous = store.GetStepRun(other.id, step);
          if (!previous.ok() || !previous->has_value() || (*previous)->cache_key.empty()) continue;
          explanation["Previous"] = {
              {"Execution", other.id},
              {"Key", (*previous)->cache_key},
              {"Changes", pipeline::DiffCacheKeyParts(
                              (*previous)->cache_explain.value("Parts", json::object()),
                              run.cache_explain.value("Parts", json::object()))}};
          break;
        }
      }
    }
    body["CacheKey"] = run.cache_key;
    body["CacheExplanation"] = std::move(explanation);
    return ApiResponse{200, std::move(body)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions/{id}/steps/{step}/logs",
                              "The end of a step's log", {{"bytes", "at most this many bytes from "
                                                                    "the end (default 65536)"}},
                              false, [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(int64_t bytes, request.QueryInt("bytes", kDefaultLogBytes, 1, kMaxLogBytes));
    ASSIGN_OR_RETURN(StepRunRecord run,
                     FindStepRun(store, request.Param("id"), request.Param("step")));
    ASSIGN_OR_RETURN(json log, ReadLogTail(run, bytes));
    return ApiResponse{200, std::move(log)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/executions/{id}/lineage",
                              "The lineage graph: data, code and model artifacts, steps, the "
                              "model versions registered and the endpoints serving them",
                              {}, false, [context](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(json graph, LineageGraph(context, request.Param("id")));
    return ApiResponse{200, std::move(graph)};
  }}));
  return Status::Ok();
}

}  // namespace raypipe::studio
