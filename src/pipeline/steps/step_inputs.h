#pragma once

// Where a step runner finds the data an argument names: an artifact URI the engine resolved
// (context.inputs), or a path relative to the pipeline file. Shared by the ML step runners.
//
//   Result<std::vector<InputDeclaration>> DeclareInputs(args, dir) const override {
//     std::vector<InputDeclaration> inputs;
//     if (auto input = DeclarePathInput(args, "Input", dir)) inputs.push_back(*input);
//     return inputs;
//   }
//   ...in Run:
//   ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, "Input", value));
//   ASSIGN_OR_RETURN(std::string csv, FindCsvFile(path, "Arguments.Input"));
//   ASSIGN_OR_RETURN(data::Table table, ReadTableInput(path, "Arguments.TrainData"));

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/table.h"
#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

// An artifact input named `field` for the String argument `field` of `arguments` (an artifact
// URI, or a path made absolute against `pipeline_dir`, which the engine imports so that its
// content goes into the cache key); nullopt when the field is absent, empty or not a String.
std::optional<InputDeclaration> DeclarePathInput(const nlohmann::json& arguments,
                                                 std::string_view field,
                                                 const std::string& pipeline_dir);

// The read-only path of the argument `field` whose value is `value`: the engine's resolved input
// of that name when there is one; otherwise an artifact URI's path in context.artifacts, or the
// path relative to context.pipeline_dir. NotFound naming "Arguments.<field>" when nothing is
// there.
Result<std::string> ResolveInputPath(const StepContext& context, std::string_view field,
                                     const std::string& value);

// `path` itself when it is a file; the one *.csv file in it when it is a directory.
// InvalidArgument naming `field_name` when a directory holds no CSV file or several.
Result<std::string> FindCsvFile(const std::string& path, std::string_view field_name);

// The table file of a table argument: `path` itself when it is a file; the one *.rpcol file
// (raypipe's columnar format, data/columnar.h) or else the one *.csv file in it when it is a
// directory. InvalidArgument naming `field_name` for a directory with no table file or with
// several of the chosen kind.
Result<std::string> FindTableFile(const std::string& path, std::string_view field_name);

// Reads the table a table argument names (FindTableFile): a columnar file (recognized by its
// magic bytes, whatever its name) is memory-mapped and its columns used in place, without a
// copy; anything else is parsed as CSV. Errors carry `field_name` as context.
Result<data::Table> ReadTableInput(const std::string& path, std::string_view field_name);

}  // namespace raypipe::pipeline
