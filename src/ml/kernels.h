#pragma once

// The ml module's executor kernels, registered explicitly (no static self-registration):
// the distributed XGBoost worker actor (distributed.h), the XGBoost tuning trial actor
// (tuning/trial_actor.h), the scripted tuning trial task (tuning/tuning_job.h) and the
// preprocessing task (preprocess_task.h).

#include "compute/codec.h"
#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::ml {

// AlreadyExists when registered twice in the same registry.
Status RegisterMlKernels(compute::KernelRegistry& registry);

// The codecs those kernels' arguments and results need on an executor that serializes values
// (Ray): the distributed worker's job and result (TrainResult, also the trial actor's result),
// the tuning trials' shared tables (TrialData), and the scripted trial's refusal (it holds a
// C++ function: it runs on the local executor only, and says so). The driver and Ray's workers
// register the same ones (compute/ray/worker_kernels.cc, cli/executor_options.cc).
Status RegisterMlCodecs(compute::CodecRegistry& codecs);

}  // namespace raypipe::ml
