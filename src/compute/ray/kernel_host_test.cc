#include "compute/ray/kernel_host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compute/ray/test_kernels.h"
#include "compute/ray/wire.h"

namespace raypipe::compute::ray_wire {
namespace {

using ::testing::HasSubstr;

class KernelHostTest : public ::testing::Test {
 protected:
  KernelHostTest() : host_(Registry(), CodecRegistry::WithBuiltins()) {}

  static KernelRegistry Registry() {
    KernelRegistry kernels;
    Status registered = ray_testing::RegisterTestKernels(kernels);
    EXPECT_TRUE(registered.ok()) << registered.ToString();
    return kernels;
  }

  WireArg Inline(const Value& value) {
    WireArg arg;
    arg.value = *codecs_.Serialize(value);
    return arg;
  }
  static WireArg Slot(uint32_t slot) {
    WireArg arg;
    arg.is_ref = true;
    arg.slot = slot;
    return arg;
  }
  static std::string Spec(CallKind kind, std::string target, std::vector<WireArg> args,
                          uint32_t max_retries = 0) {
    CallSpec spec;
    spec.kind = kind;
    spec.name = target;
    spec.target = std::move(target);
    spec.max_retries = max_retries;
    spec.args = std::move(args);
    return EncodeCallSpec(spec);
  }
  // The value a result holds, or its error.
  Result<Value> Decode(const std::string& result) {
    ASSIGN_OR_RETURN(std::string_view serialized, DecodeResult(result));
    return codecs_.Deserialize(serialized);
  }

  CodecRegistry codecs_ = CodecRegistry::WithBuiltins();
  KernelHost host_;
};

TEST_F(KernelHostTest, RunsTasksOnInlineAndRefArguments) {
  std::string upstream = EncodeValueResult(*codecs_.Serialize(Value::Of<int64_t>(40)));
  std::vector<RefArg> refs = {std::string_view(upstream)};
  std::string result = host_.RunTask(
      Spec(CallKind::kTask, "test.add", {Slot(0), Inline(Value::Of<int64_t>(2))}), refs);
  Result<Value> value = Decode(result);
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(**value->Get<int64_t>(), 42);
}

TEST_F(KernelHostTest, KernelErrorsBecomeErrorResults) {
  Result<Value> failed = Decode(host_.RunTask(
      Spec(CallKind::kTask, "test.fail", {Inline(Value::Of<std::string>("why"))}), {}));
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.status().message(), "test.fail: why");

  Result<Value> unknown = Decode(host_.RunTask(Spec(CallKind::kTask, "nope", {}), {}));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("task 'nope'"));

  Result<Value> thrown = Decode(host_.RunTask(Spec(CallKind::kTask, "test.throw", {}), {}));
  EXPECT_EQ(thrown.status().code(), StatusCode::kInternal);
  EXPECT_THAT(thrown.status().message(), HasSubstr("threw on purpose"));

  Result<Value> garbage = Decode(host_.RunTask("garbage", {}));
  EXPECT_EQ(garbage.status().code(), StatusCode::kDataLoss);
}

TEST_F(KernelHostTest, FailedOrForeignRefArgumentsFailTheTaskWithoutRunningIt) {
  std::string upstream = EncodeErrorResult(NotFoundError("upstream lost its input"));
  std::vector<RefArg> failed = {std::string_view(upstream)};
  Result<Value> result = Decode(host_.RunTask(Spec(CallKind::kTask, "test.echo", {Slot(0)}), failed));
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("argument 0"));
  EXPECT_THAT(result.status().message(), HasSubstr("upstream lost its input"));

  std::vector<RefArg> foreign = {std::nullopt};
  Result<Value> died = Decode(host_.RunTask(Spec(CallKind::kTask, "test.echo", {Slot(0)}), foreign));
  EXPECT_EQ(died.status().code(), StatusCode::kUnavailable);

  Result<Value> missing = Decode(host_.RunTask(Spec(CallKind::kTask, "test.echo", {Slot(3)}), {}));
  EXPECT_EQ(missing.status().code(), StatusCode::kDataLoss);
}

