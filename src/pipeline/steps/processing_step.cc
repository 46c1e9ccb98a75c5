#include "pipeline/steps/processing_step.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>

#include "data/csv.h"
#include "featurestore/feature_store.h"
#include "ml/evaluate.h"
#include "ml/model_bundle.h"
#include "ml/preprocess.h"
#include "pipeline/steps/argument_checks.h"
#include "pipeline/steps/step_arguments.h"
#include "pipeline/steps/step_inputs.h"

namespace raypipe::pipeline {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr ArgumentField kPreprocessFields[] = {
    {"Processor", ArgumentKind::kString, true},
    {"FeatureGroupName", ArgumentKind::kString},
    {"Input", ArgumentKind::kString},
    {"TargetColumn", ArgumentKind::kString, true},
    {"TrainSize", ArgumentKind::kFloat},
    {"ValidationSize", ArgumentKind::kFloat},
    {"TestSize", ArgumentKind::kFloat},
    {"Seed", ArgumentKind::kInteger},
    {"DropColumns", ArgumentKind::kStringList},
};
constexpr ArgumentField kEvaluateFields[] = {
    {"Processor", ArgumentKind::kString, true},
    {"Model", ArgumentKind::kString, true},
    {"TestData", ArgumentKind::kString, true},
    {"TargetColumn", ArgumentKind::kString, true},
};
constexpr std::string_view kSizeFields[] = {"TrainSize", "ValidationSize", "TestSize"};
constexpr double kDefaultSizes[] = {0.6, 0.2, 0.2};
constexpr std::string_view kSplitNames[] = {"train", "validation", "test"};

// The columns a feature store adds, dropped by default when present.
constexpr std::string_view kStoreColumns[] = {
    "record_id", "event_time", "write_time", "api_invocation_time", "is_deleted",
    "year",      "month",      "day",        "hour"};

std::vector<std::string_view> FieldNames(std::span<const ArgumentField> fields) {
  std::vector<std::string_view> names;
  for (const ArgumentField& field : fields) names.push_back(field.name);
  return names;
}

std::string FormatNumber(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.10g", value);
  return text;
}

std::string SizesSumMessage(double sum) {
  return "TrainSize + ValidationSize + TestSize = " + FormatNumber(sum) + ", must be 1";
}

std::string ProcessorList() {
  return std::string(kPreprocessProcessor) + " or " + std::string(kEvaluateProcessor);
}

std::string JobName(const StepContext& context) {
  return context.execution_id.empty() ? context.step_name
                                      : context.execution_id + "-" + context.step_name;
}

Status EnsureDir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return UnavailableError("cannot create '" + dir.string() + "': " + error.message());
  return Status::Ok();
}

Status WriteTextFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return UnavailableError("cannot write '" + path.string() + "'");
  return Status::Ok();
}

Status CheckStop(const StepContext& context) {
  if (context.StopRequested()) return CancelledError("the execution is being stopped");
  return Status::Ok();
}

// ---- validation ----------------------------------------------------------------------------

void ValidatePreprocess(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!CheckArgumentFields(context, arguments, kPreprocessFields,
                           "the arguments of raypipe.preprocess")) {
    return;
  }
  const bool has_group = arguments.contains("FeatureGroupName");
  const bool has_input = arguments.contains("Input");
  if (has_group == has_input) {
    context.Error(FieldPath(has_group ? "Input" : "FeatureGroupName"),
                  has_group ? "give FeatureGroupName or Input, not both"
                            : "raypipe.preprocess needs FeatureGroupName (a feature group) or "
                              "Input (a CSV path or artifact)");
  }
  // Literal sizes are checked now; expressions only at run time.
  double sum = 0;
  bool all_literal = true;
  for (size_t i = 0; i < 3; ++i) {
    auto it = arguments.find(kSizeFields[i]);
    std::optional<double> size =
        it == arguments.end() ? std::optional<double>(kDefaultSizes[i]) : LiteralNumber(*it);
    if (!size) {
      all_literal = false;
      continue;
    }
    if (*size <= 0 || *size > 1) {
      context.Error(FieldPath(kSizeFields[i]),
                    "must be greater than 0 and at most 1, found " + FormatNumber(*size));
      all_literal = false;
      continue;
    }
    sum += *size;
  }
  if (all_literal && std::fabs(sum - 1.0) > 1e-9) {
    context.Error(FieldPath(), SizesSumMessage(sum));
  }
}

