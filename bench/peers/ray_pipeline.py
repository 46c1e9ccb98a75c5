"""Peer of the housing pipeline (examples/housing/pipeline.yaml) in the seed's own stack: Python
on Ray, as the seed ran it on SageMaker, here on a running Ray cluster.

    python ray_pipeline.py ADDRESS HOUSING.csv WORKDIR [--actors 4] [--workers 2]
                           [--cpus-per-worker 0.5] [--max-concurrent N]

ADDRESS is the cluster's HOST:PORT (scripts/ray-cluster address DIR); WORKDIR must not be
shared with another run. The stages and parameters of the pipeline file, with the stores of
bench/peers/pipeline.py:
- ingest: the driver reads the CSV (pandas), adds the feature store's columns (record id, event
  time, ...), cuts it with np.array_split into --actors parts and hands each to a Ray actor of
  half a CPU, which appends it to SQLite (online, WORKDIR/online.db) and writes a CSV part
  (offline, WORKDIR/offline/);
- preprocess: Ray Data reads the offline store, drops the store's columns, shuffles (seed 42),
  splits 60/20/20 and standardizes with a StandardScaler fitted on train;
- tune: Ray Tune runs 4 trials (at most --max-concurrent at once, by default as many as the
  cluster's CPUs hold) over max_depth [1, 8],
  eta [0.2, 1], min_child_weight [0, 120], subsample [0.2, 1] (seed 47); each trial is a Ray
  Train XGBoostTrainer with --workers workers of --cpus-per-worker CPUs (XGBoost's collective
  across them), tree_method approx, reg:squarederror, eval_metric mae and rmse, 100 rounds;
- evaluate: the best trial's model on the test set (rmse, mae); writes evaluation.json.
Prints "ingest_s=... preprocess_s=... tune_s=... evaluate_s=... total_s=... rmse=... mae=..."
as pipeline.py does.
"""

