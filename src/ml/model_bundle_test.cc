#include "ml/model_bundle.h"

#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ml/test_util.h"

namespace raypipe::ml {
namespace {

using ::testing::HasSubstr;

class ModelBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = testing::RegressionTable(400, 11);
    ASSERT_TRUE(scaler_.Fit(raw_, {"x0", "x1", "x2"}).ok());
    scaled_ = *scaler_.Transform(raw_);
    auto train = DMatrix::FromTable(scaled_, testing::RegressionFeatures(), "y");
    ASSERT_TRUE(train.ok()) << train.status();
    train_ = std::move(*train);
    const DMatrix* cache[] = {train_.get()};
    auto booster = Booster::Create(cache);
    ASSERT_TRUE(booster.ok());
    booster_ = std::move(*booster);
    ASSERT_TRUE(booster_->SetParam("max_depth", "3").ok());
    ASSERT_TRUE(booster_->SetParam("nthread", "2").ok());
    for (int round = 0; round < 8; ++round) ASSERT_TRUE(booster_->UpdateOneIter(round, *train_).ok());
  }

  // The raw feature rows, row-major in the features' order.
  std::vector<float> RawRows() const {
    std::vector<float> rows;
    for (size_t row = 0; row < raw_.num_rows(); ++row) {
      for (const std::string& feature : testing::RegressionFeatures()) {
        const data::Column& column = **raw_.ColumnByName(feature);
        rows.push_back(column.type() == data::DataType::kFloat64
                           ? static_cast<float>(column.float64s()[row])
                           : static_cast<float>(column.int64s()[row]));
      }
    }
    return rows;
  }

  testing::TempDir dir_;
  data::Table raw_;
  data::Table scaled_;
  data::StandardScaler scaler_;
  std::unique_ptr<DMatrix> train_;
  std::unique_ptr<Booster> booster_;
};

TEST_F(ModelBundleTest, WritesTheContractLayout) {
  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  std::ifstream manifest_file(dir_.path() / "raypipe-model.json");
  nlohmann::json manifest = nlohmann::json::parse(manifest_file);
  EXPECT_EQ(manifest["format"], "raypipe.model.v1");
  EXPECT_EQ(manifest["framework"], "xgboost");
  EXPECT_EQ(manifest["features"], nlohmann::json(testing::RegressionFeatures()));
  EXPECT_EQ(manifest["target"], "y");
  EXPECT_EQ(manifest["objective"], "reg:squarederror");
  EXPECT_EQ(manifest["preprocessing"], "preprocessing.json");
  std::ifstream scaler_file(dir_.path() / "preprocessing.json");
  EXPECT_EQ(nlohmann::json::parse(scaler_file), scaler_.ToJson());
  std::ifstream model_file(dir_.path() / "xgboost-model.json");
  nlohmann::json model = nlohmann::json::parse(model_file);
  EXPECT_TRUE(model.contains("learner"));
}

