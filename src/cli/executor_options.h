#pragma once

// The one place a command opens the executor it computes on, as the global options ask
// (DESIGN.md sections 6 and 10): --executor local|ray, --ray-address HOST:PORT (else
// $RAY_ADDRESS), and for Ray the capacity (GlobalOptions::ray_cpus, else $RAYPIPE_RAY_CPUS, else
// asked of the cluster). Used by featurestore ingest, train, tune, and (through
// EngineHostOptions::open_executor) pipeline run/start and execution retry.
//
//   compute::KernelRegistry kernels;
//   RETURN_IF_ERROR(featurestore::RegisterIngestKernels(kernels));
//   ASSIGN_OR_RETURN(auto executor, OpenExecutorFor(context, kernels));

#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"
#include "compute/executor.h"
#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::cli {

// The executors this binary was built with: "local", and "ray" when the Ray backend
// (compute/ray) was built (scripts/setup installs Ray's C++ API). For AppInfo::executors.
std::vector<std::string> BuiltExecutors();

// Opens the executor `context`'s global options ask for, serving the kernels in `kernels`
// (copied; the Ray workers serve compute::RegisterWorkerKernels, which must include them):
// - local: a LocalExecutor with this machine's CPUs (at least 1).
// - ray: a RayExecutor connected to the cluster at --ray-address, else $RAY_ADDRESS; this
//   process must run on one of its nodes (its IP: $RAYPIPE_RAY_NODE_IP, default the address's
//   host). Capacity: --ray-cpus, else $RAYPIPE_RAY_CPUS, else the cluster's CPUs as Ray reports
//   them. One Ray connection per process (Ray's C++ runtime cannot reconnect).
// Errors: InvalidArgument naming the missing address or a bad value; Unavailable when no
// cluster answers ("no Ray cluster answers at HOST:PORT: start one with ..."); Unimplemented
// when this binary was built without the Ray backend.
Result<std::unique_ptr<compute::Executor>> OpenExecutorFor(const CommandContext& context,
                                                           const compute::KernelRegistry& kernels);

// The Ray address the options ask for: --ray-address, else $RAY_ADDRESS; InvalidArgument when
// neither is set (the message tells how to start a cluster). Exposed for tests.
Result<std::string> RayAddressFor(const GlobalOptions& options);

// Parses a CPU count ("4", "0.5"): InvalidArgument naming `what` unless positive and finite.
Result<double> ParseCpus(std::string_view text, std::string_view what);

}  // namespace raypipe::cli
