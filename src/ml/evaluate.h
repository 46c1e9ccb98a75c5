#pragma once

// Model evaluation on a labelled table: the pipeline's raypipe.evaluate processor and its
// evaluation report, in exactly the layout of the reference workflow's evaluate.py (as
// SageMaker's evaluation examples write it):
//
//   {"regression_metrics": {"mae":  {"value": v, "standard_deviation": s},
//                           "rmse": {"value": v, "standard_deviation": s}}}
//
// where s is numpy.std(y - prediction) (population deviation of the errors) for both, as the
// seed computes it. A model whose objective is binary:* (a classifier) gets instead
//
//   {"binary_classification_metrics": {"accuracy": {"value": v}, "auc": {"value": v},
//                                      "precision": ..., "recall": ..., "f1": ...,
//                                      "logloss": ...}}
//
//   ASSIGN_OR_RETURN(ml::ModelBundle bundle, ml::LoadModelBundle(dir));
//   ml::EvaluationOptions options;
//   options.target = "PRICE";
//   ASSIGN_OR_RETURN(ml::Evaluation evaluation, ml::EvaluateModel(bundle, test, options));
//   nlohmann::json report = ml::EvaluationReportJson(evaluation);
//
// Thread-safe (a loaded bundle is immutable).

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/table.h"
#include "ml/metrics.h"
#include "ml/model_bundle.h"

namespace raypipe::ml {

struct EvaluationOptions {
  // The label column of the table. Required.
  std::string target;
  // Whether to apply the bundle's preprocessing (its scaler) to the table first. False for a
  // table that is already scaled (raypipe.preprocess's test split).
  bool apply_preprocessing = false;
};

struct Evaluation {
  size_t rows = 0;
  // The bundle's objective starts with "binary:": classification_metrics is filled.
  bool classifier = false;
  // Always computed (for a classifier, on the predicted probabilities).
  RegressionMetrics regression;
  ClassificationMetrics classification;
};

// Predicts every row of `table` (features by the bundle's names, in its order) and compares
// with the target. InvalidArgument for a missing or String target or feature column (naming
// it), a null or non-finite label (naming the row), an empty table, or a multi-class objective
// (multi:*), whose predictions are not one value per row.
Result<Evaluation> EvaluateModel(const ModelBundle& bundle, const data::Table& table,
                                 const EvaluationOptions& options);

// The report in the layout above.
nlohmann::json EvaluationReportJson(const Evaluation& evaluation);

// Flat metrics for a pipeline step: rmse and mae for a regressor; accuracy, auc, precision,
// recall, f1 and logloss for a classifier.
std::map<std::string, double> EvaluationMetrics(const Evaluation& evaluation);

}  // namespace raypipe::ml
