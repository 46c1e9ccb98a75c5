#pragma once

// Validate-time checks of a step's Arguments, for the StepTypeSpec::validate_arguments hooks of
// the ML step types. Problems go through the ArgumentsContext, so `raypipe pipeline validate`
// reports them as "file:line: step 'S', field 'Arguments.F': message".
//
// A literal is checked exactly (a Float field takes a number or a String holding one, as
// SageMaker passes numbers through String parameters). An expression ({"Get": ...},
// {"Std:Join": ...}) is checked by its static type only; one whose type only run time knows
// passes, and the runner checks the value (steps/step_arguments.h).
//
//   static constexpr ArgumentField kFields[] = {
//       {"FeatureGroupName", ArgumentKind::kString, /*required=*/true},
//       {"NumActors", ArgumentKind::kInteger}};
//   if (!CheckArgumentFields(context, context.arguments, kFields, "a FeatureStoreIngest step"))
//     return;

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/step_types.h"

namespace raypipe::pipeline {

enum class ArgumentKind {
  kString,          // a String (a number literal is refused)
  kInteger,         // an Integer, or a String holding one
  kFloat,           // a number, or a String holding one
  kBoolean,         // a Boolean
  kStringList,      // a list of Strings, or one String
  kStringOrObject,  // a String (a path) or an object (inline)
};

struct ArgumentField {
  std::string_view name;
  ArgumentKind kind = ArgumentKind::kString;
  bool required = false;
};

// True when `value` is an expression object ({"Get"}, {"Std:Join"}, {"Std:JsonGet"}).
bool IsExpression(const nlohmann::json& value);

// The number a literal holds (a JSON number, or a String holding exactly one number), or
// nullopt for anything else (expressions included).
std::optional<double> LiteralNumber(const nlohmann::json& value);

// Reports fields of `arguments` not in `fields` (listing the known ones), missing required
// fields, and values of the wrong kind. `what` names the arguments in messages ("the arguments
// of raypipe.evaluate"). Returns false when `arguments` is not an object (also reported).
bool CheckArgumentFields(const ArgumentsContext& context, const nlohmann::json& arguments,
                         std::span<const ArgumentField> fields, std::string_view what);

// Checks one value against a kind, reporting at `field`. True when it passes.
bool CheckArgumentKind(const ArgumentsContext& context, const nlohmann::json& value,
                       const FieldPath& field, ArgumentKind kind);

}  // namespace raypipe::pipeline
