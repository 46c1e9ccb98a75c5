// The ml benchmark driver bench/run uses (section "ml"), next to the Python peers
// bench/peers/train.py (xgboost) and bench/peers/tune.py (optuna TPE).
//
//   ml_bench generate ROWS SEED OUT.csv
//     the housing data set (data/housing.h), for runs outside bench/run
//   ml_bench split IN.csv OUT_DIR [--seed S]
//     shuffles (seed), splits 0.6 / 0.2 / 0.2 and writes train.csv, validation.csv, test.csv
//   ml_bench train TRAIN.csv VALIDATION.csv [--reps R] [--rounds N] [--threads T]
//     times DMatrix construction + training (the housing parameters), prints
//     "median_s=<s> reps=<R> threads=<T> rmse=<validation rmse>"
//   ml_bench tune TRAIN.csv VALIDATION.csv --strategy Bayesian|Random [--trials 20]
//       [--seeds 5] [--rounds N] [--parallel P]
//     the housing search space; prints "median_best=<validation rmse> seeds=<S> trials=<N>"
//
// Data: the housing CSV (PRICE the target); features standardized with a scaler fitted on
// the training split, as the reference pipeline does.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "compute/local_executor.h"
#include "core/huge_pages.h"
#include "data/csv.h"
#include "data/housing.h"
#include "data/ops.h"
#include "data/scaler.h"
#include "ml/kernels.h"
#include "ml/train.h"
#include "ml/tuning/tuning_job.h"

namespace {

using namespace raypipe;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "ml_bench: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T OrDie(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.status().ToString());
  return std::move(result).value();
}

std::string Flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int index = 1; index + 1 < argc; ++index) {
    if (std::strcmp(argv[index], name) == 0) return argv[index + 1];
  }
  return fallback;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t half = values.size() / 2;
  return values.size() % 2 == 1 ? values[half] : (values[half - 1] + values[half]) / 2;
}

// Reads both splits and standardizes the features with the training split's scaler.
std::pair<data::Table, data::Table> ReadSplits(const char* train_path, const char* validation_path) {
  data::Table train = OrDie(data::ReadCsvFile(train_path), train_path);
  data::Table validation = OrDie(data::ReadCsvFile(validation_path), validation_path);
  std::vector<std::string> features;
  for (const std::string& name : train.ColumnNames()) {
    if (name != "PRICE") features.push_back(name);
  }
  data::StandardScaler scaler;
  if (Status status = scaler.Fit(train, features); !status.ok()) Die(status.ToString());
  return {OrDie(scaler.Transform(train), "scaling"), OrDie(scaler.Transform(validation), "scaling")};
}

ml::Hyperparameters HousingStatic(int rounds) {
  return {{"tree_method", "approx"}, {"objective", "reg:squarederror"},
          {"eval_metric", "rmse"},   {"seed", "47"},
          {"num_round", std::to_string(rounds)}};
}

int Generate(int argc, char** argv) {
  if (argc < 5) Die("usage: ml_bench generate ROWS SEED OUT.csv");
  data::HousingOptions options;
  options.rows = std::atoll(argv[2]);
  options.seed = std::strtoull(argv[3], nullptr, 10);
  data::Table table = OrDie(data::GenerateHousing(options), "generate");
  if (Status status = data::WriteCsvFile(table, argv[4]); !status.ok()) Die(status.ToString());
  return 0;
}

int Split(int argc, char** argv) {
  if (argc < 4) Die("usage: ml_bench split IN.csv OUT_DIR [--seed S]");
  uint64_t seed = std::strtoull(Flag(argc, argv, "--seed", "42").c_str(), nullptr, 10);
  data::Table table = OrDie(data::ReadCsvFile(argv[2]), argv[2]);
  data::Table shuffled = data::RandomShuffle(table, seed);
  std::vector<data::Table> splits =
      OrDie(data::SplitProportionately(shuffled, {0.6, 0.2, 0.2}, data::SplitMode::kExact),
            "split");
  const char* names[] = {"train.csv", "validation.csv", "test.csv"};
  for (size_t index = 0; index < 3; ++index) {
    std::string path = std::string(argv[3]) + "/" + names[index];
    if (Status status = data::WriteCsvFile(splits[index], path); !status.ok()) {
      Die(status.ToString());
    }
  }
  return 0;
}

