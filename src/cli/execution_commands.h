#pragma once

// `raypipe execution ...` (DESIGN.md section 10):
//
//   raypipe execution list [--pipeline NAME]       newest first
//   raypipe execution describe ID                  status, failure reason, parameters, times
//   raypipe execution steps ID                     SageMaker's step list: status, AttemptCount,
//                                                  CacheHitResult, FailureReason
//   raypipe execution retry ID                     reruns failed, stopped and never-run steps
//                                                  under the same id (exit codes as pipeline run)
//   raypipe execution stop ID                      asks the orchestrator to stop; waits for it
//   raypipe execution explain-cache ID STEP        the cache key's parts; why it hit or missed
//   raypipe execution lineage ID [--format table|dot|json]

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

Status RegisterExecutionCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
