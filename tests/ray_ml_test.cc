// Distributed XGBoost and tuning trials across processes (issue 7, items 4, 6, 7): the worker's
// job and result through their codecs (in-process, CodecCheck::kRoundTrip), then on a real Ray
// cluster of two nodes on this machine that the binary starts itself (scripts/ray-cluster start
// and add-node), opened as the commands open it (cli::OpenExecutorFor): W = 2 XGBoost actors in
// Ray's worker processes joined by the driver's tracker, rank 0 returning the model; the SPREAD
// placement group putting them on different nodes; a worker process SIGKILLed mid-training and
// the group restarted from its checkpoint; and the refusal of tuning trials, which cannot leave
// the process.

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/executor_options.h"
#include "ray_test_cluster.h"
#include "compute/local_executor.h"
#include "core/json.h"
#include "ml/dmatrix.h"
#include "ml/distributed.h"
#include "ml/kernels.h"
#include "ml/metrics.h"
#include "ml/test_util.h"
#include "ml/tuning/tuning_job.h"

// Ray's runtime keeps threads and caches alive until exit; they are not raypipe's leaks. Nor is
// XGBoost 3.2's tracker state, kept when a failed group's tracker is freed before its Run has
// returned (the killed-worker restart; see src/ml/distributed_test.cc).
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libray_api.so\nleak:libraypipe_ray_bridge.so\n"
         "leak:XGTrackerCreate\nleak:xgboost::collective::RabitTracker::Run\n";
}

namespace raypipe {
namespace {

using ::testing::HasSubstr;

using testing_support::Shell;

class RayMlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string error = cluster_.Start(2);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_TRUE(testing_support::AddTestRayNode(cluster_.dir(), 2, &node_dir_)) << node_dir_;
  }

  static void TearDownTestSuite() {
    executor_.reset();
    cluster_.Stop();
  }

  // The one Ray executor of this process, opened as `train` and `tune` open it.
  static compute::Executor& RayExecutor() {
    if (executor_ == nullptr) {
      static compute::KernelRegistry kernels;
      EXPECT_TRUE(ml::RegisterMlKernels(kernels).ok());
      cli::GlobalOptions options;
      options.executor = cli::ExecutorKind::kRay;
      options.ray_address = cluster_.address();
      options.ray_cpus = 4;  // two nodes of 2 CPUs
      static std::ostringstream sink;
      auto opened = cli::OpenExecutorFor(
          cli::CommandContext(options, sink, sink, "raypipe", "raypipe test"), kernels);
      EXPECT_TRUE(opened.ok()) << opened.status();
      if (opened.ok()) executor_ = std::move(*opened);
    }
    return *executor_;
  }

  void SetUp() override {
    train_ = ml::testing::RegressionTable(3000, 41);
    validation_ = ml::testing::RegressionTable(800, 42);
    test_ = ml::testing::RegressionTable(800, 43);
    options_.target = "y";
    options_.nthread = 1;
    options_.hyperparameters = {{"max_depth", "5"}, {"eta", "0.2"}, {"eval_metric", "rmse"},
                                {"num_round", "30"}, {"tree_method", "hist"}, {"seed", "3"}};
    distributed_.num_workers = 2;
    distributed_.cpus_per_worker = 1;
    distributed_.collective_timeout = std::chrono::seconds(60);
  }

  // A fresh checkpoint directory for each training (a finished run's checkpoint would be
  // resumed by the next).
  ml::DistributedOptions Distributed() {
    ml::DistributedOptions options = distributed_;
    options.checkpoint_dir = cluster_.dir() + "/checkpoints-" + std::to_string(++runs_);
    return options;
  }

  double TestRmse(const ml::TrainResult& result) {
    auto matrix = ml::DMatrix::FromTable(test_, result.features, "");
    EXPECT_TRUE(matrix.ok()) << matrix.status();
    std::vector<float> predictions = *result.booster->Predict(**matrix);
    std::span<const double> labels = (*test_.ColumnByName("y"))->float64s();
    return *ml::RootMeanSquaredError(std::vector<double>(labels.begin(), labels.end()),
                                     predictions);
  }

  // Distributed training on a LocalExecutor; with `round_trip`, every value crossing into or
  // out of a worker is serialized and deserialized with the codecs Ray uses.
  Result<ml::TrainResult> TrainLocally(bool round_trip) {
    compute::KernelRegistry kernels;
    RETURN_IF_ERROR(ml::RegisterMlKernels(kernels));
    compute::CodecRegistry codecs = compute::CodecRegistry::WithBuiltins();
    RETURN_IF_ERROR(ml::RegisterMlCodecs(codecs));
    compute::LocalExecutorOptions local;
    local.registry = &kernels;
    local.capacity = compute::Resources{2, 0};
    local.codecs = &codecs;
    local.codec_check = round_trip ? compute::CodecCheck::kRoundTrip : compute::CodecCheck::kNone;
    ASSIGN_OR_RETURN(auto executor, compute::LocalExecutor::Open(local));
    std::vector<ml::EvalSet> evals = {{"validation", &validation_}};
    return ml::TrainDistributed(*executor, train_, evals, options_, Distributed());
  }

