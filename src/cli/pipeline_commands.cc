#include "cli/pipeline_commands.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "cli/command.h"
#include "cli/executor_options.h"
#include "ml/kernels.h"
#include "pipeline/steps/feature_store_ingest_step.h"
#include "pipeline/steps/processing_step.h"
#include "pipeline/steps/register_model_step.h"
#include "pipeline/steps/training_step.h"
#include "pipeline/steps/tuning_step.h"
#include "serving/deploy_step.h"
#include "core/env.h"
#include "pipeline/dag.h"
#include "pipeline/parameters.h"
#include "pipeline/parser.h"
#include "pipeline/validate.h"

namespace raypipe::cli {
namespace {

namespace fs = std::filesystem;
using pipeline::EngineHost;
using pipeline::PipelineDefinition;

std::string Seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f s", seconds);
  return buffer;
}

struct Source {
  std::string text;
  std::string source_name;
  std::string pipeline_dir;
};

Result<Source> ReadSourceFile(const std::string& path) {
  Result<std::string> text = core::DefaultEnv()->ReadFile(path);
  if (!text.ok()) return text.status().WithContext("cannot read pipeline file " + path);
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return Source{*text, path, dir.string()};
}

// FILE if it exists, else the name of an upserted pipeline.
Result<Source> ResolveSource(EngineHost& host, const std::string& file_or_name) {
  std::error_code ec;
  if (fs::is_regular_file(file_or_name, ec)) return ReadSourceFile(file_or_name);
  Result<pipeline::PipelineRecord> record = host.engine().store().GetPipeline(file_or_name);
  if (!record.ok()) {
    return NotFoundError("'" + file_or_name + "' is neither a pipeline file nor an upserted "
                         "pipeline (see 'raypipe pipeline list')");
  }
  return Source{record->definition_text, record->source_name, record->pipeline_dir};
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int RunValidate(CommandContext& context, const ParsedArgs& args) {
  const std::string file = args.GetArg("FILE");
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  Result<Source> source = ReadSourceFile(file);
  if (!source.ok()) return context.Fail(source.status());
  Result<PipelineDefinition> definition =
      (*host)->engine().Load(source->text, source->source_name);
  if (context.json()) {
    nlohmann::json result = {{"file", file}, {"valid", definition.ok()}};
    if (definition.ok()) {
      result["name"] = definition->name;
      result["steps"] = definition->steps.size();
    } else {
      result["error"] = std::string(definition.status().message());
    }
    context.out() << FormatJson(result);
    return definition.ok() ? kExitSuccess : kExitFailure;
  }
  if (!definition.ok()) return context.Fail(definition.status());
  context.out() << file << ": valid pipeline '" << definition->name << "' with "
                << definition->steps.size() << " steps\n";
  return kExitSuccess;
}

int RunUpsert(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  Result<Source> source = ReadSourceFile(args.GetArg("FILE"));
  if (!source.ok()) return context.Fail(source.status());
  Result<PipelineDefinition> definition =
      (*host)->engine().Load(source->text, source->source_name);
  if (!definition.ok()) return context.Fail(definition.status());
  pipeline::PipelineRecord record{definition->name, source->source_name, source->pipeline_dir,
                                  source->text, "", ""};
  Status status = (*host)->engine().store().UpsertPipeline(record, (*host)->engine().Now());
  if (!status.ok()) return context.Fail(status);
  if (context.json()) {
    context.out() << FormatJson({{"name", definition->name}, {"source", source->source_name}});
  } else {
    context.out() << "upserted pipeline '" << definition->name << "' from "
                  << source->source_name << "\n";
  }
  return kExitSuccess;
}

int RunList(CommandContext& context, const ParsedArgs&) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  auto pipelines = (*host)->engine().store().ListPipelines();
  if (!pipelines.ok()) return context.Fail(pipelines.status());
  std::vector<Row> rows;
  for (const auto& p : *pipelines) {
    auto last = (*host)->engine().store().ListExecutions(p.name, 1);
    nlohmann::json last_status = nullptr;
    if (last.ok() && !last->empty()) last_status = last->front().status;
    rows.push_back({p.name, p.source_name, p.updated_time, last_status});
  }
  context.PrintTable({"NAME", "SOURCE", "UPDATED", "LAST EXECUTION"}, rows);
  return kExitSuccess;
}

int RunDescribe(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  auto record = (*host)->engine().store().GetPipeline(args.GetArg("NAME"));
  if (!record.ok()) return context.Fail(record.status());
  auto definition = (*host)->engine().Load(record->definition_text, record->source_name);
  if (!definition.ok()) return context.Fail(definition.status());
  nlohmann::json steps = nlohmann::json::array();
  pipeline::Dag dag = pipeline::Dag::Build(*definition);
  for (size_t i = 0; i < definition->steps.size(); ++i) {
    nlohmann::json upstream = nlohmann::json::array();
    for (size_t up : dag.Upstream(i)) upstream.push_back(dag.name(up));
    steps.push_back({{"Name", definition->steps[i].name},
                     {"Type", definition->steps[i].type},
                     {"After", upstream}});
  }
  nlohmann::json parameters = nlohmann::json::array();
  for (const auto& p : definition->parameters) {
    parameters.push_back({{"Name", p.name},
                          {"Type", pipeline::ParameterTypeName(p.type)},
                          {"DefaultValue", p.default_value.value_or(nullptr)}});
  }
  nlohmann::json object = {{"Name", record->name},       {"Source", record->source_name},
                           {"Directory", record->pipeline_dir}, {"Created", record->created_time},
                           {"Updated", record->updated_time}, {"Parameters", parameters},
                           {"Steps", steps}};
  context.PrintObject(object);
  return kExitSuccess;
}

int RunDelete(CommandContext& context, const ParsedArgs& args) {
  auto host = OpenPipelineHost(context, false);
  if (!host.ok()) return context.Fail(host.status());
  const std::string name = args.GetArg("NAME");
  Status status = (*host)->engine().store().DeletePipeline(name);
  if (!status.ok()) return context.Fail(status);
  context.PrintLine("deleted pipeline '" + name + "'");
  if (context.json()) context.out() << FormatJson({{"deleted", name}});
  return kExitSuccess;
}

int RunRun(CommandContext& context, const ParsedArgs& args) {
  std::map<std::string, std::string> overrides;
  for (const std::string& flag : args.GetAll("param")) {
    auto pair = pipeline::ParseParameterOverride(flag);
    if (!pair.ok()) return context.UsageError("--param " + flag + ": " +
                                              std::string(pair.status().message()));
    overrides[pair->first] = pair->second;
  }
  const bool selective = args.Has("from-execution") || args.Has("steps");
  if (selective && !(args.Has("from-execution") && args.Has("steps"))) {
    return context.UsageError("--from-execution and --steps go together");
  }
  auto host = OpenPipelineHost(context, true);
  if (!host.ok()) return context.Fail(host.status());
  pipeline::Engine& engine = (*host)->engine();
  Result<Source> source = ResolveSource(**host, args.GetArg("PIPELINE"));
  if (!source.ok()) return context.Fail(source.status());
  Result<PipelineDefinition> definition = engine.Load(source->text, source->source_name);
  if (!definition.ok()) return context.Fail(definition.status());
  if (auto params = pipeline::ResolveParameters(*definition, overrides); !params.ok()) {
    return context.UsageError(params.status().message());
  }
  pipeline::StartRequest request;
  request.definition_text = source->text;
  request.source_name = source->source_name;
  request.pipeline_dir = source->pipeline_dir;
  request.parameters = overrides;
  if (selective) {
    request.from_execution = args.GetString("from-execution");
    request.steps = SplitComma(args.GetString("steps"));
  }
  Result<std::string> id = engine.StartExecution(request);
  if (!id.ok()) return context.Fail(id.status());
  context.PrintLine("execution " + *id + " of pipeline '" + definition->name + "' started");
  return RunExecutionAndReport(context, **host, *id);
}

}  // namespace