int TrainCommand(int argc, char** argv) {
  if (argc < 4) Die("usage: ml_bench train TRAIN.csv VALIDATION.csv [--reps R] [--rounds N]");
  int reps = std::atoi(Flag(argc, argv, "--reps", "3").c_str());
  int rounds = std::atoi(Flag(argc, argv, "--rounds", "100").c_str());
  int threads = std::atoi(Flag(argc, argv, "--threads", "0").c_str());
  auto [train, validation] = ReadSplits(argv[2], argv[3]);
  ml::TrainOptions options;
  options.target = "PRICE";
  options.nthread = threads;
  options.hyperparameters = HousingStatic(rounds);
  options.hyperparameters["max_depth"] = "6";
  options.hyperparameters["eta"] = "0.3";
  std::vector<ml::EvalSet> evals = {{"validation", &validation}};
  std::vector<double> times;
  double rmse = 0;
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 is the warm-up
    auto start = std::chrono::steady_clock::now();
    ml::TrainResult result = OrDie(ml::Train(train, evals, options), "training");
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rep > 0) times.push_back(seconds);
    rmse = result.final_metrics.at("validation:rmse");
  }
  std::printf("median_s=%.6f reps=%d threads=%d rmse=%.6f\n", Median(times), reps, threads, rmse);
  return 0;
}

int TuneCommand(int argc, char** argv) {
  if (argc < 4) Die("usage: ml_bench tune TRAIN.csv VALIDATION.csv --strategy S");
  auto strategy = OrDie(ml::tuning::ParseStrategyType(Flag(argc, argv, "--strategy", "Bayesian")),
                        "--strategy");
  int trials = std::atoi(Flag(argc, argv, "--trials", "20").c_str());
  int seeds = std::atoi(Flag(argc, argv, "--seeds", "5").c_str());
  int rounds = std::atoi(Flag(argc, argv, "--rounds", "100").c_str());
  int parallel = std::atoi(Flag(argc, argv, "--parallel", "1").c_str());
  auto [train, validation] = ReadSplits(argv[2], argv[3]);

  compute::KernelRegistry kernels;
  if (Status status = ml::RegisterMlKernels(kernels); !status.ok()) Die(status.ToString());
  compute::LocalExecutorOptions executor_options;
  executor_options.registry = &kernels;
  auto executor = OrDie(compute::LocalExecutor::Open(executor_options), "executor");

  ml::TrainOptions options;
  options.target = "PRICE";
  options.hyperparameters = HousingStatic(rounds);
  ml::tuning::XGBoostTrial trial =
      ml::tuning::MakeXGBoostTrial(train, {{"validation", validation}}, options, "validation:rmse");
  std::vector<double> bests;
  for (int seed = 1; seed <= seeds; ++seed) {
    ml::tuning::TuningJobConfig config;
    config.name = "bench";
    config.strategy = strategy;
    config.random_seed = static_cast<uint64_t>(seed);
    config.max_jobs = trials;
    config.max_parallel_jobs = parallel;
    config.space = OrDie(ml::tuning::SearchSpace::Make({
                             ml::tuning::ParameterRange::Integer("max_depth", 1, 8),
                             ml::tuning::ParameterRange::Continuous("eta", 0.2, 1),
                             ml::tuning::ParameterRange::Integer("min_child_weight", 0, 120),
                             ml::tuning::ParameterRange::Continuous("subsample", 0.2, 1),
                         }),
                         "space");
    auto result = OrDie(ml::tuning::RunTuningJob(*executor, config, trial), "tuning");
    bests.push_back(*OrDie(result.BestTrainingJob(), "best")->objective_value);
  }
  std::printf("median_best=%.6f seeds=%d trials=%d\n", Median(bests), seeds, trials);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: ml_bench split|train|tune ...");
  std::string command = argv[1];
  // As `raypipe train` does (CommandSpec::huge_pages); RAYPIPE_MALLOC_HUGE_PAGES=0 measures
  // without.
  if (command == "train") core::ReexecWithMallocHugePages(argv);
  if (command == "generate") return Generate(argc, argv);
  if (command == "split") return Split(argc, argv);
  if (command == "train") return TrainCommand(argc, argv);
  if (command == "tune") return TuneCommand(argc, argv);
  Die("unknown command '" + command + "'");
}
