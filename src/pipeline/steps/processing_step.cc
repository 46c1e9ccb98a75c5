#include "pipeline/steps/processing_step.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>

#include "compute/executor.h"
#include "core/env.h"
#include "ml/evaluate.h"
#include "ml/model_bundle.h"
#include "ml/preprocess_task.h"
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
constexpr const std::string_view (&kSplitNames)[3] = ml::kPreprocessSplitNames;

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

// Runs the preprocessing as the executor task ml::kPreprocessTaskKernel (on a Ray worker with
// --executor ray), polling the stop flag; in this thread when the host did not register the
// kernel.
Result<ml::PreprocessTaskResult> RunPreprocessOnExecutor(StepContext& context,
                                                         const ml::PreprocessTaskSpec& spec) {
  Result<compute::ObjectRef> ref =
      context.executor == nullptr
          ? Result<compute::ObjectRef>(NotFoundError("no executor"))
          : context.executor->Submit(ml::kPreprocessTaskKernel,
                                     {compute::Value::Of<json>(ml::ToJson(spec))});
  if (!ref.ok()) {
    if (ref.status().code() != StatusCode::kNotFound) return ref.status();
    context.Log("the executor has no kernel " + std::string(ml::kPreprocessTaskKernel) +
                "; preprocessing in the driver");
    return ml::RunPreprocessTask(spec, [&context] { return context.StopRequested(); });
  }
  while (true) {
    Result<compute::Value> value = context.executor->Get(*ref, std::chrono::milliseconds(200));
    if (value.ok()) {
      ASSIGN_OR_RETURN(const json* result, value->Get<json>());
      return ml::PreprocessTaskResult::FromJson(*result);
    }
    if (value.status().code() != StatusCode::kDeadlineExceeded) return value.status();
    if (context.StopRequested()) {
      (void)context.executor->Cancel(*ref);
      return CancelledError("the execution is being stopped");
    }
  }
}

Result<StepOutcome> RunPreprocess(StepContext& context, const StepArguments& args) {
  RETURN_IF_ERROR(args.RejectUnknown(FieldNames(kPreprocessFields)));
  if (args.Has("FeatureGroupName") == args.Has("Input")) {
    return args.Error(args.Has("Input") ? "Input" : "FeatureGroupName",
                      args.Has("Input") ? "give FeatureGroupName or Input, not both"
                                        : "raypipe.preprocess needs FeatureGroupName or Input");
  }
  ml::PreprocessTaskSpec spec;
  spec.home = context.home;
  spec.output_dir = context.staging_dir;
  spec.field_prefix = "Arguments.";
  ml::PreprocessOptions& options = spec.options;
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
  if (args.Has("DropColumns")) {
    ASSIGN_OR_RETURN(options.drop_columns, args.StringList("DropColumns"));
    spec.explicit_drops = true;
  }
  std::string source;
  if (args.Has("FeatureGroupName")) {
    ASSIGN_OR_RETURN(spec.feature_group, args.String("FeatureGroupName"));
    source = "the offline store of feature group '" + spec.feature_group + "'";
  } else {
    ASSIGN_OR_RETURN(std::string value, args.String("Input"));
    ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, "Input", value));
    ASSIGN_OR_RETURN(spec.input_path, FindTableFile(path, args.FieldName("Input")));
    source = spec.input_path;
  }
  RETURN_IF_ERROR(CheckStop(context));
  ASSIGN_OR_RETURN(ml::PreprocessTaskResult prepared, RunPreprocessOnExecutor(context, spec));

  StepOutcome outcome;
  for (size_t i = 0; i < 3; ++i) {
    outcome.properties["RowCounts"][std::string(kSplitNames[i])] = prepared.split_rows[i];
  }
  outcome.properties["ProcessingJobName"] = JobName(context);
  std::string dropped;
  for (const std::string& name : prepared.dropped) dropped += (dropped.empty() ? "" : ", ") + name;
  char timing[160];
  std::snprintf(timing, sizeof(timing), "; read %.0f ms, preprocess %.0f ms, write %.0f ms",
                prepared.read_ms, prepared.preprocess_ms, prepared.write_ms);
  context.Log("read " + std::to_string(prepared.input_rows) + " rows from " + source +
              "; dropped [" + dropped + "]; split with seed " + std::to_string(seed) +
              " into train " + std::to_string(prepared.split_rows[0]) + ", validation " +
              std::to_string(prepared.split_rows[1]) + ", test " +
              std::to_string(prepared.split_rows[2]) + "; scaled " +
              std::to_string(prepared.features.size()) + " features (fitted on train)" + timing);
  if (!spec.feature_group.empty()) {
    outcome.lineage.push_back({StepOutcome::LineageEntry::Direction::kInput, "FeatureGroup",
                               "featurestore://" + spec.feature_group, ""});
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
  ASSIGN_OR_RETURN(data::Table table_value, ReadTableInput(test_path, args.FieldName("TestData")));
  const data::Table* table = &table_value;
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
  RETURN_IF_ERROR(core::DefaultEnv()->CreateDirs(out.string()));
  RETURN_IF_ERROR(core::DefaultEnv()->WriteFile(
      (out / "evaluation.json").string(), ml::EvaluationReportJson(*evaluation).dump(2) + "\n"));
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
