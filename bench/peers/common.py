"""Shared helpers of the Python benchmark peers (run with .deps/venv/bin/python)."""

import statistics
import time

import numpy as np
import pandas as pd

# The housing CSV's column types, as raypipe's data_bench reads them.
HOUSING_DTYPES = {
    "PRICE": "int64",
    "YEAR_BUILT": "int64",
    "SQUARE_FEET": "float64",
    "NUM_BEDROOMS": "int64",
    "NUM_BATHROOMS": "float64",
    "LOT_ACRES": "float64",
    "GARAGE_SPACES": "int64",
    "FRONT_PORCH": "int64",
    "DECK": "int64",
}


# The columns a feature store adds to each record (SageMaker's offline store layout).
STORE_COLUMNS = ["record_id", "event_time", "write_time", "api_invocation_time", "is_deleted"]


def read_housing_records(path):
    """The housing CSV as feature-store records: ids 0..N-1 and the store's columns at now."""
    frame = pd.read_csv(path, dtype=HOUSING_DTYPES)
    now = time.time()
    frame["record_id"] = np.arange(len(frame))
    frame["event_time"] = now
    frame["write_time"] = now
    frame["api_invocation_time"] = now
    frame["is_deleted"] = False
    return frame


def median_seconds(work, reps):
    """Runs work() once untimed (warm-up), then reps timed times; returns the median."""
    work()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times)


def report(median, reps):
    print(f"median_s={median:.6f} reps={reps} threads=1")
