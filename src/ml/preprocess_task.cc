#include "ml/preprocess_task.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <span>
#include <thread>

#include "core/env.h"
#include "data/columnar.h"
#include "data/csv.h"
#include "featurestore/feature_store.h"
#include "ml/model_bundle.h"

namespace raypipe::ml {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The columns a feature store adds, dropped by default when present.
constexpr std::string_view kStoreColumns[] = {
    "record_id", "event_time", "write_time", "api_invocation_time", "is_deleted",
    "year",      "month",      "day",        "hour"};

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string ColumnList(const data::Table& table) {
  std::string out;
  for (const std::string& name : table.ColumnNames()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

template <typename T>
Status ReadMember(const json& object, const char* name, T* out, bool required = false) {
  auto it = object.find(name);
  if (it == object.end()) {
    if (required) return InvalidArgumentError(std::string("preprocess task spec: missing ") + name);
    return Status::Ok();
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception& error) {
    return InvalidArgumentError(std::string("preprocess task spec: ") + name + ": " +
                                error.what());
  }
  return Status::Ok();
}

struct Source {
  data::Table table;
  std::vector<std::string> default_drops;
};

Result<Source> ReadSource(const PreprocessTaskSpec& spec) {
  Source source;
  source.default_drops.assign(std::begin(kStoreColumns), std::end(kStoreColumns));
  if (!spec.feature_group.empty()) {
    const std::string field = spec.field_prefix + "FeatureGroupName";
    featurestore::FeatureStoreOptions options;
    options.home = spec.home;
    Result<std::unique_ptr<featurestore::FeatureStore>> store =
        featurestore::FeatureStore::Open(options);
    if (!store.ok()) return store.status().WithContext(field);
    Result<featurestore::GroupInfo> group = (*store)->DescribeGroup(spec.feature_group);
    if (!group.ok()) return group.status().WithContext(field);
    source.default_drops.push_back(group->definition.record_identifier);
    source.default_drops.push_back(group->definition.event_time);
    // Without an explicit DropColumns, only the columns kept are read: the features but the
    // record id and the event time (unless one is the target).
    std::vector<std::string> wanted;
    if (!spec.explicit_drops) {
      for (const featurestore::FeatureDefinition& feature : group->definition.features) {
        const bool store_key = feature.name == group->definition.record_identifier ||
                               feature.name == group->definition.event_time;
        if (!store_key || feature.name == spec.options.target) wanted.push_back(feature.name);
      }
    }
    // The newest record per id, deleted ones left out: the offline store as of the end of time.
    Result<data::Table> table = (*store)->ReadOffline(
        spec.feature_group, featurestore::FromNanos(std::numeric_limits<int64_t>::max()), wanted);
    if (!table.ok()) return table.status().WithContext(field);
    source.table = std::move(table).value();
    return source;
  }
  Result<data::Table> table = ReadTableAnyFormat(spec.input_path);
  if (!table.ok()) return table.status().WithContext(spec.field_prefix + "Input");
  source.table = std::move(table).value();
  return source;
}

// The columns to drop: the explicit list, checked, or the store's columns that are present.
Result<std::vector<std::string>> DropList(const PreprocessTaskSpec& spec, const Source& source) {
  const data::Table& table = source.table;
  const std::string& target = spec.options.target;
  if (!spec.explicit_drops) {
    std::vector<std::string> drops;
    for (const std::string& name : source.default_drops) {
      const bool listed = std::find(drops.begin(), drops.end(), name) != drops.end();
      if (!listed && name != target && table.ColumnIndex(name)) drops.push_back(name);
    }
    return drops;
  }
  const std::vector<std::string>& drops = spec.options.drop_columns;
  for (size_t i = 0; i < drops.size(); ++i) {
    const std::string field = spec.field_prefix + "DropColumns[" + std::to_string(i) + "]";
    if (!table.ColumnIndex(drops[i])) {
      return InvalidArgumentError(field + ": no column '" + drops[i] + "' in the input");
    }
    if (drops[i] == target) return InvalidArgumentError(field + ": cannot drop the TargetColumn");
  }
  return drops;
}

}  // namespace

Result<data::Table> ReadTableAnyFormat(const std::string& path) {
  static constexpr char kMagic[8] = {'R', 'P', 'C', 'O', 'L', 'T', 'B', 'L'};
  std::ifstream in(path, std::ios::binary);
  char head[sizeof(kMagic)] = {};
  in.read(head, sizeof(head));
  const bool columnar =
      in.gcount() == sizeof(head) && std::memcmp(head, kMagic, sizeof(kMagic)) == 0;
  in.close();
  return columnar ? data::ReadTableFile(path) : data::ReadCsvFile(path);
}

json ToJson(const PreprocessTaskSpec& spec) {
  return {{"home", spec.home},
          {"feature_group", spec.feature_group},
          {"input_path", spec.input_path},
          {"target", spec.options.target},
          {"proportions", spec.options.proportions},
          {"seed", spec.options.seed},
          {"drop_columns", spec.options.drop_columns},
          {"explicit_drops", spec.explicit_drops},
          {"threads", spec.options.threads},
          {"output_dir", spec.output_dir},
          {"field_prefix", spec.field_prefix}};
}

Result<PreprocessTaskSpec> PreprocessTaskSpecFromJson(const json& json) {
  if (!json.is_object()) return InvalidArgumentError("preprocess task spec: not an object");
  PreprocessTaskSpec spec;
  RETURN_IF_ERROR(ReadMember(json, "home", &spec.home, true));
  RETURN_IF_ERROR(ReadMember(json, "feature_group", &spec.feature_group));
  RETURN_IF_ERROR(ReadMember(json, "input_path", &spec.input_path));
  RETURN_IF_ERROR(ReadMember(json, "target", &spec.options.target, true));
  RETURN_IF_ERROR(ReadMember(json, "proportions", &spec.options.proportions, true));
  RETURN_IF_ERROR(ReadMember(json, "seed", &spec.options.seed, true));
  RETURN_IF_ERROR(ReadMember(json, "drop_columns", &spec.options.drop_columns));
  RETURN_IF_ERROR(ReadMember(json, "explicit_drops", &spec.explicit_drops));
  RETURN_IF_ERROR(ReadMember(json, "threads", &spec.options.threads));
  RETURN_IF_ERROR(ReadMember(json, "output_dir", &spec.output_dir, true));
  RETURN_IF_ERROR(ReadMember(json, "field_prefix", &spec.field_prefix));
  if (spec.feature_group.empty() == spec.input_path.empty()) {
    return InvalidArgumentError(
        "preprocess task spec: exactly one of feature_group and input_path is required");
  }
  if (spec.output_dir.empty() || spec.home.empty()) {
    return InvalidArgumentError("preprocess task spec: home and output_dir must not be empty");
  }
  if (spec.options.proportions.size() != std::size(kPreprocessSplitNames)) {
    return InvalidArgumentError("preprocess task spec: proportions must hold 3 numbers");
  }
  return spec;
}

json PreprocessTaskResult::ToJson() const {
  return {{"input_rows", input_rows}, {"split_rows", split_rows}, {"dropped", dropped},
          {"features", features},     {"read_ms", read_ms},       {"preprocess_ms", preprocess_ms},
          {"write_ms", write_ms}};
}

Result<PreprocessTaskResult> PreprocessTaskResult::FromJson(const json& json) {
  if (!json.is_object()) return InvalidArgumentError("preprocess task result: not an object");
  PreprocessTaskResult result;
  RETURN_IF_ERROR(ReadMember(json, "input_rows", &result.input_rows, true));
  RETURN_IF_ERROR(ReadMember(json, "split_rows", &result.split_rows, true));
  RETURN_IF_ERROR(ReadMember(json, "dropped", &result.dropped, true));
  RETURN_IF_ERROR(ReadMember(json, "features", &result.features, true));
  RETURN_IF_ERROR(ReadMember(json, "read_ms", &result.read_ms));
  RETURN_IF_ERROR(ReadMember(json, "preprocess_ms", &result.preprocess_ms));
  RETURN_IF_ERROR(ReadMember(json, "write_ms", &result.write_ms));
  if (result.split_rows.size() != std::size(kPreprocessSplitNames)) {
    return InvalidArgumentError("preprocess task result: split_rows must hold 3 counts");
  }
  return result;
}

Result<PreprocessTaskResult> RunPreprocessTask(const PreprocessTaskSpec& spec,
                                               const std::function<bool()>& cancelled) {
  auto check_cancelled = [&]() -> Status {
    if (cancelled && cancelled()) return CancelledError("the preprocessing was cancelled");
    return Status::Ok();
  };
  if (spec.options.proportions.size() != std::size(kPreprocessSplitNames)) {
    return InvalidArgumentError("preprocessing needs 3 split proportions (train, validation, "
                                "test)");
  }
  PreprocessTaskResult result;
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Source source, ReadSource(spec));
  result.read_ms = MillisSince(start);
  result.input_rows = static_cast<int64_t>(source.table.num_rows());
  RETURN_IF_ERROR(check_cancelled());
  if (!source.table.ColumnIndex(spec.options.target)) {
    return InvalidArgumentError(spec.field_prefix + "TargetColumn: no column '" +
                                spec.options.target + "' in the input (columns: " +
                                ColumnList(source.table) + ")");
  }
  PreprocessOptions options = spec.options;
  ASSIGN_OR_RETURN(options.drop_columns, DropList(spec, source));
  start = std::chrono::steady_clock::now();
  Result<PreprocessResult> prepared = Preprocess(source.table, options);
  if (!prepared.ok()) {
    // "Arguments (raypipe.preprocess): ..." for the prefix "Arguments.".
    std::string where = spec.field_prefix;
    if (!where.empty() && where.back() == '.') where.pop_back();
    return prepared.status().WithContext(where.empty() ? std::string("preprocessing")
                                                       : where + " (raypipe.preprocess)");
  }
  result.preprocess_ms = MillisSince(start);
  RETURN_IF_ERROR(check_cancelled());

  // The three splits are written at once: each file is checksummed and synced on its own.
  start = std::chrono::steady_clock::now();
  const fs::path out(spec.output_dir);
  std::vector<Status> written(std::size(kPreprocessSplitNames));
  std::vector<std::thread> writers;
  for (size_t i = 0; i < std::size(kPreprocessSplitNames); ++i) {
    const std::string name(kPreprocessSplitNames[i]);
    RETURN_IF_ERROR(core::DefaultEnv()->CreateDirs((out / name).string()));
    result.split_rows.push_back(static_cast<int64_t>(prepared->splits[i].num_rows()));
  }
  for (size_t i = 0; i < std::size(kPreprocessSplitNames); ++i) {
    writers.emplace_back([&, i] {
      const std::string name(kPreprocessSplitNames[i]);
      written[i] = data::WriteTableFile(
          prepared->splits[i], (out / name / (name + std::string(kTableFileExtension))).string());
    });
  }
  for (std::thread& writer : writers) writer.join();
  for (const Status& status : written) RETURN_IF_ERROR(status);
  const fs::path scaler_dir = out / std::string(kPreprocessScalerOutput);
  RETURN_IF_ERROR(core::DefaultEnv()->CreateDirs(scaler_dir.string()));
  RETURN_IF_ERROR(core::DefaultEnv()->WriteFile(
      (scaler_dir / std::string(kPreprocessingFileName)).string(),
      prepared->scaler.ToJson().dump(2) + "\n"));
  result.write_ms = MillisSince(start);
  result.dropped = options.drop_columns;
  result.features = prepared->features;
  return result;
}

Status RegisterPreprocessKernels(compute::KernelRegistry& kernels) {
  return kernels.RegisterTask(
      std::string(kPreprocessTaskKernel),
      [](compute::TaskContext& ctx, std::span<const compute::Value> args) -> Result<compute::Value> {
        RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
        ASSIGN_OR_RETURN(const json* spec_json, compute::ArgAs<json>(args, 0));
        ASSIGN_OR_RETURN(PreprocessTaskSpec spec, PreprocessTaskSpecFromJson(*spec_json));
        ASSIGN_OR_RETURN(PreprocessTaskResult result,
                         RunPreprocessTask(spec, [&ctx] { return ctx.cancelled(); }));
        return compute::Value::Of<json>(result.ToJson());
      });
}

}  // namespace raypipe::ml
