#pragma once

// Conditions of a Condition step, in SageMaker's JSON:
//   {"Type": "Equals" | "GreaterThan" | "GreaterThanOrEqualTo" | "LessThan" |
//            "LessThanOrEqualTo", "LeftValue": <expr>, "RightValue": <expr>}
//   {"Type": "In", "QueryValue": <expr>, "Values": [<expr>...]}   (older form: "Value", "In")
//   {"Type": "Not", "Condition": <condition>}                       (SageMaker writes "Expression")
//   {"Type": "Or", "Conditions": [<condition>...]}
// The list in a Condition step is ANDed.
//
// Comparison rules: two numbers compare as numbers (an Integer equals the same Float); two
// strings compare as strings (ordering is byte-wise); two booleans, lists or objects may be
// tested for equality only. Anything else is a type error, never a silent false.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/expression.h"

namespace raypipe::pipeline {

enum class ConditionKind {
  kEquals,
  kGreaterThan,
  kGreaterThanOrEqualTo,
  kLessThan,
  kLessThanOrEqualTo,
  kIn,
  kNot,
  kOr,
};

std::string_view ConditionKindName(ConditionKind kind);  // "Equals", ...
std::optional<ConditionKind> ParseConditionKind(std::string_view name);

struct Condition {
  ConditionKind kind = ConditionKind::kEquals;
  // Comparisons: LeftValue and RightValue. In: QueryValue and Values (a kList, or an expression
  // that evaluates to a list).
  Expression left;
  Expression right;
  // Not: exactly one. Or: one or more.
  std::vector<Condition> operands;
  FieldPath field;  // where the condition object sits
};

// Parses one condition object. Problems go to `issues` under `at`; nullopt when the condition
// is unusable.
std::optional<Condition> ParseCondition(const nlohmann::json& value, const FieldPath& at,
                                        std::vector<Issue>* issues);
// Parses the Conditions list of a Condition step (a non-empty list).
std::vector<Condition> ParseConditionList(const nlohmann::json& value, const FieldPath& at,
                                          std::vector<Issue>* issues);

// Every reference inside `condition`, in document order.
void CollectReferences(const Condition& condition, std::vector<LocatedReference>* out);

// Static type checks: both sides of a comparison of compatible types, booleans only for
// equality, the Values of In a list.
void CheckConditionTypes(const Condition& condition, const ReferenceTypeFn& reference_type,
                         std::vector<Issue>* issues);

// Compares evaluated values under the rules above. REQUIRES: `kind` is a comparison or kIn
// (for kIn, `right` is the list of values). InvalidArgument on a type mismatch.
Result<bool> CompareValues(ConditionKind kind, const nlohmann::json& left,
                           const nlohmann::json& right);

Result<bool> EvaluateCondition(const Condition& condition, const Resolver& resolver);
// All of `conditions` (true for an empty list); stops at the first false.
Result<bool> EvaluateConditions(const std::vector<Condition>& conditions,
                                const Resolver& resolver);

}  // namespace raypipe::pipeline
