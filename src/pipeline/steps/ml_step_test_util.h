#pragma once

// Test fixture shared by the Training, Tuning and RegisterModel step tests: real stores under
// a temporary RAYPIPE_HOME, a LocalExecutor with the ml kernels, generated housing data
// written as CSV files, and a StepContext builder.

#include <atomic>
#include <cmath>
#include <fstream>
#include <string_view>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compute/local_executor.h"
#include "core/ids.h"
#include "data/csv.h"
#include "data/housing.h"
#include "data/ops.h"
#include "ml/kernels.h"
#include "pipeline/parser.h"
#include "pipeline/step_runner.h"
#include "pipeline/validate.h"
#include "store/home.h"

namespace raypipe::pipeline::testing {

// A numeric cell as a double.
inline double NumberAt(const data::Table& table, std::string_view column, size_t row) {
  auto found = table.ColumnByName(column);
  if (!found.ok()) return NAN;
  const data::Column& values = **found;
  return values.type() == data::DataType::kFloat64 ? values.float64s()[row]
                                                   : static_cast<double>(values.int64s()[row]);
}

class MlStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / core::NewId("ml-step-test");
    std::filesystem::create_directories(root_ / "data");
    auto metadata = store::OpenHomeMetadata(home());
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::move(*metadata);
    auto artifacts = store::OpenHomeArtifacts(home());
    ASSERT_TRUE(artifacts.ok()) << artifacts.status();
    artifacts_ = std::move(*artifacts);
    ASSERT_TRUE(ml::RegisterMlKernels(kernels_).ok());
    compute::LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = compute::Resources{};
    options.capacity->cpus = 4;
    auto executor = compute::LocalExecutor::Open(options);
    ASSERT_TRUE(executor.ok()) << executor.status();
    executor_ = std::move(*executor);
  }

  void TearDown() override {
    executor_.reset();
    std::error_code error;
    std::filesystem::remove_all(root_, error);
  }

  std::filesystem::path home() const { return root_ / "home"; }
  std::filesystem::path data_dir() const { return root_ / "data"; }

  // Housing rows split 60/20/20 into data/{train,validation,test}.csv; the raw values (the
  // trees do not need scaling).
  void WriteHousing(int64_t rows, uint64_t seed = 7) {
    data::HousingOptions options;
    options.rows = rows;
    options.seed = seed;
    auto table = data::GenerateHousing(options);
    ASSERT_TRUE(table.ok()) << table.status();
    auto parts = data::SplitProportionately(*table, {0.6, 0.2});
    ASSERT_TRUE(parts.ok()) << parts.status();
    const char* names[] = {"train", "validation", "test"};
    for (size_t index = 0; index < 3; ++index) {
      ASSERT_TRUE(data::WriteCsvFile((*parts)[index],
                                     (data_dir() / (std::string(names[index]) + ".csv")).string())
                      .ok());
    }
  }

  // A context for one attempt, with a fresh staging directory.
  StepContext Context(nlohmann::json arguments, std::string step_name = "Step",
                      std::string execution_id = "exec-test-1") {
    StepContext context;
    context.execution_id = std::move(execution_id);
    context.pipeline_name = "ml-step-test";
    context.step_name = std::move(step_name);
    context.arguments = std::move(arguments);
    context.definition = &definition_;
    context.pipeline_dir = data_dir().string();
    context.home = home().string();
    auto staging = artifacts_->NewStagingDir();
    EXPECT_TRUE(staging.ok()) << staging.status();
    context.staging_dir = staging.ok() ? *staging : (root_ / "staging").string();
    context.metadata = metadata_.get();
    context.artifacts = artifacts_.get();
    context.executor = executor_.get();
    context.stop = &stop_;
    context.log = &log_;
    return context;
  }

  // The errors of validating `yaml` (a whole pipeline) against `runner`'s TypeSpec.
  std::string ValidationErrors(const StepRunner& runner, const std::string& yaml) {
    StepTypeRegistry types = BuiltinStepTypes();
    types.Register(*runner.TypeSpec());
    auto definition = ParseDefinition(yaml, "pipeline.yaml", types);
    if (!definition.ok()) return std::string(definition.status().message());
    return Validate(*definition, types).ToString();
  }

  std::filesystem::path root_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<store::ArtifactStore> artifacts_;
  compute::KernelRegistry kernels_;
  std::unique_ptr<compute::LocalExecutor> executor_;
  StepDefinition definition_;
  std::atomic<bool> stop_{false};
  MemoryStepLog log_;
};

}  // namespace raypipe::pipeline::testing
