#include "serving/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string_view>

#include <nlohmann/json.hpp>

namespace raypipe::serving {

namespace {

using nlohmann::json;

constexpr size_t kProbeRows = 512;

// XGBoost writes its parameters as strings ("8", "[4.35E5]"); older models as numbers.
Result<double> NumberField(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end()) return InvalidArgumentError("the model has no " + std::string(key));
  if (it->is_number()) return it->get<double>();
  if (!it->is_string()) return InvalidArgumentError(std::string(key) + " is not a number");
  std::string text = it->get<std::string>();
  // XGBoost 3 writes base_score as a vector: "[4.349753E5]".
  if (!text.empty() && text.front() == '[') {
    if (text.back() != ']' || text.find(',') != std::string::npos) {
      return UnimplementedError(std::string(key) + " " + text + " has more than one value");
    }
    text = text.substr(1, text.size() - 2);
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return InvalidArgumentError(std::string(key) + " \"" + text + "\" is not a number");
  }
  return value;
}

template <typename T>
Result<std::vector<T>> ArrayField(const json& tree, std::string_view key, size_t size) {
  auto it = tree.find(key);
  if (it == tree.end() || !it->is_array() || it->size() != size) {
    return InvalidArgumentError("a tree's " + std::string(key) + " is missing or not " +
                                std::to_string(size) + " long");
  }
  std::vector<T> out;
  out.reserve(size);
  for (const json& value : *it) {
    if (value.is_boolean()) {
      out.push_back(static_cast<T>(value.get<bool>()));
    } else if (value.is_number()) {
      out.push_back(value.get<T>());
    } else {
      return InvalidArgumentError("a tree's " + std::string(key) + " holds a non-number");
    }
  }
  return out;
}

float Sigmoid(float margin) { return 1.0f / (1.0f + std::exp(-margin)); }

}  // namespace

Result<std::unique_ptr<const TreeEnsemble>> TreeEnsemble::Compile(const ml::Booster& booster) {
  ASSIGN_OR_RETURN(std::unique_ptr<const TreeEnsemble> ensemble, Build(booster));
  RETURN_IF_ERROR(ensemble->Verify(booster));
  return ensemble;
}

Result<std::unique_ptr<const TreeEnsemble>> TreeEnsemble::Build(const ml::Booster& booster) {
  ASSIGN_OR_RETURN(std::string text, booster.SaveModelToBuffer(ml::ModelFormat::kJson));
  const json model = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.contains("learner")) {
    return InternalError("XGBoost's JSON model could not be read");
  }
  const json& learner = model["learner"];
  std::unique_ptr<TreeEnsemble> ensemble(new TreeEnsemble());

  const json& params = learner.value("learner_model_param", json::object());
  const double num_class = NumberField(params, "num_class").value_or(0);
  const double num_target = NumberField(params, "num_target").value_or(1);
  if (num_class > 1 || num_target > 1) {
    return UnimplementedError("models with several outputs are predicted by XGBoost");
  }
  ASSIGN_OR_RETURN(double num_features, NumberField(params, "num_feature"));
  ASSIGN_OR_RETURN(double base_score, NumberField(params, "base_score"));
  ensemble->num_features_ = static_cast<size_t>(num_features);

  const std::string objective = learner.value("objective", json::object()).value("name", "");
  if (objective == "binary:logistic" || objective == "reg:logistic") {
    ensemble->transform_ = Transform::kSigmoid;
    ensemble->base_margin_ = static_cast<float>(-std::log(1.0 / base_score - 1.0));
  } else if (objective == "binary:logitraw") {
    ensemble->base_margin_ = static_cast<float>(-std::log(1.0 / base_score - 1.0));
  } else if (objective == "count:poisson" || objective == "reg:gamma" ||
             objective == "reg:tweedie") {
    ensemble->transform_ = Transform::kExp;
    ensemble->base_margin_ = static_cast<float>(std::log(base_score));
  } else if (objective == "reg:squarederror" || objective == "reg:squaredlogerror" ||
             objective == "reg:absoluteerror" || objective == "reg:pseudohubererror" ||
             objective == "reg:quantileerror" || objective.rfind("rank:", 0) == 0) {
    ensemble->base_margin_ = static_cast<float>(base_score);
  } else {
    return UnimplementedError("objective \"" + objective + "\" is predicted by XGBoost");
  }

  const json& gradient_booster = learner.value("gradient_booster", json::object());
  if (gradient_booster.value("name", "") != "gbtree") {
    return UnimplementedError("booster \"" + gradient_booster.value("name", "") +
                              "\" is predicted by XGBoost");
  }
  const json& trees = gradient_booster.value("model", json::object()).value("trees", json::array());
  for (const json& tree : trees) {
    const json& tree_param = tree.value("tree_param", json::object());
    ASSIGN_OR_RETURN(double num_nodes_value, NumberField(tree_param, "num_nodes"));
    if (NumberField(tree_param, "size_leaf_vector").value_or(1) > 1) {
      return UnimplementedError("vector-leaf trees are predicted by XGBoost");
    }
    const size_t num_nodes = static_cast<size_t>(num_nodes_value);
    ASSIGN_OR_RETURN(auto left, ArrayField<int64_t>(tree, "left_children", num_nodes));
    ASSIGN_OR_RETURN(auto right, ArrayField<int64_t>(tree, "right_children", num_nodes));
    ASSIGN_OR_RETURN(auto feature, ArrayField<int64_t>(tree, "split_indices", num_nodes));
    ASSIGN_OR_RETURN(auto condition, ArrayField<float>(tree, "split_conditions", num_nodes));
    ASSIGN_OR_RETURN(auto default_left, ArrayField<int64_t>(tree, "default_left", num_nodes));
    if (tree.contains("split_type")) {
      ASSIGN_OR_RETURN(auto split_type, ArrayField<int64_t>(tree, "split_type", num_nodes));
      if (std::any_of(split_type.begin(), split_type.end(), [](int64_t t) { return t != 0; })) {
        return UnimplementedError("categorical splits are predicted by XGBoost");
      }
    }
    const int32_t root = static_cast<int32_t>(ensemble->nodes_.size());
    ensemble->tree_roots_.push_back(root);
    for (size_t node_idx = 0; node_idx < num_nodes; ++node_idx) {
      Node node{condition[node_idx], -1, -1, -1, -1};
      if (left[node_idx] >= 0) {
        const bool in_range = left[node_idx] < static_cast<int64_t>(num_nodes) &&
                              right[node_idx] >= 0 &&
                              right[node_idx] < static_cast<int64_t>(num_nodes) &&
                              feature[node_idx] >= 0 &&
                              feature[node_idx] < static_cast<int64_t>(num_features);
        if (!in_range) return InvalidArgumentError("a tree's node refers outside the tree");
        node.feature = static_cast<int32_t>(feature[node_idx]);
        node.left = root + static_cast<int32_t>(left[node_idx]);
        node.right = root + static_cast<int32_t>(right[node_idx]);
        node.missing = default_left[node_idx] != 0 ? node.left : node.right;
      }
      ensemble->nodes_.push_back(node);
    }
  }
  return std::unique_ptr<const TreeEnsemble>(std::move(ensemble));
}