void ValidateProcessing(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!arguments.is_object()) {
    context.Error(FieldPath(), "the arguments of a Processing step must be an object, found " +
                                   DescribeValue(arguments));
    return;
  }
  auto processor = arguments.find("Processor");
  if (processor == arguments.end()) {
    context.Error(FieldPath("Processor"),
                  "missing; a Processing step needs Processor: " + ProcessorList());
    return;
  }
  if (!processor->is_string()) {
    context.Error(FieldPath("Processor"),
                  "Processor must be a literal String, " + ProcessorList() + "; found " +
                      DescribeValue(*processor));
    return;
  }
  const std::string& name = processor->get_ref<const std::string&>();
  if (name == kPreprocessProcessor) {
    ValidatePreprocess(context);
  } else if (name == kEvaluateProcessor) {
    CheckArgumentFields(context, arguments, kEvaluateFields, "the arguments of raypipe.evaluate");
  } else {
    context.Error(FieldPath("Processor"),
                  "unknown processor '" + name + "'; expected " + ProcessorList());
  }
}

Result<ValueType> ProcessingPropertyType(const StepDefinition& step, const PropertyPath& path) {
  std::string processor;
  if (auto it = step.arguments.find("Processor");
      it != step.arguments.end() && it->is_string()) {
    processor = it->get<std::string>();
  }
  const bool preprocess = processor == kPreprocessProcessor;
  const bool evaluate = processor == kEvaluateProcessor;
  std::vector<PropertyPattern> patterns = {{"ProcessingJobName", ValueType::kString},
                                           {"Metrics.*", ValueType::kFloat}};
  if (preprocess || !evaluate) {
    for (std::string_view name : {"train", "validation", "test", "scaler"}) {
      patterns.push_back({"Outputs." + std::string(name), ValueType::kString});
    }
    for (std::string_view name : kSplitNames) {
      patterns.push_back({"RowCounts." + std::string(name), ValueType::kInteger});
    }
  }
  if (evaluate || !preprocess) {
    patterns.push_back({"Outputs.evaluation", ValueType::kString});
  }
  return PropertyTable(std::move(patterns))(step, path);
}

// ---- raypipe.preprocess --------------------------------------------------------------------

struct PreprocessInput {
  data::Table table;
  std::vector<std::string> default_drops;  // the store's columns for this source
  std::string group;                        // when read from a feature group
};

Result<PreprocessInput> ReadPreprocessInput(StepContext& context, const StepArguments& args) {
  PreprocessInput input;
  input.default_drops.assign(std::begin(kStoreColumns), std::end(kStoreColumns));
  if (args.Has("FeatureGroupName")) {
    ASSIGN_OR_RETURN(input.group, args.String("FeatureGroupName"));
    featurestore::FeatureStoreOptions options;
    options.home = context.home;
    ASSIGN_OR_RETURN(std::unique_ptr<featurestore::FeatureStore> store,
                     featurestore::FeatureStore::Open(options));
    Result<featurestore::GroupInfo> group = store->DescribeGroup(input.group);
    if (!group.ok()) return group.status().WithContext(args.FieldName("FeatureGroupName"));
    input.default_drops.push_back(group->definition.record_identifier);
    input.default_drops.push_back(group->definition.event_time);
    // The newest record per id, deleted ones left out: the offline store as of the end of time.
    Result<data::Table> table = store->ReadOffline(
        input.group, featurestore::FromNanos(std::numeric_limits<int64_t>::max()));
    if (!table.ok()) return table.status().WithContext(args.FieldName("FeatureGroupName"));
    input.table = std::move(table).value();
    context.Log("read " + std::to_string(input.table.num_rows()) +
                " records from the offline store of feature group '" + input.group + "'");
    return input;
  }
  ASSIGN_OR_RETURN(std::string value, args.String("Input"));
  ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, "Input", value));
  ASSIGN_OR_RETURN(std::string csv, FindCsvFile(path, args.FieldName("Input")));
  Result<data::Table> table = data::ReadCsvFile(csv);
  if (!table.ok()) return table.status().WithContext(args.FieldName("Input"));
  input.table = std::move(table).value();
  context.Log("read " + std::to_string(input.table.num_rows()) + " rows from " + csv);
  return input;
}

