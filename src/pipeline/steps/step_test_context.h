#pragma once

// Test support for step runners: a temporary RAYPIPE_HOME with the real stores
// (store/home.h), a LocalExecutor whose registry holds the ingestion kernels, and StepContexts
// built as the engine builds them (DeclareInputs resolved through the ArtifactStore, a fresh
// staging directory per run, a MemoryStepLog). Everything is removed on destruction.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compute/local_executor.h"
#include "core/ids.h"
#include "pipeline/step_runner.h"
#include "pipeline/steps/feature_store_ingest_step.h"
#include "store/home.h"

namespace raypipe::pipeline::testing {

class StepTestHome {
 public:
  StepTestHome()
      : root_(std::filesystem::temp_directory_path() / core::NewId("steps-test")),
        home_(root_ / "home"),
        pipeline_dir_(root_ / "pipeline") {
    std::filesystem::create_directories(pipeline_dir_);
    metadata_ = std::move(store::OpenHomeMetadata(home_)).value();
    artifacts_ = std::move(store::OpenHomeArtifacts(home_)).value();
    EXPECT_TRUE(RegisterFeatureStoreIngestStepKernels(kernels_).ok());
    compute::LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = compute::Resources{2.0, 0};
    executor_ = std::move(compute::LocalExecutor::Open(options)).value();
  }
  ~StepTestHome() {
    executor_.reset();
    std::error_code error;
    std::filesystem::remove_all(root_, error);
  }

  const std::filesystem::path& home() const { return home_; }
  // Where the pipeline file would be: relative paths in arguments start here.
  const std::filesystem::path& pipeline_dir() const { return pipeline_dir_; }
  store::ArtifactStore& artifacts() { return *artifacts_; }
  compute::Executor& executor() { return *executor_; }

  // A context for one attempt of `runner` with `arguments`, its inputs resolved the way the
  // engine resolves them (paths imported into the artifact store). A failure to resolve is
  // reported as a test failure and leaves the input out.
  StepContext Context(const StepRunner& runner, nlohmann::json arguments,
                      const std::string& step = "Step") {
    StepContext context;
    context.execution_id = "exec-test";
    context.pipeline_name = "test-pipeline";
    context.step_name = step;
    context.step_type = std::string(runner.Type());
    context.arguments = std::move(arguments);
    definition_.name = step;
    definition_.type = context.step_type;
    context.definition = &definition_;
    context.pipeline_dir = pipeline_dir_.string();
    context.home = home_.string();
    context.staging_dir = (root_ / core::NewId("staging")).string();
    std::filesystem::create_directories(context.staging_dir);
    context.metadata = metadata_.get();
    context.artifacts = artifacts_.get();
    context.executor = executor_.get();
    context.stop = &stop_;
    context.log = &log_;
    Result<std::vector<InputDeclaration>> declared =
        runner.DeclareInputs(context.arguments, context.pipeline_dir);
    EXPECT_TRUE(declared.ok()) << declared.status().ToString();
    if (!declared.ok()) return context;
    for (const InputDeclaration& input : *declared) {
      if (input.kind != InputDeclaration::Kind::kArtifact) continue;
      ResolvedInput resolved;
      resolved.name = input.name;
      if (IsArtifactUri(input.source)) {
        resolved.uri = input.source;
        resolved.digest = input.source.substr(std::string("artifact://").size());
      } else {
        Result<store::ArtifactRef> ref = artifacts_->PutFile(input.source);
        if (!ref.ok()) continue;  // the runner reports the missing path itself
        resolved.uri = ref->uri;
        resolved.digest = ref->digest;
      }
      Result<std::string> path = artifacts_->PathOf(resolved.digest);
      EXPECT_TRUE(path.ok()) << path.status().ToString();
      resolved.path = path.ok() ? *path : "";
      context.inputs[input.name] = resolved;
    }
    return context;
  }

  // Commits a run's output `name` (a staged file or directory) and returns its artifact URI.
  std::string Commit(const StepContext& context, const std::string& name) {
    Result<store::ArtifactRef> ref = artifacts_->PutFile(context.staging_dir + "/" + name);
    EXPECT_TRUE(ref.ok()) << ref.status().ToString();
    return ref.ok() ? ref->uri : "";
  }

  MemoryStepLog& log() { return log_; }
  std::atomic<bool>& stop() { return stop_; }

 private:
  std::filesystem::path root_;
  std::filesystem::path home_;
  std::filesystem::path pipeline_dir_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<store::ArtifactStore> artifacts_;
  compute::KernelRegistry kernels_;
  std::unique_ptr<compute::LocalExecutor> executor_;
  StepDefinition definition_;
  std::atomic<bool> stop_{false};
  MemoryStepLog log_;
};

}  // namespace raypipe::pipeline::testing
