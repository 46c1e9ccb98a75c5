"""The Python peer of raypipe's endpoint: the same model bundle behind FastAPI + uvicorn.

    .deps/venv/bin/python bench/peers/serve.py BUNDLE_DIR --port P [--workers N]

Serves POST /invocations (text/csv rows -> one prediction per line) and GET /ping the way a
SageMaker-style Python container does: the bundle's StandardScaler applied to the raw features,
then XGBoost's inplace_predict. Prints "ready PORT" once listening.
"""

import argparse
import json
import os

import numpy as np
import uvicorn
import xgboost
from fastapi import FastAPI, Request, Response

app = FastAPI()
_model = {}


def _load(bundle):
    with open(os.path.join(bundle, "raypipe-model.json")) as f:
        manifest = json.load(f)
    booster = xgboost.Booster()
    booster.load_model(os.path.join(bundle, "xgboost-model.json"))
    booster.set_param({"nthread": 1})  # one process per core already (uvicorn workers)
    features = manifest["features"]
    mean = np.zeros(len(features))
    std = np.ones(len(features))
    if manifest.get("preprocessing"):
        with open(os.path.join(bundle, manifest["preprocessing"])) as f:
            scaler = {c["name"]: c for c in json.load(f)["columns"]}
        for i, name in enumerate(features):
            if name in scaler:
                mean[i] = scaler[name]["mean"]
                std[i] = scaler[name]["std"] or 1.0
    _model.update(booster=booster, features=features, mean=mean, std=std)


@app.get("/ping")
def ping():
    return Response(status_code=200 if _model else 503)


@app.post("/invocations")
async def invocations(request: Request):
    body = (await request.body()).decode()
    rows = [line.split(",") for line in body.splitlines() if line.strip()]
    try:
        x = np.array(rows, dtype=np.float32)
    except ValueError as error:
        return Response(str(error), status_code=400)
    if x.ndim != 2 or x.shape[1] != len(_model["features"]):
        return Response("expected %d columns" % len(_model["features"]), status_code=400)
    x = ((x - _model["mean"]) / _model["std"]).astype(np.float32)
    predictions = _model["booster"].inplace_predict(x)
    return Response("".join("%g\n" % p for p in predictions), media_type="text/csv")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    os.environ["RAYPIPE_PEER_BUNDLE"] = args.bundle
    print("ready %d" % args.port, flush=True)
    uvicorn.run("serve:app", host="127.0.0.1", port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if "RAYPIPE_PEER_BUNDLE" in os.environ:
    # Each uvicorn worker imports this module and loads the model once.
    _load(os.environ["RAYPIPE_PEER_BUNDLE"])

if __name__ == "__main__":
    main()
