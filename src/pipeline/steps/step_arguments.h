#pragma once

// Typed reads of a step's resolved Arguments for the step runners, each error naming the field
// as the user wrote it ("Arguments.NumWorkers: expected an Integer, found \"two\"").
//
// Pipeline parameters arrive typed (Integer, Float, Boolean, String), but SageMaker's own
// definitions pass numbers through String parameters ("0.6"), so Integer and Float also accept
// a string holding exactly one number of the kind asked for.
//
//   StepArguments args(context.arguments);
//   ASSIGN_OR_RETURN(std::string group, args.String("FeatureGroupName"));
//   ASSIGN_OR_RETURN(int64_t workers, args.Integer("NumWorkers", 1));
//   ASSIGN_OR_RETURN(StepArguments hyper, args.Object("HyperParameters", /*required=*/false));

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace raypipe::pipeline {

class StepArguments {
 public:
  // `arguments` must outlive this object. `where` prefixes every field in errors.
  explicit StepArguments(const nlohmann::json& arguments, std::string where = "Arguments");

  bool Has(std::string_view field) const;
  // The raw value, or null when absent.
  const nlohmann::json& Raw(std::string_view field) const;
  // "Arguments.<field>" (or "<where>.<field>").
  std::string FieldName(std::string_view field) const;

  // Required values: InvalidArgument when absent or of the wrong type.
  Result<std::string> String(std::string_view field) const;
  Result<int64_t> Integer(std::string_view field) const;
  Result<double> Float(std::string_view field) const;
  Result<bool> Boolean(std::string_view field) const;

  // Optional values: `fallback` when absent (or null); InvalidArgument for a wrong type.
  Result<std::string> String(std::string_view field, std::string fallback) const;
  Result<int64_t> Integer(std::string_view field, int64_t fallback) const;
  Result<double> Float(std::string_view field, double fallback) const;
  Result<bool> Boolean(std::string_view field, bool fallback) const;

  // A list of strings (a JSON list, or one string standing for a list of one).
  Result<std::vector<std::string>> StringList(std::string_view field) const;
  // A nested object read with the same rules; its errors name "<where>.<field>.<inner>". An
  // absent optional object reads as an empty one.
  Result<StepArguments> Object(std::string_view field, bool required = true) const;

  // Errors for fields outside this reader's fixed shape.
  Status Error(std::string_view field, std::string_view message) const;
  // InvalidArgument naming the first field not in `known` (typos fail instead of being ignored).
  Status RejectUnknown(const std::vector<std::string_view>& known) const;

  const nlohmann::json& arguments() const { return *arguments_; }

 private:
  const nlohmann::json* arguments_;
  std::string where_;
};

}  // namespace raypipe::pipeline
