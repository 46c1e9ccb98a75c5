// The studio on loopback with 1,000 executions in the store (issue 9: pages and API answers
// under 200 ms). Fills a temporary RAYPIPE_HOME through the ExecutionStore (a 6-step pipeline,
// 1,000 executions of it with their step runs and lineage), starts the studio in-process on a
// free port and times each request from a keep-alive client.
//
//   studio_bench [--executions 1000] [--reps 50]
//
// Prints one line per request: studio GET TARGET: p50 X ms, p99 Y ms, max Z ms, N bytes
// (target 200 ms: met|missed).

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/engine/host.h"
#include "serving/http_client.h"
#include "studio/studio.h"

namespace {

using namespace raypipe;
namespace fs = std::filesystem;

constexpr double kTargetMs = 200.0;

constexpr const char* kDefinition = R"Y(
Version: "2020-12-01"
Metadata: {Name: bench-pipeline}
Steps:
  - {Name: Ingest, Type: Command, Arguments: {Command: ["true"], Outputs: [{OutputName: raw}]}}
  - {Name: Prepare, Type: Command, Arguments: {Command: ["sh", "-c", "true", {Get: Steps.Ingest.Outputs.raw}], Outputs: [{OutputName: data}]}}
  - {Name: Tune, Type: Command, Arguments: {Command: ["sh", "-c", "true", {Get: Steps.Prepare.Outputs.data}], Outputs: [{OutputName: model}]}}
  - {Name: Evaluate, Type: Command, Arguments: {Command: ["sh", "-c", "true", {Get: Steps.Tune.Outputs.model}]}}
  - {Name: Register, Type: Command, Arguments: {Command: ["sh", "-c", "true", {Get: Steps.Tune.Outputs.model}]}, DependsOn: [Evaluate]}
  - {Name: Deploy, Type: Command, Arguments: {Command: ["true"]}, DependsOn: [Register]}
)Y";

int Fail(const Status& status) {
  std::fprintf(stderr, "studio_bench: %s\n", status.ToString().c_str());
  return 1;
}

std::string Digest(int execution, int step) {
  char buffer[80];
  std::snprintf(buffer, sizeof(buffer), "sha256:%032x%032x", execution, step);
  return buffer;
}

Status Fill(pipeline::EngineHost& host, int executions, std::string* some_id) {
  pipeline::ExecutionStore& store = host.engine().store();
  const std::string now = host.engine().Now();
  RETURN_IF_ERROR(store.UpsertPipeline({"bench-pipeline", "bench.yaml", "/tmp", kDefinition, "", ""},
                                       now));
  const char* steps[] = {"Ingest", "Prepare", "Tune", "Evaluate", "Register", "Deploy"};
  for (int index = 0; index < executions; ++index) {
    pipeline::ExecutionRecord execution;
    char id[32];
    std::snprintf(id, sizeof(id), "exec-bench%06d", index);
    execution.id = id;
    execution.pipeline_name = "bench-pipeline";
    execution.status = index % 10 == 3 ? "Failed" : "Succeeded";
    execution.source_name = "bench.yaml";
    execution.pipeline_dir = "/tmp";
    execution.definition_text = kDefinition;
    execution.start_time = now;
    execution.end_time = now;
    execution.last_modified_time = now;
    RETURN_IF_ERROR(store.CreateExecution(execution));
    for (int step = 0; step < 6; ++step) {
      pipeline::StepRunRecord run;
      run.execution_id = id;
      run.step_name = steps[step];
      run.step_type = "Command";
      run.status = "Succeeded";
      run.attempt_count = 1;
      run.properties = {{"Metrics", {{"validation:rmse", 1000.0 + step}}}};
      run.cache_explain = {{"Result", "Miss"}, {"Reason", "no earlier run with this key"}};
      run.start_time = now;
      run.end_time = now;
      std::vector<pipeline::LineageRecord> lineage = {
          {id, steps[step], "Output", "out", "DataSet", "artifact://" + Digest(index, step),
           Digest(index, step)}};
      if (step > 0) {
        lineage.push_back({id, steps[step], "Input", "in", "DataSet",
                           "artifact://" + Digest(index, step - 1), Digest(index, step - 1)});
      }
      RETURN_IF_ERROR(store.CommitStepRun(run, lineage));
    }
    *some_id = id;
  }
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  int executions = 1000;
  int reps = 50;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string flag = argv[index];
    if (flag == "--executions") executions = std::max(1, std::atoi(argv[index + 1]));
    else if (flag == "--reps") reps = std::max(1, std::atoi(argv[index + 1]));
  }
  std::string pattern = (fs::temp_directory_path() / "raypipe-studio-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return Fail(InternalError("mkdtemp failed"));
  const std::string home = pattern;
  int code = 0;
  {
    std::string some_id;
    {
      pipeline::EngineHostOptions options;
      options.home = home;
      auto host = pipeline::EngineHost::Open(options);
      if (!host.ok()) return Fail(host.status());
      if (Status filled = Fill(**host, executions, &some_id); !filled.ok()) return Fail(filled);
    }
    studio::StudioOptions options;
    options.host_options.home = home;
    options.port = 0;
    auto started = studio::Studio::Start(std::move(options));
    if (!started.ok()) return Fail(started.status());
    auto client = serving::HttpClient::Connect("127.0.0.1", (*started)->port());
    if (!client.ok()) return Fail(client.status());
    std::printf("studio: %d executions of a 6-step pipeline in the store, %d requests each, "
                "one keep-alive client on loopback\n", executions, reps);
    const std::vector<std::string> targets = {
        "/", "/app.js", "/pipelines.js", "/api/pipelines", "/api/pipelines/bench-pipeline",
        "/api/executions?limit=100", "/api/executions?limit=1000",
        "/api/executions?pipeline=bench-pipeline&limit=1000", "/api/executions/" + some_id,
        "/api/executions/" + some_id + "/steps/Tune", "/api/executions/" + some_id + "/lineage",
        "/api/experiments", "/api/model-groups", "/api/openapi.json"};
    for (const std::string& target : targets) {
      std::vector<double> ms;
      size_t bytes = 0;
      for (int rep = 0; rep < reps + 1; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        auto response = (*client)->Send("GET", target);
        const double elapsed =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!response.ok()) return Fail(response.status());
        if (response->status != 200) {
          std::fprintf(stderr, "studio_bench: GET %s answered %d: %s\n", target.c_str(),
                       response->status, response->body.c_str());
          code = 1;
          break;
        }
        bytes = response->body.size();
        if (rep > 0) ms.push_back(elapsed);  // the first is a warm-up
      }
      if (ms.empty()) continue;
      std::sort(ms.begin(), ms.end());
      const double p50 = ms[ms.size() / 2];
      const double p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
      std::printf("studio GET %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms, %zu bytes (target %.0f ms: %s)\n",
                  target.c_str(), p50, p99, ms.back(), bytes, kTargetMs,
                  ms.back() <= kTargetMs ? "met" : "missed");
    }
    (*started)->Shutdown();
  }
  std::error_code ignored;
  fs::remove_all(home, ignored);
  return code;
}
