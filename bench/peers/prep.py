"""pandas/numpy peer of data_bench prep: shuffle, split 0.6/0.2/0.2, StandardScaler.

The same work as raypipe's RandomShuffle + SplitProportionately + StandardScaler: a full
shuffle of every column, consecutive splits at int(n * 0.6) and int(n * 0.8), the mean and the
population standard deviation (ddof=0, zero -> 1) of the 8 features on the train split, and
(x - mean) / std applied to the features of all three splits.
"""

import argparse

import pandas as pd

from common import HOUSING_DTYPES, median_seconds, report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    frame = pd.read_csv(args.path, dtype=HOUSING_DTYPES)
    features = [name for name in frame.columns if name != "PRICE"]

    def work():
        shuffled = frame.sample(frac=1, random_state=args.seed)
        rows = len(shuffled)
        first, second = int(rows * 0.6), int(rows * 0.8)
        splits = [shuffled.iloc[:first], shuffled.iloc[first:second], shuffled.iloc[second:]]
        train = splits[0][features]
        mean = train.mean()
        std = train.std(ddof=0)
        std[std == 0] = 1.0
        scaled = [(split[features] - mean) / std for split in splits]
        assert sum(len(split) for split in scaled) == rows

    report(*median_seconds(work, args.reps))


if __name__ == "__main__":
    main()
