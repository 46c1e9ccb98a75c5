#pragma once

// Reading pipeline definitions (JSON or YAML, SageMaker Pipelines' vocabulary) into the model
// of pipeline/definition.h.
//
// Two kinds of problems: text that is not a definition at all (a JSON / YAML syntax error, a
// duplicate key, a document that is not an object) fails the call with InvalidArgument
// "file:line:column: ..."; problems with the shape of single fields (a string where a list
// belongs, an unknown field, a step without a Name) are collected in
// PipelineDefinition::parse_diagnostics, and the model holds what could be read, so that
// Validate() reports them together with everything else.
//
//   ASSIGN_OR_RETURN(PipelineDefinition definition, LoadDefinitionFile("pipeline.yaml"));
//   ValidationReport report = Validate(definition);
//   if (!report.ok()) return report.ToStatus();

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/step_types.h"

namespace raypipe::pipeline {

// Parses `text`. `source_name` is what messages call the file; its extension (.json, .yaml,
// .yml) picks the format, else the text does; its stem is the pipeline's name unless
// Metadata.Name gives one. `types` says which Arguments fields keep YAML scalars as strings.
Result<PipelineDefinition> ParseDefinition(std::string_view text, std::string_view source_name,
                                           const StepTypeRegistry& types);
// The same with BuiltinStepTypes().
Result<PipelineDefinition> ParseDefinition(std::string_view text, std::string_view source_name);

// Reads and parses a file; messages name it as `path` is spelled. NotFound when it does not
// exist, Unavailable when it cannot be read.
Result<PipelineDefinition> LoadDefinitionFile(const std::filesystem::path& path,
                                              const StepTypeRegistry& types);
Result<PipelineDefinition> LoadDefinitionFile(const std::filesystem::path& path);

// The default pipeline name for a source: the file name up to its first '.'.
std::string PipelineNameFromSource(std::string_view source_name);

}  // namespace raypipe::pipeline
