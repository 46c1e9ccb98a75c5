// The pipeline engine end to end in-process: scheduling, conditions, Fail, Command steps,
// ForEach, retries, caching, resume, selective execution, stop and lineage.

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/engine/host.h"

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A step type for tests: counts its runs in CounterFile, fails the first FailTimes runs with
// Error ("Unavailable" is transient, anything else permanent), writes Value to output "out".
class TestStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "Test"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  std::optional<StepTypeSpec> TypeSpec() const override {
    StepTypeSpec spec;
    spec.type = "Test";
    spec.property_type = PropertyTable({{"Outputs.*", ValueType::kString},
                                        {"Value", ValueType::kUnknown}});
    return spec;
  }
  Result<StepOutcome> Run(StepContext& context) override {
    const nlohmann::json& args = context.arguments;
    int runs = 1;
    if (args.contains("CounterFile")) {
      std::string path = args["CounterFile"].get<std::string>();
      std::ifstream in(path);
      int before = 0;
      in >> before;
      runs = before + 1;
      std::ofstream(path) << runs;
    }
    if (runs <= args.value("FailTimes", 0)) {
      std::string error = args.value("Error", "Unavailable");
      if (error == "Unavailable") return UnavailableError("worker lost (run " + std::to_string(runs) + ")");
      return InvalidArgumentError("bad argument (run " + std::to_string(runs) + ")");
    }
    int sleep_ms = args.value("SleepMs", 0);
    for (int waited = 0; waited < sleep_ms; waited += 10) {
      if (context.StopRequested()) return CancelledError("stopped");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ofstream(context.staging_dir + "/out") << args.value("Value", nlohmann::json()).dump();
    context.Log("ran " + context.step_name);
    StepOutcome outcome;
    outcome.properties["Value"] = args.value("Value", nlohmann::json());
    return outcome;
  }
};

class EngineRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/engine_run_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    OpenHost();
  }
  void TearDown() override {
    host_.reset();
    fs::remove_all(dir_);
  }
  void OpenHost() {
    host_.reset();
    EngineHostOptions options;
    options.home = dir_ + "/home";
    options.poll_interval = std::chrono::milliseconds(20);
    options.retry_interval_scale = 0.001;
    options.command_stop_grace = std::chrono::milliseconds(500);
    options.register_runners = [](StepRunnerRegistry& runners) {
      return runners.Register(std::make_unique<TestStepRunner>());
    };
    auto host = EngineHost::Open(options);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
  }
  void Write(const std::string& name, const std::string& text) {
    fs::create_directories(fs::path(dir_ + "/" + name).parent_path());
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Starts and runs a definition; returns the final record.
  ExecutionRecord Run(const std::string& yaml, std::map<std::string, std::string> params = {}) {
    StartRequest request;
    request.definition_text = yaml;
    request.source_name = "pipeline.yaml";
    request.pipeline_dir = dir_;
    request.parameters = std::move(params);
    auto id = engine().StartExecution(request);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return {};
    auto done = engine().RunExecution(*id);
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok() ? *done : ExecutionRecord{};
  }
  std::map<std::string, StepRunRecord> Steps(const std::string& id) {
    std::map<std::string, StepRunRecord> out;
    auto runs = engine().store().ListStepRuns(id);
    EXPECT_TRUE(runs.ok()) << runs.status();
    if (runs.ok()) {
      for (auto& run : *runs) out[run.step_name] = run;
    }
    return out;
  }
  Engine& engine() { return host_->engine(); }

  std::string dir_;
  std::unique_ptr<EngineHost> host_;
};

