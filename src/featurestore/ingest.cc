#include "featurestore/ingest.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "compute/local_executor.h"
#include "core/env.h"
#include "core/hash.h"
#include "core/ids.h"
#include "data/columnar.h"
#include "data/csv.h"

namespace raypipe::featurestore {

namespace {

namespace fs = std::filesystem;
using compute::Value;

constexpr std::string_view kActorClass = "featurestore.Ingester";

// One ingestion as the actors see it: plain values only (a JSON object), so that it travels to
// a Ray worker as well as to a local actor thread. The valid rows are staged by the driver as
// two columnar files under RAYPIPE_HOME (the features, and each row's record id and event time);
// every actor opens the store under the same home and maps those files itself.
//   {"home", "group", "group_id", "rows", "keys", "batch_size", "online", "offline",
//    "api_invocation_time_ns", "parts": [[begin, end), ...]}
constexpr std::string_view kKeyRecordId = "record_id";
constexpr std::string_view kKeyEventTime = "event_time_ns";

struct StagedJob {
  std::unique_ptr<FeatureStore> store;
  GroupInfo group;
  RecordBatch rows;
  std::vector<std::pair<size_t, size_t>> parts;
  size_t batch_size = 10000;
  TargetStores targets;
  core::TimePoint api_invocation_time;
};

// Reads the job spec, opens the store and loads the staged rows (in the actor's process).
Result<std::unique_ptr<StagedJob>> OpenStagedJob(const nlohmann::json& spec) {
  auto job = std::make_unique<StagedJob>();
  std::string home, group_name, rows_path, keys_path;
  int64_t group_id = 0;
  int64_t invocation_ns = 0;
  try {
    home = spec.at("home").get<std::string>();
    group_name = spec.at("group").get<std::string>();
    group_id = spec.at("group_id").get<int64_t>();
    rows_path = spec.at("rows").get<std::string>();
    keys_path = spec.at("keys").get<std::string>();
    int64_t batch_size = spec.at("batch_size").get<int64_t>();
    if (batch_size < 1) return InvalidArgumentError("ingestion job: batch_size must be >= 1");
    job->batch_size = static_cast<size_t>(batch_size);
    job->targets.online = spec.at("online").get<bool>();
    job->targets.offline = spec.at("offline").get<bool>();
    invocation_ns = spec.at("api_invocation_time_ns").get<int64_t>();
    for (const nlohmann::json& part : spec.at("parts")) {
      job->parts.emplace_back(part.at(0).get<size_t>(), part.at(1).get<size_t>());
    }
  } catch (const nlohmann::json::exception& error) {
    return InvalidArgumentError(std::string("ingestion job: malformed spec: ") + error.what());
  }
  job->api_invocation_time = FromNanos(invocation_ns);
  FeatureStoreOptions options;
  options.home = home;
  ASSIGN_OR_RETURN(job->store, FeatureStore::Open(options));
  ASSIGN_OR_RETURN(job->group, job->store->DescribeGroup(group_name));
  if (job->group.id != group_id) {
    return FailedPreconditionError("feature group '" + group_name +
                                   "' was deleted and created again during the ingestion");
  }
  ASSIGN_OR_RETURN(job->rows.table, data::ReadTableFile(rows_path));
  ASSIGN_OR_RETURN(data::Table keys, data::ReadTableFile(keys_path));
  ASSIGN_OR_RETURN(const data::Column* ids, keys.ColumnByName(std::string(kKeyRecordId)));
  ASSIGN_OR_RETURN(const data::Column* times, keys.ColumnByName(std::string(kKeyEventTime)));
  if (ids->type() != data::DataType::kString || times->type() != data::DataType::kInt64 ||
      keys.num_rows() != job->rows.table.num_rows()) {
    return DataLossError("staged ingestion keys '" + keys_path + "' do not match '" + rows_path +
                         "'");
  }
  job->rows.record_ids.reserve(keys.num_rows());
  job->rows.event_times.reserve(keys.num_rows());
  for (size_t row = 0; row < keys.num_rows(); ++row) {
    job->rows.record_ids.emplace_back(ids->string(row));
    job->rows.event_times.push_back(FromNanos(times->int64s()[row]));
  }
  for (const auto& [begin, end] : job->parts) {
    if (begin > end || end > keys.num_rows()) {
      return InvalidArgumentError("ingestion job: part [" + std::to_string(begin) + ", " +
                                  std::to_string(end) + ") is outside the " +
                                  std::to_string(keys.num_rows()) + " staged rows");
    }
  }
  return job;
}

// Commits the parts it is asked for, batch by batch (FeatureStore::CommitBatch makes a rerun of
// a part, or of a batch, add nothing). Returns {"written", "duplicates", "batches"}.
class Ingester final : public compute::MethodActor {
 public:
  explicit Ingester(std::unique_ptr<StagedJob> job) : job_(std::move(job)) {
    AddMethod("IngestPart", [this](compute::TaskContext& ctx, std::span<const Value> args)
                                -> Result<Value> { return IngestPart(ctx, args); });
  }

