#include "ml/train.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ml/metrics.h"
#include "ml/test_util.h"

namespace raypipe::ml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = testing::RegressionTable(2000, 21);
    validation_ = testing::RegressionTable(500, 22);
    options_.target = "y";
    options_.nthread = 2;
    options_.hyperparameters = {{"max_depth", "4"}, {"eta", "0.3"}, {"eval_metric", "mae,rmse"},
                                {"num_round", "30"}, {"seed", "5"}};
  }

  std::vector<EvalSet> Evals() const { return {{"train", &train_}, {"validation", &validation_}}; }

  static std::vector<double> Labels(const data::Table& table) {
    std::span<const double> labels = (*table.ColumnByName("y"))->float64s();
    return {labels.begin(), labels.end()};
  }

  Result<std::vector<float>> PredictTable(const TrainResult& result, const data::Table& table) {
    ASSIGN_OR_RETURN(auto matrix, DMatrix::FromTable(table, result.features, ""));
    return result.booster->Predict(*matrix);
  }

  data::Table train_;
  data::Table validation_;
  TrainOptions options_;
};

TEST_F(TrainTest, RecordsPerRoundMetricsForEverySet) {
  std::vector<EvalSet> evals = Evals();
  auto result = Train(train_, evals, options_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rounds, 30);
  EXPECT_EQ(result->features, testing::RegressionFeatures());
  std::vector<std::string> names;
  for (const MetricSeries& series : result->history) {
    names.push_back(series.name);
    EXPECT_EQ(series.values.size(), 30u) << series.name;
  }
  EXPECT_THAT(names, ElementsAre("train:mae", "train:rmse", "validation:mae", "validation:rmse"));
  const MetricSeries* rmse = result->Series("validation:rmse");
  ASSERT_NE(rmse, nullptr);
  EXPECT_LT(rmse->values.back(), rmse->values.front() / 4);
  EXPECT_EQ(result->best_metric, "validation:rmse");
  EXPECT_FALSE(result->stopped_early);
  EXPECT_EQ(result->final_metrics.at("validation:rmse"), rmse->values.back());

  // XGBoost's reported RMSE is the RMSE of the model's predictions.
  auto predictions = PredictTable(*result, validation_);
  ASSERT_TRUE(predictions.ok());
  double ours = *RootMeanSquaredError(Labels(validation_), *predictions);
  EXPECT_NEAR(ours, rmse->values.back(), 1e-4 * ours);
}

TEST_F(TrainTest, EarlyStoppingKeepsTheBestRound) {
  options_.hyperparameters["eta"] = "0.9";
  options_.hyperparameters["max_depth"] = "8";
  options_.hyperparameters["num_round"] = "300";
  options_.hyperparameters["early_stopping_rounds"] = "5";
  std::vector<EvalSet> evals = {{"validation", &validation_}};
  auto result = Train(train_, evals, options_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->stopped_early);
  EXPECT_EQ(result->rounds, result->best_iteration + 1);
  const MetricSeries* rmse = result->Series("validation:rmse");
  EXPECT_EQ(rmse->values.size(), static_cast<size_t>(result->best_iteration + 6));
  EXPECT_EQ(result->final_metrics.at("validation:rmse"), result->best_score);
  EXPECT_EQ(*result->booster->GetAttr("best_iteration"), std::to_string(result->best_iteration));
  auto predictions = PredictTable(*result, validation_);
  double ours = *RootMeanSquaredError(Labels(validation_), *predictions);
  EXPECT_NEAR(ours, result->best_score, 1e-4 * ours);
}

TEST_F(TrainTest, SeedMakesSamplingDeterministic) {
  options_.hyperparameters["subsample"] = "0.5";
  options_.hyperparameters["colsample_bytree"] = "0.5";
  auto first = Train(train_, {}, options_);
  auto second = Train(train_, {}, options_);
  options_.hyperparameters["seed"] = "6";
  auto other = Train(train_, {}, options_);
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(*PredictTable(*first, validation_), *PredictTable(*second, validation_));
  EXPECT_NE(*PredictTable(*first, validation_), *PredictTable(*other, validation_));
  EXPECT_EQ(first->best_iteration, -1);
  EXPECT_TRUE(first->history.empty());
}

