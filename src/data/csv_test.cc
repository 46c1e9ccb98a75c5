#include "data/csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/housing.h"
#include "data/random.h"

namespace raypipe::data {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The ways a read is cut into blocks: every golden case must give the same answer under each.
struct Blocking {
  int threads;
  size_t block_size;
};
constexpr Blocking kBlockings[] = {{1, 1 << 20}, {2, 1}, {3, 2}, {4, 5}, {8, 1}, {3, 16}};

// ---- Golden cases: testdata/csv/NAME.csv with NAME.json ---------------------------------------

CsvReadOptions OptionsFromJson(const nlohmann::json& json) {
  CsvReadOptions options;
  if (!json.is_object()) return options;
  if (json.contains("delimiter")) options.delimiter = json["delimiter"].get<std::string>()[0];
  if (json.contains("header")) options.header = json["header"].get<bool>();
  if (json.contains("infer_types")) options.infer_types = json["infer_types"].get<bool>();
  if (json.contains("null_values")) {
    options.null_values = json["null_values"].get<std::vector<std::string>>();
  }
  if (json.contains("column_names")) {
    options.column_names = json["column_names"].get<std::vector<std::string>>();
  }
  if (json.contains("column_types")) {
    for (const auto& [name, type] : json["column_types"].items()) {
      options.column_types[name] = *ParseDataType(type.get<std::string>());
    }
  }
  return options;
}

double DoubleFromJson(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  std::string text = value.get<std::string>();
  if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  ADD_FAILURE() << "bad float in golden file: " << text;
  return 0;
}

Table TableFromJson(const nlohmann::json& columns) {
  std::vector<Column> built;
  for (const nlohmann::json& column : columns) {
    std::string name = column["name"];
    DataType type = *ParseDataType(column["type"].get<std::string>());
    const nlohmann::json& values = column["values"];
    std::vector<uint8_t> validity;
    for (const nlohmann::json& value : values) validity.push_back(!value.is_null());
    if (type == DataType::kString) {
      std::vector<std::string> strings;
      for (const nlohmann::json& value : values) {
        strings.push_back(value.is_null() ? "" : value.get<std::string>());
      }
      built.push_back(Column::String(name, strings, validity));
    } else if (type == DataType::kInt64) {
      std::vector<int64_t> ints;
      for (const nlohmann::json& value : values) {
        ints.push_back(value.is_null() ? 0 : value.get<int64_t>());
      }
      built.push_back(Column::Int64(name, ints, validity));
    } else {
      std::vector<double> doubles;
      for (const nlohmann::json& value : values) {
        doubles.push_back(value.is_null() ? 0 : DoubleFromJson(value));
      }
      built.push_back(Column::Float64(name, doubles, validity));
    }
  }
  auto table = Table::Make(std::move(built));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : Table();
}

TEST(CsvGoldenTest, EdgeCases) {
  fs::path dir = fs::path(RAYPIPE_SOURCE_DIR) / "src/data/testdata/csv";
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".csv") inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 20u) << "golden cases missing under " << dir;
  for (const fs::path& input : inputs) {
    SCOPED_TRACE(input.filename().string());
    fs::path expected_path = input;
    expected_path.replace_extension(".json");
    nlohmann::json expected = nlohmann::json::parse(ReadBytes(expected_path));
    CsvReadOptions options = OptionsFromJson(expected.value("options", nlohmann::json()));
    std::string text = ReadBytes(input);
    std::string source = input.filename().string();
    for (const Blocking& blocking : kBlockings) {
      SCOPED_TRACE("threads " + std::to_string(blocking.threads) + ", block size " +
                   std::to_string(blocking.block_size));
      options.threads = blocking.threads;
      options.block_size = blocking.block_size;
      auto table = ReadCsvString(text, options, source);
      if (expected.contains("error")) {
        ASSERT_FALSE(table.ok()) << table->ToString();
        EXPECT_EQ(table.status().code(), StatusCode::kInvalidArgument);
        EXPECT_EQ(table.status().message(), expected["error"].get<std::string>());
        continue;
      }
      ASSERT_TRUE(table.ok()) << table.status();
      Table want = TableFromJson(expected["columns"]);
      ASSERT_EQ(*table, want);
      // And it survives a write and a read with its schema.
      CsvReadOptions back;
      back.column_types = ColumnTypesOf(*table);
      auto reread = ReadCsvString(WriteCsvString(*table), back);
      ASSERT_TRUE(reread.ok()) << reread.status();
      ASSERT_EQ(*reread, want);
    }
    // Reading the file names it in errors.
    auto from_file = ReadCsvFile(input.string(), options);
    if (expected.contains("error")) {
      EXPECT_TRUE(from_file.status().message().starts_with(input.string()))
          << from_file.status();
    } else {
      EXPECT_TRUE(from_file.ok()) << from_file.status();
    }
  }
}

