"""Peer of the housing pipeline (examples/housing/pipeline.yaml) in the Python stack it
replaces: pandas + SQLite for the feature store, pandas/numpy preprocessing, Optuna's TPE over
xgboost for tuning, numpy for the evaluation.

    python pipeline.py HOUSING.csv WORKDIR [--replay JOBS.json]

The same stages and parameters as the pipeline file: ingest the rows with a generated record id
and event time into SQLite (online) and CSV (offline); read the offline rows back, drop the
store's columns, shuffle (seed 42), split 60/20/20, standardize on train; 4 tuning trials over
max_depth [1, 8], eta [0.2, 1], min_child_weight [0, 120], subsample [0.2, 1] with
tree_method approx, reg:squarederror, eval_metric mae and rmse, seed 47, 100 rounds; evaluate
the best model on the test set; write the model and evaluation.json.
With --replay, the tuning trains the given hyperparameter sets (raypipe's tuning jobs, from
bench/run) one after another instead of Optuna's, so both sides train the same models.
Prints "ingest_s=... preprocess_s=... tune_s=... evaluate_s=... total_s=...".
"""

import argparse
import json
import os
import sqlite3
import time

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

from common import STORE_COLUMNS, read_housing_records



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("housing")
    parser.add_argument("workdir")
    parser.add_argument("--replay", metavar="JOBS.json",
                        help="train these hyperparameter sets (a JSON list of objects) instead "
                             "of Optuna's trials, for a like-for-like tuning time")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    times = {}

    start = time.perf_counter()
    frame = read_housing_records(args.housing)
    with sqlite3.connect(os.path.join(args.workdir, "online.db")) as connection:
        frame.to_sql("housing", connection, if_exists="replace", index=False)
    offline = os.path.join(args.workdir, "offline.csv")
    frame.to_csv(offline, index=False)
    times["ingest_s"] = time.perf_counter() - start

    start = time.perf_counter()
    data = pd.read_csv(offline).drop(columns=STORE_COLUMNS)
    data = data.sample(frac=1.0, random_state=42).reset_index(drop=True)
    n = len(data)
    train = data.iloc[: int(n * 0.6)]
    validation = data.iloc[int(n * 0.6): int(n * 0.8)]
    test = data.iloc[int(n * 0.8):]
    features = [c for c in data.columns if c != "PRICE"]
    mean = train[features].mean()
    std = train[features].std(ddof=0).replace(0, 1)
    scaled = [((part[features] - mean) / std, part["PRICE"]) for part in (train, validation, test)]
    times["preprocess_s"] = time.perf_counter() - start

    start = time.perf_counter()
    dtrain = xgb.DMatrix(scaled[0][0], label=scaled[0][1])
    dval = xgb.DMatrix(scaled[1][0], label=scaled[1][1])
    static = {"tree_method": "approx", "objective": "reg:squarederror",
              "eval_metric": ["mae", "rmse"], "seed": 47}
    def train_one(tuned):
        history = {}
        booster = xgb.train(dict(static, **tuned), dtrain, num_boost_round=100,
                            evals=[(dval, "validation")], evals_result=history, verbose_eval=False)
        return booster, history["validation"]["rmse"][-1]

    if args.replay:
        with open(args.replay) as replay:
            trained = [train_one(tuned) for tuned in json.load(replay)]
        best = min(trained, key=lambda pair: pair[1])[0]
    else:
        models = {}

        def objective(trial):
            booster, rmse = train_one({
                "max_depth": trial.suggest_int("max_depth", 1, 8),
                "eta": trial.suggest_float("eta", 0.2, 1.0),
                "min_child_weight": trial.suggest_int("min_child_weight", 0, 120),
                "subsample": trial.suggest_float("subsample", 0.2, 1.0)})
            models[trial.number] = booster
            return rmse

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="minimize",
                                    sampler=optuna.samplers.TPESampler(seed=47))
        study.optimize(objective, n_trials=4)
        best = models[study.best_trial.number]
    times["tune_s"] = time.perf_counter() - start

    start = time.perf_counter()
    predictions = best.predict(xgb.DMatrix(scaled[2][0]))
    errors = scaled[2][1].to_numpy() - predictions
    report = {"regression_metrics": {
        "mae": {"value": float(np.mean(np.abs(errors))), "standard_deviation": float(np.std(errors))},
        "rmse": {"value": float(np.sqrt(np.mean(errors ** 2))),
                 "standard_deviation": float(np.std(errors))}}}
    with open(os.path.join(args.workdir, "evaluation.json"), "w") as out:
        json.dump(report, out)
    best.save_model(os.path.join(args.workdir, "model.json"))
    times["evaluate_s"] = time.perf_counter() - start

    times["total_s"] = sum(times.values())
    print(" ".join(f"{name}={value:.3f}" for name, value in times.items()),
          f"rmse={report['regression_metrics']['rmse']['value']:.1f}")


if __name__ == "__main__":
    main()
