#include "ml/tuning/tuning_job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <numbers>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compute/local_executor.h"
#include "ml/kernels.h"
#include "ml/test_util.h"
#include "ml/tuning/gaussian_process.h"

namespace raypipe::ml::tuning {
namespace {

using ::testing::HasSubstr;

double Number(const Hyperparameters& values, const std::string& name) {
  return std::stod(values.at(name));
}

// Branin (global minimum 0.397887) plus an integer and a categorical term whose best values
// are depth = 5 and kind = "b".
double ScriptedLoss(const Hyperparameters& values) {
  double x = Number(values, "x");
  double y = Number(values, "y");
  double pi = std::numbers::pi;
  double branin = std::pow(y - 5.1 / (4 * pi * pi) * x * x + 5 / pi * x - 6, 2) +
                  10 * (1 - 1 / (8 * pi)) * std::cos(x) + 10;
  double depth = Number(values, "depth");
  const std::string& kind = values.at("kind");
  double kind_term = kind == "b" ? 0.0 : kind == "a" ? 3.0 : 6.0;
  return branin + 0.5 * (depth - 5) * (depth - 5) + kind_term;
}

SearchSpace ScriptedSpace() {
  return *SearchSpace::Make({ParameterRange::Continuous("x", -5, 10),
                             ParameterRange::Continuous("y", 0, 15),
                             ParameterRange::Integer("depth", 1, 8),
                             ParameterRange::Categorical("kind", {"a", "b", "c"})});
}

TrialFunction ScriptedTrial() {
  return [](const Hyperparameters& values, TrialHooks&) -> Result<TrialOutcome> {
    TrialOutcome outcome;
    outcome.objective = ScriptedLoss(values);
    return outcome;
  };
}

class TuningJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterMlKernels(kernels_).ok());
    compute::LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = compute::Resources{4, 0};
    auto executor = compute::LocalExecutor::Open(options);
    ASSERT_TRUE(executor.ok());
    executor_ = std::move(*executor);
    config_.name = "job";
    config_.space = ScriptedSpace();
    config_.objective_metric = "loss";
  }

  double BestOf(StrategyType strategy, uint64_t seed, int jobs) {
    TuningJobConfig config = config_;
    config.strategy = strategy;
    config.random_seed = seed;
    config.max_jobs = jobs;
    auto result = RunTuningJob(*executor_, config, ScriptedTrial());
    EXPECT_TRUE(result.ok()) << result.status();
    return *(*result->BestTrainingJob())->objective_value;
  }

  compute::KernelRegistry kernels_;
  std::unique_ptr<compute::Executor> executor_;
  TuningJobConfig config_;
};

TEST_F(TuningJobTest, BayesianBeatsRandomAtEqualBudget) {
  std::vector<double> bayesian;
  std::vector<double> random;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    bayesian.push_back(BestOf(StrategyType::kBayesian, seed, 20));
    random.push_back(BestOf(StrategyType::kRandom, seed, 20));
  }
  std::sort(bayesian.begin(), bayesian.end());
  std::sort(random.begin(), random.end());
  EXPECT_LT(bayesian[2], random[2]) << "median best: Bayesian " << bayesian[2] << ", Random "
                                    << random[2];
}

TEST_F(TuningJobTest, ResultsAreSortedAndNamed) {
  config_.strategy = StrategyType::kRandom;
  config_.max_jobs = 8;
  config_.max_parallel_jobs = 3;
  auto result = RunTuningJob(*executor_, config_, ScriptedTrial());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->summaries.size(), 8u);
  EXPECT_EQ(result->completed, 8);
  std::set<int> indexes;
  for (size_t rank = 0; rank < result->summaries.size(); ++rank) {
    const TrainingJobSummary& summary = result->summaries[rank];
    indexes.insert(summary.index);
    EXPECT_THAT(summary.name, ::testing::MatchesRegex("job-00[1-8]-[0-9a-f]{8}"));
    EXPECT_DOUBLE_EQ(*summary.objective_value, ScriptedLoss(summary.hyperparameters));
    if (rank > 0) {
      EXPECT_LE(*result->summaries[rank - 1].objective_value, *summary.objective_value);
    }
  }
  EXPECT_EQ(indexes.size(), 8u);
  EXPECT_EQ((*result->BestTrainingJob())->name, result->summaries[0].name);

  config_.objective_type = ObjectiveType::kMaximize;
  auto maximized = RunTuningJob(*executor_, config_, ScriptedTrial());
  ASSERT_TRUE(maximized.ok());
  EXPECT_GE(*maximized->summaries[0].objective_value, *maximized->summaries[7].objective_value);
}