TEST_F(TrainTest, ClassificationMetricsMatchOurs) {
  data::Table train = testing::ClassificationTable(2000, 31);
  data::Table validation = testing::ClassificationTable(600, 32);
  options_.hyperparameters = {{"objective", "binary:logistic"},
                              {"eval_metric", "logloss,error,auc"},
                              {"num_round", "20"},
                              {"max_depth", "3"}};
  std::vector<EvalSet> evals = {{"validation", &validation}};
  auto result = Train(train, evals, options_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->best_metric, "validation:auc");
  auto predictions = PredictTable(*result, validation);
  ASSERT_TRUE(predictions.ok());
  auto ours = ComputeClassificationMetrics(Labels(validation), *predictions);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_NEAR(ours->auc, result->final_metrics.at("validation:auc"), 1e-5);
  EXPECT_NEAR(ours->logloss, result->final_metrics.at("validation:logloss"), 1e-4);
  EXPECT_NEAR(1 - ours->accuracy, result->final_metrics.at("validation:error"), 1e-6);
  EXPECT_GT(ours->auc, 0.9);
}

TEST_F(TrainTest, ContinuesFromAnInitialModelAndCheckpoints) {
  options_.hyperparameters["num_round"] = "10";
  auto straight = Train(train_, {}, options_);
  ASSERT_TRUE(straight.ok());

  std::vector<int> checkpoints;
  options_.hyperparameters["num_round"] = "4";
  options_.checkpoint_every = 2;
  options_.on_checkpoint = [&](int rounds, const Booster&) {
    checkpoints.push_back(rounds);
    return Status::Ok();
  };
  auto first = Train(train_, {}, options_);
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(checkpoints, ElementsAre(2, 4));
  options_.hyperparameters["num_round"] = "10";
  options_.initial_model = first->booster.get();
  auto resumed = Train(train_, {}, options_);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->rounds, 10);
  EXPECT_THAT(checkpoints, ElementsAre(2, 4, 6, 8, 10));
  std::vector<float> expected = *PredictTable(*straight, validation_);
  std::vector<float> actual = *PredictTable(*resumed, validation_);
  for (size_t row = 0; row < expected.size(); ++row) {
    EXPECT_NEAR(actual[row], expected[row], 1e-4 * (1 + std::abs(expected[row])));
  }

  options_.on_checkpoint = [](int, const Booster&) { return UnavailableError("disk full"); };
  options_.initial_model = nullptr;
  EXPECT_EQ(Train(train_, {}, options_).status().code(), StatusCode::kUnavailable);
}

TEST_F(TrainTest, CallbackAndCancellationStopTraining) {
  options_.on_round = [](int round, const RoundMetrics& metrics) {
    return round < 2 || !metrics.contains("validation:rmse");
  };
  std::vector<EvalSet> evals = {{"validation", &validation_}};
  auto stopped = Train(train_, evals, options_);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->rounds, 3);
  EXPECT_TRUE(stopped->stopped_early);

  options_.on_round = nullptr;
  int polls = 0;
  options_.cancelled = [&] { return ++polls > 3; };
  EXPECT_EQ(Train(train_, evals, options_).status().code(), StatusCode::kCancelled);
}