TEST_F(EngineRunTest, CommandStepsPassArtifactsAndMetrics) {
  Write("make.sh", "echo hello > \"$RAYPIPE_OUTPUT_DATA/greeting.txt\"\necho 'rmse=12.5' >&2\n");
  Write("use.sh", "cat \"$RAYPIPE_INPUT_DATA/greeting.txt\" > \"$RAYPIPE_OUTPUT_COPY/c.txt\"\n"
                  "echo \"step=$RAYPIPE_STEP_NAME\"\n");
  ExecutionRecord done = Run(R"Y(
Version: "2020-12-01"
Steps:
  - Name: Make
    Type: Command
    Arguments:
      Command: ["sh", "make.sh"]
      Outputs: [{OutputName: data}]
      MetricDefinitions: [{Name: rmse, Regex: "rmse=([0-9.]+)"}]
  - Name: Use
    Type: Command
    Arguments:
      Command: ["sh", "use.sh"]
      Inputs: [{InputName: data, Source: {Get: Steps.Make.Outputs.data}}]
      Outputs: [{OutputName: copy}]
  - Name: Cat
    Type: Command
    Arguments:
      Command: ["sh", "-c", "cat \"$0/greeting.txt\"", {Get: Steps.Make.Outputs.data}]
)Y");
  ASSERT_EQ(done.status, "Succeeded") << done.failure_reason;
  auto steps = Steps(done.id);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(Read(steps["Cat"].log_path), HasSubstr("hello"));
  EXPECT_EQ(steps["Make"].status, "Succeeded");
  EXPECT_EQ(steps["Make"].attempt_count, 1);
  EXPECT_DOUBLE_EQ(steps["Make"].properties["Metrics"]["rmse"].get<double>(), 12.5);
  std::string copy = steps["Use"].properties["Outputs"]["copy"].get<std::string>();
  ASSERT_TRUE(IsArtifactUri(copy)) << copy;
  auto text = host_->artifacts().ReadBytes(copy.substr(11), "c.txt");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello\n");
  EXPECT_THAT(Read(steps["Use"].log_path), HasSubstr("step=Use"));

  auto lineage = engine().store().ListLineage(done.id);
  ASSERT_TRUE(lineage.ok());
  bool saw_input = false;
  for (const auto& edge : *lineage) {
    if (edge.step_name == "Use" && edge.direction == "Input" && edge.name == "data") {
      saw_input = true;
      EXPECT_EQ(edge.uri, steps["Make"].properties["Outputs"]["data"].get<std::string>());
    }
  }
  EXPECT_TRUE(saw_input);
}

TEST_F(EngineRunTest, NonZeroExitFailsWithStderrTail) {
  ExecutionRecord done = Run(R"(
Version: "2020-12-01"
Steps:
  - Name: Bad
    Type: Command
    Arguments: {Command: ["sh", "-c", "echo 'it broke' >&2; exit 3"]}
  - Name: After
    Type: Command
    DependsOn: [Bad]
    Arguments: {Command: ["true"]}
)");
  EXPECT_EQ(done.status, "Failed");
  EXPECT_THAT(done.failure_reason, HasSubstr("exited with code 3"));
  EXPECT_THAT(done.failure_reason, HasSubstr("it broke"));
  auto steps = Steps(done.id);
  EXPECT_EQ(steps.count("After"), 0u);
}

TEST_F(EngineRunTest, CommandsStartWithDefaultSignalHandling) {
  // raypipe may ignore SIGPIPE (distributed training does) or block signals on the thread that
  // forks; the command must not inherit either: `kill -PIPE $$` must end it.
  struct sigaction ignore {}, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &previous), 0);
  sigset_t term, previous_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &previous_mask), 0);
  ExecutionRecord done = Run(R"(
Version: "2020-12-01"
Steps:
  - Name: Pipe
    Type: Command
    Arguments: {Command: ["sh", "-c", "kill -PIPE $$; echo survived SIGPIPE >&2; exit 4"]}
  - Name: Term
    Type: Command
    Arguments: {Command: ["sh", "-c", "kill -TERM $$; echo survived SIGTERM >&2; exit 4"]}
)");
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(done.status, "Failed");
  auto steps = Steps(done.id);
  EXPECT_THAT(steps["Pipe"].failure_reason, HasSubstr("killed by signal 13"));
  EXPECT_THAT(steps["Term"].failure_reason, HasSubstr("killed by signal 15"));
}

TEST_F(EngineRunTest, ConditionRunsOnlyTheBranchTakenAndFailEndsTheExecution) {
  const std::string yaml = R"(
Version: "2020-12-01"
Parameters: [{Name: Threshold, Type: Float, DefaultValue: 10}]
Steps:
  - Name: Eval
    Type: Test
    Arguments: {Value: 7}
  - Name: Check
    Type: Condition
    Arguments:
      Conditions: [{Type: LessThanOrEqualTo, LeftValue: {Get: Steps.Eval.Value}, RightValue: {Get: Parameters.Threshold}}]
      IfSteps: [{Name: Good, Type: Test, Arguments: {Value: good}}]
      ElseSteps: [{Name: TooBad, Type: Fail, Arguments: {ErrorMessage: {Std:Join: {On: " ", Values: ["value above", {Get: Parameters.Threshold}]}}}}]
)";
  ExecutionRecord done = Run(yaml);
  ASSERT_EQ(done.status, "Succeeded") << done.failure_reason;
  auto steps = Steps(done.id);
  EXPECT_EQ(steps["Check"].properties["Outcome"], true);
  EXPECT_EQ(steps.count("TooBad"), 0u);
  EXPECT_EQ(steps["Good"].status, "Succeeded");

  ExecutionRecord failed = Run(yaml, {{"Threshold", "5"}});
  EXPECT_EQ(failed.status, "Failed");
  EXPECT_EQ(failed.failure_reason, "value above 5");
  auto failed_steps = Steps(failed.id);
  EXPECT_EQ(failed_steps.count("Good"), 0u);
  EXPECT_EQ(failed_steps["TooBad"].status, "Failed");
}

