#pragma once

// The Processing step with raypipe's built-in processors (steps.md, issue 5 item 3):
//
//   - Name: PreprocessData
//     Type: Processing
//     Arguments:
//       Processor: raypipe.preprocess
//       FeatureGroupName: {Get: Parameters.FeatureGroupName}   # XOR Input: a CSV path or artifact
//       TargetColumn: PRICE
//       TrainSize: {Get: Parameters.TrainSize}                 # Float or numeric String
//       ValidationSize: "0.2"
//       TestSize: "0.2"
//       Seed: 42                                               # default 42
//       DropColumns: [record_id]                               # default: the store's columns
//
//   raypipe.preprocess reads the feature group's offline store (the newest record per id,
//   deleted ones left out) or the Input table (CSV or columnar), drops DropColumns (default:
//   those present of the group's record identifier and event time, record_id, event_time,
//   write_time, api_invocation_time, is_deleted, year, month, day, hour), then runs
//   ml::Preprocess: random_shuffle(Seed), split into train / validation / test (TrainSize +
//   ValidationSize + TestSize must be 1 within 1e-9), StandardScaler fitted on train's features
//   only and applied to all three; TargetColumn is never scaled. The work runs as the executor
//   task raypipe.ml.Preprocess (ml/preprocess_task.h: on a Ray worker with --executor ray; in
//   the driver when the host did not register the kernel). Outputs: train/train.rpcol,
//   validation/validation.rpcol, test/test.rpcol (raypipe's columnar format, data/columnar.h:
//   consumers map them without parsing or copying; `raypipe datasets to-csv` converts one),
//   scaler/preprocessing.json (the scaler, exactly a model bundle's preprocessing.json).
//   Properties: Outputs.<name>, RowCounts.train / validation / test, ProcessingJobName.
//   Lineage: the feature group as an input.
//
//   - Name: EvaluateModel
//     Type: Processing
//     Arguments:
//       Processor: raypipe.evaluate
//       Model: {Get: Steps.HPTuning.Outputs.model}     # a model bundle directory
//       TestData: {Get: Steps.PreprocessData.Outputs.test}   # a table file or a directory of one
//       TargetColumn: PRICE
//     PropertyFiles: [{PropertyFileName: EvaluationReport, OutputName: evaluation,
//                      FilePath: evaluation.json}]
//
//   raypipe.evaluate predicts the (already scaled) test table with the bundle's booster, without
//   applying the bundle's preprocessing, and writes evaluation/evaluation.json in the seed's
//   layout (ml/evaluate.h). Metrics: rmse and mae (a binary:* classifier: accuracy, auc,
//   precision, recall, f1, logloss).
//
// Paths (Input, Model, TestData) are relative to the pipeline file; DeclareInputs declares them
// as artifact inputs, so the engine imports them and their content goes into the cache key.
// Every error names the field ("Arguments.TrainSize + ValidationSize + TestSize = 0.9, must be
// 1"). raypipe.evaluate runs in the driver.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

inline constexpr std::string_view kPreprocessProcessor = "raypipe.preprocess";
inline constexpr std::string_view kEvaluateProcessor = "raypipe.evaluate";

class ProcessingStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "Processing"; }
  std::string_view ImplementationVersion() const override { return "2"; }
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;
  std::optional<StepTypeSpec> TypeSpec() const override;
};

}  // namespace raypipe::pipeline
