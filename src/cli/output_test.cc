#include "cli/output.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "cli/command.h"
#include "cli/context.h"

namespace raypipe::cli {
namespace {

TEST(OutputTest, TableAlignsColumnsWithoutTrailingSpaces) {
  std::string text = FormatTable({"name", "rows", "ok"},
                                 {{"housing", 10000, true}, {"a", 5, nullptr}, {"bb"}});
  EXPECT_EQ(text,
            "name     rows   ok\n"
            "housing  10000  true\n"
            "a        5      -\n"
            "bb\n");
}

TEST(OutputTest, WidthCountsCodePointsNotBytes) {
  EXPECT_EQ(DisplayWidth("héllo"), 5u);
  std::string text = FormatTable({"city", "n"}, {{"Zürich", 1}, {"Bern", 2}});
  EXPECT_EQ(text, "city    n\nZürich  1\nBern    2\n");
}

TEST(OutputTest, CellsEscapeControlCharacters) {
  EXPECT_EQ(CellText("a\nb\tc\x01"), "a\\nb\\tc\\x01");
  EXPECT_EQ(CellText(0.1), "0.1");
  EXPECT_EQ(CellText(1e21), "1e+21");
  EXPECT_EQ(CellText(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(CellText(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(CellText(nlohmann::json::array({1, "x"})), "[1,\"x\"]");
  EXPECT_EQ(CellText(false), "false");
}

TEST(OutputTest, RowsToJsonKeepsTypes) {
  nlohmann::json json = RowsToJson({"name", "rows"}, {{"housing", 3}, {"x"}});
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["rows"], 3);
  EXPECT_TRUE(json[0]["rows"].is_number_integer());
  EXPECT_TRUE(json[1]["rows"].is_null());
}

TEST(OutputTest, RecordsToTableDerivesOrChoosesColumns) {
  nlohmann::json records = nlohmann::json::parse(R"([{"b": 1, "a": 2}, {"c": 3}])");
  TableData derived = RecordsToTable(records);
  EXPECT_EQ(derived.columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(derived.rows.size(), 2u);
  EXPECT_EQ(derived.rows[1][2], 3);
  EXPECT_TRUE(derived.rows[1][0].is_null());
  TableData chosen = RecordsToTable(records, {"c", "a"});
  EXPECT_EQ(chosen.columns, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(FormatTable(chosen.columns, chosen.rows), "c  a\n-  2\n3  -\n");
}

TEST(OutputTest, ObjectAndJson) {
  nlohmann::json object = {{"rows", 10}, {"path", "x.csv"}};
  EXPECT_EQ(FormatObject(object), "path  x.csv\nrows  10\n");
  EXPECT_EQ(FormatJson(object), "{\n  \"path\": \"x.csv\",\n  \"rows\": 10\n}\n");
  // Invalid UTF-8 is replaced, not thrown on.
  EXPECT_NO_THROW(FormatJson(std::string("bad \xff byte")));
  EXPECT_NE(FormatJson(std::string("bad \xff byte")).find("bad"), std::string::npos);
}

TEST(OutputTest, ContextPrintsInTheChosenFormat) {
  std::ostringstream out, err;
  GlobalOptions options;
  CommandContext table_context(options, out, err, "raypipe", "raypipe x");
  table_context.PrintRecords(nlohmann::json::parse(R"([{"id": 1}])"));
  table_context.PrintLine("done");
  EXPECT_EQ(out.str(), "id\n1\ndone\n");
  EXPECT_EQ(table_context.UsageError("bad --x"), kExitUsage);
  EXPECT_EQ(err.str(), "raypipe: error: bad --x\nRun 'raypipe x --help' for usage.\n");

  std::ostringstream json_out;
  options.output = OutputFormat::kJson;
  CommandContext json_context(options, json_out, err, "raypipe", "raypipe x");
  json_context.PrintTable({"id"}, {{1}});
  json_context.PrintLine("not in json");
  nlohmann::json parsed = nlohmann::json::parse(json_out.str());
  EXPECT_EQ(parsed, nlohmann::json::parse(R"([{"id": 1}])"));
}

}  // namespace
}  // namespace raypipe::cli
