#include "ml/tuning/trial_actor.h"

#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "compute/value.h"
#include "ml/booster.h"
#include "ml/dmatrix.h"

namespace raypipe::ml::tuning {

namespace {

using nlohmann::json;

// ---- TrialData's bytes ----
// "RPTRIAL1", the training table, u64 evaluation sets, each: name, u8 is_train, its table
// unless is_train. A table: u64 rows, u64 columns, each column: name, u8 type, then its values,
// characters and validity as length-prefixed buffers (an absent one has length 0). Every
// integer is a little-endian u64 unless said; strings and buffers are u64 length + bytes.

constexpr char kMagic[] = "RPTRIAL1";
constexpr size_t kMagicSize = 8;

void PutU64(std::string& out, uint64_t value) {
  char bytes[8];
  for (int index = 0; index < 8; ++index) {
    bytes[index] = static_cast<char>((value >> (8 * index)) & 0xff);
  }
  out.append(bytes, 8);
}

void PutBytes(std::string& out, const void* data, size_t size) {
  PutU64(out, size);
  if (size > 0) out.append(static_cast<const char*>(data), size);
}

void PutTable(std::string& out, const data::Table& table) {
  PutU64(out, table.num_rows());
  PutU64(out, table.num_columns());
  for (const data::Column& column : table.columns()) {
    PutBytes(out, column.name().data(), column.name().size());
    out.push_back(static_cast<char>(column.type()));
    const size_t rows = column.length();
    switch (column.type()) {
      case data::DataType::kFloat64:
        PutBytes(out, column.float64s().data(), rows * sizeof(double));
        PutBytes(out, nullptr, 0);
        break;
      case data::DataType::kInt64:
        PutBytes(out, column.int64s().data(), rows * sizeof(int64_t));
        PutBytes(out, nullptr, 0);
        break;
      case data::DataType::kString: {
        // Offsets rebased to 0 so that a sliced column sends only its own characters.
        std::span<const int64_t> offsets = column.string_offsets();
        std::vector<int64_t> rebased(offsets.size());
        for (size_t row = 0; row < offsets.size(); ++row) rebased[row] = offsets[row] - offsets[0];
        PutBytes(out, rebased.data(), rebased.size() * sizeof(int64_t));
        std::string_view chars = column.string_chars().substr(
            static_cast<size_t>(offsets[0]), static_cast<size_t>(offsets.back() - offsets[0]));
        PutBytes(out, chars.data(), chars.size());
        break;
      }
    }
    std::span<const uint8_t> validity = column.validity();
    PutBytes(out, validity.data(), validity.size());
  }
}

// Reads the buffer front to back; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  Status Error(const std::string& what) const {
    return DataLossError("trial data is malformed at byte " + std::to_string(position_) + ": " +
                         what);
  }
  Result<uint64_t> U64() {
    if (bytes_.size() - position_ < 8) return Error("truncated integer");
    uint64_t value = 0;
    for (int index = 7; index >= 0; --index) {
      value = (value << 8) | static_cast<uint8_t>(bytes_[position_ + static_cast<size_t>(index)]);
    }
    position_ += 8;
    return value;
  }
  Result<uint8_t> U8() {
    if (position_ >= bytes_.size()) return Error("truncated byte");
    return static_cast<uint8_t>(bytes_[position_++]);
  }
  Result<std::string_view> Bytes() {
    ASSIGN_OR_RETURN(uint64_t size, U64());
    if (size > bytes_.size() - position_) return Error("a buffer runs past the end");
    std::string_view view = bytes_.substr(position_, size);
    position_ += size;
    return view;
  }
  bool AtEnd() const { return position_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t position_ = 0;
};

// A 64-byte aligned copy of `bytes`, or null when empty.
std::shared_ptr<const data::Buffer> CopyBuffer(std::string_view bytes) {
  if (bytes.empty()) return nullptr;
  std::shared_ptr<data::Buffer> buffer = data::Buffer::Allocate(bytes.size());
  std::memcpy(buffer->mutable_data(), bytes.data(), bytes.size());
  return buffer;
}

Result<data::Table> ReadTable(Reader& reader) {
  ASSIGN_OR_RETURN(uint64_t rows, reader.U64());
  ASSIGN_OR_RETURN(uint64_t count, reader.U64());
  if (count > (uint64_t{1} << 20)) return reader.Error("too many columns");
  std::vector<data::Column> columns;
  for (uint64_t index = 0; index < count; ++index) {
    ASSIGN_OR_RETURN(std::string_view name, reader.Bytes());
    ASSIGN_OR_RETURN(uint8_t type, reader.U8());
    if (type > static_cast<uint8_t>(data::DataType::kString)) {
      return reader.Error("unknown column type " + std::to_string(type));
    }
    ASSIGN_OR_RETURN(std::string_view values, reader.Bytes());
    ASSIGN_OR_RETURN(std::string_view chars, reader.Bytes());
    ASSIGN_OR_RETURN(std::string_view validity, reader.Bytes());
    const auto data_type = static_cast<data::DataType>(type);
    std::shared_ptr<const data::Buffer> chars_buffer;
    if (data_type == data::DataType::kString) {
      // An empty string column still needs a characters buffer.
      chars_buffer = chars.empty() ? data::Buffer::FromVector(std::vector<char>{})
                                   : CopyBuffer(chars);
    } else if (!chars.empty()) {
      return reader.Error("column '" + std::string(name) + "' has characters but is not text");
    }
    std::shared_ptr<const data::Buffer> values_buffer =
        values.empty() ? data::Buffer::FromVector(std::vector<int64_t>{}) : CopyBuffer(values);
    Result<data::Column> column =
        data::Column::FromBuffers(std::string(name), data_type, static_cast<size_t>(rows),
                                  std::move(values_buffer), std::move(chars_buffer),
                                  CopyBuffer(validity));
    if (!column.ok()) return reader.Error(std::string(column.status().message()));
    columns.push_back(std::move(*column));
  }
  Result<data::Table> table = data::Table::Make(std::move(columns));
  if (!table.ok()) return reader.Error(std::string(table.status().message()));
  if (table->num_columns() > 0 && table->num_rows() != rows) return reader.Error("row count");
  return table;
}

// Whether `a` holds `b`'s own buffers (a copy of the same table).
bool SameTable(const data::Table& a, const data::Table& b) {
  if (a.num_rows() != b.num_rows() || a.num_columns() != b.num_columns() || a.num_columns() == 0) {
    return false;
  }
  for (size_t index = 0; index < a.num_columns(); ++index) {
    const data::Column& left = a.column(index);
    const data::Column& right = b.column(index);
    if (left.name() != right.name() || left.values_buffer() != right.values_buffer() ||
        left.value_offset() != right.value_offset()) {
      return false;
    }
  }
  return true;
}

// ---- The actor ----

// One XGBoost training job, trained in steps (the header says how) by ml::Trainer, the loop
// under ml::Train, so the booster is the same as ml::Train's.
class TrialActor final : public compute::MethodActor {
 public:
  TrialActor(std::shared_ptr<const TrialData> data, TrainOptions options,
             std::string objective_metric)
      : data_(std::move(data)),
        options_(std::move(options)),
        objective_metric_(std::move(objective_metric)) {
    AddMethod("Advance", [this](compute::TaskContext& ctx, std::span<const compute::Value> args)
                             -> Result<compute::Value> {
      RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
      ASSIGN_OR_RETURN(const int64_t* to_round, compute::ArgAs<int64_t>(args, 0));
      ASSIGN_OR_RETURN(json report, Advance(ctx, *to_round));
      return compute::Value::Of(std::move(report));
    });
    AddMethod("Finish", [this](compute::TaskContext&, std::span<const compute::Value> args)
                            -> Result<compute::Value> {
      RETURN_IF_ERROR(compute::ExpectArgCount(args, 0));
      ASSIGN_OR_RETURN(TrainResult result, Finish());
      return compute::Value::Of(std::move(result));
    });
    AddMethod("Begin", [this](compute::TaskContext&, std::span<const compute::Value> args)
                           -> Result<compute::Value> {
      RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
      ASSIGN_OR_RETURN(const json* spec, compute::ArgAs<json>(args, 0));
      Result<std::pair<TrainOptions, std::string>> parsed = TrialSpecFromJson(*spec);
      Begin(parsed.ok() ? std::move(parsed).value()
                        : std::pair<TrainOptions, std::string>(),
            parsed.status());
      RETURN_IF_ERROR(parsed.status());
      return compute::Value::Of(json(true));
    });
  }

