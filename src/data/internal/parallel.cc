#include "data/internal/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace raypipe::data::internal {

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

void ParallelFor(size_t num_tasks, int threads, const std::function<void(size_t)>& fn) {
  size_t workers = std::min<size_t>(num_tasks, static_cast<size_t>(ResolveThreads(threads)));
  if (workers <= 1) {
    for (size_t task = 0; task < num_tasks; ++task) fn(task);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t task = next.fetch_add(1); task < num_tasks; task = next.fetch_add(1)) fn(task);
  };
  std::vector<std::jthread> helpers;
  helpers.reserve(workers - 1);
  for (size_t helper = 1; helper < workers; ++helper) helpers.emplace_back(work);
  work();
  // jthread joins on destruction.
}

}  // namespace raypipe::data::internal
