#include "ml/distributed.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include "compute/value.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/logging.h"
#include "ml/internal/xgb_check.h"

namespace raypipe::ml {

namespace {

constexpr char kCheckpointModel[] = "checkpoint.ubj";
constexpr char kCheckpointHistory[] = "checkpoint-history.json";

// Everything one worker needs for one attempt.
struct WorkerJob {
  int rank = 0;
  nlohmann::json communicator;  // XGCommunicatorInit's configuration
  data::Table train;
  std::vector<std::pair<std::string, data::Table>> evals;
  TrainOptions options;       // callbacks and initial_model cleared
  std::string initial_model;  // UBJSON, or empty
  std::filesystem::path checkpoint_dir;  // rank 0 writes here when checkpointing
  int fail_at_round = -1;
  int round_delay_ms = 0;  // testing: a pause after each round
};

// ---- What a worker in another process receives and returns (the Ray executor serializes) ----
// A WorkerJob and a TrainResult travel as CBOR: plain fields, tables column by column as raw
// little-endian buffers, models as UBJSON bytes.

using Json = nlohmann::json;

Json::binary_t Bytes(const void* data, size_t size) {
  const auto* begin = static_cast<const uint8_t*>(data);
  return Json::binary_t(std::vector<uint8_t>(begin, begin + size));
}

template <typename T>
std::vector<T> FromBytes(const Json& bytes) {
  const std::vector<uint8_t>& raw = bytes.get_binary();
  if (raw.size() % sizeof(T) != 0) throw std::runtime_error("buffer size is not a multiple");
  std::vector<T> values(raw.size() / sizeof(T));
  if (!raw.empty()) std::memcpy(values.data(), raw.data(), raw.size());
  return values;
}

Json TableToJson(const data::Table& table) {
  Json columns = Json::array();
  for (const data::Column& column : table.columns()) {
    Json encoded = {{"name", column.name()}, {"type", static_cast<int>(column.type())}};
    const size_t rows = column.length();
    if (column.type() == data::DataType::kFloat64) {
      encoded["values"] = Bytes(column.float64s().data(), rows * sizeof(double));
    } else if (column.type() == data::DataType::kInt64) {
      encoded["values"] = Bytes(column.int64s().data(), rows * sizeof(int64_t));
    } else {
      std::vector<int64_t> sizes(rows);
      std::string chars;
      for (size_t row = 0; row < rows; ++row) {
        std::string_view value = column.string(row);
        sizes[row] = static_cast<int64_t>(value.size());
        chars.append(value);
      }
      encoded["values"] = Bytes(sizes.data(), sizes.size() * sizeof(int64_t));
      encoded["chars"] = Bytes(chars.data(), chars.size());
    }
    std::span<const uint8_t> validity = column.validity();
    encoded["validity"] = Bytes(validity.data(), validity.size());
    columns.push_back(std::move(encoded));
  }
  return columns;
}

Result<data::Table> TableFromJson(const Json& columns) {
  std::vector<data::Column> decoded;
  for (const Json& column : columns) {
    std::string name = column.at("name").get<std::string>();
    int type = column.at("type").get<int>();
    std::vector<uint8_t> validity = column.at("validity").get_binary();
    if (type == static_cast<int>(data::DataType::kFloat64)) {
      std::vector<double> values = FromBytes<double>(column.at("values"));
      if (!validity.empty() && validity.size() != values.size()) {
        return DataLossError("column '" + name + "': validity does not match its values");
      }
      decoded.push_back(data::Column::Float64(name, std::move(values), std::move(validity)));
    } else if (type == static_cast<int>(data::DataType::kInt64)) {
      std::vector<int64_t> values = FromBytes<int64_t>(column.at("values"));
      if (!validity.empty() && validity.size() != values.size()) {
        return DataLossError("column '" + name + "': validity does not match its values");
      }
      decoded.push_back(data::Column::Int64(name, std::move(values), std::move(validity)));
    } else if (type == static_cast<int>(data::DataType::kString)) {
      std::vector<int64_t> sizes = FromBytes<int64_t>(column.at("values"));
      const std::vector<uint8_t>& chars = column.at("chars").get_binary();
      std::vector<std::string> values;
      values.reserve(sizes.size());
      size_t at = 0;
      for (int64_t size : sizes) {
        if (size < 0 || at + static_cast<size_t>(size) > chars.size()) {
          return DataLossError("column '" + name + "': string sizes exceed its characters");
        }
        values.emplace_back(reinterpret_cast<const char*>(chars.data()) + at,
                            static_cast<size_t>(size));
        at += static_cast<size_t>(size);
      }
      if (!validity.empty() && validity.size() != values.size()) {
        return DataLossError("column '" + name + "': validity does not match its values");
      }
      decoded.push_back(data::Column::String(name, values, std::move(validity)));
    } else {
      return DataLossError("column '" + name + "': unknown type " + std::to_string(type));
    }
  }
  return data::Table::Make(std::move(decoded));
}

Json OptionsToJson(const TrainOptions& options) {
  return {{"features", options.features},
          {"target", options.target},
          {"hyperparameters", options.hyperparameters},
          {"num_boost_round", options.num_boost_round},
          {"nthread", options.nthread},
          {"early_stopping_metric", options.early_stopping_metric},
          {"checkpoint_every", options.checkpoint_every}};
}

TrainOptions OptionsFromJson(const Json& json) {
  TrainOptions options;
  options.features = json.at("features").get<std::vector<std::string>>();
  options.target = json.at("target").get<std::string>();
  options.hyperparameters = json.at("hyperparameters").get<Hyperparameters>();
  options.num_boost_round = json.at("num_boost_round").get<int>();
  options.nthread = json.at("nthread").get<int>();
  options.early_stopping_metric = json.at("early_stopping_metric").get<std::string>();
  options.checkpoint_every = json.at("checkpoint_every").get<int>();
  return options;
}

// RAII over XGTrackerCreate / XGTrackerRun ... XGTrackerWaitFor / XGTrackerFree.
class Tracker {
 public:
  static Result<std::unique_ptr<Tracker>> Start(int num_workers, const std::string& host,
                                                std::chrono::seconds timeout) {
    nlohmann::json config = {{"dmlc_communicator", "rabit"},
                             {"n_workers", num_workers},
                             {"host", host},
                             {"port", 0},
                             {"sortby", 1},
                             {"timeout", timeout.count()}};
    TrackerHandle handle = nullptr;
    RETURN_IF_XGB_ERROR(XGTrackerCreate(config.dump().c_str(), &handle), "tracker creation");
    std::unique_ptr<Tracker> tracker(new Tracker(handle));
    RETURN_IF_XGB_ERROR(XGTrackerRun(handle, "{}"), "starting the tracker");
    const char* args = nullptr;
    RETURN_IF_XGB_ERROR(XGTrackerWorkerArgs(handle, &args), "reading the tracker's address");
    ASSIGN_OR_RETURN(tracker->worker_args_, core::ParseJson(args, "tracker worker args"));
    return tracker;
  }
  ~Tracker() {
    if (handle_ != nullptr) XGTrackerFree(handle_);
  }
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  const nlohmann::json& worker_args() const { return worker_args_; }
  Status WaitFor() {
    return internal::CheckXgb(XGTrackerWaitFor(handle_, "{}"), "waiting for the tracker");
  }

