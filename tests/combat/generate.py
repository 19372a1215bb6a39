"""Reference values of ComBat from neuroCombat, for tests/combat.rs.

Writes, next to this script:
- input.csv: 30 cases x 8 features, a batch column (3 sites of 12, 10 and 8
  cases, interleaved) and an integer covariate `age`, drawn deterministically
  (numpy's PCG64 with seed 20071) with site-specific shifts and scales;
- <config>.csv: neuroCombat's harmonised values of the same table (case_id and
  the 8 features), one file per configuration in CONFIGS.

Every number is written with repr(), the shortest text that reads back to the
same float64, and the script harmonises the values it read back from
input.csv, so radial and neuroCombat see identical inputs. `age` is an
integer because neuroCombat casts continuous covariates to float32.
"""
import os

import numpy as np
import pandas as pd
from neuroCombat import neuroCombat

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = [f"f{j + 1}" for j in range(8)]
CONFIGS = {
    "parametric": dict(parametric=True),
    "parametric_age": dict(parametric=True, continuous_cols=["age"]),
    "nonparametric": dict(parametric=False),
    "nonparametric_age": dict(parametric=False, continuous_cols=["age"]),
    "parametric_mean_only": dict(parametric=True, mean_only=True),
}


def make_input():
    rng = np.random.default_rng(20071)
    sizes = {"site_a": 12, "site_b": 10, "site_c": 8}
    batches = [b for b, n in sizes.items() for _ in range(n)]
    order = rng.permutation(len(batches))
    batches = [batches[i] for i in order]
    age = rng.integers(35, 80, size=len(batches))
    centre = rng.uniform(20.0, 400.0, size=len(FEATURES))
    spread = rng.uniform(2.0, 30.0, size=len(FEATURES))
    shift = {b: rng.normal(0.0, 1.0, size=len(FEATURES)) for b in sizes}
    scale = {b: rng.uniform(0.6, 1.8, size=len(FEATURES)) for b in sizes}
    slope = rng.normal(0.0, 0.3, size=len(FEATURES))
    rows = []
    for i, b in enumerate(batches):
        noise = rng.normal(0.0, 1.0, size=len(FEATURES))
        x = centre + spread * (shift[b] + scale[b] * noise) + slope * spread * (age[i] - 57) / 10
        rows.append(x)
    df = pd.DataFrame(np.array(rows), columns=FEATURES)
    df.insert(0, "age", age)
    df.insert(0, "batch", batches)
    df.insert(0, "case_id", [f"case_{i:02d}" for i in range(len(batches))])
    return df


def write(df, path):
    with open(path, "w") as f:
        f.write(",".join(df.columns) + "\n")
        for _, row in df.iterrows():
            f.write(",".join(repr(v) if isinstance(v, float) else str(v) for v in row) + "\n")


def main():
    write(make_input(), os.path.join(HERE, "input.csv"))
    df = pd.read_csv(os.path.join(HERE, "input.csv"))
    dat = df[FEATURES].to_numpy(dtype=np.float64).T  # features x samples
    covars = df[["batch", "age"]]
    for name, options in CONFIGS.items():
        out = neuroCombat(dat=dat.copy(), covars=covars, batch_col="batch", **options)
        data = out["data"].T
        res = pd.DataFrame({"case_id": df["case_id"]})
        for j, f in enumerate(FEATURES):
            res[f] = [float(v) for v in data[:, j]]
        write(res, os.path.join(HERE, f"{name}.csv"))


if __name__ == "__main__":
    main()
