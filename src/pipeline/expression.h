#pragma once

// Expressions inside step arguments, after SageMaker Pipelines:
//   {"Get": "Parameters.X"}            a pipeline parameter
//   {"Get": "Execution.PipelineExecutionId"}   (and the other Execution.* names)
//   {"Get": "Steps.S.Outputs.model"}   a property of step S (any property path after the name)
//   {"Get": "Item"}, {"Get": "ItemIndex"}      the current ForEach item / its 0-based index
//   {"Std:Join": {"On": ",", "Values": [...]}}
//   {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.S.PropertyFiles.N"}, "Path": "a.b[0]"}}
// Any JSON value may hold expressions in its lists and objects. Parsing makes a small AST;
// evaluation asks a Resolver (the engine) for the values of references.
//
// Thread-safety: Expression is a plain value; Evaluate is safe to call concurrently when the
// Resolver is.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/property_path.h"

namespace raypipe::pipeline {

enum class ReferenceKind { kParameter, kExecution, kStep, kItem, kItemIndex };

// What a {"Get": ...} names.
struct Reference {
  ReferenceKind kind = ReferenceKind::kParameter;
  std::string name;       // the parameter, execution variable or step; empty for Item / ItemIndex
  PropertyPath property;  // kStep: the path after the step name ("Outputs.model")

  // The canonical text: "Parameters.X", "Steps.S.Outputs['a.b']", "Item".
  std::string ToString() const;
  // Steps.S.PropertyFiles.N: a property file N of step S.
  bool IsPropertyFile() const;
  // N of Steps.S.PropertyFiles.N. REQUIRES: IsPropertyFile().
  const std::string& PropertyFileName() const { return property[1].key; }
};

// The names accepted after "Execution.": PipelineExecutionId, PipelineExecutionArn,
// PipelineName, PipelineArn, StartDateTime, CurrentDateTime, TrainingJobName, ProcessingJobName.
const std::vector<std::string_view>& ExecutionVariableNames();

// Parses the text of a Get. InvalidArgument saying what is wrong ("unknown execution variable
// 'Foo'; expected one of ...", "expected 'Steps.<name>.<property>'").
Result<Reference> ParseReference(std::string_view text);

struct Expression {
  enum class Kind { kLiteral, kGet, kJoin, kJsonGet, kList, kObject };
  Kind kind = Kind::kLiteral;
  nlohmann::json literal;  // kLiteral: a scalar (string, number, boolean or null)
  Reference reference;     // kGet
  std::string separator;   // kJoin: On
  // kList: the elements. kObject: the values, keys[i] naming items[i].
  // kJoin: one item, the Values (a kList, or an expression that evaluates to a list).
  // kJsonGet: two items, the PropertyFile (a kGet of a property file) and the Path.
  std::vector<Expression> items;
  std::vector<std::string> keys;
  FieldPath field;  // where it sits, relative to the value given to ParseExpression
};

// Parses `value`, which may hold expressions anywhere. An object whose only key is "Get",
// "Std:Join" or "Std:JsonGet" is an expression; any other key starting with "Std:" is an error.
// Problems are appended to `issues` with field paths under `at`; the result is best effort (a
// malformed expression becomes a null literal), so callers can go on to report more.
Expression ParseExpression(const nlohmann::json& value, const FieldPath& at,
                           std::vector<Issue>* issues);
// The same, failing with the first problem as InvalidArgument ("field 'X': ...").
Result<Expression> ParseExpression(const nlohmann::json& value);

struct LocatedReference {
  Reference reference;
  FieldPath field;  // the field holding the {"Get": ...}
};

// Every reference in `expression`, in document order.
void CollectReferences(const Expression& expression, std::vector<LocatedReference>* out);
std::vector<LocatedReference> CollectReferences(const Expression& expression);

// Supplies the values of references at run time.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // A parameter's value, an execution variable, a step property, the parsed JSON content of a
  // property file (for Steps.S.PropertyFiles.N), or the current ForEach item / index.
  virtual Result<nlohmann::json> Resolve(const Reference& reference) const = 0;
};

// A Resolver over a fixed table keyed by Reference::ToString() ("Parameters.X"). For tests and
// for callers that know every value up front.
class MapResolver : public Resolver {
 public:
  MapResolver() = default;
  explicit MapResolver(std::map<std::string, nlohmann::json> values)
      : values_(std::move(values)) {}
  void Set(std::string reference_text, nlohmann::json value);
  // NotFound "no value for Steps.X.Outputs.m" when the table lacks it.
  Result<nlohmann::json> Resolve(const Reference& reference) const override;

 private:
  std::map<std::string, nlohmann::json> values_;
};

// The value of `expression`: literals as they are, lists and objects element by element.
// Errors name the reference or function that failed.
Result<nlohmann::json> Evaluate(const Expression& expression, const Resolver& resolver);
// ParseExpression + Evaluate.
Result<nlohmann::json> EvaluateJson(const nlohmann::json& value, const Resolver& resolver);

// How a value prints inside Std:Join and command lines: strings as they are, integers in
// decimal, floats in the shortest form that reads back the same, booleans "true"/"false",
// null as "", lists and objects as compact JSON.
std::string ValueToText(const nlohmann::json& value);

// Static types, as far as they are known before running.
enum class ValueType { kUnknown, kNull, kString, kInteger, kFloat, kBoolean, kList, kObject };
std::string_view ValueTypeName(ValueType type);  // "String", ... ; "unknown" for kUnknown
ValueType ValueTypeOf(const nlohmann::json& value);
ValueType ValueTypeOf(ParameterType type);
inline bool IsNumber(ValueType type) {
  return type == ValueType::kInteger || type == ValueType::kFloat;
}
inline bool IsScalar(ValueType type) {
  return type != ValueType::kList && type != ValueType::kObject;
}

// The static type of each reference (kUnknown when only run time knows).
using ReferenceTypeFn = std::function<ValueType(const Reference&)>;

// The static type of `expression`: literal types, String for Std:Join, the reference's type
// for a Get, kUnknown for Std:JsonGet.
ValueType InferType(const Expression& expression, const ReferenceTypeFn& reference_type);

// Type checks inside expressions that need reference types: the Values of Std:Join must be
// scalars, its list must be a list, the Path of Std:JsonGet must be a String.
void CheckExpressionTypes(const Expression& expression, const ReferenceTypeFn& reference_type,
                          std::vector<Issue>* issues);

}  // namespace raypipe::pipeline