Result<StepOutcome> RunPreprocess(StepContext& context, const StepArguments& args) {
  RETURN_IF_ERROR(args.RejectUnknown(FieldNames(kPreprocessFields)));
  if (args.Has("FeatureGroupName") == args.Has("Input")) {
    return args.Error(args.Has("Input") ? "Input" : "FeatureGroupName",
                      args.Has("Input") ? "give FeatureGroupName or Input, not both"
                                        : "raypipe.preprocess needs FeatureGroupName or Input");
  }
  ml::PreprocessOptions options;
  ASSIGN_OR_RETURN(options.target, args.String("TargetColumn"));
  options.proportions.clear();
  double sum = 0;
  for (size_t i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(double size, args.Float(kSizeFields[i], kDefaultSizes[i]));
    if (!(size > 0) || size > 1) {
      return args.Error(kSizeFields[i],
                        "must be greater than 0 and at most 1, found " + FormatNumber(size));
    }
    options.proportions.push_back(size);
    sum += size;
  }
  if (std::fabs(sum - 1.0) > 1e-9) return InvalidArgumentError("Arguments." + SizesSumMessage(sum));
  ASSIGN_OR_RETURN(int64_t seed, args.Integer("Seed", 42));
  options.seed = static_cast<uint64_t>(seed);

  ASSIGN_OR_RETURN(PreprocessInput input, ReadPreprocessInput(context, args));
  RETURN_IF_ERROR(CheckStop(context));
  if (!input.table.ColumnIndex(options.target)) {
    std::string columns;
    for (const std::string& name : input.table.ColumnNames()) {
      columns += (columns.empty() ? "" : ", ") + name;
    }
    return args.Error("TargetColumn", "no column '" + options.target + "' in the input (columns: " +
                                          columns + ")");
  }
  if (args.Has("DropColumns")) {
    ASSIGN_OR_RETURN(options.drop_columns, args.StringList("DropColumns"));
    for (size_t i = 0; i < options.drop_columns.size(); ++i) {
      const std::string& name = options.drop_columns[i];
      const std::string field = "DropColumns[" + std::to_string(i) + "]";
      if (!input.table.ColumnIndex(name)) {
        return args.Error(field, "no column '" + name + "' in the input");
      }
      if (name == options.target) return args.Error(field, "cannot drop the TargetColumn");
    }
  } else {
    for (const std::string& name : input.default_drops) {
      const bool listed = std::find(options.drop_columns.begin(), options.drop_columns.end(),
                                    name) != options.drop_columns.end();
      if (!listed && name != options.target && input.table.ColumnIndex(name)) {
        options.drop_columns.push_back(name);
      }
    }
  }
  Result<ml::PreprocessResult> prepared = ml::Preprocess(input.table, options);
  if (!prepared.ok()) return prepared.status().WithContext("Arguments (raypipe.preprocess)");
  RETURN_IF_ERROR(CheckStop(context));

  StepOutcome outcome;
  const fs::path staging(context.staging_dir);
  for (size_t i = 0; i < 3; ++i) {
    const std::string name(kSplitNames[i]);
    RETURN_IF_ERROR(EnsureDir(staging / name));
    RETURN_IF_ERROR(data::WriteCsvFile(prepared->splits[i], (staging / name / (name + ".csv")).string()));
    outcome.properties["RowCounts"][name] = static_cast<int64_t>(prepared->splits[i].num_rows());
    RETURN_IF_ERROR(CheckStop(context));
  }
  RETURN_IF_ERROR(EnsureDir(staging / "scaler"));
  RETURN_IF_ERROR(WriteTextFile(staging / "scaler" / std::string(ml::kPreprocessingFileName),
                                prepared->scaler.ToJson().dump(2) + "\n"));
  outcome.properties["ProcessingJobName"] = JobName(context);
  std::string dropped;
  for (const std::string& name : options.drop_columns) dropped += (dropped.empty() ? "" : ", ") + name;
  context.Log("dropped [" + dropped + "]; split " + std::to_string(input.table.num_rows()) +
              " rows with seed " + std::to_string(seed) + " into train " +
              std::to_string(prepared->splits[0].num_rows()) + ", validation " +
              std::to_string(prepared->splits[1].num_rows()) + ", test " +
              std::to_string(prepared->splits[2].num_rows()) + "; scaled " +
              std::to_string(prepared->features.size()) + " features (fitted on train)");
  if (!input.group.empty()) {
    outcome.lineage.push_back({StepOutcome::LineageEntry::Direction::kInput, "FeatureGroup",
                               "featurestore://" + input.group, ""});
  }
  return outcome;
}