 private:
  // The next training job on the same data: the job's state is reset; the DMatrices are kept
  // when the features and target are the ones they were built for (always, within one tuning
  // job), since they do not depend on the hyperparameters. A bad spec fails the job's calls.
  void Begin(std::pair<TrainOptions, std::string> job, Status spec_status) {
    const bool same_matrices = prepared_matrices_ && spec_status.ok() &&
                               job.first.features == options_.features &&
                               job.first.target == options_.target &&
                               job.first.nthread == options_.nthread;
    trainer_.reset();
    if (!same_matrices) {
      eval_sets_.clear();
      eval_matrices_.clear();
      train_matrix_.reset();
      prepared_matrices_ = false;
    }
    options_ = std::move(job.first);
    objective_metric_ = std::move(job.second);
    begin_status_ = std::move(spec_status);
    finished_ = false;
  }

  // The DMatrices of the training table and the evaluation sets (once per actor, see Begin).
  Status PrepareMatrices() {
    eval_sets_.clear();
    eval_matrices_.clear();
    ASSIGN_OR_RETURN(features_, ResolveFeatures(data_->train, options_));
    if (data_->train.num_rows() == 0) return InvalidArgumentError("the training table has no rows");
    DMatrix::Options matrix_options;
    matrix_options.nthread = options_.nthread;
    ASSIGN_OR_RETURN(train_matrix_, DMatrix::FromTable(data_->train, features_, options_.target,
                                                       matrix_options));
    for (const TrialData::EvalSet& eval : data_->evals) {
      if (eval.is_train) {
        eval_sets_.emplace_back(eval.name, train_matrix_.get());
        continue;
      }
      auto matrix = DMatrix::FromTable(eval.table, features_, options_.target, matrix_options);
      if (!matrix.ok()) return matrix.status().WithContext("evaluation set '" + eval.name + "'");
      eval_matrices_.push_back(std::move(*matrix));
      eval_sets_.emplace_back(eval.name, eval_matrices_.back().get());
    }
    prepared_matrices_ = true;
    return Status::Ok();
  }

