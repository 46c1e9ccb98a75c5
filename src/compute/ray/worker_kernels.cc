#include "compute/ray/worker_kernels.h"

#include "compute/ray/test_kernels.h"
#include "featurestore/ingest.h"
#include "ml/kernels.h"

namespace raypipe::compute {

Status RegisterWorkerKernels(KernelRegistry& kernels, CodecRegistry& codecs) {
  // The Ray backend's own test set (compute/ray/test_kernels.h).
  RETURN_IF_ERROR(ray_testing::RegisterTestKernels(kernels));
  // Feature-store ingestion actors (featurestore/ingest.h).
  // (its job spec and results are JSON and int64: built-in codecs).
  RETURN_IF_ERROR(featurestore::RegisterIngestKernels(kernels));
  // Distributed XGBoost workers and tuning trials (ml/kernels.h), with their codecs.
  RETURN_IF_ERROR(ml::RegisterMlKernels(kernels));
  RETURN_IF_ERROR(ml::RegisterMlCodecs(codecs));
  return Status::Ok();
}

}  // namespace raypipe::compute
