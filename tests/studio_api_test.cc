// The studio's REST API over real HTTP on loopback: a Studio started in-process on a free port
// over a temporary RAYPIPE_HOME, driven with serving::HttpClient.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "experiments/experiment_store.h"
#include "featurestore/feature_store.h"
#include "pipeline/engine/host.h"
#include "registry/model_registry.h"
#include "serving/endpoint_store.h"
#include "serving/http_client.h"
#include "studio/studio.h"

namespace raypipe::studio {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kPipeline = R"Y(
Version: "2020-12-01"
Metadata: {Name: studio-demo}
Parameters:
  - {Name: Greeting, Type: String, DefaultValue: hello}
Steps:
  - Name: Make
    Type: Command
    DisplayName: "<script>alert(1)</script>"
    Arguments:
      Command: ["sh", "-c", "echo \"$0\" > \"$RAYPIPE_OUTPUT_DATA/greeting.txt\"; echo '<b>x</b> rmse=1.5'", {Get: Parameters.Greeting}]
      Outputs: [{OutputName: data}]
      MetricDefinitions: [{Name: "validation:rmse", Regex: "rmse=([0-9.]+)"}]
  - Name: Use
    Type: Command
    Arguments:
      Command: ["sh", "-c", "cat \"$0/greeting.txt\"", {Get: Steps.Make.Outputs.data}]
)Y";

constexpr const char* kSlowPipeline = R"Y(
Version: "2020-12-01"
Metadata: {Name: studio-slow}
Steps:
  - Name: Slow
    Type: Command
    Arguments: {Command: ["sleep", "30"]}
)Y";

constexpr const char* kToken = "t0ken-for-tests";

class StudioApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "raypipe-studio-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    home_ = dir_ + "/home";
    Upsert(kPipeline, "pipeline.yaml");
    Upsert(kSlowPipeline, "slow.yaml");
  }
  void TearDown() override {
    if (studio_) studio_->Shutdown();
    studio_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void Upsert(const std::string& text, const std::string& file) {
    std::ofstream(dir_ + "/" + file) << text;
    pipeline::EngineHostOptions options;
    options.home = home_;
    auto host = pipeline::EngineHost::Open(options);
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    auto definition = (*host)->engine().Load(text, file);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    pipeline::PipelineRecord record{definition->name, file, dir_, text, "", ""};
    ASSERT_TRUE((*host)->engine().store().UpsertPipeline(record, (*host)->engine().Now()).ok());
  }

  void StartStudio(std::string token = "") {
    StudioOptions options;
    options.host_options.home = home_;
    options.host_options.poll_interval = std::chrono::milliseconds(20);
    options.host_options.command_stop_grace = std::chrono::milliseconds(200);
    options.port = 0;
    options.auth_token = std::move(token);
    auto studio = Studio::Start(std::move(options));
    ASSERT_TRUE(studio.ok()) << studio.status().ToString();
    studio_ = std::move(*studio);
  }

  serving::HttpClientResponse Call(const std::string& method, const std::string& target,
                                   const std::string& body = "", const std::string& token = "") {
    auto client = serving::HttpClient::Connect("127.0.0.1", studio_->port());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return {};
    std::vector<std::pair<std::string, std::string>> headers;
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    auto response = (*client)->Send(method, target, headers, body);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? *response : serving::HttpClientResponse{};
  }

  json Json(const std::string& method, const std::string& target, int expected_status,
            const std::string& body = "", const std::string& token = "") {
    serving::HttpClientResponse response = Call(method, target, body, token);
    EXPECT_EQ(response.status, expected_status) << method << " " << target << ": " << response.body;
    EXPECT_EQ(response.Header("content-type"), "application/json") << target;
    json parsed = json::parse(response.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << response.body;
    return parsed;
  }

  // Asks for a stop until the execution is Stopped (at most 60 s): a stop that lands while the
  // orchestrator is still claiming the execution is cleared by the claim, so it is repeated.
  void StopAndWait(const std::string& id) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      json execution = Json("GET", "/api/executions/" + id, 200);
      const std::string status = execution["PipelineExecutionStatus"];
      if (status == "Stopped") return;
      if (status == "Executing") {
        const int code = Call("POST", "/api/executions/" + id + "/stop").status;
        EXPECT_TRUE(code == 202 || code == 409) << code;
      }
      ASSERT_NE(status, "Succeeded") << "the stop was lost: " << execution.dump();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "execution " << id << " never stopped";
  }

  // Polls until the execution's status is `status` (at most 60 s; not a timing assertion).
  json WaitFor(const std::string& id, const std::string& status) {
    json execution;
    for (int attempt = 0; attempt < 3000; ++attempt) {
      execution = Json("GET", "/api/executions/" + id, 200);
      if (execution["PipelineExecutionStatus"] == status) return execution;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "execution " << id << " never became " << status << ": " << execution.dump();
    return execution;
  }

  std::string dir_;
  std::string home_;
  std::unique_ptr<Studio> studio_;
};

TEST_F(StudioApiTest, ServesTheUiWithAStrictContentSecurityPolicy) {
  StartStudio();
  serving::HttpClientResponse page = Call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(std::string(page.Header("content-type")), HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("app.js"));
  EXPECT_THAT(std::string(page.Header("content-security-policy")), HasSubstr("script-src 'self'"));
  serving::HttpClientResponse script = Call("GET", "/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_THAT(std::string(script.Header("content-type")), HasSubstr("text/javascript"));
  for (const char* bad : {"/../CMakeLists.txt", "/nothing.js", "/.hidden", "/a%2e%2e/x"}) {
    EXPECT_EQ(Call("GET", bad).status, 404) << bad;
  }
  EXPECT_EQ(Call("POST", "/index.html", "{}").status, 405);
}

TEST_F(StudioApiTest, OpenApiDescribesEveryRoute) {
  StartStudio();
  json document = Json("GET", "/api/openapi.json", 200);
  EXPECT_EQ(document["openapi"], "3.0.3");
  const json& paths = document["paths"];
  for (const char* path :
       {"/api/pipelines", "/api/pipelines/{name}", "/api/pipelines/{name}/executions",
        "/api/executions", "/api/executions/{id}", "/api/executions/{id}/stop",
        "/api/executions/{id}/retry", "/api/executions/{id}/steps/{step}",
        "/api/executions/{id}/steps/{step}/logs", "/api/executions/{id}/lineage",
        "/api/experiments", "/api/runs/{id}/metrics/{metric}", "/api/compare",
        "/api/tuning-jobs/{execution}/{step}", "/api/model-groups/{group}/versions/{version}/approve",
        "/api/endpoints/{name}", "/api/feature-groups/{name}"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_TRUE(paths["/api/pipelines/{name}/executions"]["post"].contains("security"));
  EXPECT_FALSE(paths["/api/pipelines"]["get"].contains("security"));
}

TEST_F(StudioApiTest, StartsAnExecutionAndShowsItsStepsLogsCacheAndLineage) {
  StartStudio();
  json pipelines = Json("GET", "/api/pipelines", 200);
  ASSERT_EQ(pipelines["pipelines"].size(), 2u);
  json pipeline = Json("GET", "/api/pipelines/studio-demo", 200);
  EXPECT_EQ(pipeline["Parameters"][0]["Name"], "Greeting");
  EXPECT_EQ(pipeline["dag"]["edges"][0], (json{{"from", "Make"}, {"to", "Use"},
                                                {"kind", "Reference"}}));

  json started = Json("POST", "/api/pipelines/studio-demo/executions", 201,
                      R"({"parameters": {"Greeting": "bonjour"}})");
  const std::string id = started["PipelineExecutionId"];
  json done = WaitFor(id, "Succeeded");
  EXPECT_EQ(done["Parameters"]["Greeting"], "bonjour");
  ASSERT_EQ(done["dag"]["nodes"].size(), 2u);
  for (const json& node : done["dag"]["nodes"]) EXPECT_EQ(node["status"], "Succeeded") << node;
  EXPECT_EQ(done["dag"]["nodes"][0]["display_name"], "<script>alert(1)</script>");
  EXPECT_EQ(done["steps"].size(), 2u);

  json make = Json("GET", "/api/executions/" + id + "/steps/Make", 200);
  EXPECT_EQ(make["StepStatus"], "Succeeded");
  EXPECT_EQ(make["Arguments"]["Command"][0], "sh");
  EXPECT_DOUBLE_EQ(make["Metrics"]["validation:rmse"].get<double>(), 1.5);
  EXPECT_FALSE(make["CacheExplanation"].empty()) << make.dump();
  json log = Json("GET", "/api/executions/" + id + "/steps/Use/logs", 200);
  EXPECT_THAT(log["text"].get<std::string>(), HasSubstr("bonjour"));
  json tail = Json("GET", "/api/executions/" + id + "/steps/Use/logs?bytes=3", 200);
  EXPECT_EQ(tail["text"].get<std::string>().size(), 3u);
  EXPECT_TRUE(tail["truncated"].get<bool>());

  // A model version registered by this execution and an endpoint serving it join the lineage.
  {
    pipeline::EngineHostOptions options;
    options.home = home_;
    auto host = pipeline::EngineHost::Open(options);
    ASSERT_TRUE(host.ok());
    auto models = registry::ModelRegistry::Open(&(*host)->metadata());
    ASSERT_TRUE(models.ok());
    registry::RegisterRequest request;
    request.group = "housing";
    request.model_artifact = "sha256:" + std::string(64, 'a');
    request.lineage.execution_id = id;
    ASSERT_TRUE((*models)->RegisterVersion(request).ok());
    auto endpoints = serving::EndpointStore::Open(&(*host)->metadata());
    ASSERT_TRUE(endpoints.ok());
    serving::EndpointConfig endpoint;
    endpoint.name = "housing-prod";
    endpoint.port = 1;  // nothing listens there: "not being served"
    endpoint.variants = {{"AllTraffic", "housing", 1, 1.0}};
    ASSERT_TRUE((*endpoints)->Create(endpoint).ok());
  }
  json lineage = Json("GET", "/api/executions/" + id + "/lineage", 200);
  std::set<std::string> kinds;
  for (const json& node : lineage["nodes"]) kinds.insert(node["kind"].get<std::string>());
  EXPECT_TRUE(kinds.count("Step"));
  EXPECT_TRUE(kinds.count("ModelPackage")) << lineage.dump();
  EXPECT_TRUE(kinds.count("Endpoint")) << lineage.dump();
  json endpoint = Json("GET", "/api/endpoints/housing-prod", 200);
  EXPECT_FALSE(endpoint["Live"]["InService"].get<bool>());
  EXPECT_EQ(endpoint["ProductionVariants"][0]["TrafficShare"], 1.0);

  json list = Json("GET", "/api/executions?pipeline=studio-demo", 200);
  ASSERT_EQ(list["executions"].size(), 1u);
  EXPECT_EQ(list["executions"][0]["PipelineExecutionId"], id);
}

TEST_F(StudioApiTest, StopsAndRetriesAnExecution) {
  StartStudio();
  json started = Json("POST", "/api/pipelines/studio-slow/executions", 201);
  const std::string id = started["PipelineExecutionId"];
  StopAndWait(id);
  // A stopped execution cannot be stopped again; it can be retried under the same id.
  json again = Json("POST", "/api/executions/" + id + "/stop", 409);
  EXPECT_EQ(again["error"]["code"], "FailedPrecondition");
  json retried = Json("POST", "/api/executions/" + id + "/retry", 202);
  EXPECT_EQ(retried["PipelineExecutionStatus"], "Executing");
  StopAndWait(id);
  // The stop may land before the step starts (no step record) or while it runs (Stopped);
  // never does the step succeed.
  json steps = Json("GET", "/api/executions/" + id + "/steps", 200);
  ASSERT_LE(steps["steps"].size(), 1u);
  for (const json& step : steps["steps"]) EXPECT_EQ(step["StepStatus"], "Stopped");
}

TEST_F(StudioApiTest, ErrorsAreJsonWithStatusCodes) {
  StartStudio();
  EXPECT_EQ(Json("GET", "/api/executions/exec-nope", 404)["error"]["code"], "NotFound");
  EXPECT_EQ(Json("GET", "/api/pipelines/nope", 404)["error"]["code"], "NotFound");
  EXPECT_EQ(Json("GET", "/api/unknown", 404)["error"]["code"], "NotFound");
  Json("POST", "/api/pipelines/studio-demo/executions", 400, "{broken");
  Json("POST", "/api/pipelines/studio-demo/executions", 400, R"({"parameters": {"Nope": "1"}})");
  Json("POST", "/api/pipelines/studio-demo/executions", 400, R"({"parameters": [1]})");
  Json("GET", "/api/executions?limit=0", 400);
  Json("GET", "/api/model-groups/housing/versions/abc", 400);
  Json("GET", "/api/model-groups/nope/versions", 404);
  Json("DELETE", "/api/pipelines", 405);
}

TEST_F(StudioApiTest, TokenGuardsChangesAndApprovalWorks) {
  {
    pipeline::EngineHostOptions options;
    options.home = home_;
    auto host = pipeline::EngineHost::Open(options);
    ASSERT_TRUE(host.ok());
    auto models = registry::ModelRegistry::Open(&(*host)->metadata());
    ASSERT_TRUE(models.ok());
    registry::RegisterRequest request;
    request.group = "housing";
    request.model_artifact = "sha256:" + std::string(64, 'b');
    ASSERT_TRUE((*models)->RegisterVersion(request).ok());
  }
  StartStudio(kToken);
  EXPECT_TRUE(Json("GET", "/api/health", 200)["token_required"].get<bool>());
  const std::string approve = "/api/model-groups/housing/versions/1/approve";
  EXPECT_EQ(Call("POST", approve, R"({"description": "ok"})").status, 401);
  EXPECT_EQ(Call("POST", approve, R"({"description": "ok"})", "wrong").status, 403);
  EXPECT_EQ(Call("POST", "/api/pipelines/studio-demo/executions", "{}").status, 401);
  json versions = Json("GET", "/api/model-groups/housing/versions", 200);  // reads need none
  EXPECT_EQ(versions["versions"][0]["ModelApprovalStatus"], "PendingManualApproval");
  json approved = Json("POST", approve, 200, R"({"description": "<b>looks good</b>"})", kToken);
  EXPECT_EQ(approved["ModelApprovalStatus"], "Approved");
  EXPECT_EQ(approved["ApprovalDescription"], "<b>looks good</b>");
  json rejected = Json("POST", "/api/model-groups/housing/versions/1/reject", 200, "{}", kToken);
  EXPECT_EQ(rejected["ModelApprovalStatus"], "Rejected");
}

TEST_F(StudioApiTest, ExperimentsTuningJobsAndFeatureGroups) {
  {
    pipeline::EngineHostOptions options;
    options.home = home_;
    auto host = pipeline::EngineHost::Open(options);
    ASSERT_TRUE(host.ok());
    auto store = experiments::ExperimentStore::Open(&(*host)->metadata());
    ASSERT_TRUE(store.ok());
    const double finals[] = {3.0, 2.0, 2.5};
    for (int trial = 0; trial < 3; ++trial) {
      experiments::CreateRunRequest request;
      request.experiment = "housing";
      request.source = {"tuning", "exec-1", "Tune"};
      request.parameters = {{"max_depth", trial + 3}};
      auto run = (*store)->CreateRun(request);
      ASSERT_TRUE(run.ok());
      std::vector<experiments::MetricPoint> points = {
          {"validation:rmse", 0, finals[trial] + 1, ""}, {"validation:rmse", 1, finals[trial], ""}};
      ASSERT_TRUE((*store)->LogMetrics(run->run_id, points).ok());
    }
    featurestore::FeatureStoreOptions feature_options;
    feature_options.home = home_;
    auto features = featurestore::FeatureStore::Open(feature_options);
    ASSERT_TRUE(features.ok());
    auto definition = featurestore::LoadDefinition(R"({"FeatureGroupName": "houses",
      "RecordIdentifierFeatureName": "id", "EventTimeFeatureName": "t",
      "FeatureDefinitions": [{"FeatureName": "id", "FeatureType": "Integral"},
                             {"FeatureName": "t", "FeatureType": "Fractional"}],
      "OnlineStoreConfig": {"EnableOnlineStore": true}, "OfflineStoreConfig": {}})");
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    ASSERT_TRUE((*features)->CreateGroup(*definition).ok());
  }
  StartStudio();
  EXPECT_EQ(Json("GET", "/api/experiments", 200)["experiments"][0]["ExperimentName"], "housing");
  json runs = Json("GET", "/api/experiments/housing/runs", 200)["runs"];
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1]["final_metrics"]["validation:rmse"], 2.0);
  const std::string first = runs[0]["RunId"], second = runs[1]["RunId"];
  json series = Json("GET", "/api/runs/" + first + "/metrics/validation%3Armse", 200);
  ASSERT_EQ(series["points"].size(), 2u);
  EXPECT_EQ(series["points"][0]["value"], 4.0);
  json comparison = Json("GET", "/api/compare?runs=" + first + "," + second, 200);
  EXPECT_EQ(comparison["metrics"][0]["best"], second);
  Json("GET", "/api/compare?runs=", 400);

  json jobs = Json("GET", "/api/tuning-jobs", 200)["tuning_jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["trial_count"], 3);
  json job = Json("GET", "/api/tuning-jobs/exec-1/Tune", 200);
  EXPECT_EQ(job["objective_metric"], "validation:rmse");
  std::vector<double> best;
  for (const json& trial : job["trials"]) best.push_back(trial["best_so_far"].get<double>());
  EXPECT_EQ(best, (std::vector<double>{3.0, 2.0, 2.0}));
  Json("GET", "/api/tuning-jobs/exec-1/Nope", 404);

  json groups = Json("GET", "/api/feature-groups", 200)["feature_groups"];
  ASSERT_EQ(groups.size(), 1u);
  json group = Json("GET", "/api/feature-groups/houses", 200);
  EXPECT_EQ(group["FeatureDefinitions"].size(), 2u);
  EXPECT_EQ(group["OfflineRows"], 0);
  Json("GET", "/api/feature-groups/nope", 404);
}

TEST(StudioOptionsTest, BindsLoopbackByDefault) {
  StudioOptions options;
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 8000);
}

TEST(StudioStartTest, MissingUiFolderIsNotFound) {
  StudioOptions options;
  options.host_options.home = (fs::temp_directory_path() / "raypipe-studio-noui").string();
  options.ui_dir = "/nonexistent/ui";
  options.port = 0;
  auto studio = Studio::Start(std::move(options));
  EXPECT_EQ(studio.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(studio.status().message()), HasSubstr("/nonexistent/ui"));
}

}  // namespace
}  // namespace raypipe::studio