import argparse
import json
import os
import sqlite3
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Keep a loopback address as it is (otherwise Ray rewrites 127.0.0.1 to the machine's routable
# address, where scripts/ray-cluster's head does not listen).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# Ray Train's classic API (see tune_xgboost), in this driver and in the workers (ray.init).
os.environ["RAY_TRAIN_V2_ENABLED"] = "0"
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")

import numpy as np  # noqa: E402
import ray  # noqa: E402
import ray.data  # noqa: E402
import ray.train  # noqa: E402
import xgboost as xgb  # noqa: E402
from ray import tune  # noqa: E402
from ray.data.preprocessors import StandardScaler  # noqa: E402
from ray.train.xgboost import RayTrainReportCallback, XGBoostTrainer  # noqa: E402

from common import STORE_COLUMNS, read_housing_records  # noqa: E402

TARGET = "PRICE"
STATIC_PARAMS = {"tree_method": "approx", "objective": "reg:squarederror",
                 "eval_metric": ["mae", "rmse"], "seed": 47}
ROUNDS = 100


@ray.remote(num_cpus=0.5)
class IngestActor:
    """Writes its part of the rows to the online store (SQLite) and the offline store (CSV)."""

    def __init__(self, online_path, offline_dir):
        self.online_path = online_path
        self.offline_dir = offline_dir

    def ingest(self, index, part):
        # Several actors append to the one database: wait for the writer's lock.
        with sqlite3.connect(self.online_path, timeout=600) as connection:
            part.to_sql("housing", connection, if_exists="append", index=False)
        part.to_csv(os.path.join(self.offline_dir, f"part-{index:05d}.csv"), index=False)
        return len(part)


def ingest(housing, workdir, actors):
    frame = read_housing_records(housing)
    online = os.path.join(workdir, "online.db")
    offline = os.path.join(workdir, "offline")
    os.makedirs(offline, exist_ok=True)
    with sqlite3.connect(online) as connection:  # the table, empty, before the actors append
        frame.head(0).to_sql("housing", connection, if_exists="replace", index=False)
    workers = [IngestActor.remote(online, offline) for _ in range(actors)]
    # np.array_split's parts (of the row positions: numpy 2 turns a frame into an array).
    parts = [frame.iloc[rows] for rows in np.array_split(np.arange(len(frame)), actors)]
    written = ray.get([worker.ingest.remote(i, part)
                       for i, (worker, part) in enumerate(zip(workers, parts))])
    for worker in workers:
        ray.kill(worker)
    if sum(written) != len(frame):
        raise SystemExit(f"ingest: wrote {sum(written)} rows of {len(frame)}")
    return offline


def preprocess(offline):
    data = ray.data.read_csv(offline).drop_columns(STORE_COLUMNS)
    data = data.random_shuffle(seed=42)
    train, validation, test = data.split_proportionately([0.6, 0.2])
    features = [column for column in train.columns() if column != TARGET]
    scaler = StandardScaler(columns=features)
    scaler.fit(train)
    return [scaler.transform(part).materialize() for part in (train, validation, test)]


def train_per_worker(config):
    """One Ray Train worker: its shard of train and validation, XGBoost's collective."""
    def frame(name):
        return ray.train.get_dataset_shard(name).materialize().to_pandas()
    train, validation = frame("train"), frame("validation")
    dtrain = xgb.DMatrix(train.drop(columns=[TARGET]), label=train[TARGET])
    dvalidation = xgb.DMatrix(validation.drop(columns=[TARGET]), label=validation[TARGET])
    xgb.train(dict(STATIC_PARAMS, **config), dtrain, num_boost_round=ROUNDS,
              evals=[(dvalidation, "validation")], verbose_eval=False,
              callbacks=[RayTrainReportCallback()])


def tune_xgboost(train, validation, workdir, args):
    # Ray Train's classic API, as the seed used it: the XGBoostTrainer is Tune's trainable.
    # (Train V2's Tune integration polls the Train controller through Ray's state API, which
    # needs the dashboard that scripts/ray-cluster leaves out.)
    trainer = XGBoostTrainer(
        train_per_worker,
        train_loop_config={},
        scaling_config=ray.train.ScalingConfig(
            num_workers=args.workers, resources_per_worker={"CPU": args.cpus_per_worker},
            trainer_resources={"CPU": 0}),
        datasets={"train": train, "validation": validation})
    tuner = tune.Tuner(
        trainer,
        param_space={"train_loop_config": {
            "max_depth": tune.randint(1, 9), "eta": tune.uniform(0.2, 1.0),
            "min_child_weight": tune.randint(0, 121), "subsample": tune.uniform(0.2, 1.0)}},
        tune_config=tune.TuneConfig(
            num_samples=4, metric="validation-rmse", mode="min",
            max_concurrent_trials=args.max_concurrent,
            search_alg=tune.search.BasicVariantGenerator(random_state=47)),
        run_config=tune.RunConfig(storage_path=os.path.join(workdir, "ray_results"),
                                  name="tune", verbose=0))
    best = tuner.fit().get_best_result()
    if best.error or best.checkpoint is None:
        raise SystemExit(f"tune: the best trial failed: {best.error}")
    return RayTrainReportCallback.get_model(best.checkpoint)


def evaluate(model, test, workdir):
    frame = test.to_pandas()
    predictions = model.predict(xgb.DMatrix(frame.drop(columns=[TARGET])))
    errors = frame[TARGET].to_numpy() - predictions
    report = {"regression_metrics": {
        "mae": {"value": float(np.mean(np.abs(errors))),
                "standard_deviation": float(np.std(errors))},
        "rmse": {"value": float(np.sqrt(np.mean(errors ** 2))),
                 "standard_deviation": float(np.std(errors))}}}
    with open(os.path.join(workdir, "evaluation.json"), "w") as out:
        json.dump(report, out)
    model.save_model(os.path.join(workdir, "model.json"))
    return report["regression_metrics"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("housing")
    parser.add_argument("workdir")
    parser.add_argument("--actors", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cpus-per-worker", type=float, default=0.5)
    parser.add_argument("--max-concurrent", type=int, default=0,
                        help="trials at once; 0: as many as the cluster's CPUs hold (<= 4)")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    workdir = os.path.abspath(args.workdir)
    ray.init(address=args.address, log_to_driver=False, logging_level="ERROR",
             include_dashboard=False,
             runtime_env={"env_vars": {"RAY_TRAIN_V2_ENABLED": "0"}})
    ray.data.DataContext.get_current().enable_progress_bars = False
    if args.max_concurrent <= 0:
        # Trials beyond what the CPUs hold would wait for CPUs that their own pending
        # placement groups and Ray Data's tasks compete for.
        cpus = ray.cluster_resources().get("CPU", 1)
        args.max_concurrent = max(1, min(4, int(cpus // (args.workers * args.cpus_per_worker))))
    times = {}
    try:
        start = time.perf_counter()
        offline = ingest(os.path.abspath(args.housing), workdir, args.actors)
        times["ingest_s"] = time.perf_counter() - start

        start = time.perf_counter()
        train, validation, test = preprocess(offline)
        times["preprocess_s"] = time.perf_counter() - start

        start = time.perf_counter()
        model = tune_xgboost(train, validation, workdir, args)
        times["tune_s"] = time.perf_counter() - start

        start = time.perf_counter()
        metrics = evaluate(model, test, workdir)
        times["evaluate_s"] = time.perf_counter() - start
    finally:
        ray.shutdown()
    times["total_s"] = sum(times.values())
    print(" ".join(f"{name}={value:.3f}" for name, value in times.items()),
          f"rmse={metrics['rmse']['value']:.1f} mae={metrics['mae']['value']:.1f}", flush=True)


if __name__ == "__main__":
    main()
