"""Peer of `ml_bench train`: DMatrix construction + xgboost.train with the same parameters.

    python train.py TRAIN.csv VALIDATION.csv [--reps R] [--rounds N] [--threads T]

Prints "median_s=<s> reps=<R> threads=<T> rmse=<validation rmse>".
"""

import argparse

import pandas as pd
import xgboost as xgb

from common import median_seconds


def standardized(train, validation):
    features = [c for c in train.columns if c != "PRICE"]
    mean = train[features].mean()
    std = train[features].std(ddof=0).replace(0, 1)
    scale = lambda frame: (frame[features] - mean) / std
    return scale(train), train["PRICE"], scale(validation), validation["PRICE"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("validation")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    x_train, y_train, x_val, y_val = standardized(pd.read_csv(args.train),
                                                  pd.read_csv(args.validation))
    params = {"tree_method": "approx", "objective": "reg:squarederror", "eval_metric": "rmse",
              "seed": 47, "max_depth": 6, "eta": 0.3}
    if args.threads > 0:
        params["nthread"] = args.threads
    result = {}

    def work():
        dtrain = xgb.DMatrix(x_train, label=y_train)
        dval = xgb.DMatrix(x_val, label=y_val)
        history = {}
        xgb.train(params, dtrain, num_boost_round=args.rounds, evals=[(dval, "validation")],
                  evals_result=history, verbose_eval=False)
        result["rmse"] = history["validation"]["rmse"][-1]

    median, reps = median_seconds(work, args.reps)
    print(f"median_s={median:.6f} reps={reps} threads={args.threads} rmse={result['rmse']:.6f}")


if __name__ == "__main__":
    main()
