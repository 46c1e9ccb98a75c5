#include "ml/evaluate.h"

#include <cmath>
#include <memory>
#include <vector>

#include "ml/dmatrix.h"

namespace raypipe::ml {

Result<Evaluation> EvaluateModel(const ModelBundle& bundle, const data::Table& table,
                                 const EvaluationOptions& options) {
  if (bundle.booster == nullptr) return InvalidArgumentError("the model bundle has no booster");
  if (options.target.empty()) return InvalidArgumentError("no target column given");
  if (bundle.objective.rfind("multi:", 0) == 0) {
    return InvalidArgumentError("cannot evaluate objective '" + bundle.objective +
                                "': only regression and binary:* objectives are supported");
  }
  if (table.num_rows() == 0) return InvalidArgumentError("the evaluation table has no rows");
  ASSIGN_OR_RETURN(const data::Column* target, table.ColumnByName(options.target));
  std::vector<double> labels(table.num_rows());
  for (size_t row = 0; row < table.num_rows(); ++row) {
    if (target->IsNull(row)) {
      return InvalidArgumentError("target column '" + options.target + "' is null in row " +
                                  std::to_string(row + 1));
    }
    switch (target->type()) {
      case data::DataType::kFloat64:
        labels[row] = target->float64s()[row];
        break;
      case data::DataType::kInt64:
        labels[row] = static_cast<double>(target->int64s()[row]);
        break;
      case data::DataType::kString:
        return InvalidArgumentError("target column '" + options.target +
                                    "' holds text, not numbers");
    }
    if (!std::isfinite(labels[row])) {
      return InvalidArgumentError("target column '" + options.target + "' is " +
                                  target->ValueToString(row) + " in row " +
                                  std::to_string(row + 1));
    }
  }

  const data::Table* input = &table;
  data::Table scaled;
  if (options.apply_preprocessing && bundle.preprocessing.has_value()) {
    ASSIGN_OR_RETURN(scaled, bundle.preprocessing->Transform(table));
    input = &scaled;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DMatrix> matrix,
                   DMatrix::FromTable(*input, bundle.features, /*label=*/""));
  ASSIGN_OR_RETURN(std::vector<float> predictions, bundle.booster->Predict(*matrix));
  if (predictions.size() != labels.size()) {
    return InvalidArgumentError("the model gives " + std::to_string(predictions.size()) +
                                " predictions for " + std::to_string(labels.size()) +
                                " rows; only one value per row can be evaluated");
  }
  Evaluation evaluation;
  evaluation.rows = labels.size();
  evaluation.classifier = bundle.objective.rfind("binary:", 0) == 0;
  if (evaluation.classifier && bundle.objective == "binary:logitraw") {
    for (float& value : predictions) value = 1.0f / (1.0f + std::exp(-value));
  }
  ASSIGN_OR_RETURN(evaluation.regression, ComputeRegressionMetrics(labels, predictions));
  if (evaluation.classifier) {
    ASSIGN_OR_RETURN(evaluation.classification,
                     ComputeClassificationMetrics(labels, predictions));
  }
  return evaluation;
}

nlohmann::json EvaluationReportJson(const Evaluation& evaluation) {
  if (evaluation.classifier) {
    const ClassificationMetrics& m = evaluation.classification;
    auto value = [](double v) { return nlohmann::json{{"value", v}}; };
    return {{"binary_classification_metrics",
             {{"accuracy", value(m.accuracy)},
              {"auc", value(m.auc)},
              {"precision", value(m.precision)},
              {"recall", value(m.recall)},
              {"f1", value(m.f1)},
              {"logloss", value(m.logloss)}}}};
  }
  // The seed's evaluate.py: std = np.std(y_test - predictions), for both metrics.
  const double deviation = evaluation.regression.rmse.standard_deviation;
  return {{"regression_metrics",
           {{"mae", {{"value", evaluation.regression.mae.value}, {"standard_deviation", deviation}}},
            {"rmse",
             {{"value", evaluation.regression.rmse.value}, {"standard_deviation", deviation}}}}}};
}

std::map<std::string, double> EvaluationMetrics(const Evaluation& evaluation) {
  if (evaluation.classifier) {
    const ClassificationMetrics& m = evaluation.classification;
    return {{"accuracy", m.accuracy}, {"auc", m.auc}, {"precision", m.precision},
            {"recall", m.recall},     {"f1", m.f1},   {"logloss", m.logloss}};
  }
  return {{"rmse", evaluation.regression.rmse.value}, {"mae", evaluation.regression.mae.value}};
}

}  // namespace raypipe::ml
