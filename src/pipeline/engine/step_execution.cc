// Step bodies of ExecutionRun: Condition, Fail, ForEach and runner steps (caching, retries,
// output commit, property files, lineage).

#include <cstdio>
#include <filesystem>
#include <thread>
#include <utility>

#include "core/hash.h"
#include "core/json.h"
#include "pipeline/condition.h"
#include "pipeline/engine/cache.h"
#include "pipeline/engine/execution_run.h"
#include "pipeline/engine/retry.h"
#include "store/artifact_store.h"

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;

// Appends a step's log lines to its file. Thread-safe.
class FileStepLog final : public StepLog {
 public:
  explicit FileStepLog(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    file_ = std::fopen(path.c_str(), "a");
  }
  ~FileStepLog() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  FileStepLog(const FileStepLog&) = delete;
  FileStepLog& operator=(const FileStepLog&) = delete;

  void Line(std::string_view line) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (file_ == nullptr) return;
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
  }

 private:
  std::mutex mutex_;  // guards file_ writes
  std::FILE* file_ = nullptr;
};

std::string SafeFileName(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
                                 ? c
                                 : '_';
  return out;
}

}  // namespace

StepResult ExecutionRun::RunStep(const StepDefinition& step) {
  if (step.type == "Condition") return RunCondition(step);
  if (step.type == "Fail") return RunFail(step);
  if (step.type == "ForEach") return RunForEach(step);
  ExecutionResolver resolver(this);
  return RunRunnerStep(step, step.type, step.arguments, step.name, resolver);
}

StepResult ExecutionRun::Finish(const StepDefinition& step, const std::string& record_name,
                                const std::string& start_time, StepResult result,
                                int64_t attempts) {
  StepRunRecord run;
  run.execution_id = record_.id;
  run.step_name = record_name;
  run.step_type = step.type;
  run.status = result.status;
  run.attempt_count = attempts;
  run.failure_reason = result.failure_reason;
  run.properties = result.properties;
  run.start_time = start_time;
  run.end_time = engine_->Now();
  Status status = store_->CommitStepRun(run, {});
  if (!status.ok() && result.status == "Succeeded") {
    return {"Failed", "cannot record the step: " + std::string(status.message()), {}, false};
  }
  return result;
}

StepResult ExecutionRun::RunCondition(const StepDefinition& step) {
  const auto started = std::chrono::steady_clock::now();
  const std::string start_time = engine_->Now();
  Emit(step.name, "Executing", 1, false, "", started);
  StepResult result;
  std::vector<Issue> issues;
  std::vector<Condition> conditions = ParseConditionList(
      step.arguments.value("Conditions", nlohmann::json::array()), FieldPath("Conditions"),
      &issues);
  Result<bool> outcome = issues.empty()
                             ? EvaluateConditions(conditions, ExecutionResolver(this))
                             : Result<bool>(InvalidArgumentError(
                                   issues[0].field.ToString() + ": " + issues[0].message));
  if (outcome.ok()) {
    result.status = "Succeeded";
    result.properties["Outcome"] = *outcome;
  } else {
    result.status = "Failed";
    result.failure_reason = std::string(outcome.status().message());
  }
  result = Finish(step, step.name, start_time, std::move(result));
  Emit(step.name, result.status, 1, false, result.failure_reason, started);
  return result;
}

StepResult ExecutionRun::RunFail(const StepDefinition& step) {
  const auto started = std::chrono::steady_clock::now();
  const std::string start_time = engine_->Now();
  StepResult result;
  result.status = "Failed";
  auto it = step.arguments.find("ErrorMessage");
  if (it == step.arguments.end()) {
    result.failure_reason = "Fail step '" + step.name + "' reached";
  } else {
    Result<nlohmann::json> message = EvaluateJson(*it, ExecutionResolver(this));
    result.failure_reason = message.ok() ? ValueToText(*message)
                                         : "Fail step '" + step.name + "' reached (its " +
                                               "ErrorMessage failed: " +
                                               std::string(message.status().message()) + ")";
  }
  result = Finish(step, step.name, start_time, std::move(result));
  Emit(step.name, result.status, 1, false, result.failure_reason, started);
  return result;
}