 private:
  explicit Tracker(TrackerHandle handle) : handle_(handle) {}
  TrackerHandle handle_;
  nlohmann::json worker_args_;
};

// The calling thread's membership in XGBoost's collective (thread-local in XGBoost).
class CommunicatorScope {
 public:
  static Result<std::unique_ptr<CommunicatorScope>> Join(const nlohmann::json& config) {
    RETURN_IF_XGB_ERROR(XGCommunicatorInit(config.dump().c_str()), "joining the collective");
    return std::unique_ptr<CommunicatorScope>(new CommunicatorScope());
  }
  ~CommunicatorScope() { XGCommunicatorFinalize(); }
  CommunicatorScope(const CommunicatorScope&) = delete;
  CommunicatorScope& operator=(const CommunicatorScope&) = delete;

 private:
  CommunicatorScope() = default;
};

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return InternalError("cannot write checkpoint '" + temporary.string() + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return InternalError("cannot rename checkpoint to '" + path.string() + "'");
  return Status::Ok();
}

// Writes `worker-<rank>.json` (see distributed.h) into the checkpoint directory.
void ReportWorker(const WorkerJob& job) {
  if (job.checkpoint_dir.empty()) return;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  nlohmann::json report = {{"rank", job.rank},
                           {"pid", static_cast<int64_t>(getpid())},
                           {"parent_pid", static_cast<int64_t>(getppid())},
                           {"host", std::string(host)}};
  Status written = WriteFileAtomically(
      job.checkpoint_dir / ("worker-" + std::to_string(job.rank) + ".json"), report.dump());
  if (!written.ok()) RAYPIPE_LOG(Warning) << "worker " << job.rank << ": " << written;
}

Result<TrainResult> RunWorker(compute::TaskContext& ctx, const WorkerJob& job) {
  ReportWorker(job);
  ASSIGN_OR_RETURN(auto scope, CommunicatorScope::Join(job.communicator));
  ASSIGN_OR_RETURN(std::vector<std::string> features, ResolveFeatures(job.train, job.options));
  DMatrix::Options matrix_options;
  matrix_options.nthread = job.options.nthread;
  // Every worker creates the same matrices in the same order (a collective step each).
  ASSIGN_OR_RETURN(auto train,
                   DMatrix::FromTable(job.train, features, job.options.target, matrix_options));
  std::vector<std::unique_ptr<DMatrix>> eval_matrices;
  std::vector<std::pair<std::string, const DMatrix*>> eval_sets;
  for (const auto& [name, table] : job.evals) {
    ASSIGN_OR_RETURN(auto matrix,
                     DMatrix::FromTable(table, features, job.options.target, matrix_options));
    eval_matrices.push_back(std::move(matrix));
    eval_sets.emplace_back(name, eval_matrices.back().get());
  }

  TrainOptions options = job.options;
  std::unique_ptr<Booster> initial;
  if (!job.initial_model.empty()) {
    ASSIGN_OR_RETURN(initial, Booster::LoadModelFromBuffer(job.initial_model));
    options.initial_model = initial.get();
  }
  // Rank 0 records the rounds' metrics so that a checkpoint carries the history so far.
  std::vector<RoundMetrics> rounds;
  int fail_at = job.fail_at_round;
  options.on_round = [&](int round, const RoundMetrics& metrics) {
    if (static_cast<size_t>(round) == rounds.size()) rounds.push_back(metrics);
    if (job.round_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(job.round_delay_ms));
    }
    return true;
  };
  int polls = 0;
  Status injected;
  options.cancelled = [&]() {
    if (fail_at >= 0 && polls++ == fail_at) {
      injected = UnavailableError("worker " + std::to_string(job.rank) +
                                  ": injected failure at round " + std::to_string(fail_at));
      return true;
    }
    return ctx.cancelled();
  };
  if (job.rank == 0 && !job.checkpoint_dir.empty() && job.options.checkpoint_every > 0) {
    options.checkpoint_every = job.options.checkpoint_every;
    options.on_checkpoint = [&](int rounds_done, const Booster& booster) -> Status {
      ASSIGN_OR_RETURN(std::string bytes, booster.SaveModelToBuffer(ModelFormat::kUbjson));
      nlohmann::json history = nlohmann::json::array();
      for (const RoundMetrics& metrics : rounds) history.push_back(metrics);
      nlohmann::json saved = {{"rounds", rounds_done}, {"history", history}};
      // The history first: a model without its history is never picked up.
      RETURN_IF_ERROR(WriteFileAtomically(job.checkpoint_dir / kCheckpointHistory, saved.dump()));
      return WriteFileAtomically(job.checkpoint_dir / kCheckpointModel, bytes);
    };
  } else {
    options.checkpoint_every = 0;
    options.on_checkpoint = nullptr;
  }
  auto result = TrainOnMatrices(*train, eval_sets, options);
  if (!injected.ok()) return injected;
  if (!result.ok()) return result.status().WithContext("worker " + std::to_string(job.rank));
  result->features = std::move(features);
  result->target = job.options.target;
  return result;
}

class XGBoostWorker : public compute::MethodActor {
 public:
  XGBoostWorker() {
    // In a worker process of its own (Ray), as in TrainDistributed's: a dead peer must fail
    // the write, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    AddMethod("Train", [](compute::TaskContext& ctx,
                          std::span<const compute::Value> args) -> Result<compute::Value> {
      RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
      ASSIGN_OR_RETURN(const WorkerJob* job, compute::ArgAs<WorkerJob>(args, 0));
      ASSIGN_OR_RETURN(TrainResult result, RunWorker(ctx, *job));
      return compute::Value::Of<TrainResult>(std::move(result));
    });
  }
};

