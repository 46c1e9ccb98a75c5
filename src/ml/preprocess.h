#pragma once

// The built-in preprocessing of the reference workflow (DESIGN.md section 1; the pipeline's
// raypipe.preprocess processor): drop columns, random_shuffle(seed), split_proportionately into
// train / validation / test, and standardize every feature with a StandardScaler fitted on the
// training split only, then applied to every split. The target column is never scaled.
//
//   ml::PreprocessOptions options;
//   options.target = "PRICE";
//   options.proportions = {0.6, 0.2, 0.2};
//   options.seed = 42;
//   ASSIGN_OR_RETURN(ml::PreprocessResult prepared, ml::Preprocess(table, options));
//   // prepared.splits[0] is train; prepared.scaler goes into the model bundle.
//
// StandardizeFeatures is the scaling part on its own, for callers that already have their
// splits (`raypipe train --standardize` fits on --train and applies to --validation).
//
// Deterministic: the same table, proportions and seed give the same splits and scaler, for
// every thread count. Thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/scaler.h"
#include "data/table.h"

namespace raypipe::ml {

struct PreprocessOptions {
  // The label column: kept as it is, never scaled. Required.
  std::string target;
  // Split proportions in output order (train, validation, test); each > 0, summing to 1 within
  // 1e-9. The last split takes what rounding leaves (data::SplitMode::kExact).
  std::vector<double> proportions = {0.6, 0.2, 0.2};
  // The shuffle's seed (data::RandomShuffle).
  uint64_t seed = 42;
  // Columns removed before anything else; each must be a column of the table.
  std::vector<std::string> drop_columns;
  // Threads for the shuffle and the scaling; 0 = hardware. Never changes the result.
  int threads = 0;
};

struct PreprocessResult {
  // One table per proportion, in order, features standardized.
  std::vector<data::Table> splits;
  // Fitted on splits[0]'s features (before scaling).
  data::StandardScaler scaler;
  // The standardized columns: every column left after the drop but the target, in table order.
  std::vector<std::string> features;
};

// InvalidArgument for a missing target or drop column (naming it and the columns present), a
// String feature column (drop it), bad proportions, or a table too small for the splits.
Result<PreprocessResult> Preprocess(const data::Table& table, const PreprocessOptions& options);

struct StandardizedTables {
  data::StandardScaler scaler;      // fitted on `fit_on`'s features
  std::vector<data::Table> tables;  // each of `tables`, standardized
};

// Fits a StandardScaler on `features` of `fit_on` and applies it to each of `tables` (pass the
// training table again to get it scaled). Errors as StandardScaler::Fit / Transform.
Result<StandardizedTables> StandardizeFeatures(const data::Table& fit_on,
                                               const std::vector<data::Table>& tables,
                                               const std::vector<std::string>& features,
                                               int threads = 0);

}  // namespace raypipe::ml
