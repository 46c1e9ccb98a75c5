#pragma once

// The ml module's executor kernels, registered explicitly (no static self-registration):
// the distributed XGBoost worker actor (distributed.h) and the tuning trial task
// (tuning/tuning_job.h).

#include "compute/codec.h"
#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::ml {

// AlreadyExists when registered twice in the same registry.
Status RegisterMlKernels(compute::KernelRegistry& registry);

// The codecs those kernels' arguments and results need on an executor that serializes values
// (Ray): the distributed worker's job and result, and the tuning trial's refusal (a trial holds
// C++ closures: it runs on the local executor only, and says so). The driver and Ray's workers
// register the same ones (compute/ray/worker_kernels.cc, cli/executor_options.cc).
Status RegisterMlCodecs(compute::CodecRegistry& codecs);

}  // namespace raypipe::ml
