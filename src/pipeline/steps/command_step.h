#pragma once

// The Command step (DESIGN.md section 3): runs a program with argv, environment and working
// directory, SageMaker-style input and output directories, stdout and stderr kept as the step's
// log, metrics scraped from log lines by MetricDefinitions regexes.
//
//   Arguments:
//     Command: ["python3", "prepare.py", "--rows", "1000"]   (resolved; numbers printed as text)
//     WorkingDirectory: "."          relative to the pipeline file; default "."
//     Environment: {LEVEL: "fast"}
//     Inputs:  [{InputName: raw, Source: "data/raw.csv" | "artifact://sha256:..."}]
//     Outputs: [{OutputName: prepared}]
//     MetricDefinitions: [{Name: "validation:rmse", Regex: "rmse=([0-9.eE+-]+)"}]
//
// The program inherits this process's environment plus Environment, RAYPIPE_INPUT_<NAME> (the
// read-only artifact path of each input; a path Source is relative to WorkingDirectory),
// RAYPIPE_OUTPUT_<NAME> (an empty directory in the staging area), RAYPIPE_EXECUTION_ID and
// RAYPIPE_STEP_NAME. Properties: ExitCode, Metrics.<name> (the last value matched). A non-zero
// exit fails the step (not retryable) with the tail of stderr; death by SIGKILL (the OOM killer,
// a lost machine) is Unavailable, so RetryPolicies may retry it. On stop the process group gets
// SIGTERM, then SIGKILL after a grace period.
//
// An argv element that is an artifact URI ({"Get": "Steps.X.Outputs.n"}) is an input too, and
// the program sees the artifact's read-only path in its place.
//
// Every argv element naming a file under WorkingDirectory is declared a kCode input: its
// content is part of the cache key, so editing the script misses the cache.

#include <chrono>
#include <string_view>

#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

class CommandStepRunner final : public StepRunner {
 public:
  explicit CommandStepRunner(std::chrono::milliseconds stop_grace = std::chrono::seconds(5))
      : stop_grace_(stop_grace) {}

  std::string_view Type() const override { return "Command"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;

 private:
  const std::chrono::milliseconds stop_grace_;
};

}  // namespace raypipe::pipeline