Status TreeEnsemble::Verify(const ml::Booster& booster) const {
  ASSIGN_OR_RETURN(size_t booster_features, booster.NumFeatures());
  if (booster_features != num_features_) {
    return InternalError("the compiled model reads " + std::to_string(num_features_) +
                         " features where XGBoost's reads " + std::to_string(booster_features));
  }
  // Probe rows: each value just below, at or just above one of its feature's thresholds, or
  // missing, so that together they take both branches of the splits and the missing branch.
  std::vector<std::vector<float>> thresholds(num_features_);
  for (const Node& node : nodes_) {
    if (node.feature >= 0) thresholds[node.feature].push_back(node.value);
  }
  std::mt19937_64 random(7);
  std::vector<float> probes(kProbeRows * num_features_);
  for (size_t row_idx = 0; row_idx < kProbeRows; ++row_idx) {
    for (size_t feature_idx = 0; feature_idx < num_features_; ++feature_idx) {
      const std::vector<float>& cuts = thresholds[feature_idx];
      float value = std::numeric_limits<float>::quiet_NaN();
      const uint64_t pick = random();
      if (!cuts.empty() && pick % 8 != 0) {
        const float cut = cuts[(pick >> 8) % cuts.size()];
        const int side = static_cast<int>((pick >> 40) % 3);
        value = side == 0 ? std::nextafter(cut, -std::numeric_limits<float>::infinity())
                : side == 1 ? cut
                            : std::nextafter(cut, std::numeric_limits<float>::infinity());
      } else if (cuts.empty()) {
        value = static_cast<float>(pick % 1000) - 500.0f;
      }
      probes[row_idx * num_features_ + feature_idx] = value;
    }
  }
  ASSIGN_OR_RETURN(std::vector<float> expected, booster.PredictDense(probes, kProbeRows));
  if (expected.size() != kProbeRows) {
    return UnimplementedError("XGBoost answers " + std::to_string(expected.size()) +
                              " values for " + std::to_string(kProbeRows) + " rows");
  }
  std::vector<float> actual(kProbeRows);
  Predict(probes, kProbeRows, actual.data());
  for (size_t row_idx = 0; row_idx < kProbeRows; ++row_idx) {
    const float want = expected[row_idx];
    const float got = actual[row_idx];
    if (!(std::fabs(want - got) <= 1e-5f * (1.0f + std::fabs(want)))) {
      return InternalError("the compiled model predicts " + std::to_string(got) + " where " +
                           "XGBoost predicts " + std::to_string(want) + " (probe row " +
                           std::to_string(row_idx) + ")");
    }
  }
  return Status::Ok();
}

float TreeEnsemble::PredictRow(const float* row) const {
  const Node* nodes = nodes_.data();
  float sum = base_margin_;
  for (const int32_t root : tree_roots_) {
    const Node* node = nodes + root;
    while (node->feature >= 0) {
      const float value = row[node->feature];
      const int32_t next = std::isnan(value)       ? node->missing
                           : value < node->value ? node->left
                                                 : node->right;
      node = nodes + next;
    }
    sum += node->value;
  }
  switch (transform_) {
    case Transform::kIdentity:
      return sum;
    case Transform::kSigmoid:
      return Sigmoid(sum);
    case Transform::kExp:
      return std::exp(sum);
  }
  return sum;
}

void TreeEnsemble::Predict(std::span<const float> rows, size_t num_rows, float* out) const {
  for (size_t row_idx = 0; row_idx < num_rows; ++row_idx) {
    out[row_idx] = PredictRow(rows.data() + row_idx * num_features_);
  }
}

}  // namespace raypipe::serving
