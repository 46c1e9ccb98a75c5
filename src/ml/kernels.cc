#include "ml/kernels.h"

#include "ml/distributed.h"
#include "ml/tuning/tuning_job.h"

namespace raypipe::ml {

Status RegisterMlKernels(compute::KernelRegistry& registry) {
  RETURN_IF_ERROR(RegisterDistributedKernels(registry));
  return tuning::RegisterTuningKernels(registry);
}

}  // namespace raypipe::ml