 private:
  Result<Value> IngestPart(compute::TaskContext& ctx, std::span<const Value> args) {
    RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
    ASSIGN_OR_RETURN(const int64_t* part, compute::ArgAs<int64_t>(args, 0));
    if (*part < 0 || static_cast<size_t>(*part) >= job_->parts.size()) {
      return InvalidArgumentError("no part " + std::to_string(*part));
    }
    const auto [begin, end] = job_->parts[static_cast<size_t>(*part)];
    int64_t written = 0;
    int64_t duplicates = 0;
    int64_t batches = 0;
    for (size_t start = begin; start < end; start += job_->batch_size) {
      RETURN_IF_ERROR(ctx.CheckCancelled());
      const size_t count = std::min(job_->batch_size, end - start);
      RecordBatch batch;
      ASSIGN_OR_RETURN(batch.table, job_->rows.table.Slice(start, count));
      batch.record_ids.assign(job_->rows.record_ids.begin() + static_cast<ptrdiff_t>(start),
                              job_->rows.record_ids.begin() +
                                  static_cast<ptrdiff_t>(start + count));
      batch.event_times.assign(job_->rows.event_times.begin() + static_cast<ptrdiff_t>(start),
                               job_->rows.event_times.begin() +
                                   static_cast<ptrdiff_t>(start + count));
      ASSIGN_OR_RETURN(CommitResult committed,
                       job_->store->CommitBatch(job_->group, batch, job_->api_invocation_time,
                                                job_->targets));
      written += committed.written;
      duplicates += committed.duplicates;
      ++batches;
    }
    return Value::Of<nlohmann::json>(
        nlohmann::json{{"written", written}, {"duplicates", duplicates}, {"batches", batches}});
  }

