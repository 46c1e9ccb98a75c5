#pragma once

// The XGBoost tuning trial as an executor actor ("raypipe.ml.TuningTrial"), so that a trial
// runs wherever the executor puts it: in this process on the LocalExecutor, in a Ray worker on
// Ray. Everything it takes and returns has a codec (RegisterTrialCodecs):
//
//   CreateActor(kTuningTrialActor, {ObjectRef of TrialData, json spec})
//     TrialData   the training table and the evaluation sets, Put ONCE per tuning job and
//                 shared by every trial (Ray's object store ships it to each node once).
//     spec        {"options": TrainOptions' plain fields (target, features, hyperparameters:
//                 static and tuned, num_boost_round, nthread, early_stopping_metric),
//                  "objective_metric": "validation:rmse"}.
//   CallActor("Advance", {int64 to_round}) -> json {"rounds": rounds done, "done": bool,
//                 "metrics": {series: [values of the rounds this call ran]}}
//     Trains until `to_round` rounds are done (or num_round, or early_stopping_rounds says
//     stop; then "done" is true). The first call builds the DMatrices and the booster; a call
//     after "done" runs nothing.
//   CallActor("Finish", {}) -> TrainResult (the "raypipe.ml.TrainResult" codec: the model as
//     UBJSON, the history, the final metrics at the best round under early_stopping_rounds).
//   CallActor("Begin", {json spec}) -> json true
//     Starts the next training job on the same actor: its state is reset, and the DMatrices
//     are kept when the spec's features, target and nthread are unchanged (within a tuning job
//     they are), so a job after the first neither builds them again nor, on Ray, starts a
//     worker process. A bad spec is InvalidArgument, and so are the job's later calls.
//
// Between Advance calls the tuning job's driver applies its early stopping (the median rule,
// Hyperband's rungs) to the rounds' metrics, then advances or finishes the trial. The trial
// trains with ml::Trainer, the loop under ml::Train, so it gives the same booster as ml::Train
// with the same options.
//
// Thread-safety: the executor runs an actor's calls one at a time; TrialData is immutable.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compute/codec.h"
#include "compute/kernel.h"
#include "core/status.h"
#include "data/table.h"
#include "ml/train.h"

namespace raypipe::ml::tuning {

inline constexpr std::string_view kTuningTrialActor = "raypipe.ml.TuningTrial";

// The tables every trial of one tuning job trains and evaluates on.
struct TrialData {
  struct EvalSet {
    std::string name;
    // True when the set is the training table itself (it then reuses the training DMatrix,
    // and `table` is empty).
    bool is_train = false;
    data::Table table;
  };
  data::Table train;
  std::vector<EvalSet> evals;
};

// `train` and `evals` as TrialData: an evaluation table holding the training table's own
// buffers (a copy of it) becomes an is_train set.
TrialData MakeTrialData(data::Table train,
                        std::vector<std::pair<std::string, data::Table>> evals);

// The spec a trial actor is created with (see above) and its inverse. InvalidArgument names a
// missing or mistyped field.
nlohmann::json TrialSpecToJson(const TrainOptions& options, const std::string& objective_metric);
Result<std::pair<TrainOptions, std::string>> TrialSpecFromJson(const nlohmann::json& spec);

// Registers kTuningTrialActor. AlreadyExists when registered twice.
Status RegisterTrialActor(compute::KernelRegistry& registry);

// Registers TrialData's codec ("raypipe.ml.TrialData": numeric columns as raw little-endian
// buffers with their validity). Encoding a String column is refused (XGBoost takes numbers
// only); decoding rejects malformed bytes with DataLoss.
Status RegisterTrialCodecs(compute::CodecRegistry& codecs);

// The codec's functions, for tests and fuzzers.
Result<std::string> EncodeTrialData(const TrialData& data);
Result<TrialData> DecodeTrialData(std::string_view bytes);

}  // namespace raypipe::ml::tuning
