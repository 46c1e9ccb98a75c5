// /api/experiments, /api/runs, /api/compare, /api/tuning-jobs, /api/model-groups,
// /api/endpoints, /api/feature-groups, and the meta routes (/api/health, /api/openapi.json).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiments/compare.h"
#include "serving/http_client.h"
#include "studio/api.h"

namespace raypipe::studio {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultSampleRows = 20;

json NumberOrNull(double value) { return std::isfinite(value) ? json(value) : json(); }

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

Result<int64_t> ParseVersion(const std::string& text) {
  int64_t version = 0;
  if (text.empty() || text.size() > 12) {
    return InvalidArgumentError("model version must be a positive integer, found '" + text + "'");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return InvalidArgumentError("model version must be a positive integer, found '" + text +
                                  "'");
    }
    version = version * 10 + (c - '0');
  }
  if (version < 1) return InvalidArgumentError("model version must be at least 1");
  return version;
}

// The objective a tuning job's trials are compared on: `requested`, else validation:rmse when
// the trials log it, else the first metric they log.
std::string ObjectiveMetric(const std::vector<std::vector<experiments::MetricSummary>>& trials,
                            const std::string& requested) {
  if (!requested.empty()) return requested;
  std::string first;
  for (const auto& summaries : trials) {
    for (const auto& summary : summaries) {
      if (summary.name == "validation:rmse") return summary.name;
      if (first.empty()) first = summary.name;
    }
  }
  return first;
}

// Runs grouped by where they came from: a tuning job is every run of one experiment with the
// same source execution and step, when the source kind is "tuning" or the group has more than
// one run (the trials of a Tuning step).
struct TuningJob {
  std::string experiment;
  std::string execution_id;
  std::string step_name;
  std::vector<experiments::RunRecord> trials;
};