// ---- The seed's data file -------------------------------------------------------------------

TEST(CsvTest, SeedHousingFileReadsBackExactly) {
  const std::string path = RAYPIPE_SOURCE_DIR "/../shared/data/house_pricing.csv";
  ASSERT_TRUE(fs::exists(path)) << "the seed's data file is missing: " << path;
  auto table = ReadCsvFile(path);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->num_rows(), 10000u);
  Table generated = *GenerateHousing({.rows = 1});
  EXPECT_EQ(table->Schema(), generated.Schema());  // same names, same types
  // Writing it back gives the file's exact bytes, so every value was read exactly.
  EXPECT_EQ(WriteCsvString(*table), ReadBytes(path));
  CsvReadOptions typed;
  typed.column_types = ColumnTypesOf(generated);
  typed.threads = 4;
  typed.block_size = 4096;
  EXPECT_EQ(*ReadCsvFile(path, typed), *table);
  // Spot values of the first row.
  EXPECT_EQ((*table->ColumnByName("PRICE"))->int64s()[0], 490098);
  EXPECT_EQ((*table->ColumnByName("SQUARE_FEET"))->float64s()[0], 3063.6599637506733);
  EXPECT_EQ((*table->ColumnByName("NUM_BATHROOMS"))->float64s()[0], 1.0);
  EXPECT_EQ((*table->ColumnByName("LOT_ACRES"))->float64s()[0], 1.37);
}

// ---- Round trips and block independence ------------------------------------------------------

std::string RandomString(Random& random) {
  static const std::vector<std::string> pieces = {
      "a", "B", "z", " ", ",", ";", "\"", "\"\"", "\n", "\r\n",
      "\r", "é", "日本", "NA", "1", "2.5", "-", "e", "\t"};
  std::string value;
  int64_t count = random.UniformInt(0, 6);
  for (int64_t piece = 0; piece < count; ++piece) {
    value += pieces[random.UniformBelow(pieces.size())];
  }
  return value;
}

Table RandomTable(uint64_t seed, size_t rows) {
  Random random(seed);
  static const double specials[] = {0.0,
                                    -0.0,
                                    1.0,
                                    0.1,
                                    1e300,
                                    -2.5e-308,
                                    5e-324,
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::numeric_limits<double>::quiet_NaN(),
                                    123456789012345680000.0,
                                    9007199254740993.0};
  std::vector<double> floats(rows);
  std::vector<int64_t> ints(rows);
  std::vector<std::string> strings(rows);
  std::vector<uint8_t> float_valid(rows), int_valid(rows), string_valid(rows);
  for (size_t row = 0; row < rows; ++row) {
    floats[row] = random.UniformBelow(3) == 0 ? specials[random.UniformBelow(std::size(specials))]
                                              : random.Normal(0, 1e6);
    ints[row] = random.UniformBelow(4) == 0
                    ? (random.UniformBelow(2) ? std::numeric_limits<int64_t>::max()
                                              : std::numeric_limits<int64_t>::min())
                    : random.UniformInt(-1000000, 1000000);
    strings[row] = RandomString(random);
    float_valid[row] = random.UniformBelow(10) != 0;
    int_valid[row] = random.UniformBelow(10) != 0;
    string_valid[row] = random.UniformBelow(10) != 0;
  }
  return *Table::Make({Column::Float64("f", floats, float_valid),
                       Column::Int64("i", ints, int_valid),
                       Column::String("s, \"quoted\"", strings, string_valid)});
}

