#pragma once

// A minimal fork-join helper for the data module's bulk loops (CSV chunks, column gathers,
// housing chunks). Threads are created per call: the work it is used for takes milliseconds
// to seconds, so a persistent pool would buy little and would be shared state.

#include <cstddef>
#include <functional>

namespace raypipe::data::internal {

// `requested` threads, or the hardware concurrency when `requested` <= 0 (at least 1).
int ResolveThreads(int requested);

// Calls fn(task_index) once for each task_index in [0, num_tasks), on at most `threads`
// threads (the calling thread is one of them). Tasks are handed out dynamically, so the
// assignment of tasks to threads varies, but each task runs exactly once. Returns after every
// task has finished. REQUIRES: fn does not throw.
void ParallelFor(size_t num_tasks, int threads, const std::function<void(size_t)>& fn);

}  // namespace raypipe::data::internal
