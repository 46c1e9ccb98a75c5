#include "ml/tuning/search_space.h"

#include <cmath>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::ml::tuning {
namespace {

using ::testing::HasSubstr;

TEST(SearchSpaceTest, MakeRejectsBadRanges) {
  auto check = [](ParameterRange range, std::string_view text) {
    auto space = SearchSpace::Make({range});
    EXPECT_EQ(space.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(space.status().message(), HasSubstr(text));
  };
  check(ParameterRange::Continuous("eta", 1, 0), "exceeds");
  check(ParameterRange::Continuous("eta", 0, 1, ScalingType::kLogarithmic), "Logarithmic");
  check(ParameterRange::Continuous("eta", 0, 1, ScalingType::kReverseLogarithmic), "< 1");
  check(ParameterRange::Integer("depth", 1, 5, ScalingType::kReverseLogarithmic), "continuous");
  check(ParameterRange::Categorical("booster", {}), "no values");
  check(ParameterRange::Categorical("booster", {"a", "a"}), "repeated");
  check(ParameterRange::Continuous("", 0, 1), "no name");
  check(ParameterRange::Continuous("eta", 0, INFINITY), "finite");
  auto twice = SearchSpace::Make({ParameterRange::Continuous("eta", 0, 1),
                                  ParameterRange::Integer("eta", 0, 1)});
  EXPECT_THAT(twice.status().message(), HasSubstr("more than once"));
}

TEST(SearchSpaceTest, FromSageMakerJson) {
  nlohmann::json json = {
      {"IntegerParameterRanges",
       {{{"Name", "max_depth"}, {"MinValue", "1"}, {"MaxValue", "8"}, {"ScalingType", "Auto"}},
        {{"Name", "min_child_weight"}, {"MinValue", 0}, {"MaxValue", 120}}}},
      {"ContinuousParameterRanges",
       {{{"Name", "eta"}, {"MinValue", "0.2"}, {"MaxValue", "1"}},
        {{"Name", "alpha"}, {"MinValue", "0.001"}, {"MaxValue", "10"},
         {"ScalingType", "Logarithmic"}}}},
      {"CategoricalParameterRanges", {{{"Name", "tree_method"}, {"Values", {"approx", "hist"}}}}}};
  auto space = SearchSpace::FromJson(json);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->dimensions(), 5u);
  EXPECT_EQ(space->feature_dimensions(), 6u);

  nlohmann::json bad = json;
  bad["IntegerParameterRanges"][0]["MinValue"] = "one";
  EXPECT_THAT(SearchSpace::FromJson(bad).status().message(),
              HasSubstr("IntegerParameterRanges[0].MinValue"));
  bad = json;
  bad["ContinuousParameterRanges"][1]["ScalingType"] = "Cubic";
  EXPECT_THAT(SearchSpace::FromJson(bad).status().message(), HasSubstr("Cubic"));
  bad = json;
  bad["ContinuousParameterRanges"][0].erase("Name");
  EXPECT_THAT(SearchSpace::FromJson(bad).status().message(), HasSubstr("Name"));
}

TEST(SearchSpaceTest, DecodeFollowsScaling) {
  auto space = SearchSpace::Make({
      ParameterRange::Integer("depth", 1, 8),
      ParameterRange::Continuous("alpha", 0.001, 10, ScalingType::kLogarithmic),
      ParameterRange::Continuous("momentum", 0.9, 0.999, ScalingType::kReverseLogarithmic),
      ParameterRange::Categorical("method", {"approx", "hist", "exact"}),
      ParameterRange::Integer("leaves", 1, 1000, ScalingType::kLogarithmic),
  });
  ASSERT_TRUE(space.ok()) << space.status();
  Hyperparameters low = space->Decode({0, 0, 0, 0, 0});
  Hyperparameters high = space->Decode({1, 1, 1, 1, 1});
  Hyperparameters middle = space->Decode({0.5, 0.5, 0.5, 0.5, 0.5});
  EXPECT_EQ(low.at("depth"), "1");
  EXPECT_EQ(high.at("depth"), "8");
  EXPECT_EQ(low.at("alpha"), "0.001");
  EXPECT_EQ(high.at("alpha"), "10");
  EXPECT_NEAR(std::stod(middle.at("alpha")), 0.1, 1e-9);  // geometric middle
  EXPECT_NEAR(std::stod(middle.at("momentum")), 1 - std::sqrt(0.1 * 0.001), 1e-9);
  EXPECT_EQ(low.at("method"), "approx");
  EXPECT_EQ(middle.at("method"), "hist");
  EXPECT_EQ(high.at("method"), "exact");
  EXPECT_EQ(high.at("leaves"), "1000");

  // Integers take each value with equal probability mass, and Encode inverts Decode.
  std::set<std::string> depths;
  for (int step = 0; step <= 100; ++step) {
    Point point = {step / 100.0, 0.5, 0.5, 0.5, 0.5};
    Hyperparameters values = space->Decode(point);
    depths.insert(values.at("depth"));
    auto encoded = space->Encode(values);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    EXPECT_EQ(space->Decode(*encoded), values);
    EXPECT_EQ(*encoded, space->Snap(*encoded));
  }
  EXPECT_EQ(depths.size(), 8u);

  EXPECT_THAT(space->Encode({{"depth", "3"}}).status().message(), HasSubstr("missing"));
  Hyperparameters outside = middle;
  outside["depth"] = "9";
  EXPECT_THAT(space->Encode(outside).status().message(), HasSubstr("outside"));
  outside = middle;
  outside["method"] = "gpu";
  EXPECT_THAT(space->Encode(outside).status().message(), HasSubstr("gpu"));
}

TEST(SearchSpaceTest, GridEnumeratesWithinBudget) {
  auto space = SearchSpace::Make({ParameterRange::Categorical("method", {"approx", "hist"}),
                                  ParameterRange::Integer("depth", 1, 3),
                                  ParameterRange::Continuous("eta", 0.1, 0.5)});
  ASSERT_TRUE(space.ok());
  std::vector<Point> all = space->Grid(100);
  // 2 methods x 3 depths x L etas with L as large as fits (L = 16 -> 96 points).
  EXPECT_EQ(all.size(), 96u);
  std::set<Hyperparameters> distinct;
  for (const Point& point : all) distinct.insert(space->Decode(point));
  EXPECT_EQ(distinct.size(), all.size());
  // Two levels would make 8 points: one level (the middle) of each numeric parameter.
  std::vector<Point> few = space->Grid(4);
  EXPECT_EQ(few.size(), 2u);
  EXPECT_EQ(space->Decode(few[0]).at("depth"), "2");
  EXPECT_EQ(space->Grid(1).size(), 1u);
  EXPECT_TRUE(space->Grid(0).empty());
}

TEST(SearchSpaceTest, FeaturesOneHotCategoricals) {
  auto space = SearchSpace::Make({ParameterRange::Continuous("eta", 0, 1),
                                  ParameterRange::Categorical("method", {"a", "b", "c"})});
  ASSERT_TRUE(space.ok());
  EXPECT_EQ(space->Features({0.25, 0.5}), (std::vector<double>{0.25, 0, 1, 0}));
  data::Random random(3);
  for (int sample = 0; sample < 50; ++sample) {
    Point point = space->Sample(random);
    EXPECT_GE(point[0], 0.0);
    EXPECT_LE(point[0], 1.0);
    EXPECT_EQ(point, space->Snap(point));
  }
}

}  // namespace
}  // namespace raypipe::ml::tuning
