#include "serving/body_parser.h"

#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kFeatures = {"A", "B", "C"};

TEST(ParseCsvBodyTest, RowsWithoutHeader) {
  Result<FeatureRows> rows = ParseCsvBody("1,2,3\r\n4.5,-5,6e1\n\n", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->num_rows, 2u);
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3, 4.5f, -5, 60));
}

TEST(ParseCsvBodyTest, HeaderReordersColumnsByName) {
  Result<FeatureRows> rows = ParseCsvBody("C,A,B\n3,1,2\n", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3));
}

TEST(ParseCsvBodyTest, EmptyAndNanAreMissing) {
  Result<FeatureRows> rows = ParseCsvBody("1,,nan", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->values[0], 1);
  EXPECT_TRUE(std::isnan(rows->values[1]));
  EXPECT_TRUE(std::isnan(rows->values[2]));
}

TEST(ParseCsvBodyTest, WrongCountNamesExpectedCountAndOrder) {
  Result<FeatureRows> rows = ParseCsvBody("1,2,3\n1,2\n", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("row 2: found 2 values, expected 3 (A,B,C)"));
}

TEST(ParseCsvBodyTest, NonNumericNamesRowAndColumn) {
  Result<FeatureRows> rows = ParseCsvBody("1,2,3\n4,x5,6\n", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("row 2, column 2 (B): \"x5\" is not a number"));
}

TEST(ParseCsvBodyTest, BadHeaderNamesTheColumn) {
  Result<FeatureRows> rows = ParseCsvBody("A,B,D\n1,2,3\n", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("\"D\" is not a feature of the model"));
}

TEST(ParseCsvBodyTest, EmptyBodyIsAnError) {
  EXPECT_FALSE(ParseCsvBody("", kFeatures).ok());
  EXPECT_FALSE(ParseCsvBody("\n\r\n", kFeatures).ok());
}

TEST(ParseJsonBodyTest, InstancesAsArraysAndObjects) {
  Result<FeatureRows> rows = ParseJsonBody(R"({"instances": [[1,2,3],[4,5,null]]})", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->num_rows, 2u);
  EXPECT_EQ(rows->values[3], 4);
  EXPECT_TRUE(std::isnan(rows->values[5]));
  rows = ParseJsonBody(R"({"instances": [{"C":3,"B":2,"A":1}]})", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3));
}

TEST(ParseJsonBodyTest, InputsAsRowsOrColumns) {
  Result<FeatureRows> rows = ParseJsonBody(R"({"inputs": [[1,2,3]]})", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3));
  rows = ParseJsonBody(R"({"inputs": {"B":[2,5],"A":[1,4],"C":[3,6]}})", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ParseJsonBodyTest, DataframeSplitMatchesColumnsByName) {
  Result<FeatureRows> rows = ParseJsonBody(
      R"({"dataframe_split": {"columns": ["B","C","A"], "data": [[2,3,1],[5,6,4]]}})", kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(rows->values, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ParseJsonBodyTest, ErrorsNameTheProblem) {
  Result<FeatureRows> rows = ParseJsonBody(R"({"instances": [[1,"x",3]]})", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("row 1, column 2 (B): \"x\" is not a number"));
  rows = ParseJsonBody(R"({"instances": [[1,2]]})", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("expected 3 (A,B,C)"));
  rows = ParseJsonBody(R"({"instances": [[1,2,3]})", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("request body:1:"));
  rows = ParseJsonBody(R"({"rows": []})", kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("instances"));
  rows = ParseJsonBody(R"({"dataframe_split": {"columns": ["A","B"], "data": [[1,2]]}})",
                       kFeatures);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("missing feature \"C\""));
}

TEST(ContentTypeTest, ParsesAndRejects) {
  EXPECT_EQ(*ParseContentType("text/csv; charset=utf-8"), BodyFormat::kCsv);
  EXPECT_EQ(*ParseContentType("Application/JSON"), BodyFormat::kJson);
  Result<BodyFormat> bad = ParseContentType("application/x-npy");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("application/x-npy"));
  EXPECT_EQ(*ParseAccept("", BodyFormat::kJson), BodyFormat::kJson);
  EXPECT_EQ(*ParseAccept("*/*", BodyFormat::kCsv), BodyFormat::kCsv);
  EXPECT_EQ(*ParseAccept("image/png, application/json;q=0.5", BodyFormat::kCsv),
            BodyFormat::kJson);
  EXPECT_FALSE(ParseAccept("image/png", BodyFormat::kCsv).ok());
}

TEST(FormatPredictionsTest, CsvAndJson) {
  const std::vector<float> predictions = {1.5f, 250000.0f};
  EXPECT_EQ(FormatPredictions(predictions, BodyFormat::kCsv), "1.5\n250000\n");
  EXPECT_EQ(FormatPredictions(predictions, BodyFormat::kJson),
            "{\"predictions\":[1.5,250000]}");
}

}  // namespace
}  // namespace raypipe::serving