  // Which node of the cluster a worker's process ran on: the temp dir of the raylet that
  // started it (its parent, as `worker-<rank>.json` reports), or why that is unknown.
  static std::string NodeOf(const nlohmann::json& report) {
    int64_t parent = report.value("parent_pid", int64_t{0});
    std::ifstream file("/proc/" + std::to_string(parent) + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (cmdline.find("raylet") == std::string::npos) {
      return "parent " + std::to_string(parent) + " is not a raylet";
    }
    if (cmdline.find(node_dir_ + "/") != std::string::npos) return node_dir_;
    if (cmdline.find(cluster_.dir() + "/ray/") != std::string::npos) return cluster_.dir() + "/ray";
    return "a raylet of another cluster";
  }

  static inline testing_support::SuiteRayCluster cluster_;
  static inline std::string node_dir_;
  static std::unique_ptr<compute::Executor> executor_;
  static int runs_;
  data::Table train_;
  data::Table validation_;
  data::Table test_;
  ml::TrainOptions options_;
  ml::DistributedOptions distributed_;
};

std::unique_ptr<compute::Executor> RayMlTest::executor_;
int RayMlTest::runs_ = 0;

TEST_F(RayMlTest, WorkerJobAndResultSurviveTheirCodecs) {
  auto in_memory = TrainLocally(false);
  ASSERT_TRUE(in_memory.ok()) << in_memory.status();
  auto serialized = TrainLocally(true);
  ASSERT_TRUE(serialized.ok()) << serialized.status();
  EXPECT_EQ(serialized->rounds, in_memory->rounds);
  EXPECT_EQ(serialized->features, in_memory->features);
  EXPECT_EQ(serialized->best_iteration, in_memory->best_iteration);
  ASSERT_NE(serialized->Series("validation:rmse"), nullptr);
  EXPECT_EQ(serialized->Series("validation:rmse")->values,
            in_memory->Series("validation:rmse")->values);
  EXPECT_DOUBLE_EQ(TestRmse(*serialized), TestRmse(*in_memory));
}

TEST_F(RayMlTest, DistributedXGBoostOnRayActorsMatchesTheLocalExecutor) {
  auto local = TrainLocally(false);
  ASSERT_TRUE(local.ok()) << local.status();
  compute::Executor& ray = RayExecutor();
  std::vector<ml::EvalSet> evals = {{"validation", &validation_}};
  ml::DistributedStats stats;
  auto on_ray = ml::TrainDistributed(ray, train_, evals, options_, Distributed(), &stats);
  ASSERT_TRUE(on_ray.ok()) << on_ray.status();
  EXPECT_EQ(stats.attempts, 1);
  EXPECT_EQ(on_ray->rounds, 30);
  ASSERT_NE(on_ray->Series("validation:rmse"), nullptr);
  EXPECT_EQ(on_ray->Series("validation:rmse")->values.size(), 30u);
  // The same shards, the same collective: the same model up to float summation order.
  const double local_rmse = TestRmse(*local);
  const double ray_rmse = TestRmse(*on_ray);
  EXPECT_NEAR(ray_rmse, local_rmse, 0.02 * local_rmse);
}

TEST_F(RayMlTest, DistributedGroupRestartsFromItsCheckpointOnRay) {
  compute::Executor& ray = RayExecutor();
  std::vector<ml::EvalSet> evals = {{"validation", &validation_}};
  distributed_.checkpoint_every = 5;
  distributed_.fail_rank = 1;
  distributed_.fail_at_round = 12;
  distributed_.fail_attempts = 1;
  ml::DistributedStats stats;
  auto result = ml::TrainDistributed(ray, train_, evals, options_, Distributed(), &stats);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_EQ(stats.resumed_from_round, 10);
  EXPECT_EQ(result->Series("validation:rmse")->values.size(), 30u);
}

TEST_F(RayMlTest, SpreadPutsTheWorkersOnDifferentNodes) {
  compute::Executor& ray = RayExecutor();
  std::vector<ml::EvalSet> evals = {{"validation", &validation_}};
  ml::DistributedOptions distributed = Distributed();
  ml::DistributedStats stats;
  auto result = ml::TrainDistributed(ray, train_, evals, options_, distributed, &stats);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rounds, 30);
  std::set<std::string> nodes;
  for (int rank = 0; rank < 2; ++rank) {
    auto report = core::ReadJsonFile(
        (distributed.checkpoint_dir / ("worker-" + std::to_string(rank) + ".json")).string());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_NE((*report)["pid"].get<int64_t>(), static_cast<int64_t>(getpid()));
    nodes.insert(NodeOf(*report));
  }
  EXPECT_THAT(nodes, ::testing::UnorderedElementsAre(cluster_.dir() + "/ray", node_dir_));
}

