#include "ml/evaluate.h"

#include <cmath>
#include <memory>

#include <gtest/gtest.h>

#include "ml/dmatrix.h"
#include "ml/test_util.h"
#include "ml/train.h"

namespace raypipe::ml {
namespace {

ModelBundle TrainBundle(const data::Table& train, const std::string& target,
                        const std::string& objective) {
  TrainOptions options;
  options.target = target;
  options.hyperparameters = {{"num_round", "20"}, {"max_depth", "3"}, {"seed", "1"},
                             {"objective", objective}, {"nthread", "1"}};
  std::vector<EvalSet> evals;
  Result<TrainResult> trained = Train(train, evals, options);
  EXPECT_TRUE(trained.ok()) << trained.status().ToString();
  ModelBundle bundle;
  bundle.booster = trained->booster;
  bundle.features = trained->features;
  bundle.target = target;
  bundle.objective = objective;
  return bundle;
}

TEST(EvaluateModelTest, RegressionReportMatchesAHandComputation) {
  const data::Table train = testing::RegressionTable(400, 1);
  const data::Table test = testing::RegressionTable(100, 2);
  const ModelBundle bundle = TrainBundle(train, "y", "reg:squarederror");
  EvaluationOptions options;
  options.target = "y";
  Result<Evaluation> evaluation = EvaluateModel(bundle, test, options);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status().ToString();
  EXPECT_EQ(evaluation->rows, 100u);
  EXPECT_FALSE(evaluation->classifier);

  // By hand, as the seed's evaluate.py: mse, mae, np.std(y - predictions).
  auto matrix = DMatrix::FromTable(test, bundle.features, "");
  ASSERT_TRUE(matrix.ok());
  std::vector<float> predictions = *bundle.booster->Predict(**matrix);
  std::span<const double> labels = (*test.ColumnByName("y"))->float64s();
  double squares = 0, absolute = 0, sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double error = labels[i] - static_cast<double>(predictions[i]);
    squares += error * error;
    absolute += std::fabs(error);
    sum += error;
  }
  const double n = static_cast<double>(labels.size());
  double spread = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double error = labels[i] - static_cast<double>(predictions[i]);
    spread += (error - sum / n) * (error - sum / n);
  }
  const double rmse = std::sqrt(squares / n);
  const double mae = absolute / n;
  const double deviation = std::sqrt(spread / n);

  const nlohmann::json report = EvaluationReportJson(*evaluation);
  ASSERT_EQ(report.size(), 1u);
  const nlohmann::json& metrics = report.at("regression_metrics");
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_NEAR(metrics.at("rmse").at("value").get<double>(), rmse, 1e-9);
  EXPECT_NEAR(metrics.at("mae").at("value").get<double>(), mae, 1e-9);
  EXPECT_NEAR(metrics.at("rmse").at("standard_deviation").get<double>(), deviation, 1e-9);
  EXPECT_NEAR(metrics.at("mae").at("standard_deviation").get<double>(), deviation, 1e-9);
  EXPECT_EQ(metrics.at("rmse").size(), 2u);
  EXPECT_LT(rmse, 1.0);  // the model learned something

  const std::map<std::string, double> flat = EvaluationMetrics(*evaluation);
  EXPECT_EQ(flat.size(), 2u);
  EXPECT_NEAR(flat.at("rmse"), rmse, 1e-9);
  EXPECT_NEAR(flat.at("mae"), mae, 1e-9);
}

TEST(EvaluateModelTest, AppliesPreprocessingOnlyWhenAsked) {
  const data::Table train = testing::RegressionTable(300, 3);
  const data::Table test = testing::RegressionTable(80, 4);
  data::StandardScaler scaler;
  ASSERT_TRUE(scaler.Fit(train, testing::RegressionFeatures()).ok());
  ModelBundle bundle = TrainBundle(*scaler.Transform(train), "y", "reg:squarederror");
  bundle.preprocessing = scaler;
  EvaluationOptions options;
  options.target = "y";
  Result<Evaluation> scaled = EvaluateModel(bundle, *scaler.Transform(test), options);
  options.apply_preprocessing = true;
  Result<Evaluation> raw = EvaluateModel(bundle, test, options);
  ASSERT_TRUE(scaled.ok() && raw.ok());
  EXPECT_NEAR(scaled->regression.rmse.value, raw->regression.rmse.value, 1e-9);
  options.apply_preprocessing = false;
  Result<Evaluation> unscaled = EvaluateModel(bundle, test, options);
  ASSERT_TRUE(unscaled.ok());
  EXPECT_GT(std::fabs(unscaled->regression.rmse.value - raw->regression.rmse.value), 1e-3);
}

TEST(EvaluateModelTest, ClassifierGetsClassificationMetrics) {
  data::Table table = testing::RegressionTable(400, 5);
  std::span<const double> y = (*table.ColumnByName("y"))->float64s();
  std::vector<double> labels;
  for (double value : y) labels.push_back(value > 2.5 ? 1.0 : 0.0);
  data::Table labelled = *table.Drop({"y"});
  ASSERT_TRUE(labelled.AddColumn(data::Column::Float64("label", labels)).ok());
  const ModelBundle bundle = TrainBundle(labelled, "label", "binary:logistic");
  EvaluationOptions options;
  options.target = "label";
  Result<Evaluation> evaluation = EvaluateModel(bundle, labelled, options);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status().ToString();
  EXPECT_TRUE(evaluation->classifier);
  const nlohmann::json report = EvaluationReportJson(*evaluation);
  ASSERT_TRUE(report.contains("binary_classification_metrics"));
  EXPECT_FALSE(report.contains("regression_metrics"));
  const double accuracy =
      report["binary_classification_metrics"]["accuracy"]["value"].get<double>();
  EXPECT_GT(accuracy, 0.8);
  EXPECT_LE(accuracy, 1.0);
  EXPECT_EQ(EvaluationMetrics(*evaluation).count("auc"), 1u);
}

TEST(EvaluateModelTest, RejectsBadTables) {
  const data::Table train = testing::RegressionTable(100, 6);
  const ModelBundle bundle = TrainBundle(train, "y", "reg:squarederror");
  EvaluationOptions options;
  options.target = "price";
  EXPECT_EQ(EvaluateModel(bundle, train, options).status().code(), StatusCode::kNotFound);

  options.target = "y";
  data::Table without_feature = *train.Drop({"x1"});
  Result<Evaluation> missing = EvaluateModel(bundle, without_feature, options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("x1"), std::string::npos);

  data::Table null_label = *train.Drop({"y"});
  std::vector<double> y(100, 1.0);
  std::vector<uint8_t> valid(100, 1);
  valid[7] = 0;
  ASSERT_TRUE(null_label.AddColumn(data::Column::Float64("y", y, valid)).ok());
  Result<Evaluation> null_result = EvaluateModel(bundle, null_label, options);
  ASSERT_FALSE(null_result.ok());
  EXPECT_NE(null_result.status().message().find("row 8"), std::string::npos);

  ModelBundle multi = bundle;
  multi.objective = "multi:softprob";
  EXPECT_EQ(EvaluateModel(multi, train, options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::ml