TEST_F(TuningJobTest, SameSeedSameJobs) {
  config_.max_jobs = 12;
  auto first = RunTuningJob(*executor_, config_, ScriptedTrial());
  auto second = RunTuningJob(*executor_, config_, ScriptedTrial());
  ASSERT_TRUE(first.ok() && second.ok());
  for (size_t rank = 0; rank < 12; ++rank) {
    EXPECT_EQ(first->summaries[rank].name, second->summaries[rank].name);
  }
}

TEST_F(TuningJobTest, RespectsMaxParallelJobs) {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  TrialFunction trial = [&](const Hyperparameters& values, TrialHooks&) -> Result<TrialOutcome> {
    int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --running;
    return TrialOutcome{ScriptedLoss(values), nullptr};
  };
  config_.max_jobs = 12;
  config_.max_parallel_jobs = 2;
  config_.cpus_per_job = 0.5;
  auto result = RunTuningJob(*executor_, config_, trial);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->summaries.size(), 12u);
  EXPECT_LE(peak.load(), 2);
}

TEST_F(TuningJobTest, GridRunsEachPointOnce) {
  config_.space = *SearchSpace::Make({ParameterRange::Categorical("kind", {"a", "b", "c"}),
                                      ParameterRange::Integer("depth", 4, 5)});
  config_.strategy = StrategyType::kGrid;
  config_.max_jobs = 50;
  config_.max_parallel_jobs = 4;
  TrialFunction trial = [](const Hyperparameters& values, TrialHooks&) -> Result<TrialOutcome> {
    Hyperparameters full = values;
    full["x"] = "3.14159";
    full["y"] = "2.275";
    return TrialOutcome{ScriptedLoss(full), nullptr};
  };
  auto result = RunTuningJob(*executor_, config_, trial);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->summaries.size(), 6u);
  const TrainingJobSummary* best = *result->BestTrainingJob();
  EXPECT_EQ(best->hyperparameters.at("kind"), "b");
  EXPECT_EQ(best->hyperparameters.at("depth"), "5");
}

TEST_F(TuningJobTest, FailedJobsSortLastAndAllFailingIsAnError) {
  TrialFunction sometimes = [](const Hyperparameters& values, TrialHooks&) -> Result<TrialOutcome> {
    if (values.at("kind") == "c") return InvalidArgumentError("kind c is not supported");
    return TrialOutcome{ScriptedLoss(values), nullptr};
  };
  config_.strategy = StrategyType::kRandom;
  config_.max_jobs = 15;
  auto result = RunTuningJob(*executor_, config_, sometimes);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_GT(result->failed, 0);
  EXPECT_EQ(result->completed + result->failed, 15);
  const TrainingJobSummary& last = result->summaries.back();
  EXPECT_EQ(last.status, TrainingJobStatus::kFailed);
  EXPECT_THAT(last.failure_reason, HasSubstr("kind c"));
  EXPECT_FALSE(last.objective_value.has_value());

  TrialFunction never = [](const Hyperparameters&, TrialHooks&) -> Result<TrialOutcome> {
    return InternalError("broken trainer");
  };
  auto failed = RunTuningJob(*executor_, config_, never);
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().message(), HasSubstr("broken trainer"));
}