TEST_F(RayMlTest, PlacementGroupsOnRayAreGangsOverTheNodes) {
  compute::Executor& ray = RayExecutor();
  compute::PlacementGroupOptions options;
  options.bundles.assign(2, compute::Resources{1, 0});
  options.strategy = compute::PlacementStrategy::kStrictSpread;
  options.name = "two-nodes";
  auto placed = ray.CreatePlacementGroup(options);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_TRUE(ray.WaitPlacementGroup(*placed, std::chrono::seconds(60)).ok());
  EXPECT_TRUE(ray.RemovePlacementGroup(*placed).ok());

  // Three bundles that must sit on three nodes: the two-node cluster never places them.
  options.bundles.assign(3, compute::Resources{0.5, 0});
  options.name = "three-nodes";
  auto pending = ray.CreatePlacementGroup(options);
  ASSERT_TRUE(pending.ok()) << pending.status();
  Status waited = ray.WaitPlacementGroup(*pending, std::chrono::seconds(2));
  EXPECT_EQ(waited.code(), StatusCode::kDeadlineExceeded) << waited;
  EXPECT_THAT(waited.message(), HasSubstr("STRICT_SPREAD over more bundles than nodes"));
  EXPECT_TRUE(ray.RemovePlacementGroup(*pending).ok());

  // More than the whole cluster is refused at once.
  options.bundles.assign(5, compute::Resources{1, 0});
  options.strategy = compute::PlacementStrategy::kSpread;
  EXPECT_EQ(ray.CreatePlacementGroup(options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RayMlTest, KilledWorkerProcessRestartsTheGroupFromItsCheckpoint) {
  compute::Executor& ray = RayExecutor();
  std::vector<ml::EvalSet> evals = {{"validation", &validation_}};
  ml::DistributedOptions distributed = Distributed();
  distributed.checkpoint_every = 5;
  distributed.round_delay = std::chrono::milliseconds(100);  // time to kill one mid-training
  options_.hyperparameters["num_round"] = "60";
  const std::filesystem::path dir = distributed.checkpoint_dir;
  ml::DistributedStats stats;
  std::optional<Result<ml::TrainResult>> result;
  std::thread training([&] {
    result = ml::TrainDistributed(ray, train_, evals, options_, distributed, &stats);
  });
  // Once rank 0 has checkpointed 10 rounds, SIGKILL the Ray worker process of rank 1.
  int64_t victim = 0;
  for (int poll = 0; poll < 1200 && victim == 0; ++poll) {  // 2 minutes at most
    auto history = core::ReadJsonFile((dir / "checkpoint-history.json").string());
    auto report = core::ReadJsonFile((dir / "worker-1.json").string());
    if (history.ok() && history->value("rounds", 0) >= 10 && report.ok()) {
      victim = report->value("pid", int64_t{0});
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  bool killed = victim > 0 && victim != getpid() && kill(static_cast<pid_t>(victim), SIGKILL) == 0;
  training.join();
  ASSERT_TRUE(killed) << "no worker process to kill (pid " << victim << ")";
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_GE(stats.attempts, 2);
  EXPECT_GE(stats.resumed_from_round, 10);
  EXPECT_EQ((*result)->rounds, 60);
  EXPECT_EQ((*result)->Series("validation:rmse")->values.size(), 60u);
  EXPECT_EQ(*(*result)->booster->BoostedRounds(), 60);
}

TEST_F(RayMlTest, XGBoostTuningTrialsRunOnRayAndScriptedTrialsAreRefused) {
  compute::Executor& ray = RayExecutor();
  ml::tuning::TuningJobConfig config;
  config.max_jobs = 2;
  config.max_parallel_jobs = 2;
  config.cpus_per_job = 0.5;
  auto space = ml::tuning::SearchSpace::FromJson(nlohmann::json::parse(
      R"({"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]})"));
  ASSERT_TRUE(space.ok()) << space.status();
  config.space = *space;
  auto trial = ml::tuning::MakeXGBoostTrial(train_, {{"validation", validation_}}, options_,
                                            "validation:rmse");
  auto result = ml::tuning::RunTuningJob(ray, config, trial);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->completed, 2);
  auto best = result->BestTrainingJob();
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_NE((*best)->model, nullptr);
  EXPECT_GT((*best)->objective_value.value_or(0), 0);

  ml::tuning::TrialFunction scripted = [](const ml::Hyperparameters&,
                                          ml::tuning::TrialHooks&) {
    return Result<ml::tuning::TrialOutcome>(ml::tuning::TrialOutcome{1.0, nullptr});
  };
  auto refused = ml::tuning::RunTuningJob(ray, config, scripted);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("runs on the local executor only"));
}

}  // namespace
}  // namespace raypipe