Result<std::vector<TuningJob>> FindTuningJobs(const experiments::ExperimentStore& store) {
  ASSIGN_OR_RETURN(std::vector<experiments::Experiment> all, store.ListExperiments());
  std::vector<TuningJob> jobs;
  for (const experiments::Experiment& experiment : all) {
    ASSIGN_OR_RETURN(std::vector<experiments::RunRecord> runs, store.ListRuns(experiment.name));
    std::map<std::pair<std::string, std::string>, TuningJob> groups;
    std::map<std::pair<std::string, std::string>, bool> tuning_kind;
    for (experiments::RunRecord& run : runs) {
      if (run.source.execution_id.empty()) continue;
      auto key = std::make_pair(run.source.execution_id, run.source.step_name);
      TuningJob& job = groups[key];
      job.experiment = experiment.name;
      job.execution_id = run.source.execution_id;
      job.step_name = run.source.step_name;
      if (run.source.kind == "tuning") tuning_kind[key] = true;
      job.trials.push_back(std::move(run));
    }
    for (auto& [key, job] : groups) {
      if (tuning_kind[key] || job.trials.size() > 1) jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

Result<json> TuningJobJson(const experiments::ExperimentStore& store, const TuningJob& job,
                           const std::string& requested_metric) {
  std::vector<std::vector<experiments::MetricSummary>> summaries;
  for (const auto& trial : job.trials) {
    ASSIGN_OR_RETURN(auto metric_summaries, store.MetricSummaries(trial.run_id));
    summaries.push_back(std::move(metric_summaries));
  }
  const std::string metric = ObjectiveMetric(summaries, requested_metric);
  const experiments::MetricGoal goal = experiments::GoalOf(metric);
  json trials = json::array();
  std::optional<double> best;
  for (size_t index = 0; index < job.trials.size(); ++index) {
    const experiments::RunRecord& trial = job.trials[index];
    std::optional<double> value;
    for (const auto& summary : summaries[index]) {
      if (summary.name == metric && std::isfinite(summary.last)) value = summary.last;
    }
    if (value && (!best || (goal == experiments::MetricGoal::kMaximize ? *value > *best
                                                                        : *value < *best))) {
      best = value;
    }
    trials.push_back({{"index", index},
                      {"run_id", trial.run_id},
                      {"name", trial.name},
                      {"status", std::string(experiments::RunStatusName(trial.status))},
                      {"parameters", trial.parameters},
                      {"objective", value ? json(*value) : json()},
                      {"best_so_far", best ? json(*best) : json()}});
  }
  return json{{"experiment", job.experiment},
              {"execution_id", job.execution_id},
              {"step_name", job.step_name},
              {"objective_metric", metric},
              {"goal", std::string(experiments::MetricGoalName(goal))},
              {"best", best ? json(*best) : json()},
              {"trials", std::move(trials)}};
}

json EndpointJson(const serving::EndpointConfig& config) {
  json variants = json::array();
  double total = 0;
  for (const auto& variant : config.variants) total += variant.weight;
  for (const auto& variant : config.variants) {
    variants.push_back({{"VariantName", variant.name},
                        {"ModelPackageGroupName", variant.group},
                        {"ModelPackageVersion", variant.version},
                        {"Weight", variant.weight},
                        {"TrafficShare", total > 0 ? variant.weight / total : 0.0}});
  }
  return {{"EndpointName", config.name},
          {"Url", "http://" + config.host + ":" + std::to_string(config.port)},
          {"Revision", config.revision},
          {"CreationTime", config.created_at},
          {"LastModifiedTime", config.updated_at},
          {"ProductionVariants", std::move(variants)}};
}

// The endpoint's live /metrics (Prometheus text), when `raypipe serve` is running it.
json LiveMetrics(const serving::EndpointConfig& config) {
  auto client = serving::HttpClient::Connect(config.host, config.port,
                                             std::chrono::milliseconds(500));
  if (!client.ok()) return {{"InService", false}, {"Message", "not being served"}};
  auto response = (*client)->Send("GET", "/metrics");
  if (!response.ok()) {
    return {{"InService", false}, {"Message", std::string(response.status().message())}};
  }
  json samples = json::object();
  size_t start = 0;
  const std::string& text = response->body;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    char* parse_end = nullptr;
    const double value = std::strtod(line.c_str() + space + 1, &parse_end);
    if (parse_end != line.c_str() + space + 1) samples[line.substr(0, space)] = NumberOrNull(value);
  }
  return {{"InService", response->status == 200}, {"Samples", std::move(samples)}};
}

json TableRows(const data::Table& table, size_t limit) {
  json rows = json::array();
  const size_t count = std::min(limit, table.num_rows());
  for (size_t row = 0; row < count; ++row) {
    json object = json::object();
    for (const data::Column& column : table.columns()) {
      if (column.IsNull(row)) {
        object[column.name()] = nullptr;
      } else if (column.type() == data::DataType::kFloat64) {
        object[column.name()] = NumberOrNull(column.float64s()[row]);
      } else if (column.type() == data::DataType::kInt64) {
        object[column.name()] = column.int64s()[row];
      } else {
        object[column.name()] = std::string(column.string(row));
      }
    }
    rows.push_back(std::move(object));
  }
  return rows;
}

}  // namespace

Status AddExperimentRoutes(Router& router, const ApiContext& context) {
  experiments::ExperimentStore& store = *context.experiments;

  RETURN_IF_ERROR(router.Add({"GET", "/api/experiments", "List experiments", {}, false,
                              [&store](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<experiments::Experiment> all, store.ListExperiments());
    json items = json::array();
    for (const auto& experiment : all) items.push_back(experiment.ToJson());
    return ApiResponse{200, {{"experiments", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/experiments/{name}/runs",
                              "The runs of an experiment with their final metric values", {},
                              false, [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<experiments::RunRecord> runs,
                     store.ListRuns(request.Param("name")));
    json items = json::array();
    for (const auto& run : runs) {
      json item = run.ToJson();
      ASSIGN_OR_RETURN(auto summaries, store.MetricSummaries(run.run_id));
      json metrics = json::object();
      for (const auto& summary : summaries) metrics[summary.name] = NumberOrNull(summary.last);
      item["final_metrics"] = std::move(metrics);
      items.push_back(std::move(item));
    }
    return ApiResponse{200, {{"experiment", request.Param("name")}, {"runs", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/runs/{id}", "A run with its metric summaries", {},
                              false, [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(experiments::RunRecord run, store.DescribeRun(request.Param("id")));
    ASSIGN_OR_RETURN(auto summaries, store.MetricSummaries(run.run_id));
    json body = run.ToJson();
    json metrics = json::array();
    for (const auto& summary : summaries) {
      metrics.push_back({{"name", summary.name}, {"count", summary.count},
                         {"last_step", summary.last_step}, {"last", NumberOrNull(summary.last)},
                         {"min", NumberOrNull(summary.min)}, {"max", NumberOrNull(summary.max)}});
    }
    body["metrics"] = std::move(metrics);
    return ApiResponse{200, std::move(body)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/runs/{id}/metrics/{metric}",
                              "One metric's series over steps (iterations)", {}, false,
                              [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(experiments::RunRecord run, store.DescribeRun(request.Param("id")));
    ASSIGN_OR_RETURN(std::vector<experiments::MetricPoint> points,
                     store.MetricSeries(run.run_id, request.Param("metric")));
    json items = json::array();
    for (const auto& point : points) {
      items.push_back({{"step", point.step}, {"value", NumberOrNull(point.value)},
                       {"time", point.time}});
    }
    return ApiResponse{200, {{"run_id", run.run_id}, {"metric", request.Param("metric")},
                             {"points", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/compare",
                              "Runs side by side: parameters and final metrics, best marked",
                              {{"runs", "comma-separated run ids"}}, false,
                              [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(experiments::RunComparison comparison,
                     experiments::CompareRuns(store, SplitCommas(request.Query("runs"))));
    return ApiResponse{200, comparison.ToJson()};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/tuning-jobs",
                              "Tuning jobs: trials grouped by the execution and step that ran "
                              "them", {}, false, [&store](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<TuningJob> jobs, FindTuningJobs(store));
    json items = json::array();
    for (const TuningJob& job : jobs) {
      items.push_back({{"experiment", job.experiment}, {"execution_id", job.execution_id},
                       {"step_name", job.step_name}, {"trial_count", job.trials.size()}});
    }
    return ApiResponse{200, {{"tuning_jobs", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/tuning-jobs/{execution}/{step}",
                              "A tuning job's trials in order with the objective and the best "
                              "so far (the convergence curve)",
                              {{"metric", "the objective metric (default validation:rmse, else "
                                          "the first metric logged)"}},
                              false, [&store](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<TuningJob> jobs, FindTuningJobs(store));
    for (const TuningJob& job : jobs) {
      if (job.execution_id == request.Param("execution") &&
          job.step_name == request.Param("step")) {
        ASSIGN_OR_RETURN(json body, TuningJobJson(store, job, request.Query("metric")));
        return ApiResponse{200, std::move(body)};
      }
    }
    return NotFoundError("no tuning job of step '" + request.Param("step") + "' in execution " +
                         request.Param("execution"));
  }}));
  return Status::Ok();
}

Status AddRegistryRoutes(Router& router, const ApiContext& context) {
  registry::ModelRegistry& models = *context.registry;
  serving::EndpointStore& endpoints = *context.endpoints;
  featurestore::FeatureStore& features = *context.features;

  RETURN_IF_ERROR(router.Add({"GET", "/api/model-groups", "Model package groups", {}, false,
                              [&models](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<registry::ModelPackageGroup> groups, models.ListGroups());
    json items = json::array();
    for (const auto& group : groups) items.push_back(group.ToJson());
    return ApiResponse{200, {{"model_package_groups", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/model-groups/{group}/versions",
                              "The versions of a model package group",
                              {{"status", "only versions with this approval status"}}, false,
                              [&models](const ApiRequest& request) -> Result<ApiResponse> {
    std::optional<registry::ApprovalStatus> status;
    if (!request.Query("status").empty()) {
      ASSIGN_OR_RETURN(status, registry::ParseApprovalStatus(request.Query("status")));
    }
    ASSIGN_OR_RETURN(std::vector<registry::ModelPackage> versions,
                     models.ListVersions(request.Param("group"), status));
    json items = json::array();
    for (const auto& version : versions) items.push_back(version.ToJson());
    return ApiResponse{200, {{"ModelPackageGroupName", request.Param("group")},
                             {"versions", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/model-groups/{group}/versions/{version}",
                              "One model package version", {}, false,
                              [&models](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(int64_t version, ParseVersion(request.Param("version")));
    ASSIGN_OR_RETURN(registry::ModelPackage package,
                     models.Describe(request.Param("group"), version));
    return ApiResponse{200, package.ToJson()};
  }}));

  for (const auto& [action, status] :
       {std::pair{"approve", registry::ApprovalStatus::kApproved},
        std::pair{"reject", registry::ApprovalStatus::kRejected}}) {
    RETURN_IF_ERROR(router.Add(
        {"POST", std::string("/api/model-groups/{group}/versions/{version}/") + action,
         std::string(action == std::string("approve") ? "Approve" : "Reject") +
             " a model package version; body {\"description\": TEXT}",
         {}, true,
         [&models, status = status](const ApiRequest& request) -> Result<ApiResponse> {
           ASSIGN_OR_RETURN(json body, request.JsonBody());
           std::string description;
           if (body.contains("description")) {
             if (!body["description"].is_string()) {
               return InvalidArgumentError("field 'description' must be a string");
             }
             description = body["description"].get<std::string>();
           }
           ASSIGN_OR_RETURN(int64_t version, ParseVersion(request.Param("version")));
           ASSIGN_OR_RETURN(registry::ModelPackage package,
                            models.UpdateApprovalStatus(request.Param("group"), version, status,
                                                        description));
           return ApiResponse{200, package.ToJson()};
         }}));
  }

  RETURN_IF_ERROR(router.Add({"GET", "/api/endpoints", "Endpoints and their variants", {}, false,
                              [&endpoints](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<serving::EndpointConfig> all, endpoints.List());
    json items = json::array();
    for (const auto& config : all) items.push_back(EndpointJson(config));
    return ApiResponse{200, {{"endpoints", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/endpoints/{name}",
                              "An endpoint with its variants, weights and live request metrics "
                              "(from its /metrics when it is being served)", {}, false,
                              [&endpoints](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(serving::EndpointConfig config, endpoints.Get(request.Param("name")));
    json body = EndpointJson(config);
    body["Live"] = LiveMetrics(config);
    return ApiResponse{200, std::move(body)};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/feature-groups",
                              "Feature groups with their record counts", {}, false,
                              [&features](const ApiRequest&) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(std::vector<featurestore::GroupInfo> groups, features.ListGroups());
    json items = json::array();
    for (const auto& group : groups) {
      ASSIGN_OR_RETURN(featurestore::GroupStats stats, features.Stats(group));
      items.push_back({{"FeatureGroupName", group.definition.name},
                       {"CreationTime", group.created_at},
                       {"FeatureCount", group.definition.features.size()},
                       {"OnlineRecords", stats.online_records},
                       {"OfflineRows", stats.offline_rows}});
    }
    return ApiResponse{200, {{"feature_groups", std::move(items)}}};
  }}));

  RETURN_IF_ERROR(router.Add({"GET", "/api/feature-groups/{name}",
                              "A feature group: schema, record counts and a sample of the "
                              "offline store", {{"sample", "rows in the sample (0-1000, default 20)"}},
                              false, [&features](const ApiRequest& request) -> Result<ApiResponse> {
    ASSIGN_OR_RETURN(int64_t sample_rows, request.QueryInt("sample", kDefaultSampleRows, 0, 1000));
    ASSIGN_OR_RETURN(featurestore::GroupInfo group, features.DescribeGroup(request.Param("name")));
    ASSIGN_OR_RETURN(featurestore::GroupStats stats, features.Stats(group));
    json body = featurestore::ToJson(group.definition);
    body["CreationTime"] = group.created_at;
    body["OnlineRecords"] = stats.online_records;
    body["OfflineRows"] = stats.offline_rows;
    body["OfflineFiles"] = stats.offline_files;
    json sample = json::array();
    if (sample_rows > 0 && group.definition.offline_enabled && stats.offline_rows > 0) {
      ASSIGN_OR_RETURN(data::Table table, features.ReadOffline(group.definition.name));
      sample = TableRows(table, static_cast<size_t>(sample_rows));
    }
    body["Sample"] = std::move(sample);
    return ApiResponse{200, std::move(body)};
  }}));
  return Status::Ok();
}

Status AddMetaRoutes(Router& router) {
  RETURN_IF_ERROR(router.Add({"GET", "/api/health", "Liveness and whether a token is required",
                              {}, false, [&router](const ApiRequest&) -> Result<ApiResponse> {
    return ApiResponse{200, {{"status", "ok"}, {"token_required", router.token_required()}}};
  }}));
  return router.Add({"GET", "/api/openapi.json", "This document (OpenAPI 3.0)", {}, false,
                     [&router](const ApiRequest&) -> Result<ApiResponse> {
                       return ApiResponse{200, OpenApiDocument(router)};
                     }});
}

json OpenApiDocument(const Router& router) {
  json paths = json::object();
  for (const Route& route : router.routes()) {
    json parameters = json::array();
    size_t start = 0;
    while ((start = route.pattern.find('{', start)) != std::string::npos) {
      const size_t end = route.pattern.find('}', start);
      parameters.push_back({{"name", route.pattern.substr(start + 1, end - start - 1)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
      start = end;
    }
    for (const auto& [name, description] : route.query_params) {
      parameters.push_back({{"name", name},
                            {"in", "query"},
                            {"required", false},
                            {"description", description},
                            {"schema", {{"type", "string"}}}});
    }
    json error = {{"description", "an error"},
                  {"content",
                   {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    json operation = {{"summary", route.summary},
                      {"parameters", std::move(parameters)},
                      {"responses",
                       {{"200", {{"description", "OK"},
                                 {"content", {{"application/json",
                                               {{"schema", {{"type", "object"}}}}}}}}},
                        {"default", error}}}};
    if (route.method == "POST") {
      operation["requestBody"] = {
          {"required", false},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    }
    if (route.changes_state) operation["security"] = json::array({{{"bearer", json::array()}}});
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    paths[route.pattern][method] = std::move(operation);
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "raypipe studio API"},
            {"version", "1"},
            {"description", "Pipelines, executions, lineage, experiments, tuning jobs, the model "
                            "registry, endpoints and feature groups of one RAYPIPE_HOME. Calls "
                            "that change state need a bearer token when the studio has one."}}},
          {"paths", std::move(paths)},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"properties", {{"code", {{"type", "string"}}},
                                    {"message", {{"type", "string"}}}}}}}}}}}}}}}};
}

}  // namespace raypipe::studio