  Result<json> Advance(compute::TaskContext& ctx, int64_t to_round) {
    if (finished_) return FailedPreconditionError("the training job has already finished");
    if (trainer_ == nullptr) {
      RETURN_IF_ERROR(begin_status_);
      if (!prepared_matrices_) RETURN_IF_ERROR(PrepareMatrices());
      ASSIGN_OR_RETURN(trainer_, Trainer::Start(*train_matrix_, eval_sets_, options_));
    }
    json new_values = json::object();
    while (!trainer_->done() && trainer_->rounds_done() < to_round) {
      RETURN_IF_ERROR(ctx.CheckCancelled());
      ASSIGN_OR_RETURN(RoundMetrics metrics, trainer_->Step());
      if (trainer_->rounds_done() == 1 && !eval_sets_.empty()) {
        RETURN_IF_ERROR(CheckObjectiveMetric(metrics));
      }
      for (const MetricSeries& series : trainer_->history()) {
        new_values[series.name].push_back(series.values.back());
      }
    }
    return json{{"rounds", trainer_->rounds_done()},
                {"done", trainer_->done()},
                {"metrics", std::move(new_values)}};
  }

  Status CheckObjectiveMetric(const RoundMetrics& metrics) const {
    if (metrics.contains(objective_metric_)) return Status::Ok();
    std::string available;
    for (const MetricSeries& series : trainer_->history()) {
      available += (available.empty() ? "" : ", ") + series.name;
    }
    return NotFoundError("objective metric '" + objective_metric_ +
                         "' is not among the training job's metrics (" + available + ")");
  }

  Result<TrainResult> Finish() {
    if (finished_) return FailedPreconditionError("the training job has already finished");
    if (trainer_ == nullptr || trainer_->rounds_done() == 0) {
      return FailedPreconditionError("the training job has not trained any round");
    }
    if (eval_sets_.empty() && !objective_metric_.empty()) {
      return NotFoundError("objective metric '" + objective_metric_ +
                           "' is not among the training job's metrics (none)");
    }
    std::unique_ptr<Trainer> trainer = std::move(trainer_);
    finished_ = true;
    ASSIGN_OR_RETURN(TrainResult result, std::move(*trainer).Finish());
    result.features = features_;
    result.target = options_.target;
    return result;
  }

  const std::shared_ptr<const TrialData> data_;
  TrainOptions options_;
  std::string objective_metric_;
  Status begin_status_;  // a bad spec given to Begin

  bool prepared_matrices_ = false;
  std::vector<std::string> features_;
  std::unique_ptr<DMatrix> train_matrix_;
  std::vector<std::unique_ptr<DMatrix>> eval_matrices_;
  std::vector<std::pair<std::string, const DMatrix*>> eval_sets_;

  std::unique_ptr<Trainer> trainer_;  // the job in progress; null before its first round
  bool finished_ = false;             // Finish was called for this job
};

}  // namespace