TEST_F(EngineRunTest, TransientErrorsAreRetriedPermanentOnesAreNot) {
  ExecutionRecord done = Run(R"(
Version: "2020-12-01"
Steps:
  - Name: Flaky
    Type: Test
    Arguments: {FailTimes: 2, Error: Unavailable, CounterFile: )" + dir_ + R"(/flaky, Value: 1}
    RetryPolicies: [{ExceptionType: [Step.SERVICE_FAULT], IntervalSeconds: 1, MaxAttempts: 2}]
)");
  ASSERT_EQ(done.status, "Succeeded") << done.failure_reason;
  EXPECT_EQ(Steps(done.id)["Flaky"].attempt_count, 3);

  ExecutionRecord exhausted = Run(R"(
Version: "2020-12-01"
Steps:
  - Name: Flaky
    Type: Test
    Arguments: {FailTimes: 5, Error: Unavailable, CounterFile: )" + dir_ + R"(/flaky2, Value: 1}
    RetryPolicies: [{ExceptionType: [Step.SERVICE_FAULT], IntervalSeconds: 1, MaxAttempts: 1}]
)");
  EXPECT_EQ(exhausted.status, "Failed");
  EXPECT_EQ(Steps(exhausted.id)["Flaky"].attempt_count, 2);

  ExecutionRecord permanent = Run(R"(
Version: "2020-12-01"
Steps:
  - Name: Bad
    Type: Test
    Arguments: {FailTimes: 1, Error: InvalidArgument, CounterFile: )" + dir_ + R"(/bad, Value: 1}
    RetryPolicies: [{ExceptionType: [Step.SERVICE_FAULT], IntervalSeconds: 1, MaxAttempts: 5}]
)");
  EXPECT_EQ(permanent.status, "Failed");
  EXPECT_THAT(permanent.failure_reason, HasSubstr("bad argument"));
  EXPECT_EQ(Steps(permanent.id)["Bad"].attempt_count, 1);
}

TEST_F(EngineRunTest, CacheHitsOnSameContentAndMissesOnChangedContent) {
  Write("data/in.csv", "a,b\n1,2\n");
  Write("count.sh", "cat \"$RAYPIPE_INPUT_RAW\" > \"$RAYPIPE_OUTPUT_OUT/copy\"\n");
  const std::string yaml = R"(
Version: "2020-12-01"
Steps:
  - Name: Copy
    Type: Command
    CacheConfig: {Enabled: true, ExpireAfter: P30D}
    Arguments:
      Command: ["sh", "count.sh"]
      Inputs: [{InputName: raw, Source: data/in.csv}]
      Outputs: [{OutputName: out}]
)";
  ExecutionRecord first = Run(yaml);
  ASSERT_EQ(first.status, "Succeeded") << first.failure_reason;
  EXPECT_EQ(Steps(first.id)["Copy"].cache_hit_source, "");
  EXPECT_EQ(Steps(first.id)["Copy"].cache_explain["Result"], "miss");

  // Touching the input (new mtime, same content) still hits.
  fs::last_write_time(dir_ + "/data/in.csv",
                      fs::last_write_time(dir_ + "/data/in.csv") + std::chrono::hours(1));
  ExecutionRecord second = Run(yaml);
  auto second_copy = Steps(second.id)["Copy"];
  EXPECT_EQ(second_copy.cache_hit_source, first.id);
  EXPECT_EQ(second_copy.cache_explain["Result"], "hit");
  EXPECT_EQ(second_copy.properties, Steps(first.id)["Copy"].properties);

  // Changed data misses; so does an edited script.
  Write("data/in.csv", "a,b\n1,3\n");
  ExecutionRecord third = Run(yaml);
  EXPECT_EQ(Steps(third.id)["Copy"].cache_hit_source, "");
  Write("count.sh", "cat \"$RAYPIPE_INPUT_RAW\" > \"$RAYPIPE_OUTPUT_OUT/copy2\"\n");
  ExecutionRecord fourth = Run(yaml);
  auto fourth_copy = Steps(fourth.id)["Copy"];
  EXPECT_EQ(fourth_copy.cache_hit_source, "");
  EXPECT_NE(fourth_copy.cache_explain["Parts"]["Code"]["Code:count.sh"],
            Steps(third.id)["Copy"].cache_explain["Parts"]["Code"]["Code:count.sh"]);
}

