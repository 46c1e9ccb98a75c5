#include "compute/ray/wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::compute::ray_wire {
namespace {

using ::testing::HasSubstr;

CallSpec SampleSpec() {
  CallSpec spec;
  spec.kind = CallKind::kCallActor;
  spec.target = "Add";
  spec.name = "Counter#3.Add";
  spec.resources = Resources{0.5, 1 << 20};
  spec.max_retries = 7;
  WireArg inline_arg;
  inline_arg.value = std::string("RPV1\0\0\0\0bytes", 13);
  WireArg ref_arg;
  ref_arg.is_ref = true;
  ref_arg.slot = 2;
  spec.args = {inline_arg, ref_arg};
  return spec;
}

TEST(WireTest, CallSpecRoundTrips) {
  CallSpec spec = SampleSpec();
  Result<CallSpec> decoded = DecodeCallSpec(EncodeCallSpec(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->kind, CallKind::kCallActor);
  EXPECT_EQ(decoded->target, "Add");
  EXPECT_EQ(decoded->name, "Counter#3.Add");
  EXPECT_EQ(decoded->resources.cpus, 0.5);
  EXPECT_EQ(decoded->resources.memory_bytes, 1 << 20);
  EXPECT_EQ(decoded->max_retries, 7u);
  ASSERT_EQ(decoded->args.size(), 2u);
  EXPECT_FALSE(decoded->args[0].is_ref);
  EXPECT_EQ(decoded->args[0].value, spec.args[0].value);
  EXPECT_TRUE(decoded->args[1].is_ref);
  EXPECT_EQ(decoded->args[1].slot, 2u);
}

TEST(WireTest, EveryTruncationOfASpecIsDataLoss) {
  std::string bytes = EncodeCallSpec(SampleSpec());
  for (size_t size = 0; size < bytes.size(); ++size) {
    Result<CallSpec> decoded = DecodeCallSpec(std::string_view(bytes).substr(0, size));
    ASSERT_FALSE(decoded.ok()) << "prefix of " << size << " bytes decoded";
    EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss);
  }
}

TEST(WireTest, MalformedSpecsNameTheProblem) {
  std::string bytes = EncodeCallSpec(SampleSpec());
  std::string bad_kind = bytes;
  bad_kind[4] = 9;
  EXPECT_THAT(DecodeCallSpec(bad_kind).status().message(), HasSubstr("unknown call kind 9"));
  EXPECT_THAT(DecodeCallSpec(bytes + "x").status().message(), HasSubstr("trailing bytes"));
  EXPECT_THAT(DecodeCallSpec("nope").status().message(), HasSubstr("does not start with"));
  std::string huge_string = bytes.substr(0, 5) + std::string("\xff\xff\xff\x7f", 4);
  EXPECT_THAT(DecodeCallSpec(huge_string).status().message(), HasSubstr("truncated"));
}

TEST(WireTest, ResultsCarryValuesAndErrors) {
  Result<std::string_view> value = DecodeResult(EncodeValueResult("serialized"));
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "serialized");

  Result<std::string_view> error =
      DecodeResult(EncodeErrorResult(NotFoundError("no kernel 'x'")));
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(error.status().message(), "no kernel 'x'");
}

TEST(WireTest, MalformedResultsAreDataLoss) {
  EXPECT_EQ(DecodeResult("").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeResult("RPR1").status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(DecodeResult("RPR1X").status().message(), HasSubstr("unknown result tag"));
  std::string ok_code = EncodeErrorResult(InternalError("x"));
  ok_code[5] = 0;  // code kOk
  EXPECT_THAT(DecodeResult(ok_code).status().message(), HasSubstr("bad status code 0"));
  EXPECT_EQ(DecodeResult("RPR1E\x01").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace raypipe::compute::ray_wire
