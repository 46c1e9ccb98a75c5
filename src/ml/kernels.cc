#include "ml/kernels.h"

#include "ml/distributed.h"
#include "ml/preprocess_task.h"
#include "ml/tuning/tuning_job.h"

namespace raypipe::ml {

Status RegisterMlKernels(compute::KernelRegistry& registry) {
  RETURN_IF_ERROR(RegisterDistributedKernels(registry));
  RETURN_IF_ERROR(RegisterPreprocessKernels(registry));
  return tuning::RegisterTuningKernels(registry);
}

Status RegisterMlCodecs(compute::CodecRegistry& codecs) {
  RETURN_IF_ERROR(RegisterDistributedCodecs(codecs));
  return tuning::RegisterTuningCodecs(codecs);
}

}  // namespace raypipe::ml