TEST_F(EngineRunTest, RetryResumesUnderTheSameIdKeepingSucceededSteps) {
  const std::string yaml = R"(
Version: "2020-12-01"
Steps:
  - Name: First
    Type: Test
    Arguments: {CounterFile: )" + dir_ + R"(/first, Value: 1}
  - Name: Second
    Type: Test
    Arguments: {FailTimes: 1, Error: InvalidArgument, CounterFile: )" + dir_ + R"(/second, Value: {Get: Steps.First.Value}}
)";
  ExecutionRecord failed = Run(yaml);
  ASSERT_EQ(failed.status, "Failed");
  ASSERT_TRUE(engine().PrepareRetry(failed.id).ok());
  auto done = engine().RunExecution(failed.id);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "Succeeded") << done->failure_reason;
  EXPECT_EQ(done->id, failed.id);
  EXPECT_EQ(Read(dir_ + "/first"), "1");   // not rerun
  EXPECT_EQ(Read(dir_ + "/second"), "2");
  EXPECT_EQ(Steps(failed.id)["Second"].properties["Value"], 1);
  // A succeeded execution cannot be retried.
  EXPECT_EQ(engine().PrepareRetry(failed.id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(EngineRunTest, SelectiveExecutionReusesTheSourceOutputs) {
  const std::string yaml = R"(
Version: "2020-12-01"
Steps:
  - Name: A
    Type: Test
    Arguments: {CounterFile: )" + dir_ + R"(/a, Value: 5}
  - Name: B
    Type: Test
    Arguments: {CounterFile: )" + dir_ + R"(/b, Value: {Get: Steps.A.Value}}
)";
  ExecutionRecord source = Run(yaml);
  ASSERT_EQ(source.status, "Succeeded");
  StartRequest request;
  request.definition_text = yaml;
  request.source_name = "pipeline.yaml";
  request.pipeline_dir = dir_;
  request.from_execution = source.id;
  request.steps = {"B"};
  auto id = engine().StartExecution(request);
  ASSERT_TRUE(id.ok()) << id.status();
  auto done = engine().RunExecution(*id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "Succeeded") << done->failure_reason;
  EXPECT_EQ(Read(dir_ + "/a"), "1");
  EXPECT_EQ(Read(dir_ + "/b"), "2");
  EXPECT_EQ(Steps(*id)["A"].selective_source, source.id);
}

TEST_F(EngineRunTest, ForEachFansOutAndInAndNamesTheFailingItem) {
  ExecutionRecord done = Run(R"(
Version: "2020-12-01"
Parameters: [{Name: Regions, Type: String, DefaultValue: '["north", "south", "east"]'}]
Steps:
  - Name: PerRegion
    Type: ForEach
    Arguments:
      Items: {Get: Parameters.Regions}
      MaxConcurrency: 2
      Step: {Type: Test, Arguments: {Value: {Std:Join: {On: "-", Values: [{Get: Item}, {Get: ItemIndex}]}}}}
  - Name: After
    Type: Test
    Arguments: {Value: {Get: Steps.PerRegion.Outputs.out}}
)");
  ASSERT_EQ(done.status, "Succeeded") << done.failure_reason;
  auto steps = Steps(done.id);
  ASSERT_EQ(steps["PerRegion"].properties["Outputs"]["out"].size(), 3u);
  EXPECT_EQ(steps["PerRegion[1]"].properties["Value"], "south-1");
  EXPECT_EQ(steps["After"].properties["Value"].size(), 3u);

  ExecutionRecord failed = Run(R"Y(
Version: "2020-12-01"
Steps:
  - Name: PerItem
    Type: ForEach
    Arguments:
      Items: [1, 2, 3]
      Step: {Type: Command, Arguments: {Command: ["sh", "-c", {Std:Join: {On: "", Values: ["exit $((", {Get: Item}, " == 2))"]}}]}}
)Y");
  EXPECT_EQ(failed.status, "Failed");
  EXPECT_THAT(failed.failure_reason, HasSubstr("iteration 1 (item 2) failed"));
  EXPECT_EQ(Steps(failed.id)["PerItem[2]"].status, "Succeeded");
}

// A stop that arrives after StartExecution but before RunExecution claims the execution is
// kept: the execution ends Stopped and its step never succeeds.
TEST_F(EngineRunTest, StopBeforeTheRunStartsIsNotLost) {
  StartRequest request;
  request.definition_text = R"(
Version: "2020-12-01"
Steps:
  - Name: Slow
    Type: Test
    Arguments: {SleepMs: 3000, Value: 1}
)";
  request.source_name = "pipeline.yaml";
  request.pipeline_dir = dir_;
  auto id = engine().StartExecution(request);
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(engine().RequestStop(*id).ok());
  auto done = engine().RunExecution(*id);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "Stopped");
  auto steps = Steps(*id);
  EXPECT_FALSE(steps.count("Slow") && steps["Slow"].status == "Succeeded");
}