  std::unique_ptr<StagedJob> job_;
};

// Removes the staged rows when the ingestion ends, however it ends.
class StagingDir {
 public:
  explicit StagingDir(fs::path path) : path_(std::move(path)) {}
  ~StagingDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes the valid rows and their keys where every actor can read them.
Status StageRows(const RecordBatch& rows, const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return UnavailableError("cannot create '" + dir.string() + "': " + error.message());
  // Scratch files: a crash loses them with the ingestion, whose rerun stages them again.
  const data::TableFileOptions scratch{.durable = false};
  RETURN_IF_ERROR(data::WriteTableFile(rows.table, (dir / "rows.col").string(), scratch));
  std::vector<int64_t> times;
  times.reserve(rows.event_times.size());
  for (core::TimePoint time : rows.event_times) times.push_back(ToNanos(time));
  std::vector<data::Column> keys;
  keys.push_back(data::Column::String(std::string(kKeyRecordId), rows.record_ids));
  keys.push_back(data::Column::Int64(std::string(kKeyEventTime), std::move(times)));
  ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(keys)));
  return data::WriteTableFile(table, (dir / "keys.col").string(), scratch);
}

// A part's counts, checked (they may come from another process).
Result<nlohmann::json> PartCounts(Result<std::shared_ptr<const nlohmann::json>> result) {
  if (!result.ok()) return result.status();
  const nlohmann::json& counts = **result;
  for (const char* key : {"written", "duplicates", "batches"}) {
    if (!counts.is_object() || !counts.contains(key) || !counts[key].is_number_integer()) {
      return DataLossError(std::string("an ingestion part's result lacks '") + key + "'");
    }
  }
  return counts;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<int64_t> ParseIntegral(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseFractional(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// Reads the header record (the first line) to learn the column names.
Result<std::vector<std::string>> ReadHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open input '" + path + "'");
  std::string line;
  std::getline(in, line);
  data::CsvReadOptions options;
  options.infer_types = false;
  ASSIGN_OR_RETURN(data::Table header, data::ReadCsvString(line + "\n", options, path));
  return header.ColumnNames();
}

Status WriteRejects(const std::string& path, const data::Table& input,
                    const PreparedRows& prepared) {
  std::vector<int64_t> lines = prepared.reject_lines;
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Int64("line", std::move(lines)));
  columns.push_back(data::Column::String("error", prepared.reject_errors));
  for (const data::Column& column : input.columns()) {
    std::vector<std::optional<std::string>> values;
    for (int64_t row : prepared.reject_rows) {
      size_t r = static_cast<size_t>(row);
      if (column.IsNull(r)) {
        values.emplace_back(std::nullopt);
      } else if (column.type() == data::DataType::kString) {
        values.emplace_back(std::string(column.string(r)));
      } else {
        values.emplace_back(column.ValueToString(r));
      }
    }
    columns.push_back(data::Column::OptionalStrings(column.name(), values));
  }
  ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(columns)));
  std::error_code error;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, error);
  if (error) return UnavailableError("cannot create '" + parent.string() + "': " + error.message());
  return data::WriteCsvFile(table, path);
}

Result<GroupInfo> ResolveGroup(FeatureStore& store, const IngestOptions& options,
                               std::string* name) {
  std::optional<FeatureGroupDefinition> definition;
  if (!options.definition.empty()) {
    ASSIGN_OR_RETURN(definition, LoadDefinition(options.definition));
    if (name->empty()) *name = definition->name;
    if (definition->name != *name) {
      return InvalidArgumentError("the definition names feature group '" + definition->name +
                                  "', not '" + *name + "'");
    }
  }
  if (name->empty()) {
    return InvalidArgumentError("no feature group named: give FeatureGroupName or a definition");
  }
  Result<GroupInfo> group = store.DescribeGroup(*name);
  if (group.ok() || group.status().code() != StatusCode::kNotFound || !definition) return group;
  Result<GroupInfo> created = store.CreateGroup(*definition);
  if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
    return store.DescribeGroup(*name);  // another process created it first
  }
  return created;
}

}  // namespace

std::vector<int64_t> RecordStartLines(std::string_view text, size_t columns) {
  std::vector<int64_t> lines;
  size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  int64_t line = 1;
  bool header = true;
  while (i < text.size()) {
    const size_t start = i;
    const int64_t start_line = line;
    bool quoted = false;
    // One record: up to an unquoted line break.
    while (i < text.size()) {
      char c = text[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && (c == '\n' || c == '\r')) {
        break;
      } else if (c == '\n') {
        ++line;
      } else if (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) {
        ++line;
      }
      ++i;
    }
    const bool blank = i == start;
    if (i < text.size()) {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
    }
    if (header) {
      header = false;
      continue;
    }
    if (blank && columns > 1) continue;
    lines.push_back(start_line);
  }
  return lines;
}