Status RegisterPipelineStepRunners(pipeline::StepRunnerRegistry& runners) {
  RETURN_IF_ERROR(runners.Register(std::make_unique<pipeline::FeatureStoreIngestStepRunner>()));
  RETURN_IF_ERROR(runners.Register(std::make_unique<pipeline::ProcessingStepRunner>()));
  RETURN_IF_ERROR(runners.Register(std::make_unique<pipeline::TrainingStepRunner>()));
  RETURN_IF_ERROR(runners.Register(std::make_unique<pipeline::TuningStepRunner>()));
  RETURN_IF_ERROR(runners.Register(std::make_unique<pipeline::RegisterModelStepRunner>()));
  return runners.Register(std::make_unique<serving::DeployStepRunner>());
}

namespace {

// The kernels the step runners submit: ingestion actors, training workers, tuning trials.
Status RegisterPipelineKernels(compute::KernelRegistry& kernels) {
  RETURN_IF_ERROR(pipeline::RegisterFeatureStoreIngestStepKernels(kernels));
  return ml::RegisterMlKernels(kernels);
}

}  // namespace

pipeline::EngineHostOptions PipelineHostOptions(const CommandContext& context) {
  pipeline::EngineHostOptions options;
  options.home = context.options().home.string();
  options.register_runners = RegisterPipelineStepRunners;
  options.register_kernels = RegisterPipelineKernels;
  options.open_executor = [&context](const compute::KernelRegistry& kernels) {
    return OpenExecutorFor(context, kernels);
  };
  return options;
}

