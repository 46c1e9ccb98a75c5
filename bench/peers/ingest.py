"""pandas peer of featurestore_bench ingest: the seed's ingestion done the pandas way.

Reads the housing CSV, adds a record id (0..N-1) and an event time (now), then writes the
frame into SQLite with DataFrame.to_sql (the online store's stand-in) and to CSV with
DataFrame.to_csv (the offline store's stand-in), into a fresh directory each repetition.
"""

import argparse
import os
import shutil
import sqlite3
import tempfile
import time

import pandas as pd

from common import HOUSING_DTYPES, median_seconds, report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    def work():
        directory = tempfile.mkdtemp(prefix="raypipe-fs-peer-")
        try:
            frame = pd.read_csv(args.path, dtype=HOUSING_DTYPES)
            frame["house_id"] = range(len(frame))
            frame["event_time"] = time.time()
            connection = sqlite3.connect(os.path.join(directory, "online.db"))
            frame.to_sql("housing", connection, if_exists="replace", index=False)
            connection.commit()
            connection.close()
            frame.to_csv(os.path.join(directory, "offline.csv"), index=False)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    report(*median_seconds(work, args.reps))


if __name__ == "__main__":
    main()
