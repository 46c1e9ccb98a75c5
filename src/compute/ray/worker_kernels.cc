#include "compute/ray/worker_kernels.h"

#include "compute/ray/test_kernels.h"

namespace raypipe::compute {

Status RegisterWorkerKernels(KernelRegistry& kernels, CodecRegistry& codecs) {
  (void)codecs;  // only built-in codecs so far
  // The Ray backend's own test set (compute/ray/test_kernels.h); the modules' kernels follow
  // as they move onto Ray.
  RETURN_IF_ERROR(ray_testing::RegisterTestKernels(kernels));
  return Status::Ok();
}

}  // namespace raypipe::compute
