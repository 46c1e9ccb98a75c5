#include "cli/datasets_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/registry.h"

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

Outcome RunRaypipe(const std::vector<std::string>& args) {
  CommandRegistry registry;
  EXPECT_TRUE(RegisterDatasetsCommands(registry).ok());
  AppInfo info;
  std::ostringstream out, err;
  RunEnvironment env{out, err, [](const std::string&) { return std::nullopt; }, "/tmp"};
  int exit_code = RunCommandLine(registry, info, args, env);
  return {exit_code, out.str(), err.str()};
}

TEST(DatasetsCommandsTest, RegistersOnceOnly) {
  CommandRegistry registry;
  ASSERT_TRUE(RegisterDatasetsCommands(registry).ok());
  const CommandNode* housing = registry.root().Child("datasets")->Child("housing");
  ASSERT_NE(housing, nullptr);
  EXPECT_TRUE(housing->is_command());
  EXPECT_FALSE(RegisterDatasetsCommands(registry).ok());
}

TEST(DatasetsCommandsTest, HousingToStandardOutput) {
  Outcome first = RunRaypipe({"datasets", "housing", "--rows", "3", "--seed", "5", "--out", "-"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::istringstream lines(first.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[0], StartsWith("PRICE,YEAR_BUILT,"));
  EXPECT_THAT(first.err, StartsWith("wrote 3 housing rows (seed 5) to standard output in "));

  Outcome again = RunRaypipe({"datasets", "housing", "--rows", "3", "--seed", "5", "--out", "-",
                       "--threads", "1"});
  EXPECT_EQ(again.out, first.out);
  Outcome other = RunRaypipe({"datasets", "housing", "--rows", "3", "--seed", "6", "--out", "-"});
  EXPECT_NE(other.out, first.out);
}

TEST(DatasetsCommandsTest, JsonSummaryGoesToStderrWhenDataIsOnStdout) {
  Outcome outcome =
      RunRaypipe({"datasets", "housing", "--rows", "2", "--out", "-", "--output", "json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  nlohmann::json summary = nlohmann::json::parse(outcome.err);
  EXPECT_EQ(summary["rows"], 2);
  EXPECT_EQ(summary["path"], "-");
  EXPECT_THAT(outcome.out, StartsWith("PRICE,"));
}

TEST(DatasetsCommandsTest, RowBoundsAreUsageErrors) {
  Outcome outcome = RunRaypipe({"datasets", "housing", "--rows", "1000000001", "--out", "-"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("--rows: must be at most 1000000000"));
  EXPECT_EQ(outcome.out, "");
}

TEST(DatasetsCommandsTest, ZeroRowsWritesTheHeaderOnly) {
  Outcome outcome = RunRaypipe({"datasets", "housing", "--rows", "0", "--out", "-"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(std::count(outcome.out.begin(), outcome.out.end(), '\n'), 1);
}

TEST(DatasetsCommandsTest, UnwritablePathFails) {
  Outcome outcome =
      RunRaypipe({"datasets", "housing", "--rows", "2", "--out", "/nonexistent-raypipe-dir/x.csv"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_THAT(outcome.err, StartsWith("raypipe: error: "));
  EXPECT_THAT(outcome.err, HasSubstr("/nonexistent-raypipe-dir"));
}

}  // namespace
}  // namespace raypipe::cli