TEST(CsvTest, RandomTablesRoundTripExactly) {
  struct Dialect {
    char delimiter;
    std::string terminator;
    std::string null_string;
  };
  const Dialect dialects[] = {{',', "\n", ""}, {';', "\r\n", ""}, {'\t', "\n", "NA"}};
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Table table = RandomTable(seed, 3000);
    for (const Dialect& dialect : dialects) {
      CsvWriteOptions write;
      write.delimiter = dialect.delimiter;
      write.line_terminator = dialect.terminator;
      write.null_string = dialect.null_string;
      std::string text = WriteCsvString(table, write);
      for (const Blocking& blocking : kBlockings) {
        CsvReadOptions read;
        read.delimiter = dialect.delimiter;
        read.null_values = {dialect.null_string};
        read.column_types = ColumnTypesOf(table);
        read.threads = blocking.threads;
        read.block_size = blocking.block_size * 97;
        auto back = ReadCsvString(text, read);
        ASSERT_TRUE(back.ok()) << back.status();
        ASSERT_EQ(*back, table) << "seed " << seed << " delimiter " << dialect.delimiter;
      }
    }
  }
}

TEST(CsvTest, OneColumnTablesRoundTripNullsAndEmptyStrings) {
  Table table = *Table::Make({Column::String("only", {"", "x", "", ""}, {1, 1, 0, 1})});
  std::string text = WriteCsvString(table);
  EXPECT_EQ(text, "only\n\"\"\nx\n\n\"\"\n");
  auto back = ReadCsvString(text, {.column_types = ColumnTypesOf(table)});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, table);
}

TEST(CsvTest, InferenceDoesNotDependOnBlocks) {
  // Columns that widen late and in only some blocks: ints that turn float, floats that turn
  // string, "-0", nulls, quoted line breaks.
  Random random(99);
  std::string text = "a,b,c,d,e\n";
  const size_t rows = 5000;
  for (size_t row = 0; row < rows; ++row) {
    text += std::to_string(random.UniformInt(-50, 50)) + ",";
    text += (row == 3777 ? "2.5" : std::to_string(random.UniformInt(0, 9))) + ",";
    text += (row == 4500 ? "x" : (row % 7 == 0 ? "" : "1.25")) + std::string(",");
    text += (row % 1000 == 999 ? "-0" : std::to_string(row)) + ",";
    text += row % 500 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain";
    text += row % 3 == 0 ? "\r\n" : "\n";
  }
  auto sequential = ReadCsvString(text, {.threads = 1});
  ASSERT_TRUE(sequential.ok()) << sequential.status();
  EXPECT_EQ(sequential->column(0).type(), DataType::kInt64);
  EXPECT_EQ(sequential->column(1).type(), DataType::kFloat64);
  EXPECT_EQ(sequential->column(2).type(), DataType::kString);
  EXPECT_EQ(sequential->column(3).type(), DataType::kFloat64);
  EXPECT_TRUE(std::signbit((*sequential->ColumnByName("d"))->float64s()[999]));
  EXPECT_EQ(sequential->column(2).string(0), "");  // "" is a value once the column is String
  EXPECT_EQ(sequential->column(2).null_count(), (rows + 6) / 7);
  EXPECT_EQ(sequential->column(4).string(500), "multi\nline, \"quoted\"");
  for (size_t block_size : {1, 13, 256, 4096, 20000}) {
    for (int threads : {2, 5}) {
      auto parallel = ReadCsvString(text, {.threads = threads, .block_size = block_size});
      ASSERT_TRUE(parallel.ok()) << parallel.status();
      ASSERT_EQ(*parallel, *sequential) << "block size " << block_size;
    }
  }
}

TEST(CsvTest, ErrorsDoNotDependOnBlocks) {
  Table housing = *GenerateHousing({.rows = 3000, .seed = 4});
  std::string text = WriteCsvString(housing);
  Random random(8);
  for (int trial = 0; trial < 20; ++trial) {
    std::string broken = text;
    size_t at = static_cast<size_t>(random.UniformInt(200, static_cast<int64_t>(text.size()) - 2));
    const char* inserts[] = {"x", "\"", ",", "\n", ",,"};
    broken.insert(at, inserts[trial % 5]);
    CsvReadOptions options{.column_types = ColumnTypesOf(housing), .threads = 1};
    auto sequential = ReadCsvString(broken, options, "broken.csv");
    for (size_t block_size : {1, 64, 5000}) {
      options.threads = 4;
      options.block_size = block_size;
      auto parallel = ReadCsvString(broken, options, "broken.csv");
      ASSERT_EQ(parallel.ok(), sequential.ok());
      ASSERT_EQ(parallel.status(), sequential.status()) << "insert at " << at;
      if (parallel.ok()) {
        ASSERT_EQ(*parallel, *sequential);
      }
    }
  }
}

