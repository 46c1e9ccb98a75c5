#include "pipeline/engine/engine.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "core/ids.h"
#include "pipeline/engine/execution_run.h"
#include "pipeline/parameters.h"
#include "pipeline/parser.h"
#include "pipeline/validate.h"

namespace raypipe::pipeline {
namespace {

// "Train[3]" -> "Train".
std::string BaseStepName(const std::string& record_name) {
  size_t bracket = record_name.find('[');
  return bracket == std::string::npos ? record_name : record_name.substr(0, bracket);
}

bool IsControlType(std::string_view type) {
  return type == "Condition" || type == "Fail" || type == "ForEach";
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(EngineOptions options) {
  if (options.metadata == nullptr || options.artifacts == nullptr || options.runners == nullptr) {
    return InvalidArgumentError("the engine needs a metadata store, an artifact store and runners");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ExecutionStore> store, ExecutionStore::Open(options.metadata));
  std::error_code ec;
  if (!options.home.empty()) {
    options.home = std::filesystem::absolute(options.home, ec).lexically_normal().string();
  }
  return std::unique_ptr<Engine>(new Engine(std::move(options), std::move(store)));
}

Engine::Engine(EngineOptions options, std::unique_ptr<ExecutionStore> store)
    : options_(std::move(options)), store_(std::move(store)) {
  if (options_.clock == nullptr) {
    owned_clock_ = std::make_unique<core::SystemClock>();
    options_.clock = owned_clock_.get();
  }
}

Engine::~Engine() = default;

std::string Engine::Now() const { return core::FormatIsoTime(options_.clock->Now()); }

Result<PipelineDefinition> Engine::Load(std::string_view text,
                                        std::string_view source_name) const {
  StepTypeRegistry types = options_.runners->ValidationTypes();
  ASSIGN_OR_RETURN(PipelineDefinition definition, ParseDefinition(text, source_name, types));
  RETURN_IF_ERROR(Validate(definition, types).ToStatus());
  return definition;
}

Result<std::string> Engine::StartExecution(const StartRequest& request) {
  ASSIGN_OR_RETURN(PipelineDefinition definition,
                   Load(request.definition_text, request.source_name));
  std::vector<std::string> missing;
  auto check_runner = [&](const StepDefinition& step, const std::string& type) {
    if (!IsControlType(type) && options_.runners->Find(type) == nullptr) {
      missing.push_back(request.source_name + ": step '" + step.name + "': type '" + type +
                        "' has no implementation in this build");
    }
  };
  for (const StepDefinition& step : definition.steps) {
    check_runner(step, step.type);
    if (step.type == "ForEach") {
      check_runner(step, step.arguments.value("Step", nlohmann::json::object()).value("Type", ""));
    }
  }
  if (!missing.empty()) {
    std::string message;
    for (const std::string& line : missing) message += (message.empty() ? "" : "\n") + line;
    return UnimplementedError(message);
  }
  ASSIGN_OR_RETURN(ParameterValues parameters, ResolveParameters(definition, request.parameters));

  ExecutionRecord record;
  record.id = core::NewId("exec");
  record.pipeline_name = definition.name;
  record.status = "Executing";
  record.source_name = request.source_name;
  std::error_code ec;
  record.pipeline_dir =
      std::filesystem::absolute(request.pipeline_dir.empty() ? "." : request.pipeline_dir, ec)
          .lexically_normal()
          .string();
  if (record.pipeline_dir.size() > 1 && record.pipeline_dir.back() == '/') {
    record.pipeline_dir.pop_back();
  }
  record.definition_text = request.definition_text;
  for (const auto& [name, value] : parameters) record.parameters[name] = value;
  record.start_time = Now();

  std::vector<StepRunRecord> reused;
  std::vector<std::vector<LineageRecord>> reused_lineage;
  if (!request.from_execution.empty() || !request.steps.empty()) {
    if (request.from_execution.empty() || request.steps.empty()) {
      return InvalidArgumentError("selective execution needs both --from-execution and --steps");
    }
    for (const std::string& name : request.steps) {
      if (definition.FindStep(name) == nullptr) {
        return InvalidArgumentError("--steps: no step named '" + name + "' in " +
                                    request.source_name);
      }
    }
    ASSIGN_OR_RETURN(ExecutionRecord source, store_->GetExecution(request.from_execution));
    ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store_->ListStepRuns(source.id));
    ASSIGN_OR_RETURN(std::vector<LineageRecord> lineage, store_->ListLineage(source.id));
    const std::set<std::string> selected(request.steps.begin(), request.steps.end());
    for (StepRunRecord run : runs) {
      if (run.status != "Succeeded" || selected.count(BaseStepName(run.step_name)) != 0) continue;
      std::vector<LineageRecord> edges;
      for (LineageRecord edge : lineage) {
        if (edge.step_name != run.step_name) continue;
        edge.execution_id = record.id;
        edges.push_back(std::move(edge));
      }
      run.selective_source = source.id;
      run.execution_id = record.id;
      reused.push_back(std::move(run));
      reused_lineage.push_back(std::move(edges));
    }
    record.from_execution = source.id;
    record.selected_steps = request.steps;
  }
  RETURN_IF_ERROR(store_->CreateExecution(record));
  for (size_t i = 0; i < reused.size(); ++i) {
    RETURN_IF_ERROR(store_->CommitStepRun(reused[i], reused_lineage[i]));
  }
  return record.id;
}

Result<ExecutionRecord> Engine::RunExecution(std::string_view execution_id) {
  ASSIGN_OR_RETURN(ExecutionRecord record, store_->GetExecution(execution_id));
  if (IsTerminalExecutionStatus(record.status)) {
    return FailedPreconditionError("execution " + record.id + " is already " + record.status +
                                   (record.status == "Succeeded" ? "" : "; use execution retry"));
  }
  ASSIGN_OR_RETURN(PipelineDefinition definition,
                   Load(record.definition_text, record.source_name));
  ExecutionRun run(this, std::move(record), std::move(definition));
  return run.Run();
}

Status Engine::PrepareRetry(std::string_view execution_id) {
  ASSIGN_OR_RETURN(ExecutionRecord record, store_->GetExecution(execution_id));
  if (record.status == "Succeeded") {
    return FailedPreconditionError("execution " + record.id + " already Succeeded");
  }
  // Fails when a live orchestrator holds it.
  RETURN_IF_ERROR(store_->ClaimExecution(record.id, static_cast<int64_t>(getpid()), Now()));
  ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store_->ListStepRuns(record.id));
  for (const StepRunRecord& run : runs) {
    if (run.status != "Succeeded") RETURN_IF_ERROR(store_->DeleteStepRun(record.id, run.step_name));
  }
  return Status::Ok();
}

Status Engine::RequestStop(std::string_view execution_id) {
  return store_->RequestStop(execution_id, Now());
}

}  // namespace raypipe::pipeline
