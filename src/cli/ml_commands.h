#pragma once

// `raypipe train` and `raypipe tune`: XGBoost training and hyperparameter tuning on CSV files
// (ml/train.h, ml/distributed.h, ml/tuning/tuning_job.h), on the local executor.
//
//   raypipe train --train TRAIN.csv [--validation VAL.csv] --target PRICE --out MODEL_DIR
//       [--hyperparameter max_depth=5]... [--workers W --cpus-per-worker X] [--standardize]
//     Trains one model and writes it as a model bundle (ml/model_bundle.h).
//   raypipe tune --train TRAIN.csv --validation VAL.csv --target PRICE
//       --integer max_depth=1:8 --continuous eta=0.2:1 [--categorical tree_method=approx,hist]
//       [--strategy Bayesian|Random|Grid|Hyperband] [--max-jobs N] [--max-parallel-jobs P]
//       [--out BEST_MODEL_DIR]
//     Runs a tuning job and lists its training jobs best first.

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the `train` and `tune` commands. Errors only for a declaration bug.
Status RegisterMlCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
