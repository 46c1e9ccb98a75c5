#pragma once

// The interface between the pipeline engine and the implementation of one step type.
//
// One StepRunner per step type (Command, FeatureStoreIngest, Processing, Training, Tuning,
// RegisterModel, Deploy, ...). The engine owns everything around a run: it resolves the step's
// expressions, resolves and verifies its input artifacts, computes the cache key, gives the
// step an empty staging directory, runs it (retrying transient errors as RetryPolicies say),
// commits what the step wrote to the ArtifactStore, reads PropertyFiles, and records status,
// properties, metrics, logs and lineage in the metadata store. The runner only does the work.
// Condition, Fail and ForEach are control flow and live inside the engine, not here.
//
// The contract of Run(context):
//   - context.arguments are the step's Arguments with every expression evaluated. A
//     {"Get": "Steps.X.Outputs.<name>"} has become the URI "artifact://sha256:<hex>"; the
//     engine has already resolved every input (context.inputs, from DeclareInputs) to a
//     read-only path. Never write under an input path, the ArtifactStore or the pipeline
//     directory.
//   - Each output goes to `<context.staging_dir>/<OutputName>` (a file or a directory). After
//     Run succeeds, the engine commits every top-level entry of staging_dir as an artifact,
//     exposes it as Steps.<step>.Outputs.<OutputName> (its artifact URI) and records lineage.
//     After a failure the staging directory is discarded: a retry gets a fresh, empty one.
//   - Poll context.StopRequested() (at least once a second in long work) and return
//     CancelledError when it is set: the step is then marked Stopped.
//   - Errors: a Status for which IsTransient() is true (Unavailable, DeadlineExceeded, Aborted,
//     ResourceExhausted) is retryable: the step's RetryPolicies decide whether it is retried
//     (RetryExceptionType maps the code to SageMaker's ExceptionType). Any other code fails
//     the step at once; its message becomes the step's FailureReason, so say what was wrong
//     and where ("Arguments.MaxDepth: expected an Integer, found \"deep\"").
//   - Run must be side-effect free apart from its staging directory and the stores, or at
//     least idempotent: after a crash of the orchestrator the step is run again.
//
// Thread-safety: a runner object is shared by every step of its type in every execution of
// the process; Run (and DeclareInputs) may be called concurrently from several threads, each
// with its own StepContext. Keep per-run state in locals.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/step_types.h"

namespace raypipe::store {
class MetadataStore;
class ArtifactStore;
}  // namespace raypipe::store

namespace raypipe::compute {
class Executor;
}  // namespace raypipe::compute

namespace raypipe::pipeline {

// Where a step's log lines go: the engine keeps them as the step's log
// (RAYPIPE_HOME/logs/<execution>/<step>/attempt-<n>.log) and shows the tail on failure.
// Thread-safe: a step may write from several threads.
class StepLog {
 public:
  virtual ~StepLog() = default;
  // Appends one line (a trailing newline is added; embedded newlines split it).
  virtual void Line(std::string_view line) = 0;
};

// A StepLog that keeps the lines in memory (tests, and steps that run in-process).
class MemoryStepLog final : public StepLog {
 public:
  void Line(std::string_view line) override;
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mutex_;  // guards lines_
  std::vector<std::string> lines_;
};

// An input the step reads, declared by StepRunner::DeclareInputs before the run.
struct InputDeclaration {
  enum class Kind {
    // Data the step reads. `source` is an artifact URI ("artifact://sha256:<hex>") or a path
    // (relative paths are relative to the pipeline file's directory). A path is imported into
    // the ArtifactStore, so the step reads a content-addressed, read-only copy; its digest goes
    // into the cache key and the lineage.
    kArtifact,
    // Code or configuration the step depends on (a script named on a command line): only its
    // content digest goes into the cache key; the step reads it where it is. Never lineage.
    kCode,
  };
  std::string name;    // InputName; unique within the step
  std::string source;  // artifact URI or path
  Kind kind = Kind::kArtifact;
};

// An input the engine resolved.
struct ResolvedInput {
  std::string name;
  std::string digest;  // "sha256:<hex>"
  std::string uri;     // "artifact://sha256:<hex>"
  std::string path;    // read-only path of the artifact (a file or a directory)
};

// Everything a run may use. Built by the engine for one attempt of one step; pointers are not
// owned and outlive the call to Run.
struct StepContext {
  std::string execution_id;   // "exec-01jd..."
  std::string pipeline_name;
  std::string step_name;      // for a ForEach iteration: "<Step>[<index>]"
  std::string step_type;
  int attempt = 1;            // 1 for the first try, 2 for the first retry, ...
  // The Arguments with every expression evaluated (for a ForEach iteration, the template's,
  // with Item and ItemIndex substituted).
  nlohmann::json arguments = nlohmann::json::object();
  // The step's definition (PropertyFiles, CacheConfig, DisplayName, ...). Not null.
  const StepDefinition* definition = nullptr;
  // Absolute directory of the pipeline file (relative paths in Arguments are relative to it).
  std::string pipeline_dir;
  // RAYPIPE_HOME, absolute.
  std::string home;
  // An empty directory, the step's only place to write outputs: <staging_dir>/<OutputName>.
  std::string staging_dir;
  // Inputs by InputName, as DeclareInputs named them, resolved to read-only paths.
  std::map<std::string, ResolvedInput> inputs;