Result<PreparedRows> PrepareRows(const FeatureGroupDefinition& definition,
                                 const data::Table& input, const std::vector<int64_t>& lines,
                                 core::TimePoint now) {
  const size_t rows = input.num_rows();
  for (const data::Column& column : input.columns()) {
    if (definition.Find(column.name()) == nullptr) {
      return InvalidArgumentError("input column '" + column.name() +
                                  "' is not a feature of group '" + definition.name + "'");
    }
  }
  std::vector<std::string> errors(rows);  // "" = the row is valid
  auto reject = [&](size_t row, std::string message) {
    if (errors[row].empty()) errors[row] = std::move(message);
  };
  std::vector<data::Column> columns;
  for (const FeatureDefinition& feature : definition.features) {
    Result<const data::Column*> found = input.ColumnByName(feature.name);
    const data::DataType type = StorageType(feature.type);
    const bool required =
        feature.name == definition.record_identifier || feature.name == definition.event_time;
    if (!found.ok()) {
      if (feature.name == definition.record_identifier) {
        if (type == data::DataType::kInt64) {
          std::vector<int64_t> ids(rows);
          for (size_t i = 0; i < rows; ++i) ids[i] = static_cast<int64_t>(i);
          columns.push_back(data::Column::Int64(feature.name, std::move(ids)));
        } else {
          std::vector<std::string> ids(rows);
          for (size_t i = 0; i < rows; ++i) ids[i] = std::to_string(i);
          columns.push_back(data::Column::String(feature.name, ids));
        }
      } else if (feature.name == definition.event_time) {
        if (type == data::DataType::kFloat64) {
          columns.push_back(data::Column::Float64(
              feature.name,
              std::vector<double>(rows, static_cast<double>(ToNanos(now)) / 1e9)));
        } else {
          columns.push_back(data::Column::String(
              feature.name, std::vector<std::string>(rows, core::FormatIsoTime(now))));
        }
      } else {
        std::vector<uint8_t> nulls(rows, 0);
        if (type == data::DataType::kInt64) {
          columns.push_back(data::Column::Int64(feature.name, std::vector<int64_t>(rows), nulls));
        } else if (type == data::DataType::kFloat64) {
          columns.push_back(data::Column::Float64(feature.name, std::vector<double>(rows), nulls));
        } else {
          columns.push_back(
              data::Column::String(feature.name, std::vector<std::string>(rows), nulls));
        }
      }
      continue;
    }
    const data::Column& column = **found;
    if (required) {
      for (size_t i = 0; i < rows; ++i) {
        if (column.IsNull(i)) {
          reject(i, "column '" + feature.name + "': missing " +
                        (feature.name == definition.record_identifier ? "record identifier"
                                                                      : "event time"));
        }
      }
    }
    if (column.type() == type) {
      columns.push_back(column);
      continue;
    }
    auto expected = [&](size_t i) {
      return "column '" + feature.name + "': expected " +
             std::string(FeatureTypeName(feature.type)) + ", found '" +
             (column.type() == data::DataType::kString ? std::string(column.string(i))
                                                       : column.ValueToString(i)) +
             "'";
    };
    std::vector<uint8_t> validity(rows, 1);
    if (type == data::DataType::kFloat64) {
      std::vector<double> values(rows, 0.0);
      for (size_t i = 0; i < rows; ++i) {
        if (column.IsNull(i)) {
          validity[i] = 0;
        } else if (column.type() == data::DataType::kInt64) {
          values[i] = static_cast<double>(column.int64s()[i]);
        } else if (std::optional<double> parsed = ParseFractional(column.string(i))) {
          values[i] = *parsed;
        } else if (feature.name == definition.event_time) {
          // An event time may also be given as ISO-8601 text.
          Result<core::TimePoint> time = core::ParseEventTime(column.string(i));
          if (time.ok()) {
            values[i] = static_cast<double>(ToNanos(*time)) / 1e9;
          } else {
            reject(i, "column '" + feature.name + "': bad event time '" +
                          std::string(column.string(i)) + "'");
            validity[i] = 0;
          }
        } else {
          reject(i, expected(i));
          validity[i] = 0;
        }
      }
      columns.push_back(data::Column::Float64(feature.name, std::move(values), validity));
    } else if (type == data::DataType::kInt64) {
      std::vector<int64_t> values(rows, 0);
      for (size_t i = 0; i < rows; ++i) {
        if (column.IsNull(i)) {
          validity[i] = 0;
        } else if (column.type() == data::DataType::kFloat64) {
          double value = column.float64s()[i];
          if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 9.0e18) {
            values[i] = static_cast<int64_t>(value);
          } else {
            reject(i, expected(i));
            validity[i] = 0;
          }
        } else if (std::optional<int64_t> parsed = ParseIntegral(column.string(i))) {
          values[i] = *parsed;
        } else {
          reject(i, expected(i));
          validity[i] = 0;
        }
      }
      columns.push_back(data::Column::Int64(feature.name, std::move(values), validity));
    } else {
      std::vector<std::optional<std::string>> values(rows);
      for (size_t i = 0; i < rows; ++i) {
        if (!column.IsNull(i)) values[i] = column.ValueToString(i);
      }
      columns.push_back(data::Column::OptionalStrings(feature.name, values));
    }
  }
  ASSIGN_OR_RETURN(data::Table converted, data::Table::Make(std::move(columns)));
  ASSIGN_OR_RETURN(const data::Column* ids, converted.ColumnByName(definition.record_identifier));
  ASSIGN_OR_RETURN(const data::Column* times, converted.ColumnByName(definition.event_time));

  PreparedRows prepared;
  std::vector<int64_t> valid;
  valid.reserve(rows);
  prepared.batch.record_ids.reserve(rows);
  prepared.batch.event_times.reserve(rows);
  for (size_t i = 0; i < rows; ++i) {
    core::TimePoint event_time;
    if (errors[i].empty()) {
      if (times->type() == data::DataType::kFloat64) {
        double seconds = times->float64s()[i];
        if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e9) {
          reject(i, "column '" + definition.event_time + "': bad event time '" +
                        times->ValueToString(i) + "'");
        } else {
          event_time = FromNanos(static_cast<int64_t>(std::llround(seconds * 1e9)));
        }
      } else {
        Result<core::TimePoint> parsed = core::ParseEventTime(times->string(i));
        if (!parsed.ok()) {
          reject(i, "column '" + definition.event_time + "': bad event time '" +
                        std::string(times->string(i)) + "'");
        } else {
          event_time = *parsed;
        }
      }
    }
    if (!errors[i].empty()) {
      prepared.reject_rows.push_back(static_cast<int64_t>(i));
      prepared.reject_lines.push_back(i < lines.size() ? lines[i]
                                                       : static_cast<int64_t>(i) + 2);
      prepared.reject_errors.push_back(std::move(errors[i]));
      continue;
    }
    valid.push_back(static_cast<int64_t>(i));
    prepared.batch.record_ids.push_back(ids->type() == data::DataType::kInt64
                                            ? std::to_string(ids->int64s()[i])
                                            : std::string(ids->string(i)));
    prepared.batch.event_times.push_back(event_time);
  }
  if (valid.size() == rows) {
    prepared.batch.table = std::move(converted);
  } else {
    ASSIGN_OR_RETURN(prepared.batch.table, converted.Take(valid));
  }
  return prepared;
}