TrialData MakeTrialData(data::Table train,
                        std::vector<std::pair<std::string, data::Table>> evals) {
  TrialData trial_data;
  for (auto& [name, table] : evals) {
    TrialData::EvalSet eval;
    eval.name = std::move(name);
    eval.is_train = SameTable(table, train);
    if (!eval.is_train) eval.table = std::move(table);
    trial_data.evals.push_back(std::move(eval));
  }
  trial_data.train = std::move(train);
  return trial_data;
}

json TrialSpecToJson(const TrainOptions& options, const std::string& objective_metric) {
  return {{"options",
           {{"features", options.features},
            {"target", options.target},
            {"hyperparameters", options.hyperparameters},
            {"num_boost_round", options.num_boost_round},
            {"nthread", options.nthread},
            {"early_stopping_metric", options.early_stopping_metric}}},
          {"objective_metric", objective_metric}};
}

Result<std::pair<TrainOptions, std::string>> TrialSpecFromJson(const json& spec) {
  try {
    const json& fields = spec.at("options");
    TrainOptions options;
    options.features = fields.at("features").get<std::vector<std::string>>();
    options.target = fields.at("target").get<std::string>();
    options.hyperparameters = fields.at("hyperparameters").get<Hyperparameters>();
    options.num_boost_round = fields.at("num_boost_round").get<int>();
    options.nthread = fields.at("nthread").get<int>();
    options.early_stopping_metric = fields.at("early_stopping_metric").get<std::string>();
    return std::make_pair(std::move(options), spec.at("objective_metric").get<std::string>());
  } catch (const json::exception& error) {
    return InvalidArgumentError(std::string("tuning trial spec: ") + error.what());
  }
}

Result<std::string> EncodeTrialData(const TrialData& trial_data) {
  std::string out(kMagic, kMagicSize);
  PutTable(out, trial_data.train);
  PutU64(out, trial_data.evals.size());
  for (const TrialData::EvalSet& eval : trial_data.evals) {
    PutBytes(out, eval.name.data(), eval.name.size());
    out.push_back(eval.is_train ? 1 : 0);
    if (!eval.is_train) PutTable(out, eval.table);
  }
  return out;
}

Result<TrialData> DecodeTrialData(std::string_view bytes) {
  if (bytes.size() < kMagicSize || bytes.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize)) {
    return DataLossError("trial data is malformed: bad magic");
  }
  Reader reader(bytes.substr(kMagicSize));
  TrialData trial_data;
  ASSIGN_OR_RETURN(trial_data.train, ReadTable(reader));
  ASSIGN_OR_RETURN(uint64_t count, reader.U64());
  if (count > 1024) return reader.Error("too many evaluation sets");
  for (uint64_t index = 0; index < count; ++index) {
    TrialData::EvalSet eval;
    ASSIGN_OR_RETURN(std::string_view name, reader.Bytes());
    eval.name = std::string(name);
    ASSIGN_OR_RETURN(uint8_t is_train, reader.U8());
    if (is_train > 1) return reader.Error("bad evaluation-set flag");
    eval.is_train = is_train == 1;
    if (!eval.is_train) {
      ASSIGN_OR_RETURN(eval.table, ReadTable(reader));
    }
    trial_data.evals.push_back(std::move(eval));
  }
  if (!reader.AtEnd()) return reader.Error("trailing bytes");
  return trial_data;
}

Status RegisterTrialActor(compute::KernelRegistry& registry) {
  return registry.RegisterActor(
      std::string(kTuningTrialActor),
      [](compute::TaskContext&, std::span<const compute::Value> args)
          -> Result<std::unique_ptr<compute::ActorInstance>> {
        RETURN_IF_ERROR(compute::ExpectArgCount(args, 2));
        ASSIGN_OR_RETURN(std::shared_ptr<const TrialData> trial_data,
                         args[0].GetShared<TrialData>());
        ASSIGN_OR_RETURN(const json* spec, compute::ArgAs<json>(args, 1));
        ASSIGN_OR_RETURN(auto parsed, TrialSpecFromJson(*spec));
        return std::unique_ptr<compute::ActorInstance>(std::make_unique<TrialActor>(
            std::move(trial_data), std::move(parsed.first), std::move(parsed.second)));
      });
}

Status RegisterTrialCodecs(compute::CodecRegistry& codecs) {
  return codecs.Register<TrialData>("raypipe.ml.TrialData", EncodeTrialData, DecodeTrialData);
}

}  // namespace raypipe::ml::tuning
