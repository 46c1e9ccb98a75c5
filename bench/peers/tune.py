"""Peer of `ml_bench tune`: Optuna's TPE over the housing search space.

    python tune.py TRAIN.csv VALIDATION.csv [--trials 20] [--seeds 5] [--rounds N]

Prints "median_best=<validation rmse> seeds=<S> trials=<N>".
"""

import argparse
import statistics

import optuna
import pandas as pd
import xgboost as xgb

from train import standardized


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("validation")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    x_train, y_train, x_val, y_val = standardized(pd.read_csv(args.train),
                                                  pd.read_csv(args.validation))
    dtrain = xgb.DMatrix(x_train, label=y_train)
    dval = xgb.DMatrix(x_val, label=y_val)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        params = {"tree_method": "approx", "objective": "reg:squarederror",
                  "eval_metric": "rmse", "seed": 47,
                  "max_depth": trial.suggest_int("max_depth", 1, 8),
                  "eta": trial.suggest_float("eta", 0.2, 1.0),
                  "min_child_weight": trial.suggest_int("min_child_weight", 0, 120),
                  "subsample": trial.suggest_float("subsample", 0.2, 1.0)}
        history = {}
        xgb.train(params, dtrain, num_boost_round=args.rounds, evals=[(dval, "validation")],
                  evals_result=history, verbose_eval=False)
        return history["validation"]["rmse"][-1]

    bests = []
    for seed in range(1, args.seeds + 1):
        study = optuna.create_study(direction="minimize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(objective, n_trials=args.trials)
        bests.append(study.best_value)
    print(f"median_best={statistics.median(bests):.6f} seeds={args.seeds} trials={args.trials}")


if __name__ == "__main__":
    main()