// A checkpoint left by rank 0: the model bytes and the per-round metrics up to it.
struct Checkpoint {
  std::string model;
  int rounds = 0;
  std::vector<RoundMetrics> history;
};

std::optional<Checkpoint> ReadCheckpoint(const std::filesystem::path& dir) {
  std::ifstream model_file(dir / kCheckpointModel, std::ios::binary);
  if (!model_file) return std::nullopt;
  Checkpoint checkpoint;
  checkpoint.model.assign(std::istreambuf_iterator<char>(model_file),
                          std::istreambuf_iterator<char>());
  auto history = core::ReadJsonFile((dir / kCheckpointHistory).string());
  if (!history.ok() || checkpoint.model.empty()) return std::nullopt;
  nlohmann::json saved = *history;
  if (!saved.contains("rounds") || !saved["rounds"].is_number_integer() ||
      !saved.contains("history") || !saved["history"].is_array()) {
    return std::nullopt;
  }
  checkpoint.rounds = saved["rounds"].get<int>();
  for (const nlohmann::json& round : saved["history"]) {
    RoundMetrics metrics;
    for (const auto& [name, value] : round.items()) {
      metrics[name] = value.is_number() ? value.get<double>() : std::nan("");
    }
    checkpoint.history.push_back(std::move(metrics));
  }
  return checkpoint;
}