TEST_F(TuningJobTest, RejectsBadConfiguration) {
  TuningJobConfig config = config_;
  config.max_jobs = 0;
  EXPECT_THAT(RunTuningJob(*executor_, config, ScriptedTrial()).status().message(),
              HasSubstr("MaxNumberOfTrainingJobs"));
  config = config_;
  config.max_parallel_jobs = 0;
  EXPECT_THAT(RunTuningJob(*executor_, config, ScriptedTrial()).status().message(),
              HasSubstr("MaxParallelTrainingJobs"));
  config = config_;
  config.space = SearchSpace();
  EXPECT_EQ(RunTuningJob(*executor_, config, ScriptedTrial()).status().code(),
            StatusCode::kInvalidArgument);
  config = config_;
  config.strategy = StrategyType::kHyperband;
  config.min_resource = 10;
  config.max_resource = 5;
  EXPECT_THAT(RunTuningJob(*executor_, config, ScriptedTrial()).status().message(),
              HasSubstr("MinResource"));
  EXPECT_EQ(ParseObjectiveType("maximize").value(), ObjectiveType::kMaximize);
  EXPECT_FALSE(ParseObjectiveType("best").ok());
  EXPECT_EQ(ParseStrategyType("hyperband").value(), StrategyType::kHyperband);
  EXPECT_FALSE(ParseStrategyType("genetic").ok());
  EXPECT_EQ(ParseEarlyStoppingType("Auto").value(), EarlyStoppingType::kAuto);
}

// A trial whose loss falls over `rounds` rounds towards its final value, reporting each
// round and stopping when told.
TrialFunction CurveTrial(int rounds, std::atomic<int>* rounds_run) {
  return [rounds, rounds_run](const Hyperparameters& values,
                              TrialHooks& hooks) -> Result<TrialOutcome> {
    double final_loss = ScriptedLoss(values);
    if (values.contains("num_round")) {
      EXPECT_EQ(values.at("num_round"), std::to_string(rounds));
    }
    double loss = 0;
    for (int round = 0; round < rounds; ++round) {
      loss = final_loss * (1 + 5.0 / (round + 1));
      ++*rounds_run;
      if (!hooks.report(round, loss)) break;
    }
    return TrialOutcome{loss, nullptr};
  };
}

TEST_F(TuningJobTest, MedianRuleStopsPoorTrials) {
  std::atomic<int> rounds_run{0};
  config_.strategy = StrategyType::kRandom;
  config_.max_jobs = 12;
  config_.early_stopping = EarlyStoppingType::kOff;
  auto off = RunTuningJob(*executor_, config_, CurveTrial(30, &rounds_run));
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->stopped, 0);
  EXPECT_EQ(rounds_run.load(), 12 * 30);

  rounds_run = 0;
  config_.early_stopping = EarlyStoppingType::kAuto;
  auto on = RunTuningJob(*executor_, config_, CurveTrial(30, &rounds_run));
  ASSERT_TRUE(on.ok());
  EXPECT_GT(on->stopped, 0);
  EXPECT_LT(rounds_run.load(), 12 * 30);
  // The best job is never one the rule stopped before it could win: same best as without.
  EXPECT_EQ((*on->BestTrainingJob())->name, (*off->BestTrainingJob())->name);
  for (const TrainingJobSummary& summary : on->summaries) {
    if (summary.status == TrainingJobStatus::kStopped) {
      EXPECT_TRUE(summary.objective_value.has_value());
    }
  }
}

TEST_F(TuningJobTest, HyperbandHalvesAtRungs) {
  std::atomic<int> rounds_run{0};
  config_.strategy = StrategyType::kHyperband;
  config_.max_jobs = 12;
  config_.min_resource = 1;
  config_.max_resource = 27;
  auto result = RunTuningJob(*executor_, config_, CurveTrial(27, &rounds_run));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->stopped, 0);
  EXPECT_GE(result->completed, 1);
  EXPECT_LT(rounds_run.load(), 12 * 27 / 2);
}

