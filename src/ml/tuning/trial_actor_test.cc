#include "ml/tuning/trial_actor.h"

#include <algorithm>
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compute/local_executor.h"
#include "compute/test_util.h"
#include "ml/kernels.h"
#include "ml/test_util.h"
#include "ml/tuning/tuning_job.h"

namespace raypipe::ml::tuning {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr std::chrono::seconds kWait{60};

TrainOptions BaseOptions() {
  TrainOptions options;
  options.target = "y";
  options.nthread = 1;
  options.hyperparameters = {{"num_round", "23"}, {"eval_metric", "mae,rmse"}, {"seed", "47"},
                             {"tree_method", "approx"}, {"objective", "reg:squarederror"},
                             {"max_depth", "3"}};
  return options;
}

TEST(TrialDataTest, CodecRoundTripsEveryColumnTypeAndRecognizesTheTrainingTable) {
  data::Table train = testing::RegressionTable(40, 3);
  std::vector<data::Column> columns = {
      data::Column::Float64("f", {1.5, std::nan(""), -2.0}, {1, 0, 1}),
      data::Column::Int64("i", {7, 0, -9}, {1, 0, 1}),
      data::Column::String("s", {"a", "", "ccc"}),
  };
  data::Table mixed = *data::Table::Make(std::move(columns));
  data::Table sliced = *train.Slice(10, 5);
  TrialData original = MakeTrialData(train, {{"train", train}, {"mixed", mixed}, {"part", sliced}});
  ASSERT_EQ(original.evals.size(), 3u);
  EXPECT_TRUE(original.evals[0].is_train);
  EXPECT_FALSE(original.evals[1].is_train);
  EXPECT_FALSE(original.evals[2].is_train);  // a slice is another table

  auto bytes = EncodeTrialData(original);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeTrialData(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->train.Equals(train));
  ASSERT_EQ(decoded->evals.size(), 3u);
  EXPECT_EQ(decoded->evals[0].name, "train");
  EXPECT_TRUE(decoded->evals[0].is_train);
  EXPECT_TRUE(decoded->evals[1].table.Equals(mixed));
  EXPECT_EQ(decoded->evals[1].table.column(1).null_count(), 1u);
  EXPECT_TRUE(decoded->evals[2].table.Equals(sliced));

  // Every truncation and a corrupted magic are refused, never a crash.
  for (size_t size = 0; size < bytes->size(); size += 7) {
    auto truncated = DecodeTrialData(std::string_view(*bytes).substr(0, size));
    EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss) << size;
  }
  std::string corrupt = *bytes;
  corrupt[0] = 'X';
  EXPECT_THAT(DecodeTrialData(corrupt).status().message(), HasSubstr("bad magic"));
  EXPECT_THAT(DecodeTrialData(*bytes + "x").status().message(), HasSubstr("trailing bytes"));
}

TEST(TrialDataTest, SpecRoundTripsAndNamesWhatIsMissing) {
  TrainOptions options = BaseOptions();
  options.features = {"x0", "x1"};
  options.early_stopping_metric = "validation:mae";
  auto parsed = TrialSpecFromJson(TrialSpecToJson(options, "validation:rmse"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->first.features, options.features);
  EXPECT_EQ(parsed->first.hyperparameters, options.hyperparameters);
  EXPECT_EQ(parsed->first.early_stopping_metric, "validation:mae");
  EXPECT_EQ(parsed->second, "validation:rmse");
  json broken = TrialSpecToJson(options, "validation:rmse");
  broken["options"].erase("target");
  EXPECT_THAT(TrialSpecFromJson(broken).status().message(), HasSubstr("target"));
}

// The trial actor on a LocalExecutor that round-trips every value through the codecs, as Ray
// would move them.
class TrialActorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterMlKernels(kernels_).ok());
    ASSERT_TRUE(RegisterMlCodecs(codecs_).ok());
    auto executor = compute::testing::OpenRoundTripExecutor(kernels_, &codecs_);
    ASSERT_TRUE(executor.ok()) << executor.status();
    executor_ = std::move(*executor);
    train_ = testing::RegressionTable(800, 61);
    validation_ = testing::RegressionTable(300, 62);
  }

  compute::ActorHandle Create(const TrainOptions& options, const std::string& metric) {
    auto data = executor_->Put(compute::Value::Of(
        MakeTrialData(train_, {{"train", train_}, {"validation", validation_}})));
    EXPECT_TRUE(data.ok()) << data.status();
    auto actor = executor_->CreateActor(
        kTuningTrialActor, {*data, compute::Value::Of(TrialSpecToJson(options, metric))});
    EXPECT_TRUE(actor.ok()) << actor.status();
    return *actor;
  }

  Result<json> Advance(const compute::ActorHandle& actor, int64_t to_round) {
    ASSIGN_OR_RETURN(compute::ObjectRef ref,
                     executor_->CallActor(actor, "Advance", {compute::Value::Of(to_round)}));
    ASSIGN_OR_RETURN(auto report, executor_->GetAs<json>(ref, kWait));
    return *report;
  }

  Result<std::shared_ptr<const TrainResult>> Finish(const compute::ActorHandle& actor) {
    ASSIGN_OR_RETURN(compute::ObjectRef ref, executor_->CallActor(actor, "Finish", {}));
    return executor_->GetAs<TrainResult>(ref, kWait);
  }

  compute::KernelRegistry kernels_;
  compute::CodecRegistry codecs_ = compute::CodecRegistry::WithBuiltins();
  std::unique_ptr<compute::Executor> executor_;
  data::Table train_;
  data::Table validation_;
};

