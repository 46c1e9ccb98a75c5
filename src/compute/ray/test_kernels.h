#pragma once

// A small kernel set for the Ray backend's tests and benchmarks, registered in Ray's workers
// (worker_kernels.cc) and in the test driver (to check names before submitting).
//
// Tasks:  test.add(int64, int64) -> int64        test.sum(float64...) -> float64
//         test.echo(x) -> x                        test.concat(string...) -> string
//         test.fail(string) -> InvalidArgument "test.fail: <string>"
//         test.pid() -> int64 (the worker's process id)
//         test.sleep(int64 ms) -> int64 pid       test.flaky(int64 n) -> int64 attempt
//                                                  (Unavailable on attempts below n)
//         test.throw() throws std::runtime_error
//         test.meet(string dir, int64 n, int64 timeout_ms) -> int64: a barrier across
//                  processes (a file per process in dir; waits for n; DeadlineExceeded)
// Actors: test.Counter(int64 start): Add(int64) -> int64, Get() -> int64, Pid() -> int64,
//         Sleep(int64 ms) -> int64 pid, Meet(dir, n, timeout_ms) as test.meet,
//         Fail() -> error, Crash() throws
//         test.Broken(): its factory fails with FailedPrecondition

#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::compute::ray_testing {

Status RegisterTestKernels(KernelRegistry& kernels);

}  // namespace raypipe::compute::ray_testing
