#include "cli/datasets_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/registry.h"
#include "core/ids.h"
#include "data/columnar.h"
#include "data/csv.h"
#include "data/housing.h"

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

TEST(DatasetsCommandsTest, ToCsvWritesAColumnarTableAsCsv) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / core::NewId("datasets-to-csv-test");
  std::filesystem::create_directories(dir / "train");
  data::HousingOptions options;
  options.rows = 25;
  const data::Table table = *data::GenerateHousing(options);
  ASSERT_TRUE(data::WriteTableFile(table, (dir / "train" / "train.rpcol").string()).ok());

  // A directory holding one table file, to standard output.
  Outcome outcome = RunRaypipe({"datasets", "to-csv", "--in", (dir / "train").string(), "--out",
                                "-"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, data::WriteCsvString(table));
  // The file itself, to a file.
  const std::string csv = (dir / "train.csv").string();
  outcome = RunRaypipe({"datasets", "to-csv", "--in", (dir / "train" / "train.rpcol").string(),
                        "--out", csv});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("wrote 25 rows"));
  EXPECT_TRUE(data::ReadCsvFile(csv)->Equals(table));

  outcome = RunRaypipe({"datasets", "to-csv", "--in", (dir / "missing").string(), "--out", "-"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_THAT(outcome.err, HasSubstr("--in"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace raypipe::cli