TEST_F(ModelBundleTest, PredictRowsAppliesPreprocessing) {
  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  auto bundle = LoadModelBundle(dir_.path());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->features, testing::RegressionFeatures());
  EXPECT_EQ(bundle->target, "y");
  ASSERT_TRUE(bundle->preprocessing.has_value());

  std::vector<float> expected = *booster_->Predict(*train_);
  std::vector<float> rows = RawRows();
  auto predicted = PredictRows(*bundle, rows, raw_.num_rows());
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ(predicted->size(), expected.size());
  for (size_t row = 0; row < expected.size(); ++row) {
    // Raw values pass through float before scaling: allow for a split threshold landing
    // between the float and the double value only rarely.
    EXPECT_NEAR((*predicted)[row], expected[row], 1e-3 + 1e-3 * std::abs(expected[row]));
  }

  auto wrong = PredictRows(*bundle, std::span<const float>(rows).first(5), 1);
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("4 features"));
  auto empty = PredictRows(*bundle, {}, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(ModelBundleTest, WithoutPreprocessing) {
  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  // Rewriting without a scaler removes the stale preprocessing file.
  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", nullptr).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "preprocessing.json"));
  auto bundle = LoadModelBundle(dir_.path());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_FALSE(bundle->preprocessing.has_value());
  std::vector<float> one = {0.5f, -0.5f, 0.1f, 3.0f};
  auto predicted = PredictRows(*bundle, one, 1);
  ASSERT_TRUE(predicted.ok());
  EXPECT_EQ(*predicted, *booster_->PredictDense(one, 1));
}

TEST_F(ModelBundleTest, ConcurrentPredictionsAgree) {
  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  auto bundle = LoadModelBundle(dir_.path());
  ASSERT_TRUE(bundle.ok());
  std::vector<float> rows = RawRows();
  std::vector<float> expected = *PredictRows(*bundle, rows, raw_.num_rows());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int thread_idx = 0; thread_idx < 4; ++thread_idx) {
    threads.emplace_back([&, thread_idx] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        size_t row = static_cast<size_t>(thread_idx * 20 + repeat);
        auto one = PredictRows(*bundle, std::span<const float>(rows).subspan(row * 4, 4), 1);
        if (!one.ok() || (*one)[0] != expected[row]) ++mismatches[thread_idx];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(ModelBundleTest, WriteRejectsInconsistentInput) {
  EXPECT_EQ(WriteModelBundle(dir_.path(), *booster_, {}, "y", nullptr).code(),
            StatusCode::kInvalidArgument);
  Status width = WriteModelBundle(dir_.path(), *booster_, {"x0", "x1"}, "y", nullptr);
  EXPECT_EQ(width.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(width.message(), HasSubstr("4 features"));
  data::StandardScaler other;
  ASSERT_TRUE(other.Fit(raw_, {"y"}).ok());
  Status scaler = WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &other);
  EXPECT_THAT(scaler.message(), HasSubstr("'y'"));
  data::StandardScaler unfitted;
  EXPECT_EQ(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &unfitted).code(),
      StatusCode::kInvalidArgument);
}

TEST_F(ModelBundleTest, LoadErrorsNameTheFile) {
  auto missing = LoadModelBundle(dir_.path());
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("raypipe-model.json"));

  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  auto rewrite = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() / name, std::ios::trunc) << text;
  };
  std::ifstream manifest_file(dir_.path() / "raypipe-model.json");
  nlohmann::json manifest = nlohmann::json::parse(manifest_file);

  nlohmann::json wrong_format = manifest;
  wrong_format["format"] = "other.v9";
  rewrite("raypipe-model.json", wrong_format.dump());
  auto format = LoadModelBundle(dir_.path());
  EXPECT_EQ(format.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(format.status().message(), HasSubstr("other.v9"));

  nlohmann::json bad_feature = manifest;
  bad_feature["features"][1] = 5;
  rewrite("raypipe-model.json", bad_feature.dump());
  EXPECT_THAT(LoadModelBundle(dir_.path()).status().message(), HasSubstr("features[1]"));

  nlohmann::json narrow = manifest;
  narrow["features"] = {"x0", "x1", "x2"};
  rewrite("raypipe-model.json", narrow.dump());
  EXPECT_THAT(LoadModelBundle(dir_.path()).status().message(), HasSubstr("names 3"));

  nlohmann::json escape = manifest;
  escape["preprocessing"] = "../etc/passwd";
  rewrite("raypipe-model.json", escape.dump());
  EXPECT_EQ(LoadModelBundle(dir_.path()).status().code(), StatusCode::kInvalidArgument);

  rewrite("raypipe-model.json", manifest.dump());
  rewrite("preprocessing.json", "{\"type\": \"StandardScaler\"}");
  EXPECT_THAT(LoadModelBundle(dir_.path()).status().message(), HasSubstr("preprocessing.json"));

  ASSERT_TRUE(
      WriteModelBundle(dir_.path(), *booster_, testing::RegressionFeatures(), "y", &scaler_).ok());
  rewrite("xgboost-model.json", "not a model");
  EXPECT_THAT(LoadModelBundle(dir_.path()).status().message(), HasSubstr("xgboost-model.json"));

  rewrite("raypipe-model.json", "{\"format\": ");
  EXPECT_THAT(LoadModelBundle(dir_.path()).status().message(), HasSubstr("raypipe-model.json"));
}

}  // namespace
}  // namespace raypipe::ml