  store::MetadataStore* metadata = nullptr;
  store::ArtifactStore* artifacts = nullptr;
  // The compute backend (local threads or Ray) for parallel kernels. Not null.
  compute::Executor* executor = nullptr;
  // Set by the engine when the execution is being stopped. Not null.
  const std::atomic<bool>* stop = nullptr;
  // The step's log. Not null.
  StepLog* log = nullptr;

  bool StopRequested() const { return stop != nullptr && stop->load(std::memory_order_relaxed); }
  void Log(std::string_view line) const {
    if (log != nullptr) log->Line(line);
  }
};

// What a successful run reports beyond its outputs.
struct StepOutcome {
  // Merged into the step's properties: {"ModelPackageArn": "..."} makes
  // Steps.X.ModelPackageArn resolvable. Keys "Outputs" and "Metrics" are the engine's.
  nlohmann::json properties = nlohmann::json::object();
  // Steps.X.Metrics.<name>; also recorded with the step run.
  std::map<std::string, double> metrics;
  // Extra lineage: artifacts the step read or produced outside its inputs and outputs (a feature
  // group, a model package, an endpoint).
  struct LineageEntry {
    enum class Direction { kInput, kOutput };
    Direction direction = Direction::kOutput;
    std::string artifact_type;  // "FeatureGroup", "ModelPackage", "Endpoint", "DataSet", ...
    std::string uri;            // "featurestore://housing", "artifact://sha256:..."
    std::string digest;         // may be empty when the thing has no content digest
  };
  std::vector<LineageEntry> lineage;
};

class StepRunner {
 public:
  virtual ~StepRunner() = default;

  // The step Type it implements ("Command", "Training", ...).
  virtual std::string_view Type() const = 0;
  // Changes whenever the step's behaviour changes in a way that should miss the cache
  // ("1", "2026-11-27"); part of the cache key.
  virtual std::string_view ImplementationVersion() const = 0;

  // The inputs of a run, from its resolved arguments. `pipeline_dir` is the pipeline file's
  // directory. InvalidArgument naming the field for malformed arguments. The default declares
  // one kArtifact input for every string in `arguments` that is an artifact URI, named by its
  // field path ("TrainData", "Inputs[0].Source").
  virtual Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const;

  // Does the work of one attempt. See the contract at the top of this file.
  virtual Result<StepOutcome> Run(StepContext& context) = 0;

  // The validator's view of the type (argument checks, properties). nullopt: keep the spec
  // BuiltinStepTypes() has for Type().
  virtual std::optional<StepTypeSpec> TypeSpec() const { return std::nullopt; }
};

// The runners of one engine, filled explicitly at start-up (no static registration):
//   StepRunnerRegistry runners;
//   RETURN_IF_ERROR(runners.Register(std::make_unique<CommandStepRunner>()));
// Not thread-safe to fill; safe to read from many threads once filled.
class StepRunnerRegistry {
 public:
  // AlreadyExists when a runner for the type is registered; InvalidArgument for null.
  Status Register(std::unique_ptr<StepRunner> runner);
  // The runner of `type`, or null.
  StepRunner* Find(std::string_view type) const;
  // Registered types, sorted.
  std::vector<std::string> Types() const;
  // BuiltinStepTypes() with each runner's TypeSpec() registered over it: what to validate
  // definitions against.
  StepTypeRegistry ValidationTypes() const;

 private:
  std::map<std::string, std::unique_ptr<StepRunner>, std::less<>> runners_;
};

// SageMaker's RetryPolicies ExceptionType for a failed status, or "" when it is not retryable:
// Unavailable -> "Step.SERVICE_FAULT", DeadlineExceeded -> "Step.THROTTLING",
// Aborted -> "SageMaker.JOB_INTERNAL_ERROR", ResourceExhausted -> "SageMaker.CAPACITY_ERROR"
// (or "SageMaker.RESOURCE_LIMIT" when the message mentions a limit).
std::string_view RetryExceptionType(const Status& status);

// True for "artifact://sha256:<64 lower-case hex>".
bool IsArtifactUri(std::string_view text);

}  // namespace raypipe::pipeline
