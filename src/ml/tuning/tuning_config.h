#pragma once

// SageMaker's CreateHyperParameterTuningJob request, read once for everything that takes one
// (`raypipe tune --config FILE` and the pipeline's Tuning step):
//
//   HyperParameterTuningJobConfig:
//     Strategy: Bayesian | Random | Grid | Hyperband                       (default Bayesian)
//     HyperParameterTuningJobObjective: {Type: Minimize | Maximize, MetricName: validation:rmse}
//     ResourceLimits: {MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 4}   (defaults 10, 1)
//     ParameterRanges: {IntegerParameterRanges, ContinuousParameterRanges,
//                       CategoricalParameterRanges}  (SearchSpace::FromJson)
//     TrainingJobEarlyStoppingType: Off | Auto                             (default Off)
//     RandomSeed: 47                                                        (default 0)
//     StrategyConfig: {HyperbandStrategyConfig: {MinResource: 1, MaxResource: 100}}
//   WarmStartConfig:
//     ParentHyperParameterTuningJobs: [names] (SageMaker's [{HyperParameterTuningJobName}]
//                                               is accepted too)
//     WarmStartType: IdenticalDataAndAlgorithm | TransferLearning
//
// Numbers may be JSON numbers or strings holding one ("4"), as SageMaker and pipeline String
// parameters pass them. Unknown fields are refused. Every error is InvalidArgument naming the
// field from `where` down: "HyperParameterTuningJobConfig.ResourceLimits.
// MaxNumberOfTrainingJobs: must be at least 1, found 0".

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "ml/tuning/tuning_job.h"

namespace raypipe::ml::tuning {

// A TuningJobConfig from HyperParameterTuningJobConfig. The name, cpus_per_job, warm_start and
// bayesian options keep their defaults: the caller sets them.
Result<TuningJobConfig> ParseHyperParameterTuningJobConfig(
    const nlohmann::json& config, std::string_view where = "HyperParameterTuningJobConfig");

struct WarmStartConfig {
  std::vector<std::string> parent_jobs;  // at least one
  std::string type = "IdenticalDataAndAlgorithm";
};

Result<WarmStartConfig> ParseWarmStartConfig(const nlohmann::json& config,
                                             std::string_view where = "WarmStartConfig");

}  // namespace raypipe::ml::tuning
