// Pipeline engine benchmarks (bench/run, section "pipeline"):
//   a chain of 20 no-op Command steps (per-step overhead, process spawn included),
//   a ForEach over 100 items, and a fully cached rerun of a 6-step pipeline.
// Prints one line per benchmark: the median of --reps runs after one warm-up.

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/engine/host.h"

namespace {

using raypipe::pipeline::EngineHost;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs `yaml` once in `host`; the seconds it took, or a negative value on failure.
double RunOnce(EngineHost& host, const std::string& yaml, const std::string& dir) {
  raypipe::pipeline::StartRequest request;
  request.definition_text = yaml;
  request.source_name = "bench.yaml";
  request.pipeline_dir = dir;
  auto start = std::chrono::steady_clock::now();
  auto id = host.engine().StartExecution(request);
  if (!id.ok()) {
    std::fprintf(stderr, "pipeline_bench: %s\n", id.status().ToString().c_str());
    return -1;
  }
  auto done = host.engine().RunExecution(*id);
  if (!done.ok() || done->status != "Succeeded") {
    std::fprintf(stderr, "pipeline_bench: execution failed: %s\n",
                 done.ok() ? done->failure_reason.c_str() : done.status().ToString().c_str());
    return -1;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Chain(int steps, bool cached) {
  std::string yaml = "Version: \"2020-12-01\"\nSteps:\n";
  for (int i = 0; i < steps; ++i) {
    yaml += "  - Name: S" + std::to_string(i) + "\n    Type: Command\n";
    if (cached) yaml += "    CacheConfig: {Enabled: true}\n";
    yaml += "    Arguments: {Command: [\"sh\", \"-c\", \"echo " + std::to_string(i) +
            " > $RAYPIPE_OUTPUT_OUT/x\"], Outputs: [{OutputName: out}]";
    if (i > 0) {
      yaml += ", Inputs: [{InputName: prev, Source: {Get: Steps.S" + std::to_string(i - 1) +
              ".Outputs.out}}]";
    }
    yaml += "}\n";
  }
  return yaml;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  }
  char pattern[] = "/tmp/pipeline_bench.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string dir = pattern;
  raypipe::pipeline::EngineHostOptions options;
  options.home = dir + "/home";
  auto host = EngineHost::Open(options);
  if (!host.ok()) {
    std::fprintf(stderr, "pipeline_bench: %s\n", host.status().ToString().c_str());
    return 1;
  }
  int failures = 0;
  auto measure = [&](const std::string& yaml, int count_reps) {
    std::vector<double> times;
    for (int r = 0; r <= count_reps; ++r) {
      double seconds = RunOnce(**host, yaml, dir);
      if (seconds < 0) {
        ++failures;
        return -1.0;
      }
      if (r > 0) times.push_back(seconds);  // the first run warms up
    }
    return Median(times);
  };

  // 1. 20 no-op Command steps in a chain (each one's output is the next one's input).
  double chain = measure(Chain(20, false), reps);
  if (chain >= 0) {
    double per_step_ms = chain / 20 * 1000;
    std::printf("pipeline_chain_20: %.3f s, %.1f ms per step (target 20 ms: %s)\n", chain,
                per_step_ms, per_step_ms <= 20 ? "met" : "missed");
  }

  // 2. ForEach over 100 items, 8 at a time.
  std::string items = "[";
  for (int i = 0; i < 100; ++i) items += (i ? "," : "") + std::to_string(i);
  items += "]";
  const std::string foreach_yaml =
      "Version: \"2020-12-01\"\nSteps:\n  - Name: Fan\n    Type: ForEach\n    Arguments:\n"
      "      Items: " + items + "\n      MaxConcurrency: 8\n"
      "      Step: {Type: Command, Arguments: {Command: [\"sh\", \"-c\", {Std:Join: {On: \" \", "
      "Values: [\"echo\", {Get: Item}, \"> $RAYPIPE_OUTPUT_OUT/x\"]}}], Outputs: [{OutputName: out}]}}\n";
  double foreach_seconds = measure(foreach_yaml, std::max(1, reps / 2));
  if (foreach_seconds >= 0) {
    std::printf("pipeline_foreach_100: %.3f s, %.1f ms per item (MaxConcurrency 8)\n",
                foreach_seconds, foreach_seconds / 100 * 1000);
  }

  // 3. A fully cached rerun of a 6-step pipeline (the warm-up run fills the cache).
  double cached = measure(Chain(6, true), reps);
  if (cached >= 0) {
    std::printf("pipeline_cached_rerun_6: %.3f s (target 0.3 s: %s)\n", cached,
                cached <= 0.3 ? "met" : "missed");
  }
  host->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return failures == 0 ? 0 : 1;
}