TEST(CsvTest, LargeParallelReadMatchesSequential) {
  Table housing = *GenerateHousing({.rows = 200000, .seed = 21});
  std::string text = WriteCsvString(housing);
  auto sequential = ReadCsvString(text, {.threads = 1});
  auto parallel = ReadCsvString(text, {.threads = 4, .block_size = 1 << 16});
  ASSERT_TRUE(sequential.ok() && parallel.ok());
  EXPECT_EQ(*sequential, housing);
  EXPECT_EQ(*parallel, housing);
}

// ---- Writing ----------------------------------------------------------------------------------

TEST(CsvWriteTest, Formatting) {
  Table table = *Table::Make({
      Column::Float64("f", {2.0, -0.0, 0.1, std::numeric_limits<double>::quiet_NaN(), 1e300,
                            -std::numeric_limits<double>::infinity()}),
      Column::Int64("i", {1, -2, 0, 4, 5, 6}, {1, 1, 1, 1, 0, 1}),
      Column::String("s,t", {"plain", "a,b", "say \"hi\"", "", "two\nlines", "x"},
                     {1, 1, 1, 1, 1, 0}),
  });
  EXPECT_EQ(WriteCsvString(table),
            "f,i,\"s,t\"\n"
            "2.0,1,plain\n"
            "-0.0,-2,\"a,b\"\n"
            "0.1,0,\"say \"\"hi\"\"\"\n"
            "nan,4,\"\"\n"
            "1e+300,,\"two\nlines\"\n"
            "-inf,6,\n");
  CsvWriteOptions options;
  options.header = false;
  options.delimiter = '|';
  options.line_terminator = "\r\n";
  options.null_string = "NULL";
  Table small = *table.Slice(4, 2);
  EXPECT_EQ(WriteCsvString(small, options), "1e+300|NULL|\"two\nlines\"\r\n-inf|6|NULL\r\n");
  EXPECT_EQ(WriteCsvString(Table()), "");
}

TEST(CsvWriteTest, HeaderNamesThatNeedQuotingReadBack) {
  // A leading byte order mark in the first name, and an empty only name (found by the fuzzer).
  Table bom = *Table::Make({Column::Int64("\xEF\xBB\xBFid", {1})});
  EXPECT_EQ(WriteCsvString(bom), "\"\xEF\xBB\xBFid\"\n1\n");
  EXPECT_EQ(*ReadCsvString(WriteCsvString(bom)), bom);
  Table unnamed = *Table::Make({Column::Int64("", {1, 2})});
  EXPECT_EQ(WriteCsvString(unnamed), "\"\"\n1\n2\n");
  EXPECT_EQ(ReadCsvString(WriteCsvString(unnamed))->column(0).int64s()[1], 2);
}

class CsvFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("raypipe_csv_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CsvFileTest, WriteIsAtomicAndReplaces) {
  std::string path = (dir_ / "out.csv").string();
  Table first = *GenerateHousing({.rows = 100, .seed = 1});
  Table second = *GenerateHousing({.rows = 50000, .seed = 2});
  ASSERT_TRUE(WriteCsvFile(first, path).ok());
  ASSERT_TRUE(WriteCsvFile(second, path).ok());
  EXPECT_EQ(ReadBytes(path), WriteCsvString(second));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  auto back = ReadCsvFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, second);
}

TEST_F(CsvFileTest, IoErrorsNameThePath) {
  Status missing_dir = WriteCsvFile(Table(), (dir_ / "no/such/out.csv").string());
  EXPECT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.message().find("no/such/out.csv"), std::string_view::npos);
  auto missing = ReadCsvFile((dir_ / "missing.csv").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.csv"), std::string_view::npos);
  EXPECT_EQ(ReadCsvFile(dir_.string()).status().code(), StatusCode::kInvalidArgument);
}

TEST(CsvOptionsTest, RejectsAmbiguousDialects) {
  EXPECT_EQ(ReadCsvString("a\n", {.delimiter = '"'}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCsvString("a\n", {.delimiter = '\n'}).status().code(),
            StatusCode::kInvalidArgument);
  auto no_quotes = ReadCsvString("a,b\n\"x,y\n", {.quote = '\0'});
  ASSERT_TRUE(no_quotes.ok()) << no_quotes.status();
  EXPECT_EQ(no_quotes->column(0).string(0), "\"x");
  auto wrong_names = ReadCsvString("1,2\n", {.header = false, .column_names = {"only"}});
  EXPECT_EQ(wrong_names.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::data
