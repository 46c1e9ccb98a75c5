#pragma once

// The Training step (steps.md): one XGBoost training job, on one worker or, with NumWorkers > 1,
// on W worker actors joined by XGBoost's collective (ml/distributed.h).
//
//   Arguments:
//     Channels: {train: URI|path (required), validation: URI|path}   a CSV file, or a directory
//                                                                     holding one CSV
//     Preprocessing: URI|path of a preprocessing.json (or a directory holding one); it goes into
//                    the model bundle so serving takes raw features
//     TargetColumn: PRICE                  (required)
//     HyperParameters: {max_depth: 5, eta: "0.3"}        numbers or strings
//     StaticHyperParameters: {objective: reg:squarederror, num_round: 100}  merged under
//                    HyperParameters; num_round (default 100) and early_stopping_rounds too
//     NumWorkers: 1                        > 1: distributed training
//     CpusPerWorker: 1                     XGBoost threads per worker: max(1, floor(cpus))
//     ExperimentName: the pipeline name    the experiment the run is recorded in
//
// Evaluation sets: "train" always, "validation" when given (last, so early stopping watches
// it); metric series are "<set>:<metric>" ("validation:rmse"). Output model/ (ml/model_bundle.h).
// Properties: TrainingJobName ("<step>-<execution id>"), ModelArtifacts.S3ModelArtifacts (the
// model's artifact URI, equal to Outputs.model), FinalMetricDataList [{MetricName, Value}],
// TrainingRunId (the experiments run);
// Metrics.<series> the final values (at the best round under early stopping).
// The job is a run of the experiment (experiments/run_recorder.h): the hyperparameters,
// NumWorkers and CpusPerWorker as parameters, every series per round, and the final values as
// "final:<series>" (compare's "value at the highest step" is then the reported one).
//
// Stop: single-worker training polls StopRequested every boosting round. Distributed training
// cannot be interrupted through ml::TrainDistributed (it takes no cancel hook): stop is checked
// before and after it.
//
// Kernels: ml::RegisterMlKernels (ml/kernels.h) for NumWorkers > 1.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/scaler.h"
#include "data/table.h"
#include "experiments/experiment_store.h"
#include "experiments/run_recorder.h"
#include "ml/train.h"
#include "pipeline/step_runner.h"
#include "pipeline/steps/step_arguments.h"

namespace raypipe::pipeline {

class TrainingStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "Training"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  // The default (artifact URIs) plus the plain paths of Channels and Preprocessing, so their
  // content is part of the cache key and the lineage.
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;
  std::optional<StepTypeSpec> TypeSpec() const override;
};

// What the Training and Tuning steps share: the Tuning step's TrainingJobDefinition is the
// Training step's Arguments without HyperParameters.
namespace training {

struct JobDefinition {
  // The argument values as resolved (artifact URIs or paths); validation and preprocessing
  // may be empty.
  std::string train, validation, preprocessing;
  std::string target;
  ml::Hyperparameters hyperparameters;  // StaticHyperParameters, HyperParameters over them
  int num_workers = 1;
  double cpus_per_worker = 1.0;
  std::string experiment;
};

// Reads the fields from `args`; unknown fields and bad values are InvalidArgument naming them.
Result<JobDefinition> ReadJobDefinition(const StepArguments& args, const StepContext& context,
                                        bool with_hyperparameters);

struct JobData {
  data::Table train;
  std::optional<data::Table> validation;
  std::optional<data::StandardScaler> preprocessing;
  std::vector<std::string> features;  // every column of train but the target
};

// Reads the channels and the scaler. `prefix` is where the fields sit in the arguments ("" or
// "TrainingJobDefinition."): inputs are looked up by "<prefix>Channels.train", ... and errors
// name "Arguments.<prefix>Channels.train".
Result<JobData> LoadJobData(const JobDefinition& definition, const StepContext& context,
                            std::string_view prefix);

// Adds the plain-path inputs under `object` (at `prefix`) not yet in `inputs`.
void DeclarePathInputs(const nlohmann::json& object, std::string_view prefix,
                       std::vector<InputDeclaration>* inputs);

// Static checks of the fields in `object`, which sits at `at` inside the step's Arguments.
void ValidateJobDefinition(const ArgumentsContext& context, const nlohmann::json& object,
                           const FieldPath& at, bool with_hyperparameters);

// A job name from the step and execution: letters, digits and '-' ("Train-exec-01jd...").
std::string JobName(std::string_view step_name, std::string_view execution_id);

// [{MetricName, Value}] of final metric values, sorted by name.
nlohmann::json FinalMetricDataList(const ml::RoundMetrics& metrics);

// Ends a training job's run, started when the job started: `result` (may be null) gives its
// series and final values.
Status FinishRun(experiments::RunRecorder& run, const ml::TrainResult* result,
                 experiments::RunStatus status, std::string_view failure_reason);

// The artifact URI the engine will give the staged output at `path` (content-addressed:
// storing it here first costs nothing more when the engine commits it).
Result<std::string> ArtifactUriOf(const StepContext& context, const std::string& path);

}  // namespace training
}  // namespace raypipe::pipeline