// Prepends the checkpointed rounds to the resumed run's result and recomputes the best round.
void MergeCheckpointHistory(const Checkpoint& checkpoint, TrainResult& result) {
  size_t prefix = std::min(checkpoint.history.size(), static_cast<size_t>(checkpoint.rounds));
  for (MetricSeries& series : result.history) {
    std::vector<double> values;
    for (size_t round = 0; round < prefix; ++round) {
      auto found = checkpoint.history[round].find(series.name);
      values.push_back(found == checkpoint.history[round].end() ? std::nan("") : found->second);
    }
    values.insert(values.end(), series.values.begin(), series.values.end());
    series.values = std::move(values);
  }
  if (result.best_iteration >= 0) result.best_iteration += static_cast<int>(prefix);
  const MetricSeries* best = result.Series(result.best_metric);
  if (best == nullptr) return;
  bool maximize = MetricIsMaximized(result.best_metric);
  for (size_t round = 0; round < prefix; ++round) {
    double value = best->values[round];
    if (maximize ? value > result.best_score : value < result.best_score) {
      // Only the rounds kept in the model count: with early stopping the model ends at the
      // best round of the resumed run, so the reported best stays that round.
      if (!result.stopped_early) {
        result.best_score = value;
        result.best_iteration = static_cast<int>(round);
      }
    }
  }
}

// Removes a directory this call created.
class ScopedDirectory {
 public:
  explicit ScopedDirectory(std::filesystem::path path) : path_(std::move(path)) {}
  ~ScopedDirectory() {
    std::error_code error;
    if (!path_.empty()) std::filesystem::remove_all(path_, error);
  }
  ScopedDirectory(const ScopedDirectory&) = delete;
  ScopedDirectory& operator=(const ScopedDirectory&) = delete;

