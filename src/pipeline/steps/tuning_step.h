#pragma once

// The Tuning step (steps.md): a hyperparameter tuning job in SageMaker's
// CreateHyperParameterTuningJob shape, run by ml::tuning::RunTuningJob with XGBoost training
// jobs as tasks on the step's executor.
//
//   Arguments:
//     HyperParameterTuningJobConfig: {Strategy, HyperParameterTuningJobObjective,
//       ResourceLimits, ParameterRanges, TrainingJobEarlyStoppingType, RandomSeed,
//       StrategyConfig}          parsed by ml/tuning/tuning_config.h (as `raypipe tune --config`)
//     TrainingJobDefinition: the Training step's Arguments without HyperParameters
//       (Channels, Preprocessing, TargetColumn, StaticHyperParameters, NumWorkers,
//       CpusPerWorker, ExperimentName)
//     WarmStartConfig: {ParentHyperParameterTuningJobs: [names], WarmStartType}   optional
//
// The tuning job is named "<step>-<execution id>"; its training jobs "<job>-<NNN>-<hash>".
// Each training job holds NumWorkers * CpusPerWorker CPUs of the executor and trains with that
// many XGBoost threads on one worker (a trial cannot itself run distributed training: a kernel
// must not wait on its own executor).
//
// Output model/: the best training job's model bundle, with Preprocessing. Properties:
// HyperParameterTuningJobName, BestTrainingJob {TrainingJobName, TunedHyperParameters,
// FinalHyperParameterTuningJobObjectiveMetric {MetricName, Value}, ModelArtifacts
// {S3ModelArtifacts}}, TrainingJobSummaries (best first; each {TrainingJobName,
// TrainingJobStatus, TunedHyperParameters, FinalHyperParameterTuningJobObjectiveMetric, and
// FailureReason when Failed}), TrainingJobStatusCounters {Completed, Stopped, Failed}.
// Metrics: the best objective under its MetricName.
//
// Records: every training job is a run of the experiment (ExperimentName, default the pipeline
// name) with source {kind "tuning", execution_id: the tuning job's name, step_name: the step},
// its hyperparameters (static and tuned) as parameters, its metric series per round and
// "final:<series>" values. Warm start reads the parents' runs back from there, by that source.
//
// Stop: the executor's trials poll StopRequested every boosting round; trials not yet started
// end at once; the step then returns Cancelled.
//
// Kernels: ml::RegisterMlKernels (ml/kernels.h: the tuning trial task).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

class TuningStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "Tuning"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  // The default (artifact URIs) plus the plain paths of TrainingJobDefinition's Channels and
  // Preprocessing.
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;
  std::optional<StepTypeSpec> TypeSpec() const override;
};

}  // namespace raypipe::pipeline
