#pragma once

// The ml module's executor kernels, registered explicitly (no static self-registration):
// the distributed XGBoost worker actor (distributed.h) and the tuning trial task
// (tuning/tuning_job.h).

#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::ml {

// AlreadyExists when registered twice in the same registry.
Status RegisterMlKernels(compute::KernelRegistry& registry);

}  // namespace raypipe::ml