 private:
  std::filesystem::path path_;
};

Result<std::string> EncodeWorkerJob(const WorkerJob& job) {
  Json evals = Json::array();
  for (const auto& [name, table] : job.evals) evals.push_back({{"name", name}, {"table", TableToJson(table)}});
  Json encoded = {{"rank", job.rank},
                  {"communicator", job.communicator},
                  {"train", TableToJson(job.train)},
                  {"evals", std::move(evals)},
                  {"options", OptionsToJson(job.options)},
                  {"initial_model", Bytes(job.initial_model.data(), job.initial_model.size())},
                  {"checkpoint_dir", job.checkpoint_dir.string()},
                  {"fail_at_round", job.fail_at_round},
                  {"round_delay_ms", job.round_delay_ms}};
  std::vector<uint8_t> cbor = Json::to_cbor(encoded);
  return std::string(cbor.begin(), cbor.end());
}

Result<WorkerJob> DecodeWorkerJob(std::string_view bytes) {
  Json encoded = Json::from_cbor(bytes.begin(), bytes.end());
  WorkerJob job;
  job.rank = encoded.at("rank").get<int>();
  job.communicator = encoded.at("communicator");
  ASSIGN_OR_RETURN(job.train, TableFromJson(encoded.at("train")));
  for (const Json& eval : encoded.at("evals")) {
    ASSIGN_OR_RETURN(data::Table table, TableFromJson(eval.at("table")));
    job.evals.emplace_back(eval.at("name").get<std::string>(), std::move(table));
  }
  job.options = OptionsFromJson(encoded.at("options"));
  const std::vector<uint8_t>& model = encoded.at("initial_model").get_binary();
  job.initial_model.assign(model.begin(), model.end());
  job.checkpoint_dir = encoded.at("checkpoint_dir").get<std::string>();
  job.fail_at_round = encoded.at("fail_at_round").get<int>();
  job.round_delay_ms = encoded.value("round_delay_ms", 0);
  return job;
}

Result<std::string> EncodeTrainResult(const TrainResult& result) {
  std::string model;
  if (result.booster != nullptr) {
    ASSIGN_OR_RETURN(model, result.booster->SaveModelToBuffer(ModelFormat::kUbjson));
  }
  Json history = Json::array();
  for (const MetricSeries& series : result.history) {
    history.push_back({{"name", series.name}, {"values", series.values}});
  }
  Json encoded = {{"model", Bytes(model.data(), model.size())},
                  {"features", result.features},
                  {"target", result.target},
                  {"history", std::move(history)},
                  {"rounds", result.rounds},
                  {"best_metric", result.best_metric},
                  {"best_iteration", result.best_iteration},
                  {"best_score", result.best_score},
                  {"stopped_early", result.stopped_early},
                  {"final_metrics", result.final_metrics}};
  std::vector<uint8_t> cbor = Json::to_cbor(encoded);
  return std::string(cbor.begin(), cbor.end());
}

Result<TrainResult> DecodeTrainResult(std::string_view bytes) {
  Json encoded = Json::from_cbor(bytes.begin(), bytes.end());
  TrainResult result;
  const std::vector<uint8_t>& model = encoded.at("model").get_binary();
  if (!model.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<Booster> booster,
                     Booster::LoadModelFromBuffer(std::string_view(
                         reinterpret_cast<const char*>(model.data()), model.size())));
    result.booster = std::move(booster);
  }
  result.features = encoded.at("features").get<std::vector<std::string>>();
  result.target = encoded.at("target").get<std::string>();
  for (const Json& series : encoded.at("history")) {
    result.history.push_back(
        {series.at("name").get<std::string>(), series.at("values").get<std::vector<double>>()});
  }
  result.rounds = encoded.at("rounds").get<int>();
  result.best_metric = encoded.at("best_metric").get<std::string>();
  result.best_iteration = encoded.at("best_iteration").get<int>();
  result.best_score = encoded.at("best_score").get<double>();
  result.stopped_early = encoded.at("stopped_early").get<bool>();
  result.final_metrics = encoded.at("final_metrics").get<RoundMetrics>();
  return result;
}