StepResult ExecutionRun::RunForEach(const StepDefinition& step) {
  const auto started = std::chrono::steady_clock::now();
  const std::string start_time = engine_->Now();
  Emit(step.name, "Executing", 1, false, "", started);
  auto fail = [&](std::string reason) {
    StepResult result{"Failed", std::move(reason), {}, false};
    result = Finish(step, step.name, start_time, std::move(result));
    Emit(step.name, result.status, 1, false, result.failure_reason, started);
    return result;
  };
  Result<nlohmann::json> items = EvaluateJson(step.arguments.value("Items", nlohmann::json()),
                                              ExecutionResolver(this));
  if (!items.ok()) return fail("Arguments.Items: " + std::string(items.status().message()));
  nlohmann::json list = *items;
  if (list.is_string()) {
    list = nlohmann::json::parse(list.get<std::string>(), nullptr, false);
  }
  if (!list.is_array()) {
    return fail("Arguments.Items: expected a list (or a String holding a JSON list), found " +
                DescribeValue(*items));
  }
  const nlohmann::json& tmpl = step.arguments.value("Step", nlohmann::json::object());
  const std::string type = tmpl.value("Type", "");
  const nlohmann::json raw_arguments = tmpl.value("Arguments", nlohmann::json::object());
  size_t concurrency = static_cast<size_t>(std::max<int64_t>(
      1, step.arguments.value("MaxConcurrency", static_cast<int64_t>(list.size()))));

  std::vector<StepResult> results(list.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::min(concurrency, list.size()); ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < list.size(); i = next++) {
        ExecutionResolver resolver(this, list[i], static_cast<int64_t>(i));
        results[i] = RunRunnerStep(step, type, raw_arguments,
                                   step.name + "[" + std::to_string(i) + "]", resolver);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();

  StepResult summary;
  summary.status = "Succeeded";
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json metrics = nlohmann::json::object();
  for (size_t i = 0; i < results.size(); ++i) {
    const StepResult& r = results[i];
    if (r.status == "Stopped" && summary.status == "Succeeded") summary.status = "Stopped";
    if (r.status == "Failed" && summary.status != "Failed") {
      summary.status = "Failed";
      summary.failure_reason = "iteration " + std::to_string(i) + " (item " +
                               DescribeValue(list[i]) + ") failed: " + r.failure_reason;
    }
    for (const char* group : {"Outputs", "Metrics"}) {
      nlohmann::json& target = std::string(group) == "Outputs" ? outputs : metrics;
      if (!r.properties.contains(group)) continue;
      for (const auto& [name, value] : r.properties[group].items()) {
        if (!target.contains(name)) target[name] = nlohmann::json::array();
        while (target[name].size() < i) target[name].push_back(nullptr);
        target[name].push_back(value);
      }
    }
  }
  if (summary.status == "Succeeded") {
    summary.properties["Outputs"] = outputs;
    summary.properties["Metrics"] = metrics;
    summary.properties["ItemCount"] = list.size();
  }
  summary = Finish(step, step.name, start_time, std::move(summary));
  Emit(step.name, summary.status, 1, false, summary.failure_reason, started);
  return summary;
}

StepResult ExecutionRun::RunRunnerStep(const StepDefinition& step, const std::string& type,
                                       const nlohmann::json& raw_arguments,
                                       const std::string& record_name,
                                       const Resolver& resolver) {
  const auto started = std::chrono::steady_clock::now();
  const EngineOptions& options = engine_->options();
  StepRunRecord run;
  run.execution_id = record_.id;
  run.step_name = record_name;
  run.step_type = type;
  run.start_time = engine_->Now();

  // A ForEach iteration that succeeded in an earlier orchestration is kept.
  if (record_name != step.name) {
    Result<std::optional<StepRunRecord>> earlier = store_->GetStepRun(record_.id, record_name);
    if (earlier.ok() && earlier->has_value() && (*earlier)->status == "Succeeded") {
      return {"Succeeded", "", (*earlier)->properties, !(*earlier)->cache_hit_source.empty()};
    }
  }
  auto finish = [&](std::string status, std::string reason,
                    const std::vector<LineageRecord>& lineage) {
    run.status = std::move(status);
    run.failure_reason = std::move(reason);
    run.end_time = engine_->Now();
    Status committed = store_->CommitStepRun(run, lineage);
    if (!committed.ok() && run.status == "Succeeded") {
      run.status = "Failed";
      run.failure_reason = "cannot record the step: " + std::string(committed.message());
    }
    Emit(record_name, run.status, run.attempt_count, !run.cache_hit_source.empty(),
         run.failure_reason, started);
    return StepResult{run.status, run.failure_reason, run.properties,
                      !run.cache_hit_source.empty()};
  };

  Emit(record_name, "Executing", 1, false, "", started);
  StepRunner* runner = options.runners->Find(type);
  if (runner == nullptr) return finish("Failed", "no runner is registered for type '" + type + "'", {});
  Result<nlohmann::json> arguments = EvaluateJson(raw_arguments, resolver);
  if (!arguments.ok()) return finish("Failed", std::string(arguments.status().message()), {});

  // Inputs: artifacts (imported when given as paths) and code files.
  Result<std::vector<InputDeclaration>> declared =
      runner->DeclareInputs(*arguments, record_.pipeline_dir);
  if (!declared.ok()) return finish("Failed", std::string(declared.status().message()), {});
  CacheKeyParts parts;
  parts.step_type = type;
  parts.implementation_version = std::string(runner->ImplementationVersion());
  parts.arguments = *arguments;
  std::map<std::string, ResolvedInput> inputs;
  std::vector<LineageRecord> lineage;
  for (const InputDeclaration& input : *declared) {
    if (input.kind == InputDeclaration::Kind::kCode) {
      Result<std::string> digest = core::Sha256File(input.source);
      if (!digest.ok()) {
        return finish("Failed", "input '" + input.name + "': " +
                                    std::string(digest.status().message()), {});
      }
      std::string sha = digest->rfind("sha256:", 0) == 0 ? *digest : "sha256:" + *digest;
      parts.code[input.name] = sha;
      lineage.push_back({record_.id, record_name, "Input", input.name, "Code",
                         "file://" + input.source, sha});
      continue;
    }
    ResolvedInput resolved;
    resolved.name = input.name;
    if (IsArtifactUri(input.source)) {
      resolved.digest = input.source.substr(std::string_view("artifact://").size());
      resolved.uri = input.source;
    } else {
      Result<store::ArtifactRef> ref = options.artifacts->PutFile(input.source);
      if (!ref.ok()) {
        return finish("Failed", "input '" + input.name + "' (" + input.source +
                                    "): " + std::string(ref.status().message()), {});
      }
      resolved.digest = ref->digest;
      resolved.uri = ref->uri;
    }
    Result<std::string> path = options.artifacts->PathOf(resolved.digest);
    if (!path.ok()) {
      return finish("Failed", "input '" + input.name + "': " +
                                  std::string(path.status().message()), {});
    }
    resolved.path = *path;
    parts.inputs[input.name] = resolved.digest;
    lineage.push_back({record_.id, record_name, "Input", input.name, "DataSet", resolved.uri,
                       resolved.digest});
    inputs[input.name] = std::move(resolved);
  }

  // The cache.
  const CacheConfig& cache = step.cache_config;
  nlohmann::json parts_json = CacheKeyPartsToJson(parts);
  run.cache_key = ComputeCacheKey(parts);
  run.cache_explain = {{"Key", run.cache_key}, {"Parts", parts_json},
                       {"Enabled", cache.enabled}};
  if (cache.expire_after_text.has_value()) run.cache_explain["ExpireAfter"] = *cache.expire_after_text;
  if (cache.enabled) {
    std::string not_before;
    if (cache.expire_after.has_value()) {
      not_before = core::FormatIsoTime(
          (options.clock != nullptr ? options.clock->Now() : std::chrono::system_clock::now()) -
          *cache.expire_after);
    }
    Result<std::optional<StepRunRecord>> hit =
        store_->FindCached(run.cache_key, record_.id, not_before);
    if (hit.ok() && hit->has_value()) {
      const StepRunRecord& source = **hit;
      run.cache_hit_source =
          source.cache_hit_source.empty() ? source.execution_id : source.cache_hit_source;
      run.properties = source.properties;
      run.attempt_count = 0;
      run.cache_explain["Result"] = "hit";
      run.cache_explain["Reason"] = "a succeeded run with the same key: step '" +
                                    source.step_name + "' of execution " + source.execution_id +
                                    " (ended " + source.end_time + ")";
      std::vector<LineageRecord> reused;
      Result<std::vector<LineageRecord>> source_lineage = store_->ListLineage(source.execution_id);
      if (source_lineage.ok()) {
        for (LineageRecord edge : *source_lineage) {
          if (edge.step_name != source.step_name) continue;
          edge.execution_id = record_.id;
          edge.step_name = record_name;
          reused.push_back(std::move(edge));
        }
      }
      return finish("Succeeded", "", reused);
    }
    run.cache_explain["Result"] = "miss";
    run.cache_explain["Reason"] =
        hit.ok() ? (cache.expire_after.has_value()
                        ? "no succeeded run with this key ended within ExpireAfter " +
                              *cache.expire_after_text
                        : std::string("no succeeded run with this key"))
                 : "cache lookup failed: " + std::string(hit.status().message());
  } else {
    run.cache_explain["Result"] = "disabled";
    run.cache_explain["Reason"] = "CacheConfig.Enabled is not true";
  }

  // Attempts.
  RetryTracker retries(&step.retry_policies);
  for (int attempt = 1;; ++attempt) {
    run.attempt_count = attempt;
    run.status = "Executing";
    run.log_path = options.home + "/logs/" + record_.id + "/" + SafeFileName(record_name) +
                   "/attempt-" + std::to_string(attempt) + ".log";
    (void)store_->PutStepRun(run);
    if (attempt > 1) Emit(record_name, "Executing", attempt, false, "", started);
    if (stop_) return finish("Stopped", "stopped before the step ran", lineage);

    Result<std::string> staging = options.artifacts->NewStagingDir();
    if (!staging.ok()) return finish("Failed", std::string(staging.status().message()), lineage);
    FileStepLog log(run.log_path);
    StepContext context;
    context.execution_id = record_.id;
    context.pipeline_name = record_.pipeline_name;
    context.step_name = record_name;
    context.step_type = type;
    context.attempt = attempt;
    context.arguments = *arguments;
    context.definition = &step;
    context.pipeline_dir = record_.pipeline_dir;
    context.home = options.home;
    context.staging_dir = *staging;
    context.inputs = inputs;
    context.metadata = options.metadata;
    context.artifacts = options.artifacts;
    context.executor = options.executor;
    context.stop = &stop_;
    context.log = &log;
    Result<StepOutcome> outcome = runner->Run(context);

    Status failure;
    std::vector<LineageRecord> final_lineage = lineage;
    if (outcome.ok()) {
      nlohmann::json properties = outcome->properties;
      nlohmann::json outputs = nlohmann::json::object();
      std::error_code ec;
      std::vector<std::string> entries;
      for (const auto& entry : fs::directory_iterator(*staging, ec)) {
        entries.push_back(entry.path().filename().string());
      }
      std::sort(entries.begin(), entries.end());
      for (const std::string& name : entries) {
        Result<store::ArtifactRef> ref = options.artifacts->CommitStaged(*staging + "/" + name);
        if (!ref.ok()) {
          failure = ref.status().WithContext("committing output '" + name + "'");
          break;
        }
        outputs[name] = ref->uri;
        final_lineage.push_back({record_.id, record_name, "Output", name, "DataSet", ref->uri,
                                 ref->digest});
      }
      properties["Outputs"] = outputs;
      properties["Metrics"] = nlohmann::json(outcome->metrics);
      for (const auto& extra : outcome->lineage) {
        final_lineage.push_back(
            {record_.id, record_name,
             extra.direction == StepOutcome::LineageEntry::Direction::kInput ? "Input" : "Output",
             "", extra.artifact_type, extra.uri, extra.digest});
      }
      for (const PropertyFile& file : step.property_files) {
        if (!failure.ok()) break;
        if (!outputs.contains(file.output_name)) {
          failure = NotFoundError("PropertyFiles '" + file.name + "': the step produced no output '" +
                                  file.output_name + "'");
          break;
        }
        std::string uri = outputs[file.output_name].get<std::string>();
        Result<std::string> bytes = options.artifacts->ReadBytes(
            uri.substr(std::string_view("artifact://").size()), file.file_path);
        if (!bytes.ok()) {
          failure = bytes.status().WithContext("PropertyFiles '" + file.name + "'");
          break;
        }
        Result<nlohmann::json> json = core::ParseJson(*bytes, file.output_name + "/" + file.file_path);
        if (!json.ok()) {
          failure = json.status().WithContext("PropertyFiles '" + file.name + "'");
          break;
        }
        properties["PropertyFiles"][file.name] = *json;
      }
      std::filesystem::remove_all(*staging, ec);
      if (failure.ok()) {
        run.properties = std::move(properties);
        return finish("Succeeded", "", final_lineage);
      }
    } else {
      failure = outcome.status();
      std::error_code ec;
      std::filesystem::remove_all(*staging, ec);
    }
    if (stop_ || failure.code() == StatusCode::kCancelled) {
      return finish("Stopped", std::string(failure.message()), lineage);
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::optional<std::chrono::milliseconds> delay = retries.NextDelay(failure, elapsed);
    if (!delay.has_value()) return finish("Failed", std::string(failure.message()), lineage);
    log.Line("attempt " + std::to_string(attempt) + " failed (" +
             std::string(RetryExceptionType(failure)) + "): " + std::string(failure.message()) +
             "; retrying");
    auto scaled = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(delay->count()) * options.retry_interval_scale));
    if (!SleepUnlessStopped(scaled)) return finish("Stopped", "stopped while waiting to retry", lineage);
  }
}

}  // namespace raypipe::pipeline