// ---- raypipe.evaluate ----------------------------------------------------------------------

Result<StepOutcome> RunEvaluate(StepContext& context, const StepArguments& args) {
  RETURN_IF_ERROR(args.RejectUnknown(FieldNames(kEvaluateFields)));
  ml::EvaluationOptions options;
  ASSIGN_OR_RETURN(std::string model_value, args.String("Model"));
  ASSIGN_OR_RETURN(std::string test_value, args.String("TestData"));
  ASSIGN_OR_RETURN(options.target, args.String("TargetColumn"));
  options.apply_preprocessing = false;  // the test split is already scaled

  ASSIGN_OR_RETURN(std::string model_path, ResolveInputPath(context, "Model", model_value));
  std::error_code error;
  if (!fs::is_directory(model_path, error)) {
    return args.Error("Model", "'" + model_value + "' is not a model bundle directory");
  }
  Result<ml::ModelBundle> bundle = ml::LoadModelBundle(model_path);
  if (!bundle.ok()) return bundle.status().WithContext(args.FieldName("Model"));
  ASSIGN_OR_RETURN(std::string test_path, ResolveInputPath(context, "TestData", test_value));
  ASSIGN_OR_RETURN(std::string csv, FindCsvFile(test_path, args.FieldName("TestData")));
  Result<data::Table> table = data::ReadCsvFile(csv);
  if (!table.ok()) return table.status().WithContext(args.FieldName("TestData"));
  if (!table->ColumnIndex(options.target)) {
    return args.Error("TargetColumn", "no column '" + options.target + "' in the test data");
  }
  for (const std::string& feature : bundle->features) {
    if (!table->ColumnIndex(feature)) {
      return args.Error("TestData", "no column '" + feature + "', a feature of the model");
    }
  }
  RETURN_IF_ERROR(CheckStop(context));
  Result<ml::Evaluation> evaluation = ml::EvaluateModel(*bundle, *table, options);
  if (!evaluation.ok()) return evaluation.status().WithContext("Arguments (raypipe.evaluate)");

  const fs::path out = fs::path(context.staging_dir) / "evaluation";
  RETURN_IF_ERROR(EnsureDir(out));
  RETURN_IF_ERROR(
      WriteTextFile(out / "evaluation.json", ml::EvaluationReportJson(*evaluation).dump(2) + "\n"));
  StepOutcome outcome;
  outcome.metrics = ml::EvaluationMetrics(*evaluation);
  outcome.properties["ProcessingJobName"] = JobName(context);
  std::string line = "evaluated " + std::to_string(evaluation->rows) + " rows:";
  for (const auto& [name, value] : outcome.metrics) line += " " + name + "=" + FormatNumber(value);
  context.Log(line);
  return outcome;
}

}  // namespace

Result<std::vector<InputDeclaration>> ProcessingStepRunner::DeclareInputs(
    const json& arguments, const std::string& pipeline_dir) const {
  std::vector<InputDeclaration> inputs;
  for (std::string_view field : {"Input", "Model", "TestData"}) {
    if (std::optional<InputDeclaration> input = DeclarePathInput(arguments, field, pipeline_dir)) {
      inputs.push_back(std::move(*input));
    }
  }
  return inputs;
}

Result<StepOutcome> ProcessingStepRunner::Run(StepContext& context) {
  StepArguments args(context.arguments);
  ASSIGN_OR_RETURN(std::string processor, args.String("Processor"));
  if (processor == kPreprocessProcessor) return RunPreprocess(context, args);
  if (processor == kEvaluateProcessor) return RunEvaluate(context, args);
  return args.Error("Processor", "unknown processor '" + processor + "'; expected " +
                                     ProcessorList());
}

std::optional<StepTypeSpec> ProcessingStepRunner::TypeSpec() const {
  StepTypeSpec spec;
  spec.type = std::string(Type());
  spec.validate_arguments = ValidateProcessing;
  spec.property_type = ProcessingPropertyType;
  spec.string_fields = {"Processor", "FeatureGroupName", "Input",         "TargetColumn",
                        "Model",     "TestData",         "DropColumns[*]"};
  return spec;
}

}  // namespace raypipe::pipeline