bool IsCancelled(const DistributedOptions& distributed) {
  return distributed.cancelled && distributed.cancelled();
}

// How often the driver looks at DistributedOptions::cancelled while it waits.
constexpr std::chrono::milliseconds kCancelPoll{100};

// Removes the workers' placement group (killing what still runs in it) when training ends.
class GroupScope {
 public:
  GroupScope(compute::Executor& executor, compute::PlacementGroup group)
      : executor_(executor), group_(std::move(group)) {}
  ~GroupScope() { executor_.RemovePlacementGroup(group_).IgnoreError(); }
  GroupScope(const GroupScope&) = delete;
  GroupScope& operator=(const GroupScope&) = delete;

  const compute::PlacementGroup& group() const { return group_; }

 private:
  compute::Executor& executor_;
  compute::PlacementGroup group_;
};

// OK once the workers' group is placed; DeadlineExceeded after placement_timeout, Cancelled.
Status WaitForPlacement(compute::Executor& executor, const compute::PlacementGroup& group,
                        const DistributedOptions& distributed) {
  auto deadline = std::chrono::steady_clock::now() + distributed.placement_timeout;
  while (true) {
    if (IsCancelled(distributed)) {
      return CancelledError("distributed training was cancelled while waiting for " +
                            group.ToString());
    }
    auto left = deadline - std::chrono::steady_clock::now();
    auto slice = distributed.cancelled ? std::min<std::chrono::steady_clock::duration>(
                                             kCancelPoll, std::max(left, {}))
                                       : std::max(left, {});
    Status placed = executor.WaitPlacementGroup(group, slice);
    if (placed.code() != StatusCode::kDeadlineExceeded) return placed;
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError(
          "the " + std::to_string(group.num_bundles()) + " distributed training workers were not "
          "placed within " + std::to_string(distributed.placement_timeout.count()) +
          " s (DistributedOptions.placement_timeout): " + std::string(placed.message()));
    }
  }
}

// Waits for every worker's Train call: rank 0's result, or the first failure once every worker
// has ended (a survivor ends when the collective breaks; freeing the tracker before that would
// leave it retrying the tracker for seconds). Cancelled at once when `cancelled` says so.
Result<TrainResult> AwaitWorkers(compute::Executor& executor,
                                 const std::vector<compute::ObjectRef>& refs,
                                 const DistributedOptions& distributed) {
  std::vector<bool> done(refs.size(), false);
  size_t remaining = refs.size();
  std::optional<TrainResult> result;
  Status first_error;
  while (remaining > 0) {
    if (IsCancelled(distributed)) return CancelledError("distributed training was cancelled");
    std::vector<compute::ObjectRef> pending;
    std::vector<size_t> ranks;
    for (size_t rank = 0; rank < refs.size(); ++rank) {
      if (!done[rank]) {
        pending.push_back(refs[rank]);
        ranks.push_back(rank);
      }
    }
    compute::Timeout slice = std::nullopt;
    if (distributed.cancelled) slice = kCancelPoll;
    ASSIGN_OR_RETURN(std::vector<compute::ObjectRef> ready, executor.Wait(pending, 1, slice));
    for (size_t idx = 0; idx < pending.size(); ++idx) {
      if (std::find(ready.begin(), ready.end(), pending[idx]) == ready.end()) continue;
      size_t rank = ranks[idx];
      done[rank] = true;
      --remaining;
      Result<compute::Value> value = executor.Get(refs[rank]);
      Result<std::shared_ptr<const TrainResult>> worker =
          value.ok() ? value->GetShared<TrainResult>()
                     : Result<std::shared_ptr<const TrainResult>>(value.status());
      if (!worker.ok()) {
        if (first_error.ok()) first_error = worker.status();
        continue;
      }
      if (rank == 0) result = **worker;
    }
  }
  if (!first_error.ok()) return first_error;
  return std::move(*result);
}

}  // namespace