TEST_F(TrialActorTest, AdvancesInStepsAndMatchesTrain) {
  TrainOptions options = BaseOptions();
  compute::ActorHandle actor = Create(options, "validation:rmse");
  auto first = Advance(actor, 10);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)["rounds"], 10);
  EXPECT_FALSE((*first)["done"].get<bool>());
  EXPECT_EQ((*first)["metrics"]["validation:rmse"].size(), 10u);
  EXPECT_EQ((*first)["metrics"]["train:mae"].size(), 10u);
  auto rest = Advance(actor, 1000);  // capped at num_round
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ((*rest)["rounds"], 23);
  EXPECT_TRUE((*rest)["done"].get<bool>());
  EXPECT_EQ((*rest)["metrics"]["validation:rmse"].size(), 13u);
  auto stepped = Finish(actor);
  ASSERT_TRUE(stepped.ok()) << stepped.status();

  std::vector<EvalSet> evals = {{"train", &train_}, {"validation", &validation_}};
  auto whole = Train(train_, evals, options);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ((*stepped)->rounds, 23);
  EXPECT_EQ((*stepped)->final_metrics, whole->final_metrics);
  EXPECT_EQ((*stepped)->features, whole->features);
  ASSERT_EQ((*stepped)->history.size(), whole->history.size());
  for (size_t index = 0; index < whole->history.size(); ++index) {
    EXPECT_EQ((*stepped)->history[index].name, whole->history[index].name);
    EXPECT_EQ((*stepped)->history[index].values, whole->history[index].values);
  }
  auto ours = (*stepped)->booster->Predict(**DMatrix::FromTable(validation_, whole->features, ""));
  auto theirs = whole->booster->Predict(**DMatrix::FromTable(validation_, whole->features, ""));
  ASSERT_TRUE(ours.ok() && theirs.ok());
  EXPECT_EQ(*ours, *theirs);

  EXPECT_EQ(Finish(actor).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(TrialActorTest, EarlyStoppingRoundsCutsTheModelLikeTrain) {
  TrainOptions options = BaseOptions();
  options.hyperparameters["num_round"] = "300";
  options.hyperparameters["eta"] = "0.9";
  options.hyperparameters["early_stopping_rounds"] = "3";
  compute::ActorHandle actor = Create(options, "validation:rmse");
  json report;
  for (int64_t to_round = 7; !report.contains("done") || !report["done"].get<bool>();
       to_round += 7) {
    auto step = Advance(actor, to_round);
    ASSERT_TRUE(step.ok()) << step.status();
    report = *step;
  }
  EXPECT_LT(report["rounds"].get<int>(), 300);
  auto stepped = Finish(actor);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  std::vector<EvalSet> evals = {{"train", &train_}, {"validation", &validation_}};
  auto whole = Train(train_, evals, options);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE((*stepped)->stopped_early);
  EXPECT_EQ((*stepped)->rounds, whole->rounds);
  EXPECT_EQ((*stepped)->best_iteration, whole->best_iteration);
  EXPECT_EQ((*stepped)->final_metrics, whole->final_metrics);
}

TEST_F(TrialActorTest, AJobAfterBeginIsTheJobAFreshActorTrains) {
  TrainOptions second = BaseOptions();
  second.hyperparameters["max_depth"] = "5";
  second.hyperparameters["eta"] = "0.7";
  second.hyperparameters["subsample"] = "0.6";
  auto begin = [&](const compute::ActorHandle& actor, const json& spec) -> Status {
    ASSIGN_OR_RETURN(compute::ObjectRef ref,
                     executor_->CallActor(actor, "Begin", {compute::Value::Of(spec)}));
    return executor_->Get(ref, kWait).status();
  };

  compute::ActorHandle reused = Create(BaseOptions(), "validation:rmse");
  ASSERT_TRUE(Advance(reused, 1000).ok());
  auto first = Finish(reused);
  ASSERT_TRUE(first.ok()) << first.status();
  // A bad spec fails Begin and the job's calls, and a good one recovers the actor.
  json broken = TrialSpecToJson(second, "validation:rmse");
  broken["options"].erase("features");
  EXPECT_EQ(begin(reused, broken).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Advance(reused, 5).status().message(), HasSubstr("features"));
  Status recovered = begin(reused, TrialSpecToJson(second, "validation:rmse"));
  ASSERT_TRUE(recovered.ok()) << recovered;
  ASSERT_TRUE(Advance(reused, 1000).ok());
  auto again = Finish(reused);
  ASSERT_TRUE(again.ok()) << again.status();

  compute::ActorHandle fresh = Create(second, "validation:rmse");
  ASSERT_TRUE(Advance(fresh, 1000).ok());
  auto expected = Finish(fresh);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_NE((*again)->final_metrics, (*first)->final_metrics);  // another job indeed
  EXPECT_EQ((*again)->final_metrics, (*expected)->final_metrics);
  ASSERT_EQ((*again)->history.size(), (*expected)->history.size());
  for (size_t index = 0; index < (*expected)->history.size(); ++index) {
    EXPECT_EQ((*again)->history[index].values, (*expected)->history[index].values);
  }
  auto matrix = DMatrix::FromTable(validation_, (*expected)->features, "");
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  EXPECT_EQ(*(*again)->booster->Predict(**matrix), *(*expected)->booster->Predict(**matrix));
}

TEST_F(TrialActorTest, ErrorsNameTheProblem) {
  compute::ActorHandle wrong_metric = Create(BaseOptions(), "validation:auc");
  EXPECT_THAT(Advance(wrong_metric, 5).status().message(), HasSubstr("validation:auc"));

  TrainOptions bad = BaseOptions();
  bad.hyperparameters["max_depth"] = "deep";
  EXPECT_THAT(Advance(Create(bad, "validation:rmse"), 5).status().message(),
              HasSubstr("max_depth"));

  TrainOptions missing = BaseOptions();
  missing.target = "no_such_column";
  EXPECT_THAT(Advance(Create(missing, "validation:rmse"), 5).status().message(),
              HasSubstr("no_such_column"));

  EXPECT_EQ(Finish(Create(BaseOptions(), "validation:rmse")).status().code(),
            StatusCode::kFailedPrecondition);  // nothing trained yet

  auto broken = executor_->CreateActor(kTuningTrialActor, {compute::Value::Of(json::object()),
                                                           compute::Value::Of(json::object())});
  ASSERT_TRUE(broken.ok());
  auto call = executor_->CallActor(*broken, "Advance", {compute::Value::Of<int64_t>(1)});
  ASSERT_TRUE(call.ok());
  EXPECT_FALSE(executor_->Get(*call, kWait).ok());
}

// Three jobs over max_depth and eta, minimizing validation:rmse.
TuningJobConfig ThreeJobs(std::string name, int max_parallel_jobs) {
  TuningJobConfig config;
  config.name = std::move(name);
  config.space = *SearchSpace::Make({ParameterRange::Integer("max_depth", 1, 6),
                                     ParameterRange::Continuous("eta", 0.2, 1)});
  config.objective_metric = "validation:rmse";
  config.max_jobs = 3;
  config.max_parallel_jobs = max_parallel_jobs;
  return config;
}

TEST_F(TrialActorTest, TuningJobRunsTrialsThroughTheCodecsAndScriptedTrialsAreRefused) {
  TuningJobConfig config = ThreeJobs("codec-job", 2);
  config.early_stopping = EarlyStoppingType::kAuto;
  TrainOptions options = BaseOptions();
  options.nthread = 0;
  std::vector<std::string> done;
  std::vector<std::string> events;  // "start NAME" and "done NAME", in the order called
  TuningJobHooks hooks;
  hooks.on_job_started = [&events](const TrainingJobSummary& summary) {
    events.push_back("start " + summary.name);
  };
  hooks.on_job_done = [&done, &events](const TrainingJobSummary& summary) {
    done.push_back(summary.name);
    events.push_back("done " + summary.name);
  };
  auto result = RunTuningJob(
      *executor_, config,
      MakeXGBoostTrial(train_, {{"validation", validation_}, {"train", train_}}, options,
                       "validation:rmse"),
      hooks);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->completed + result->stopped, 3);
  EXPECT_EQ(done.size(), 3u);
  // Each job is announced once as it is launched, before it ends; two run at once, so the
  // second starts before the first ends.
  ASSERT_EQ(events.size(), 6u);
  for (const std::string& name : done) {
    auto started = std::find(events.begin(), events.end(), "start " + name);
    auto ended = std::find(events.begin(), events.end(), "done " + name);
    ASSERT_NE(started, events.end()) << name;
    EXPECT_LT(started, ended) << name;
  }
  EXPECT_EQ(events[1].rfind("start ", 0), 0u) << events[1];
  const TrainingJobSummary* best = *result->BestTrainingJob();
  ASSERT_NE(best->model, nullptr);
  EXPECT_EQ(best->model->final_metrics.at("validation:rmse"), *best->objective_value);
  EXPECT_NE(best->model->Series("train:rmse"), nullptr);

  TrialFunction scripted = [](const Hyperparameters&, TrialHooks&) -> Result<TrialOutcome> {
    return TrialOutcome{1.0, nullptr};
  };
  auto refused = RunTuningJob(*executor_, config, scripted);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("local executor only"));
}

