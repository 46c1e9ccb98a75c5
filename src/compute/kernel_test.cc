#include "compute/kernel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "compute/resources.h"

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;

Result<Value> Echo(TaskContext&, std::span<const Value> args) {
  if (args.empty()) return Value();
  return args[0];
}

class Counter : public MethodActor {
 public:
  Counter() {
    AddMethod("Add", [this](TaskContext&, std::span<const Value> args) -> Result<Value> {
      ASSIGN_OR_RETURN(const int64_t* delta, ArgAs<int64_t>(args, 0));
      total_ += *delta;
      return Value::Of<int64_t>(total_);
    });
  }

 private:
  int64_t total_ = 0;
};

TEST(KernelRegistryTest, RegistersAndFinds) {
  KernelRegistry registry;
  ASSERT_TRUE(registry.RegisterTask("echo", Echo).ok());
  ASSERT_TRUE(registry
                  .RegisterActor("counter",
                                 [](TaskContext&, std::span<const Value>)
                                     -> Result<std::unique_ptr<ActorInstance>> {
                                   return std::unique_ptr<ActorInstance>(new Counter());
                                 })
                  .ok());
  // Tasks and actor classes have separate name spaces.
  ASSERT_TRUE(registry.RegisterTask("counter", Echo).ok());
  EXPECT_NE(registry.FindTask("echo"), nullptr);
  EXPECT_EQ(registry.FindTask("nope"), nullptr);
  EXPECT_NE(registry.FindActor("counter"), nullptr);
  EXPECT_THAT(registry.TaskNames(), ::testing::ElementsAre("counter", "echo"));
  EXPECT_THAT(registry.ActorNames(), ::testing::ElementsAre("counter"));

  Result<const TaskKernel*> missing = registry.GetTask("ecko");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'ecko'"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("counter, echo"));
  EXPECT_THAT(std::string(registry.GetActor("x").status().message()),
              HasSubstr("actor classes: counter"));
}

TEST(KernelRegistryTest, RefusesDuplicatesAndBlanks) {
  KernelRegistry registry;
  ASSERT_TRUE(registry.RegisterTask("echo", Echo).ok());
  EXPECT_EQ(registry.RegisterTask("echo", Echo).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.RegisterTask("", Echo).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.RegisterTask("null", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.RegisterActor("null", nullptr).code(), StatusCode::kInvalidArgument);
}

TEST(MethodActorTest, DispatchesByNameAndKeepsState) {
  Counter counter;
  TaskContext ctx("counter.Add", 1, Resources{}, CancellationToken());
  std::vector<Value> args = {Value::Of<int64_t>(5)};
  ASSERT_TRUE(counter.Call(ctx, "Add", args).ok());
  Result<Value> total = counter.Call(ctx, "Add", args);
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(**total->Get<int64_t>(), 10);

  Result<Value> unknown = counter.Call(ctx, "Sub", args);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("'Sub' (methods: Add)"));

  std::vector<Value> wrong = {Value::Of<std::string>("five")};
  Result<Value> mistyped = counter.Call(ctx, "Add", wrong);
  ASSERT_FALSE(mistyped.ok());
  EXPECT_THAT(std::string(mistyped.status().message()),
              HasSubstr("argument 0: value holds string, not int64"));
}

TEST(ArgHelpersTest, NameTheArgument) {
  std::vector<Value> args = {Value::Of<int64_t>(1), Value::Of<std::string>("x")};
  EXPECT_TRUE(ExpectArgCount(args, 2).ok());
  EXPECT_TRUE(ExpectArgCount(args, 1, 3).ok());
  Status count = ExpectArgCount(args, 3);
  EXPECT_EQ(count.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(count.message()), HasSubstr("expected 3 arguments, got 2"));
  EXPECT_THAT(std::string(ExpectArgCount(args, 0, 1).message()),
              HasSubstr("expected 0 to 1 argument, got 2"));
  EXPECT_THAT(std::string(ArgAs<int64_t>(args, 5).status().message()),
              HasSubstr("argument 5 missing (got 2)"));
  EXPECT_THAT(std::string(ArgAs<int64_t>(args, 1).status().message()),
              HasSubstr("argument 1: value holds string, not int64"));
  EXPECT_EQ(**ArgAs<std::string>(args, 1), "x");
}

TEST(TaskContextTest, CancellationIsShared) {
  CancellationToken token;
  TaskContext ctx("t", 2, Resources{0.5, 1024}, token);
  EXPECT_EQ(ctx.attempt(), 2);
  EXPECT_EQ(ctx.resources().cpus, 0.5);
  EXPECT_TRUE(ctx.CheckCancelled().ok());
  CancellationToken copy = token;
  copy.Cancel();
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_EQ(ctx.CheckCancelled().code(), StatusCode::kCancelled);
}

TEST(ResourcesTest, UnitsAreExactAndChecked) {
  EXPECT_EQ(ResourceUnits::From(Resources{0.5, 0}).cpu, 5000);
  EXPECT_EQ(ResourceUnits::From(Resources{1e-9, 0}).cpu, 1);  // tiny requests still count
  ResourceUnits sum;
  for (int tenth = 0; tenth < 10; ++tenth) sum += ResourceUnits::From(Resources{0.1, 0});
  EXPECT_EQ(sum.cpu, ResourceUnits::From(Resources{1.0, 0}).cpu);

  EXPECT_EQ(ValidateRequest(Resources{0, 0}, "task 'x'").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRequest(Resources{-1, 0}, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRequest(Resources{NAN, 0}, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRequest(Resources{1, -5}, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateRequest(Resources{0.25, 10}, "x").ok());

  Status too_big = CheckFits(Resources{3, 0}, Resources{2, int64_t{8} << 30}, "task 'train'");
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_big.message()), HasSubstr("task 'train' asks for 3 CPUs"));
  EXPECT_THAT(std::string(too_big.message()), HasSubstr("this executor has: 2 CPUs, 8 GiB"));
  EXPECT_TRUE(CheckFits(Resources{2, 0}, Resources{2, 0}, "x").ok());
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(100), "100 B");
}

}  // namespace
}  // namespace raypipe::compute