Status RegisterDistributedCodecs(compute::CodecRegistry& codecs) {
  RETURN_IF_ERROR(codecs.Register<WorkerJob>("raypipe.ml.WorkerJob", EncodeWorkerJob,
                                             DecodeWorkerJob));
  return codecs.Register<TrainResult>("raypipe.ml.TrainResult", EncodeTrainResult,
                                      DecodeTrainResult);
}

Status RegisterDistributedKernels(compute::KernelRegistry& registry) {
  RETURN_IF_ERROR(registry.RegisterActor(
      std::string(kXgboostWorkerActor),
      [](compute::TaskContext&, std::span<const compute::Value>)
          -> Result<std::unique_ptr<compute::ActorInstance>> {
        return std::unique_ptr<compute::ActorInstance>(std::make_unique<XGBoostWorker>());
      }));
  return Status::Ok();
}

Result<TrainResult> TrainDistributed(compute::Executor& executor, const data::Table& train,
                                     std::span<const EvalSet> evals, const TrainOptions& options,
                                     const DistributedOptions& distributed,
                                     DistributedStats* stats) {
  int workers = distributed.num_workers;
  if (workers < 1) return InvalidArgumentError("num_workers must be at least 1");
  std::signal(SIGPIPE, SIG_IGN);  // see distributed.h: a dead peer must not kill the process
  if (static_cast<size_t>(workers) > train.num_rows()) {
    return InvalidArgumentError("num_workers (" + std::to_string(workers) +
                                ") exceeds the training rows (" +
                                std::to_string(train.num_rows()) + ")");
  }
  if (!(distributed.cpus_per_worker > 0)) {
    return InvalidArgumentError("cpus_per_worker must be positive");
  }
  if (distributed.max_group_restarts < 0 || distributed.checkpoint_every < 0) {
    return InvalidArgumentError("max_group_restarts and checkpoint_every must be >= 0");
  }
  RETURN_IF_ERROR(ResolveFeatures(train, options).status());
  for (const EvalSet& eval : evals) {
    if (eval.table == nullptr) {
      return InvalidArgumentError("evaluation set '" + eval.name + "' has no table");
    }
  }

  std::filesystem::path checkpoint_dir = distributed.checkpoint_dir;
  std::unique_ptr<ScopedDirectory> cleanup;
  if (checkpoint_dir.empty()) {
    checkpoint_dir = std::filesystem::temp_directory_path() / core::NewId("xgb-checkpoint");
    cleanup = std::make_unique<ScopedDirectory>(checkpoint_dir);
  }
  std::error_code error;
  std::filesystem::create_directories(checkpoint_dir, error);
  if (error) {
    return InternalError("cannot create checkpoint directory '" + checkpoint_dir.string() +
                         "': " + error.message());
  }

  TrainOptions worker_options = options;
  worker_options.on_round = nullptr;
  worker_options.on_checkpoint = nullptr;
  worker_options.cancelled = nullptr;
  worker_options.initial_model = nullptr;
  worker_options.checkpoint_every = distributed.checkpoint_every;
  worker_options.nthread = std::max(1, static_cast<int>(std::floor(distributed.cpus_per_worker)));
  std::string initial_model;
  if (options.initial_model != nullptr) {
    ASSIGN_OR_RETURN(initial_model, options.initial_model->SaveModelToBuffer(ModelFormat::kUbjson));
  }

  // Contiguous shards: worker r gets rows [r * n / W, (r + 1) * n / W) of every table.
  auto shard = [workers](const data::Table& table, int rank) {
    size_t rows = table.num_rows();
    size_t begin = rows * static_cast<size_t>(rank) / static_cast<size_t>(workers);
    size_t end = rows * static_cast<size_t>(rank + 1) / static_cast<size_t>(workers);
    return *table.Slice(begin, end - begin);
  };

  // The gang: one SPREAD bundle per worker, reserved whole, kept across restarts (a restarted
  // group's actors take the bundles their predecessors freed) and removed on return.
  compute::PlacementGroupOptions group_options;
  group_options.bundles.assign(static_cast<size_t>(workers),
                               compute::Resources{distributed.cpus_per_worker, 0});
  group_options.strategy = compute::PlacementStrategy::kSpread;
  group_options.name = "xgboost-workers-" + core::NewId("group");
  Result<compute::PlacementGroup> created = executor.CreatePlacementGroup(group_options);
  if (!created.ok()) {
    return created.status().WithContext("distributed training with " + std::to_string(workers) +
                                         " workers");
  }
  GroupScope group(executor, std::move(*created));
  RETURN_IF_ERROR(WaitForPlacement(executor, group.group(), distributed));

  Status last_error;
  int attempts = distributed.max_group_restarts + 1;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (stats != nullptr) stats->attempts = attempt;
    if (IsCancelled(distributed)) return CancelledError("distributed training was cancelled");
    std::optional<Checkpoint> checkpoint = ReadCheckpoint(checkpoint_dir);
    ASSIGN_OR_RETURN(auto tracker, Tracker::Start(workers, distributed.tracker_host,
                                                  distributed.collective_timeout));
    std::vector<compute::ActorHandle> actors;
    std::vector<compute::ObjectRef> refs;
    for (int rank = 0; rank < workers; ++rank) {
      WorkerJob job;
      job.rank = rank;
      job.communicator = tracker->worker_args();
      char task_id[32];
      std::snprintf(task_id, sizeof(task_id), "%06d", rank);
      job.communicator["dmlc_task_id"] = task_id;
      job.communicator["dmlc_timeout"] = distributed.collective_timeout.count();
      job.communicator["dmlc_retry"] = 3;
      job.train = shard(train, rank);
      for (const EvalSet& eval : evals) job.evals.emplace_back(eval.name, shard(*eval.table, rank));
      job.options = worker_options;
      job.initial_model = checkpoint.has_value() ? checkpoint->model : initial_model;
      job.checkpoint_dir = checkpoint_dir;
      job.round_delay_ms = static_cast<int>(distributed.round_delay.count());
      if (rank == distributed.fail_rank && attempt <= distributed.fail_attempts) {
        int done = checkpoint.has_value() ? checkpoint->rounds : 0;
        job.fail_at_round = distributed.fail_at_round >= done ? distributed.fail_at_round - done
                                                              : -1;
      }
      compute::ActorOptions actor_options;
      actor_options.resources.cpus = distributed.cpus_per_worker;
      actor_options.name = "xgboost-worker-" + std::to_string(rank);
      actor_options.placement_group = group.group();
      actor_options.bundle_index = rank;
      ASSIGN_OR_RETURN(compute::ActorHandle actor,
                       executor.CreateActor(kXgboostWorkerActor, {}, actor_options));
      ASSIGN_OR_RETURN(compute::ObjectRef ref,
                       executor.CallActor(actor, "Train", {compute::Value::Of(std::move(job))}));
      actors.push_back(std::move(actor));
      refs.push_back(std::move(ref));
    }

    // Every worker ends: on success, or when a peer's failure breaks the collective (or at
    // the collective timeout at the latest).
    Result<TrainResult> outcome = AwaitWorkers(executor, refs, distributed);
    if (outcome.ok()) {
      RETURN_IF_ERROR(tracker->WaitFor());
      if (checkpoint.has_value()) {
        MergeCheckpointHistory(*checkpoint, *outcome);
        if (stats != nullptr) stats->resumed_from_round = checkpoint->rounds;
      }
      return outcome;
    }
    for (const compute::ActorHandle& actor : actors) executor.KillActor(actor, true).IgnoreError();
    if (outcome.status().code() == StatusCode::kCancelled && IsCancelled(distributed)) {
      return CancelledError("distributed training was cancelled (attempt " +
                            std::to_string(attempt) + ")");
    }
    RAYPIPE_LOG(Warning) << "distributed training attempt " << attempt << " of " << attempts
                         << " failed: " << outcome.status();
    last_error = outcome.status();
  }
  return Status(last_error.code(), "distributed training failed after " +
                                       std::to_string(attempts) + " attempts: " +
                                       std::string(last_error.message()));
}

}  // namespace raypipe::ml