TEST_F(EngineRunTest, StopFromAnotherThreadStopsARunningCommand) {
  StartRequest request;
  request.definition_text = R"(
Version: "2020-12-01"
Steps:
  - Name: Slow
    Type: Command
    Arguments: {Command: ["sleep", "30"]}
  - Name: Later
    Type: Test
    DependsOn: [Slow]
    Arguments: {Value: 1}
)";
  request.source_name = "pipeline.yaml";
  request.pipeline_dir = dir_;
  auto id = engine().StartExecution(request);
  ASSERT_TRUE(id.ok()) << id.status();
  Result<ExecutionRecord> done = InternalError("not run");
  std::thread runner([&] { done = engine().RunExecution(*id); });
  // Wait until the step is executing, then stop.
  for (int i = 0; i < 500; ++i) {
    auto run = engine().store().GetStepRun(*id, "Slow");
    if (run.ok() && run->has_value() && (*run)->status == "Executing") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(engine().RequestStop(*id).ok());
  runner.join();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "Stopped");
  auto steps = Steps(*id);
  EXPECT_EQ(steps["Slow"].status, "Stopped");
  EXPECT_EQ(steps.count("Later"), 0u);
  EXPECT_EQ(engine().RequestStop(*id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(EngineRunTest, ParallelismAndPropertyFiles) {
  Write("eval.sh", "echo '{\"metrics\": {\"rmse\": 3.5}}' > \"$RAYPIPE_OUTPUT_REPORT/evaluation.json\"\n");
  ExecutionRecord done = Run(R"(
Version: "2020-12-01"
ParallelismConfiguration: {MaxParallelExecutionSteps: 2}
Steps:
  - Name: A
    Type: Test
    Arguments: {SleepMs: 50, Value: a}
  - Name: B
    Type: Test
    Arguments: {SleepMs: 50, Value: b}
  - Name: Eval
    Type: Command
    Arguments: {Command: ["sh", "eval.sh"], Outputs: [{OutputName: report}]}
    PropertyFiles: [{PropertyFileName: Report, OutputName: report, FilePath: evaluation.json}]
  - Name: Check
    Type: Condition
    Arguments:
      Conditions: [{Type: LessThan, LeftValue: {Std:JsonGet: {PropertyFile: {Get: Steps.Eval.PropertyFiles.Report}, Path: metrics.rmse}}, RightValue: 4}]
      IfSteps: [A]
      ElseSteps: [B]
)");
  ASSERT_EQ(done.status, "Succeeded") << done.failure_reason;
  auto steps = Steps(done.id);
  EXPECT_EQ(steps["Check"].properties["Outcome"], true);
  EXPECT_EQ(steps.count("A"), 1u);
  EXPECT_EQ(steps.count("B"), 0u);
}

TEST_F(EngineRunTest, InvalidDefinitionsAndUnknownRunnersAreRefusedBeforeRunning) {
  StartRequest request;
  request.definition_text = "Version: \"2020-12-01\"\nSteps:\n  - {Name: X, Type: Nope}\n";
  request.source_name = "bad.yaml";
  auto id = engine().StartExecution(request);
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  request.definition_text =
      "Version: \"2020-12-01\"\nSteps:\n  - {Name: X, Type: Deploy, Arguments: {}}\n";
  id = engine().StartExecution(request);
  EXPECT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("step 'X'"));
}

}  // namespace
}  // namespace raypipe::pipeline