Result<std::unique_ptr<EngineHost>> OpenPipelineHost(CommandContext& context, bool live) {
  pipeline::EngineHostOptions options = PipelineHostOptions(context);
  if (live && !context.json()) {
    std::ostream* out = &context.out();
    options.on_event = [out](const pipeline::StepEvent& event) {
      std::string line = "  " + event.step_name + "  " + event.status;
      if (event.status == "Executing") {
        if (event.attempt > 1) line += " (attempt " + std::to_string(event.attempt) + ")";
      } else {
        line += "  " + Seconds(event.seconds);
        if (event.cache_hit) line += "  (cache hit)";
        if (!event.failure_reason.empty()) line += "  " + event.failure_reason;
      }
      *out << line << "\n";
      out->flush();
    };
  }
  return EngineHost::Open(std::move(options));
}

int RunExecutionAndReport(CommandContext& context, EngineHost& host,
                          const std::string& execution_id) {
  const auto start = std::chrono::steady_clock::now();
  Result<pipeline::ExecutionRecord> done = host.engine().RunExecution(execution_id);
  if (!done.ok()) return context.Fail(done.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (context.json()) {
    nlohmann::json steps = nlohmann::json::array();
    auto runs = host.engine().store().ListStepRuns(execution_id);
    if (runs.ok()) {
      for (const auto& run : *runs) {
        steps.push_back({{"StepName", run.step_name}, {"StepStatus", run.status},
                         {"AttemptCount", run.attempt_count},
                         {"CacheHit", !run.cache_hit_source.empty()},
                         {"FailureReason", run.failure_reason}});
      }
    }
    context.out() << FormatJson({{"PipelineExecutionId", done->id},
                                 {"PipelineName", done->pipeline_name},
                                 {"PipelineExecutionStatus", done->status},
                                 {"FailureReason", done->failure_reason},
                                 {"Seconds", seconds},
                                 {"Steps", steps}});
  } else {
    context.out() << "execution " << done->id << " " << done->status << " in " << Seconds(seconds)
                  << "\n";
  }
  context.out().flush();
  if (done->status == "Succeeded") return kExitSuccess;
  std::string reason = done->failure_reason.empty() ? "execution " + done->id + " " + done->status
                                                    : done->failure_reason;
  if (!context.json()) return context.Fail(FailedPreconditionError(reason));
  return kExitFailure;
}

Status RegisterPipelineCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("pipeline", "Validate, store and run pipelines"));

  CommandSpec validate;
  validate.path = "pipeline validate";
  validate.summary = "Check a pipeline file and report every error at once";
  validate.args.push_back(ArgSpec::Required("FILE", "The pipeline definition (JSON or YAML)"));
  validate.examples = {"raypipe pipeline validate examples/housing/pipeline.yaml"};
  validate.handler = RunValidate;
  RETURN_IF_ERROR(registry.Add(std::move(validate)));

  CommandSpec upsert;
  upsert.path = "pipeline upsert";
  upsert.summary = "Validate a pipeline file and store it under its name";
  upsert.args.push_back(ArgSpec::Required("FILE", "The pipeline definition (JSON or YAML)"));
  upsert.handler = RunUpsert;
  RETURN_IF_ERROR(registry.Add(std::move(upsert)));

  CommandSpec list;
  list.path = "pipeline list";
  list.summary = "List stored pipelines";
  list.handler = RunList;
  RETURN_IF_ERROR(registry.Add(std::move(list)));

  CommandSpec describe;
  describe.path = "pipeline describe";
  describe.summary = "Show a stored pipeline: parameters and steps";
  describe.args.push_back(ArgSpec::Required("NAME", "The pipeline's name"));
  describe.handler = RunDescribe;
  RETURN_IF_ERROR(registry.Add(std::move(describe)));

  CommandSpec remove;
  remove.path = "pipeline delete";
  remove.summary = "Delete a stored pipeline (its executions stay)";
  remove.args.push_back(ArgSpec::Required("NAME", "The pipeline's name"));
  remove.handler = RunDelete;
  RETURN_IF_ERROR(registry.Add(std::move(remove)));

  CommandSpec run;
  run.path = "pipeline run";
  run.summary = "Run a pipeline, showing a line per step";
  run.description =
      "Runs an execution in this process. Exits 0 when it Succeeded, 1 when it Failed or was "
      "stopped (printing the reason), 2 on usage errors such as a --param of the wrong type.";
  run.args.push_back(ArgSpec::Required("PIPELINE", "A pipeline file, or an upserted pipeline's name"));
  run.flags.push_back(FlagSpec::Value("param", FlagType::kString, "NAME=VALUE",
                                      "A parameter value, checked against its declared type")
                          .Repeated());
  run.flags.push_back(FlagSpec::Value("from-execution", FlagType::kString, "ID",
                                      "Selective execution: reuse this execution's outputs"));
  run.flags.push_back(FlagSpec::Value("steps", FlagType::kString, "A,B",
                                      "Selective execution: the steps to run"));
  run.examples = {"raypipe pipeline run pipeline.yaml --param RMSEThreshold=12000",
                  "raypipe pipeline run housing --from-execution exec-01j... --steps Train,Eval"};
  run.handler = RunRun;
  return registry.Add(std::move(run));
}

}  // namespace raypipe::cli