Status RegisterIngestKernels(compute::KernelRegistry& registry) {
  return registry.RegisterActor(
      std::string(kActorClass),
      [](compute::TaskContext&, std::span<const Value> args)
          -> Result<std::unique_ptr<compute::ActorInstance>> {
        RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
        ASSIGN_OR_RETURN(const nlohmann::json* spec, compute::ArgAs<nlohmann::json>(args, 0));
        ASSIGN_OR_RETURN(std::unique_ptr<StagedJob> job, OpenStagedJob(*spec));
        return std::unique_ptr<compute::ActorInstance>(std::make_unique<Ingester>(std::move(job)));
      });
}

Result<IngestSummary> Ingest(FeatureStore& store, const IngestOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (options.num_actors < 1 || options.num_actors > 1024) {
    return InvalidArgumentError("NumActors must be 1..1024, got " +
                                std::to_string(options.num_actors));
  }
  if (!(options.cpus_per_actor > 0) || options.cpus_per_actor > 1024) {
    return InvalidArgumentError("CpusPerActor must be positive");
  }
  if (options.batch_size < 1) return InvalidArgumentError("the batch size must be at least 1");
  if (options.input.empty()) return InvalidArgumentError("no input file given");
  auto stopped = [&] { return options.stop_requested && options.stop_requested(); };
  auto stop_error = [&](size_t parts_done, size_t parts) {
    return CancelledError("the ingestion of '" + options.input + "' was stopped (" +
                          std::to_string(parts_done) + " of " + std::to_string(parts) +
                          " parts complete; committed batches are kept and a rerun adds the"
                          " rest exactly once)");
  };
  if (stopped()) return stop_error(0, static_cast<size_t>(options.num_actors));
  IngestSummary summary;
  summary.group = options.group;
  ASSIGN_OR_RETURN(GroupInfo group, ResolveGroup(store, options, &summary.group));
  const FeatureGroupDefinition& definition = group.definition;

  // Read the input: String features as text, the others inferred (and converted below).
  ASSIGN_OR_RETURN(std::vector<std::string> header, ReadHeader(options.input));
  data::CsvReadOptions csv;
  for (const std::string& name : header) {
    const FeatureDefinition* feature = definition.Find(name);
    if (feature == nullptr) {
      return InvalidArgumentError(options.input + ": column '" + name +
                                  "' is not a feature of group '" + definition.name + "'");
    }
    if (feature->type == FeatureType::kString) csv.column_types[name] = data::DataType::kString;
  }
  ASSIGN_OR_RETURN(data::Table input, data::ReadCsvFile(options.input, csv));
  core::TimePoint now = store.clock().Now();
  // The input's text, read only when needed: its digest keys the ingestion time of an input
  // without event times, and its record start lines number rejected rows.
  std::optional<std::string> text;
  auto read_text = [&]() -> Status {
    if (text.has_value()) return Status::Ok();
    Result<std::string> read = core::DefaultEnv()->ReadFile(options.input);
    if (!read.ok()) return read.status();
    text = std::move(read).value();
    return Status::Ok();
  };
  if (input.ColumnIndex(definition.event_time) == std::nullopt) {
    // Rows get the time of the first ingestion of this very input, so reruns match.
    RETURN_IF_ERROR(read_text());
    char key[40];
    std::snprintf(key, sizeof(key), "xxh3:%016llx:%zu",
                  static_cast<unsigned long long>(core::FastHash64(*text)), text->size());
    ASSIGN_OR_RETURN(now, store.IngestionTime(group, key, now));
  }
  ASSIGN_OR_RETURN(PreparedRows prepared, PrepareRows(definition, input, {}, now));
  if (!prepared.reject_rows.empty()) {
    RETURN_IF_ERROR(read_text());
    const std::vector<int64_t> lines = RecordStartLines(*text, input.num_columns());
    for (size_t k = 0; k < prepared.reject_rows.size(); ++k) {
      const auto row = static_cast<size_t>(prepared.reject_rows[k]);
      if (row < lines.size()) prepared.reject_lines[k] = lines[row];
    }
  }
  summary.rows_read = static_cast<int64_t>(input.num_rows());
  summary.rejected = static_cast<int64_t>(prepared.reject_rows.size());
  if (summary.rejected > 0) {
    summary.rejects_path = options.rejects_path;
    if (summary.rejects_path.empty()) {
      summary.rejects_path = (fs::path(store.home()) / "featurestore" / "rejects" /
                              (definition.name + "-" + core::NewId("ingest") + ".csv"))
                                 .string();
    }
    summary.first_reject = "line " + std::to_string(prepared.reject_lines[0]) + ": " +
                           prepared.reject_errors[0];
    RETURN_IF_ERROR(WriteRejects(summary.rejects_path, input, prepared));
  }

  // The job the actors run, as plain values (see OpenStagedJob).
  const size_t valid = prepared.batch.table.num_rows();
  const fs::path home = fs::absolute(store.home());
  StagingDir staging(home / "featurestore" / "staging" / core::NewId("ingest"));
  RETURN_IF_ERROR(StageRows(prepared.batch, staging.path()));
  nlohmann::json spec = {
      {"home", home.string()},
      {"group", group.definition.name},
      {"group_id", group.id},
      {"rows", (staging.path() / "rows.col").string()},
      {"keys", (staging.path() / "keys.col").string()},
      {"batch_size", options.batch_size},
      {"online", options.targets.online},
      {"offline", options.targets.offline},
      {"api_invocation_time_ns", ToNanos(store.clock().Now())},
      {"parts", nlohmann::json::array()}};
  const size_t parts = static_cast<size_t>(options.num_actors);
  for (size_t p = 0, begin = 0; p < parts; ++p) {
    size_t size = valid / parts + (p < valid % parts ? 1 : 0);
    spec["parts"].push_back({begin, begin + size});
    begin += size;
  }
  summary.actors = options.num_actors;

  compute::KernelRegistry registry;
  std::unique_ptr<compute::LocalExecutor> own_executor;
  compute::Executor* executor = options.executor;
  if (executor == nullptr) {
    RETURN_IF_ERROR(RegisterIngestKernels(registry));
    compute::LocalExecutorOptions local;
    local.registry = &registry;
    double cpus = std::max<double>(std::thread::hardware_concurrency(),
                                   options.cpus_per_actor * options.num_actors);
    local.capacity = compute::Resources{cpus, 0};
    ASSIGN_OR_RETURN(own_executor, compute::LocalExecutor::Open(local));
    executor = own_executor.get();
  }
  const Value job = Value::Of<nlohmann::json>(std::move(spec));
  compute::ActorOptions actor_options;
  actor_options.resources.cpus = options.cpus_per_actor;
  compute::CallOptions call_options;
  call_options.max_retries = 2;  // transient errors (a busy database) on the same actor

  constexpr size_t kDone = static_cast<size_t>(-1);
  std::vector<int> attempts(parts, 0);
  std::vector<compute::ActorHandle> actors(parts);
  std::vector<compute::ObjectRef> refs(parts);
  auto start_part = [&](size_t p) -> Status {
    ++attempts[p];
    actor_options.name = "ingester-" + std::to_string(p);
    ASSIGN_OR_RETURN(actors[p], executor->CreateActor(kActorClass, {job},
                                                      actor_options));
    ASSIGN_OR_RETURN(refs[p], executor->CallActor(actors[p], "IngestPart",
                                                  {Value::Of<int64_t>(static_cast<int64_t>(p))},
                                                  call_options));
    return Status::Ok();
  };
  if (stopped()) return stop_error(0, parts);
  for (size_t p = 0; p < parts; ++p) RETURN_IF_ERROR(start_part(p));
  // Parts are collected in the order they finish, and each finished part's actor is released at
  // once: actors are granted CPUs in no set order, so waiting on part 0 while finished actors
  // keep their CPUs would deadlock when the executor cannot hold every actor at the same time.
  Status failure;
  std::vector<size_t> pending(parts);
  for (size_t p = 0; p < parts; ++p) pending[p] = p;
  while (!pending.empty() && failure.ok()) {
    std::vector<compute::ObjectRef> waiting;
    for (size_t p : pending) waiting.push_back(refs[p]);
    if (stopped()) {
      // Cancel what still runs and wait for it to end: no batch is committing when this returns
      // (for this ingestion's own executor; a caller's executor may finish one batch later,
      // which commits whole).
      for (const compute::ObjectRef& ref : waiting) (void)executor->Cancel(ref);
      (void)executor->Wait(waiting, waiting.size());
      return stop_error(parts - pending.size(), parts);
    }
    compute::Timeout poll = std::nullopt;
    if (options.stop_requested) poll = std::chrono::milliseconds(50);
    ASSIGN_OR_RETURN(std::vector<compute::ObjectRef> ready, executor->Wait(waiting, 1, poll));
    for (const compute::ObjectRef& ref : ready) {
      size_t slot = static_cast<size_t>(
          std::find(waiting.begin(), waiting.end(), ref) - waiting.begin());
      size_t p = pending[slot];
      Result<nlohmann::json> result = PartCounts(executor->GetAs<nlohmann::json>(refs[p]));
      actors[p] = compute::ActorHandle();
      if (result.ok()) {
        summary.ingested += (*result)["written"].get<int64_t>();
        summary.duplicates += (*result)["duplicates"].get<int64_t>();
        summary.batches += (*result)["batches"].get<int64_t>();
        pending[slot] = kDone;
      } else if (attempts[p] >= options.max_part_attempts) {
        failure = result.status().WithContext("ingesting part " + std::to_string(p) + " of '" +
                                              options.input + "' after " +
                                              std::to_string(attempts[p]) + " attempts");
        break;
      } else {
        ++summary.part_retries;
        RETURN_IF_ERROR(start_part(p));
      }
    }
    std::erase(pending, kDone);
  }
  if (!failure.ok()) return failure;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace raypipe::featurestore
