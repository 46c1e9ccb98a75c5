// Data-driven test over src/pipeline/testdata: every definition under valid/ must parse and
// validate, every one under invalid/ must not, and the outcome (a summary of the model, or the
// exact messages) must equal FILE.expected beside it. Run with RAYPIPE_UPDATE_GOLDEN=1 to
// rewrite the expected files, then review the diff.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/dag.h"
#include "pipeline/parameters.h"
#include "pipeline/parser.h"
#include "pipeline/validate.h"

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;

fs::path TestDataDir() { return fs::path(RAYPIPE_SOURCE_DIR) / "src" / "pipeline" / "testdata"; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Summarize(const PipelineDefinition& definition) {
  std::ostringstream out;
  out << "pipeline " << definition.name << ", version " << definition.version;
  if (definition.max_parallel_execution_steps.has_value()) {
    out << ", at most " << *definition.max_parallel_execution_steps << " steps at once";
  }
  out << "\n";
  if (definition.experiment_config.has_value()) {
    out << "experiment " << SafeDump(definition.experiment_config->experiment_name) << ", trial "
        << SafeDump(definition.experiment_config->trial_name) << "\n";
  }
  for (const ParameterDefinition& parameter : definition.parameters) {
    out << "parameter " << parameter.name << " " << ParameterTypeName(parameter.type);
    if (parameter.default_value.has_value()) out << " = " << SafeDump(*parameter.default_value);
    out << " (line " << parameter.line << ")\n";
  }
  Result<ParameterValues> values = ResolveParameters(definition, {});
  if (values.ok()) {
    out << "resolved parameters:";
    for (const auto& [name, value] : *values) out << " " << name << "=" << SafeDump(value);
    out << "\n";
  } else {
    out << "resolving parameters without overrides: " << values.status().message() << "\n";
  }
  const Dag dag = Dag::Build(definition);
  for (size_t index = 0; index < definition.steps.size(); ++index) {
    const StepDefinition& step = definition.steps[index];
    out << "step " << step.name << ": " << step.type << ", line " << step.line
        << (step.defined_inline ? ", inline" : "") << "\n";
    if (!step.display_name.empty()) out << "  display name: " << step.display_name << "\n";
    out << "  arguments: " << SafeDump(step.arguments) << "\n";
    if (step.cache_config.enabled || step.cache_config.expire_after_text.has_value()) {
      out << "  cache: " << (step.cache_config.enabled ? "on" : "off");
      if (step.cache_config.expire_after.has_value()) {
        out << ", expires after " << step.cache_config.expire_after->count() << "s";
      }
      out << "\n";
    }
    for (const RetryPolicy& policy : step.retry_policies) {
      out << "  retry";
      for (const std::string& type : policy.exception_types) out << " " << type;
      out << ": interval " << policy.interval_seconds << "s, backoff " << policy.backoff_rate;
      if (policy.max_attempts.has_value()) out << ", max attempts " << *policy.max_attempts;
      if (policy.expire_after_min.has_value()) {
        out << ", expire after " << *policy.expire_after_min << " min";
      }
      out << "\n";
    }
    for (const PropertyFile& file : step.property_files) {
      out << "  property file " << file.name << ": " << file.output_name << "/"
          << file.file_path << "\n";
    }
    if (step.type == "Condition") {
      out << "  if:";
      for (const std::string& name : step.if_steps) out << " " << name;
      out << "; else:";
      for (const std::string& name : step.else_steps) out << " " << name;
      out << "\n";
    }
    for (const BranchGuard& guard : step.guards) {
      out << "  runs when " << guard.condition_step << " takes " << BranchFieldName(guard.branch)
          << "\n";
    }
    out << "  upstream:";
    for (size_t upstream : dag.Upstream(index)) out << " " << dag.name(upstream);
    out << "\n";
  }
  Result<std::vector<size_t>> order = dag.TopologicalOrder();
  out << "order:";
  if (order.ok()) {
    for (size_t step : *order) out << " " << dag.name(step);
  }
  out << "\n";
  return out.str();
}

std::string Outcome(const fs::path& file) {
  Result<PipelineDefinition> definition =
      ParseDefinition(ReadFile(file), file.filename().string());
  if (!definition.ok()) return "parse error: " + std::string(definition.status().message()) + "\n";
  const ValidationReport report = Validate(*definition);
  if (!report.ok()) return report.ToString();
  return "valid\n" + Summarize(*definition);
}

struct GoldenCase {
  fs::path file;
  bool valid;
};

std::vector<GoldenCase> Cases() {
  std::vector<GoldenCase> cases;
  for (const char* directory : {"valid", "invalid"}) {
    const fs::path dir = TestDataDir() / directory;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      const std::string extension = entry.path().extension().string();
      if (extension == ".yaml" || extension == ".yml" || extension == ".json") {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) cases.push_back({file, std::string(directory) == "valid"});
  }
  return cases;
}

class GoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, MatchesExpected) {
  const GoldenCase& golden = GetParam();
  const std::string outcome = Outcome(golden.file);
  if (golden.valid) {
    EXPECT_EQ(outcome.rfind("valid\n", 0), 0u) << outcome;
  } else {
    EXPECT_NE(outcome.rfind("valid\n", 0), 0u) << "expected errors, got:\n" << outcome;
  }
  const fs::path expected_file = golden.file.string() + ".expected";
  const char* update = std::getenv("RAYPIPE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_file, std::ios::binary) << outcome;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_file)) << "missing " << expected_file
                                         << "; run with RAYPIPE_UPDATE_GOLDEN=1";
  EXPECT_EQ(outcome, ReadFile(expected_file)) << "for " << golden.file;
}

TEST(GoldenTest, FindsTheTestData) {
  const std::vector<GoldenCase> cases = Cases();
  size_t valid = 0;
  for (const GoldenCase& golden : cases) valid += golden.valid ? 1 : 0;
  EXPECT_GE(valid, 4u);
  EXPECT_GE(cases.size() - valid, 10u);
}

std::string CaseName(const testing::TestParamInfo<GoldenCase>& info) {
  std::string name = std::string(info.param.valid ? "valid_" : "invalid_") +
                     info.param.file.filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Definitions, GoldenTest, testing::ValuesIn(Cases()), CaseName);

}  // namespace
}  // namespace raypipe::pipeline