TEST_F(KernelHostTest, TransientErrorsAreRetriedAsAllowed) {
  Result<Value> retried = Decode(host_.RunTask(
      Spec(CallKind::kTask, "test.flaky", {Inline(Value::Of<int64_t>(3))}, /*max_retries=*/2),
      {}));
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(**retried->Get<int64_t>(), 3);  // succeeded on attempt 3

  Result<Value> exhausted = Decode(host_.RunTask(
      Spec(CallKind::kTask, "test.flaky", {Inline(Value::Of<int64_t>(3))}, /*max_retries=*/1),
      {}));
  EXPECT_EQ(exhausted.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(exhausted.status().message(), HasSubstr("attempt 2"));
}

TEST_F(KernelHostTest, ActorsKeepStateAndSurviveMethodErrors) {
  uint64_t counter = host_.CreateActor(
      Spec(CallKind::kCreateActor, "test.Counter", {Inline(Value::Of<int64_t>(10))}), {});
  ASSERT_NE(counter, 0u);
  for (int64_t delta = 1; delta <= 3; ++delta) {
    host_.CallActor(counter, Spec(CallKind::kCallActor, "Add", {Inline(Value::Of<int64_t>(delta))}), {});
  }
  Result<Value> failed = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Fail", {}), {}));
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  Result<Value> got = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Get", {}), {}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(**got->Get<int64_t>(), 16);
  EXPECT_EQ(host_.actor_count(), 1u);
  host_.DestroyActor(counter);
  EXPECT_EQ(host_.actor_count(), 0u);
  Result<Value> gone = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Get", {}), {}));
  EXPECT_EQ(gone.status().code(), StatusCode::kInternal);
}

TEST_F(KernelHostTest, FailedCreationGivesADeadActor) {
  uint64_t broken = host_.CreateActor(Spec(CallKind::kCreateActor, "test.Broken", {}), {});
  ASSERT_NE(broken, 0u);
  Result<Value> call = Decode(host_.CallActor(broken, Spec(CallKind::kCallActor, "Get", {}), {}));
  EXPECT_EQ(call.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(call.status().message(), HasSubstr("creation failed"));
  EXPECT_THAT(call.status().message(), HasSubstr("cannot be built"));

  uint64_t unknown = host_.CreateActor(Spec(CallKind::kCreateActor, "NoSuchClass", {}), {});
  Result<Value> none = Decode(host_.CallActor(unknown, Spec(CallKind::kCallActor, "Get", {}), {}));
  EXPECT_THAT(none.status().message(), HasSubstr("NoSuchClass"));
}

TEST_F(KernelHostTest, ACrashRebuildsTheInstanceWhileRestartsAreLeft) {
  uint64_t counter = host_.CreateActor(
      Spec(CallKind::kCreateActor, "test.Counter", {Inline(Value::Of<int64_t>(5))},
           /*max_retries=*/1),
      {});
  host_.CallActor(counter, Spec(CallKind::kCallActor, "Add", {Inline(Value::Of<int64_t>(1))}), {});
  Result<Value> crash = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Crash", {}), {}));
  EXPECT_EQ(crash.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(crash.status().message(), HasSubstr("restarted it"));
  Result<Value> fresh = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Get", {}), {}));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(**fresh->Get<int64_t>(), 5);  // rebuilt from its constructor arguments

  Result<Value> second = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Crash", {}), {}));
  EXPECT_THAT(second.status().message(), HasSubstr("died: crashed"));
  Result<Value> dead = Decode(host_.CallActor(counter, Spec(CallKind::kCallActor, "Get", {}), {}));
  EXPECT_EQ(dead.status().code(), StatusCode::kUnavailable);
}

TEST(KernelHostSetupTest, AFailedRegistrationAnswersEveryCall) {
  KernelHost host(KernelRegistry(), CodecRegistry::WithBuiltins(),
                  AlreadyExistsError("kernel 'x' registered twice"));
  CallSpec spec;
  spec.target = "test.pid";
  Result<std::string_view> result = DecodeResult(host.RunTask(EncodeCallSpec(spec), {}));
  EXPECT_EQ(result.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(result.status().message(), HasSubstr("registration failed"));
}

}  // namespace
}  // namespace raypipe::compute::ray_wire
