#include "compute/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;

struct Point {
  double x = 0;
  double y = 0;
};

template <typename T>
T RoundTrip(const CodecRegistry& codecs, T object) {
  Result<std::string> bytes = codecs.Serialize(Value::Of<T>(std::move(object)));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  Result<Value> value = codecs.Deserialize(*bytes);
  EXPECT_TRUE(value.ok()) << value.status();
  Result<const T*> back = value->Get<T>();
  EXPECT_TRUE(back.ok()) << back.status();
  return **back;
}

TEST(CodecTest, BuiltinsRoundTrip) {
  CodecRegistry codecs = CodecRegistry::WithBuiltins();
  EXPECT_EQ(RoundTrip<std::string>(codecs, std::string("a\0b\xff", 4)), std::string("a\0b\xff", 4));
  EXPECT_EQ(RoundTrip<int64_t>(codecs, std::numeric_limits<int64_t>::min()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(RoundTrip<int64_t>(codecs, -42), -42);
  EXPECT_EQ(RoundTrip<double>(codecs, 0.1), 0.1);
  EXPECT_TRUE(std::isinf(RoundTrip<double>(codecs, -INFINITY)));
  nlohmann::json doc = {{"rmse", 12345.678901234567}, {"list", {1, "two", nullptr}}};
  EXPECT_EQ(RoundTrip<nlohmann::json>(codecs, doc), doc);
  std::vector<std::string> list = {"", "x", std::string(1000, 'y')};
  EXPECT_EQ(RoundTrip(codecs, list), list);
  EXPECT_EQ(RoundTrip(codecs, std::vector<std::string>{}), std::vector<std::string>{});
  EXPECT_THAT(codecs.TypeNames(),
              ::testing::ElementsAre("float64", "int64", "json", "list<string>", "string"));
}

TEST(CodecTest, EmptyValueRoundTrips) {
  CodecRegistry codecs;
  Result<std::string> bytes = codecs.Serialize(Value());
  ASSERT_TRUE(bytes.ok());
  Result<Value> back = codecs.Deserialize(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
  EXPECT_EQ(codecs.Decode("empty", "x").status().code(), StatusCode::kDataLoss);
}

TEST(CodecTest, RandomStringListsRoundTrip) {
  CodecRegistry codecs = CodecRegistry::WithBuiltins();
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> list(rng() % 20);
    for (std::string& item : list) {
      item.resize(rng() % 40);
      for (char& byte : item) byte = static_cast<char>(rng());
    }
    EXPECT_EQ(RoundTrip(codecs, list), list);
  }
}

TEST(CodecTest, UserCodecRegistersExplicitly) {
  CodecRegistry codecs;
  Value point = Value::Of(Point{1.5, -2});
  EXPECT_FALSE(codecs.CanEncode(point));
  Result<EncodedValue> missing = codecs.Encode(point);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("Point"));

  Status registered = codecs.Register<Point>(
      "point",
      [](const Point& p) -> Result<std::string> {
        return std::to_string(p.x) + "," + std::to_string(p.y);
      },
      [](std::string_view bytes) -> Result<Point> {
        size_t comma = bytes.find(',');
        if (comma == std::string_view::npos) return DataLossError("point: no comma");
        return Point{std::stod(std::string(bytes.substr(0, comma))),
                     std::stod(std::string(bytes.substr(comma + 1)))};
      });
  ASSERT_TRUE(registered.ok()) << registered;
  EXPECT_TRUE(codecs.CanEncode(point));
  EXPECT_EQ(*codecs.TypeNameOf(point), "point");
  Point back = RoundTrip(codecs, Point{3, 4});
  EXPECT_EQ(back.x, 3);
  EXPECT_EQ(back.y, 4);

  // A decoder that rejects or throws gives an error, never a crash.
  EXPECT_EQ(codecs.Decode("point", "nocomma").status().code(), StatusCode::kDataLoss);
  Result<Value> thrown = codecs.Decode("point", "x,y");
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(thrown.status().message()), HasSubstr("decoding point"));
}

TEST(CodecTest, RegistrationErrors) {
  CodecRegistry codecs = CodecRegistry::WithBuiltins();
  auto encode = [](const Point&) -> Result<std::string> { return std::string(); };
  auto decode = [](std::string_view) -> Result<Point> { return Point{}; };
  EXPECT_EQ(codecs.Register<Point>("", encode, decode).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(codecs.Register<Point>("empty", encode, decode).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(codecs.Register<Point>("string", encode, decode).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(codecs.Register<Point>("p", nullptr, decode).code(), StatusCode::kInvalidArgument);
  Status twice = codecs.Register<std::string>(
      "text", [](const std::string& s) -> Result<std::string> { return s; },
      [](std::string_view b) -> Result<std::string> { return std::string(b); });
  EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(twice.message()), HasSubstr("'string'"));
}

TEST(CodecTest, MalformedBuffersAreDataLoss) {
  CodecRegistry codecs = CodecRegistry::WithBuiltins();
  auto expect_data_loss = [&](std::string_view buffer, std::string_view needle) {
    Result<Value> value = codecs.Deserialize(buffer);
    ASSERT_FALSE(value.ok()) << "accepted " << buffer.size() << " bytes";
    EXPECT_EQ(value.status().code(), StatusCode::kDataLoss) << value.status();
    EXPECT_THAT(std::string(value.status().message()), HasSubstr(std::string(needle)));
  };
  expect_data_loss("", "RPV1");
  expect_data_loss("XXXX\x03\0\0\0abc", "RPV1");
  expect_data_loss(std::string("RPV1\xff\0\0\0int64", 13), "overruns");

  std::string header = std::string("RPV1\x05\0\0\0", 8);
  expect_data_loss(header + "int64" + "1234567", "expected 8 bytes");
  expect_data_loss(std::string("RPV1\x07\0\0\0", 8) + "float64" + "1", "expected 8 bytes");
  expect_data_loss(std::string("RPV1\x04\0\0\0", 8) + "json" + "\xff\xff", "CBOR");
  std::string list_header = std::string("RPV1\x0c\0\0\0", 8) + "list<string>";
  // A hostile count must not make the decoder reserve memory.
  expect_data_loss(list_header + std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8), "count");
  expect_data_loss(list_header + std::string("\x01\0\0\0\0\0\0\0\x09\0\0\0\0\0\0\0abc", 19),
                   "overruns");
  expect_data_loss(list_header + std::string("\0\0\0\0\0\0\0\0z", 9), "trailing");

  Result<Value> unknown = codecs.Deserialize(std::string("RPV1\x03\0\0\0abc", 11));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace raypipe::compute