TEST_F(TrialActorTest, JobsBeyondTheExecutorsCpusWaitAndReuseTheActorOfTheJobBefore) {
  TuningJobConfig config = ThreeJobs("one-at-a-time", 3);
  config.cpus_per_job = 2;  // the executor has 2 CPUs: one job at a time
  std::vector<std::string> events;
  TuningJobHooks hooks;
  hooks.on_job_started = [&events](const TrainingJobSummary&) { events.push_back("start"); };
  hooks.on_job_done = [&events](const TrainingJobSummary&) { events.push_back("done"); };
  TrainOptions options = BaseOptions();
  auto result = RunTuningJob(
      *executor_, config,
      MakeXGBoostTrial(train_, {{"train", train_}, {"validation", validation_}}, options,
                       "validation:rmse"),
      hooks);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(events, (std::vector<std::string>{"start", "done", "start", "done", "start", "done"}));
  // Jobs 2 and 3 trained on job 1's actor (and DMatrices): each is the model Train gives.
  ASSERT_EQ(result->summaries.size(), 3u);
  std::vector<EvalSet> evals = {{"train", &train_}, {"validation", &validation_}};
  for (const TrainingJobSummary& summary : result->summaries) {
    TrainOptions alone = options;
    for (const auto& [name, value] : summary.hyperparameters) alone.hyperparameters[name] = value;
    auto trained = Train(train_, evals, alone);
    ASSERT_TRUE(trained.ok()) << trained.status();
    EXPECT_EQ(*summary.objective_value, trained->final_metrics.at("validation:rmse"))
        << summary.name;
  }
}

TEST_F(TrialActorTest, StopEndsTheJobWithCancelledTrials) {
  TuningJobConfig config;
  config.name = "stopped-job";
  config.space = *SearchSpace::Make({ParameterRange::Integer("max_depth", 1, 6)});
  config.objective_metric = "validation:rmse";
  config.max_jobs = 6;
  config.max_parallel_jobs = 2;
  TrainOptions options = BaseOptions();
  options.hyperparameters["num_round"] = "100000";
  TuningJobHooks hooks;
  int polls = 0;
  hooks.stop = [&polls] { return ++polls > 2; };
  auto result = RunTuningJob(
      *executor_, config,
      MakeXGBoostTrial(train_, {{"validation", validation_}}, options, "validation:rmse"), hooks);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("all 2 training jobs failed"));
  EXPECT_THAT(result.status().message(), HasSubstr("Cancelled"));
}

}  // namespace
}  // namespace raypipe::ml::tuning
