#pragma once

// raypipe.preprocess as an executor task (issue 7 item 4), so that with `--executor ray` the
// work (reading the offline store, shuffle, split, scaler, writing the splits) runs on a Ray
// worker rather than in the driver. Everything the task needs travels as one JSON value (a
// built-in codec, so no codec of its own): paths under RAYPIPE_HOME, which every node shares by
// design (docs/cluster.md), and the options. The task writes its outputs into a directory the
// caller names (the pipeline step's staging directory, under RAYPIPE_HOME/artifacts/staging),
// which the engine then commits content-addressed; its result is JSON too.
//
//   Outputs under `output_dir`:
//     train/train.rpcol, validation/validation.rpcol, test/test.rpcol   columnar tables
//                                                                       (data/columnar.h)
//     scaler/preprocessing.json                                         the fitted scaler
//
//   PreprocessTaskSpec spec;
//   spec.home = home; spec.feature_group = "houses"; spec.output_dir = staging;
//   spec.options.target = "PRICE";
//   ASSIGN_OR_RETURN(ObjectRef ref, executor.Submit(kPreprocessTaskKernel,
//                                                   {compute::Value::Of(ToJson(spec))}));
//   ASSIGN_OR_RETURN(auto json, executor.GetAs<nlohmann::json>(ref));
//   ASSIGN_OR_RETURN(PreprocessTaskResult result, PreprocessTaskResult::FromJson(*json));
//
// ml::RegisterMlKernels (ml/kernels.h) registers the kernel, in the driver and in Ray's workers.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "compute/kernel.h"
#include "core/status.h"
#include "data/table.h"
#include "ml/preprocess.h"

namespace raypipe::ml {

inline constexpr std::string_view kPreprocessTaskKernel = "raypipe.ml.Preprocess";

// The split outputs' names, in PreprocessOptions::proportions order, and the scaler's.
inline constexpr std::string_view kPreprocessSplitNames[] = {"train", "validation", "test"};
inline constexpr std::string_view kPreprocessScalerOutput = "scaler";
// The columnar table file's extension.
inline constexpr std::string_view kTableFileExtension = ".rpcol";

struct PreprocessTaskSpec {
  // RAYPIPE_HOME, absolute (the feature store lives there).
  std::string home;
  // Exactly one source: a feature group (its offline store, the newest live record per id) or
  // a table file (columnar or CSV; a directory holding one).
  std::string feature_group;
  std::string input_path;
  // target, proportions (three), seed, threads. drop_columns is used only when
  // explicit_drops is true; otherwise the task drops the store's columns that are present
  // (record_id, event_time, write_time, api_invocation_time, is_deleted, year, month, day, hour
  // and the group's record identifier and event time), never the target.
  PreprocessOptions options;
  bool explicit_drops = false;
  // Where the outputs go (created if missing). Must not exist with content from another run.
  std::string output_dir;
  // Prefixed to the names of fields in error messages ("Arguments."), so that errors read as
  // the caller's ("Arguments.DropColumns[1]: no column 'POOL' in the input").
  std::string field_prefix;
};

nlohmann::json ToJson(const PreprocessTaskSpec& spec);
// InvalidArgument naming the first malformed member.
Result<PreprocessTaskSpec> PreprocessTaskSpecFromJson(const nlohmann::json& json);

struct PreprocessTaskResult {
  int64_t input_rows = 0;
  std::vector<int64_t> split_rows;         // per split, in order
  std::vector<std::string> dropped;        // the columns dropped
  std::vector<std::string> features;       // the standardized columns
  // Milliseconds per phase, for the step's log: read, preprocess, write.
  double read_ms = 0, preprocess_ms = 0, write_ms = 0;

  nlohmann::json ToJson() const;
  static Result<PreprocessTaskResult> FromJson(const nlohmann::json& json);
};

// Does the work in the calling thread. `cancelled` (may be empty) is polled between phases:
// Cancelled when it returns true. Errors name the field (with spec.field_prefix): the source
// (FeatureGroupName / Input), TargetColumn, DropColumns[i]; ml::Preprocess's errors otherwise.
Result<PreprocessTaskResult> RunPreprocessTask(const PreprocessTaskSpec& spec,
                                               const std::function<bool()>& cancelled = {});

// Reads the table file at `path`: raypipe's columnar format (recognized by its magic bytes,
// whatever the file's name) is memory-mapped and used in place, without a copy; anything else
// is parsed as CSV. The errors of data::ReadTableFile / data::ReadCsvFile.
Result<data::Table> ReadTableAnyFormat(const std::string& path);

// Registers kPreprocessTaskKernel: one argument, the spec's JSON; returns the result's JSON.
Status RegisterPreprocessKernels(compute::KernelRegistry& kernels);

}  // namespace raypipe::ml
