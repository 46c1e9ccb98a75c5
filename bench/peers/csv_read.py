"""pandas peer of data_bench csv-read: pandas.read_csv of the housing CSV with explicit types."""

import argparse

import pandas as pd

from common import HOUSING_DTYPES, median_seconds, report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    def work():
        frame = pd.read_csv(args.path, dtype=HOUSING_DTYPES)
        assert len(frame.columns) == len(HOUSING_DTYPES)

    report(*median_seconds(work, args.reps))


if __name__ == "__main__":
    main()