TEST_F(TuningJobTest, WarmStartSeedsTheSearch) {
  config_.max_jobs = 20;
  config_.random_seed = 9;
  auto parent = RunTuningJob(*executor_, config_, ScriptedTrial());
  ASSERT_TRUE(parent.ok());
  double parent_best = *(*parent->BestTrainingJob())->objective_value;

  TuningJobConfig child = config_;
  child.max_jobs = 3;
  child.random_seed = 10;
  child.warm_start = parent->summaries;
  TrainingJobSummary foreign;
  foreign.name = "foreign";
  foreign.hyperparameters = {{"other", "1"}};
  foreign.objective_value = 0.0;
  child.warm_start.push_back(foreign);  // does not fit the space: skipped
  auto warm = RunTuningJob(*executor_, child, ScriptedTrial());
  ASSERT_TRUE(warm.ok());
  child.warm_start.clear();
  auto cold = RunTuningJob(*executor_, child, ScriptedTrial());
  ASSERT_TRUE(cold.ok());
  double warm_best = *(*warm->BestTrainingJob())->objective_value;
  double cold_best = *(*cold->BestTrainingJob())->objective_value;
  // Three GP-guided proposals near the parent's best beat three random ones.
  EXPECT_LT(warm_best, cold_best);
  EXPECT_GT(parent_best, 0.0);
}

TEST_F(TuningJobTest, TunesXGBoost) {
  data::Table train = testing::RegressionTable(1500, 51);
  data::Table validation = testing::RegressionTable(500, 52);
  TrainOptions base;
  base.target = "y";
  base.hyperparameters = {{"num_round", "30"}, {"eval_metric", "mae,rmse"}, {"seed", "47"},
                          {"tree_method", "approx"}, {"objective", "reg:squarederror"}};
  XGBoostTrial trial =
      MakeXGBoostTrial(train, {{"validation", validation}}, base, "validation:rmse");
  config_.space = *SearchSpace::Make({ParameterRange::Integer("max_depth", 1, 8),
                                      ParameterRange::Continuous("eta", 0.2, 1)});
  config_.objective_metric = "validation:rmse";
  config_.max_jobs = 4;
  config_.max_parallel_jobs = 4;
  config_.cpus_per_job = 1;
  auto result = RunTuningJob(*executor_, config_, trial);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->completed, 4);
  const TrainingJobSummary* best = *result->BestTrainingJob();
  ASSERT_NE(best->model, nullptr);
  EXPECT_EQ(best->model->final_metrics.at("validation:rmse"), *best->objective_value);
  EXPECT_EQ(best->model->rounds, 30);
  EXPECT_TRUE(best->hyperparameters.contains("max_depth"));
  EXPECT_FALSE(best->hyperparameters.contains("seed"));  // static ones are not listed

  XGBoostTrial wrong_metric = MakeXGBoostTrial(train, {{"validation", validation}}, base, "validation:auc");
  config_.max_jobs = 1;
  auto failed = RunTuningJob(*executor_, config_, wrong_metric);
  EXPECT_THAT(failed.status().message(), HasSubstr("validation:auc"));
}

TEST(GaussianProcessTest, InterpolatesAndIsUnsureFarAway) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int index = 0; index <= 10; ++index) {
    double position = index / 20.0;  // [0, 0.5]
    x.push_back({position});
    y.push_back(std::sin(6 * position));
  }
  auto model = GaussianProcess::Fit(x, y);
  ASSERT_TRUE(model.ok()) << model.status();
  GaussianProcess::Prediction near = model->Predict({0.225});
  EXPECT_NEAR(near.mean, std::sin(6 * 0.225), 0.05);
  GaussianProcess::Prediction far = model->Predict({1.0});
  EXPECT_GT(far.stddev, 5 * near.stddev);
  EXPECT_FALSE(GaussianProcess::Fit({}, {}).ok());
  EXPECT_FALSE(GaussianProcess::Fit({{0.0}}, {NAN}).ok());
  EXPECT_GT(ExpectedImprovement(0.0, 1.0, 0.0, 0.0), 0.39);
  EXPECT_NEAR(ExpectedImprovement(5.0, 0.0, 1.0, 0.0), 0.0, 1e-12);
  EXPECT_NEAR(ExpectedImprovement(0.0, 0.0, 1.0, 0.0), 1.0, 1e-12);
}

}  // namespace
}  // namespace raypipe::ml::tuning
