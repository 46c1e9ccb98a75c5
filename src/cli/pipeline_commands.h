#pragma once

// `raypipe pipeline ...` (DESIGN.md section 10):
//
//   raypipe pipeline validate FILE      every error at once (file:line: step 'S', field 'F': ...)
//   raypipe pipeline upsert FILE        stores the definition under its name
//   raypipe pipeline list | describe NAME | delete NAME
//   raypipe pipeline run FILE|NAME [--param NAME=VALUE]... [--from-execution ID --steps A,B]
//     runs an execution in this process with a live line per step; exit 0 when it Succeeded,
//     1 when it Failed or was Stopped (with the reason), 2 for usage errors (bad --param).
//
// The helpers below are shared with `raypipe execution ...` (execution_commands.h).

#include <functional>
#include <memory>
#include <string>

#include "cli/context.h"
#include "cli/registry.h"
#include "core/status.h"
#include "pipeline/engine/host.h"

namespace raypipe::cli {

Status RegisterPipelineCommands(CommandRegistry& registry);

// The step runners of this build beyond Command (the engine host registers Command itself).
// Modules that implement step types (Training, RegisterModel, ...) add theirs here.
Status RegisterPipelineStepRunners(pipeline::StepRunnerRegistry& runners);

// The engine host options of this build under --home: the step runners above, their kernels,
// and the executor the global options ask for (--executor local|ray). `context` must outlive
// the host opened with them.
pipeline::EngineHostOptions PipelineHostOptions(const CommandContext& context);

// Opens the engine under --home; with `live`, progress lines go to context.out() (table
// output only).
Result<std::unique_ptr<pipeline::EngineHost>> OpenPipelineHost(CommandContext& context,
                                                               bool live);

// Runs a started or retried execution to its end and reports it; the exit code.
int RunExecutionAndReport(CommandContext& context, pipeline::EngineHost& host,
                          const std::string& execution_id);

}  // namespace raypipe::cli
