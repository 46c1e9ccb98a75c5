"""Peer of ray_executor_benchmark's round trips in Ray's own Python API, on the same cluster:
a synchronous ray.get(f.remote(1)) of a trivial task and ray.get(actor.add.remote(1)) of an
actor call, both with half a CPU as RayExecutor's cases ask.

    python ray_overhead.py ADDRESS [--calls N]

ADDRESS is the cluster's HOST:PORT (scripts/ray-cluster address DIR). After a warm-up (the
worker processes start), each case runs N (default 2000) round trips one at a time.
Prints one line per case:
    ray_python_task p50_us=... mean_us=... n=...
    ray_python_actor p50_us=... mean_us=... n=...
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Keep a loopback address as it is (otherwise Ray rewrites 127.0.0.1 to the machine's routable
# address, where scripts/ray-cluster's head does not listen).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402


@ray.remote(num_cpus=0.5)
def echo(value):
    return value


@ray.remote(num_cpus=0.5)
class Counter:
    def __init__(self):
        self.count = 0

    def add(self, value):
        self.count += value
        return self.count


def measure(name, call, calls):
    for _ in range(max(20, calls // 20)):  # warm-up: workers started, code shipped
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    print(f"{name} p50_us={statistics.median(times) * 1e6:.1f} "
          f"mean_us={statistics.fmean(times) * 1e6:.1f} n={calls}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    ray.init(address=args.address, log_to_driver=False, logging_level="ERROR",
             include_dashboard=False)
    try:
        measure("ray_python_task", lambda: ray.get(echo.remote(1)), args.calls)
        counter = Counter.remote()
        measure("ray_python_actor", lambda: ray.get(counter.add.remote(1)), args.calls)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
