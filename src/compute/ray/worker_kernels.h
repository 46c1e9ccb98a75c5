#pragma once

// What every Ray worker serves: the kernels and codecs registered in the kernel host
// (libraypipe_kernels.so). Each module that has kernels adds its registration call here; the
// driver must use the same codecs (RayExecutorOptions::codecs).

#include "compute/codec.h"
#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::compute {

// Registers the workers' kernels and codecs (the built-in codecs are expected in `codecs`
// already, as CodecRegistry::WithBuiltins() gives them).
Status RegisterWorkerKernels(KernelRegistry& kernels, CodecRegistry& codecs);

}  // namespace raypipe::compute
