#include "data/columnar.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/housing.h"
#include "data/random.h"

namespace raypipe::data {
namespace {

namespace fs = std::filesystem;

class ColumnarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("raypipe_columnar_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
  static void WriteBytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  static Table Mixed() {
    return *Table::Make({
        Column::Int64("i", {1, -2, INT64_MAX, INT64_MIN, 0}, {1, 1, 1, 1, 0}),
        Column::Float64("f", {0.1, -0.0, NAN, INFINITY, 5e-324}),
        Column::String("s", {"", "comma,quote\"", "line\nbreak", "日本", "x"}, {1, 1, 0, 1, 1}),
        Column::String("empty_strings", {"", "", "", "", ""}),
    });
  }

  fs::path dir_;
};

TEST_F(ColumnarTest, RoundTripKeepsTypesValuesAndNulls) {
  Table table = Mixed();
  ASSERT_TRUE(WriteTableFile(table, Path("t.rpcol")).ok());
  auto read = ReadTableFile(Path("t.rpcol"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, table);
  // Buffers are 64-byte aligned views into the mapping.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(read->column(1).float64s().data()) % 64, 0u);
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(ColumnarTest, RoundTripOfSlicesEmptyTablesAndLargeData) {
  Table sliced = *Mixed().Slice(1, 3);  // string offsets not starting at 0
  ASSERT_TRUE(WriteTableFile(sliced, Path("slice")).ok());
  EXPECT_EQ(*ReadTableFile(Path("slice")), sliced);

  Table no_rows = *Mixed().Slice(0, 0);
  ASSERT_TRUE(WriteTableFile(no_rows, Path("none")).ok());
  auto read_none = ReadTableFile(Path("none"));
  ASSERT_TRUE(read_none.ok()) << read_none.status();
  EXPECT_EQ(*read_none, no_rows);
  EXPECT_EQ(read_none->num_columns(), 4u);

  ASSERT_TRUE(WriteTableFile(Table(), Path("nothing")).ok());
  EXPECT_EQ(ReadTableFile(Path("nothing"))->num_columns(), 0u);

  Table housing = *GenerateHousing({.rows = 100000, .seed = 1});
  ASSERT_TRUE(WriteTableFile(housing, Path("housing")).ok());
  EXPECT_EQ(*ReadTableFile(Path("housing")), housing);
}

TEST_F(ColumnarTest, TableOutlivesTheFile) {
  ASSERT_TRUE(WriteTableFile(Mixed(), Path("gone")).ok());
  Table read = *ReadTableFile(Path("gone"));
  fs::remove(Path("gone"));
  EXPECT_EQ(read, Mixed());
}

TEST_F(ColumnarTest, CorruptColumnIsNamed) {
  ASSERT_TRUE(WriteTableFile(Mixed(), Path("t")).ok());
  std::string bytes = ReadBytes(Path("t"));
  // Find the float column's bytes (0.1) and flip one bit.
  double tenth = 0.1;
  size_t at = bytes.find(std::string(reinterpret_cast<const char*>(&tenth), 8));
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 1;
  WriteBytes(Path("t"), bytes);
  auto read = ReadTableFile(Path("t"));
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("is corrupt: checksum mismatch in column 'f'"),
            std::string_view::npos)
      << read.status();
}

TEST_F(ColumnarTest, EverySingleByteFlipIsDetectedOrHarmless) {
  Table table = Mixed();
  ASSERT_TRUE(WriteTableFile(table, Path("t")).ok());
  const std::string original = ReadBytes(Path("t"));
  for (size_t at = 0; at < original.size(); ++at) {
    std::string bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    WriteBytes(Path("flip"), bytes);
    auto read = ReadTableFile(Path("flip"));
    // Padding is not covered by a checksum; everything else must be caught.
    if (read.ok()) {
      ASSERT_EQ(*read, table) << "flip at byte " << at << " went unnoticed";
    } else {
      ASSERT_TRUE(read.status().code() == StatusCode::kDataLoss ||
                  read.status().code() == StatusCode::kFailedPrecondition)
          << read.status();
    }
  }
}

TEST_F(ColumnarTest, TruncatedAndGarbageFilesGiveErrors) {
  ASSERT_TRUE(WriteTableFile(Mixed(), Path("t")).ok());
  const std::string original = ReadBytes(Path("t"));
  for (size_t size = 0; size < original.size(); size += 7) {
    WriteBytes(Path("cut"), original.substr(0, size));
    auto read = ReadTableFile(Path("cut"));
    ASSERT_FALSE(read.ok()) << "size " << size;
    ASSERT_EQ(read.status().code(), StatusCode::kDataLoss) << read.status();
  }
  Random random(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::string garbage(static_cast<size_t>(random.UniformInt(0, 400)), '\0');
    for (char& c : garbage) c = static_cast<char>(random.Next());
    if (trial % 2 == 0 && garbage.size() >= 12) {  // a valid magic and version, then noise
      std::memcpy(garbage.data(), "RPCOLTBL\x01\0\0\0", 12);
    }
    WriteBytes(Path("garbage"), garbage);
    EXPECT_FALSE(ReadTableFile(Path("garbage")).ok());
  }
  EXPECT_EQ(ReadTableFile(Path("missing")).status().code(), StatusCode::kNotFound);
}

TEST_F(ColumnarTest, NewerVersionIsRefusedClearly) {
  ASSERT_TRUE(WriteTableFile(Mixed(), Path("t")).ok());
  std::string bytes = ReadBytes(Path("t"));
  bytes[8] = 2;  // the version field
  WriteBytes(Path("t"), bytes);
  auto read = ReadTableFile(Path("t"));
  EXPECT_EQ(read.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(read.status().message().find("version 2"), std::string_view::npos) << read.status();
  WriteBytes(Path("csv"), "a,b\n1,2\n");
  auto not_ours = ReadTableFile(Path("csv"));
  EXPECT_NE(not_ours.status().message().find("bad magic"), std::string_view::npos);
}

TEST_F(ColumnarTest, WriteIntoMissingDirectoryFails) {
  Status status = WriteTableFile(Mixed(), Path("no/such/dir/t"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no/such/dir"), std::string_view::npos);
}

}  // namespace
}  // namespace raypipe::data