TEST_F(TrainTest, TrainerStepsToTrainsModelAndStopsWhereTold) {
  std::vector<EvalSet> evals = {{"validation", &validation_}};
  auto whole = Train(train_, evals, options_);
  ASSERT_TRUE(whole.ok()) << whole.status();

  auto train_matrix = DMatrix::FromTable(train_, whole->features, "y");
  auto validation_matrix = DMatrix::FromTable(validation_, whole->features, "y");
  ASSERT_TRUE(train_matrix.ok() && validation_matrix.ok());
  std::vector<std::pair<std::string, const DMatrix*>> sets = {
      {"validation", validation_matrix->get()}};
  auto trainer = Trainer::Start(**train_matrix, sets, options_);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  while (!(*trainer)->done()) {
    auto metrics = (*trainer)->Step();
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    EXPECT_EQ(metrics->at("validation:rmse"),
              whole->Series("validation:rmse")->values[(*trainer)->rounds_done() - 1]);
  }
  EXPECT_EQ((*trainer)->rounds_done(), 30);
  EXPECT_EQ((*trainer)->Step().status().code(), StatusCode::kFailedPrecondition);
  auto stepped = std::move(**trainer).Finish();
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_FALSE(stepped->stopped_early);
  EXPECT_EQ(stepped->final_metrics, whole->final_metrics);
  stepped->features = whole->features;
  EXPECT_EQ(*PredictTable(*stepped, validation_), *PredictTable(*whole, validation_));

  // Stop() after 4 rounds: a 4-round model, marked as stopped early.
  auto stopped = Trainer::Start(**train_matrix, sets, options_);
  ASSERT_TRUE(stopped.ok());
  for (int round = 0; round < 4; ++round) ASSERT_TRUE((*stopped)->Step().ok());
  (*stopped)->Stop();
  EXPECT_TRUE((*stopped)->done());
  auto short_model = std::move(**stopped).Finish();
  ASSERT_TRUE(short_model.ok()) << short_model.status();
  EXPECT_EQ(short_model->rounds, 4);
  EXPECT_TRUE(short_model->stopped_early);
  EXPECT_EQ(short_model->final_metrics.at("validation:rmse"),
            whole->Series("validation:rmse")->values[3]);
}

TEST_F(TrainTest, BadInputIsReported) {
  auto check = [&](TrainOptions options, StatusCode code, std::string_view text,
                   std::vector<EvalSet> evals = {}) {
    auto result = Train(train_, evals, options);
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr(text));
  };
  TrainOptions options = options_;
  options.hyperparameters["num_round"] = "ten";
  check(options, StatusCode::kInvalidArgument, "num_round");
  options = options_;
  options.hyperparameters["max_depth"] = "deep";
  check(options, StatusCode::kInternal, "max_depth");
  options = options_;
  options.target = "";
  check(options, StatusCode::kInvalidArgument, "target");
  options.target = "price";
  check(options, StatusCode::kNotFound, "price");
  options = options_;
  options.features = {"x0", "y"};
  check(options, StatusCode::kInvalidArgument, "'y'");
  options = options_;
  options.hyperparameters["early_stopping_rounds"] = "3";
  check(options, StatusCode::kInvalidArgument, "evaluation set");
  options = options_;
  options.early_stopping_metric = "validation:auc";
  check(options, StatusCode::kInvalidArgument, "validation:auc", {{"validation", &validation_}});
  check(options_, StatusCode::kInvalidArgument, "twice",
        {{"validation", &validation_}, {"validation", &train_}});
  data::Table empty = *train_.Slice(0, 0);
  EXPECT_EQ(Train(empty, {}, options_).status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseEvalLineTest, SplitsSetsAndMetrics) {
  std::vector<std::string> sets = {"train", "train-b"};
  auto parsed = ParseEvalLine("[3]\ttrain-rmse:1.5\ttrain-b-error@0.7:0.25\ttrain-ndcg@3-:1",
                              sets);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->at("train:rmse"), 1.5);
  EXPECT_EQ(parsed->at("train-b:error@0.7"), 0.25);
  EXPECT_EQ(parsed->at("train:ndcg@3-"), 1.0);
  EXPECT_FALSE(ParseEvalLine("[0]\tother-rmse:1", sets).ok());
  EXPECT_FALSE(ParseEvalLine("[0]\ttrain-rmse:abc", sets).ok());
  EXPECT_TRUE(MetricIsMaximized("validation:auc"));
  EXPECT_TRUE(MetricIsMaximized("ndcg@5"));
  EXPECT_FALSE(MetricIsMaximized("validation:rmse"));
}

}  // namespace
}  // namespace raypipe::ml
