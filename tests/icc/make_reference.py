"""Builds tests/icc/input.csv (12 cases x 5 variants x 6 features) and the
ICC(1,1) reference values of pingouin for each feature in
tests/icc/reference.csv.

Run from the repository root:
    /work/venv-icc/bin/python tests/icc/make_reference.py

The table: each feature is  case effect (sd `between`) + variant noise
(sd `within`), with the ratio varied so the ICCs span poor to excellent.
Values are written with repr() (shortest round-trip), so radial reads the
very doubles pingouin saw. A `label` column (case-level, alternating) lets
the same table feed a learning stage.
"""

import csv
import os

import numpy as np
import pandas as pd
import pingouin as pg

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = 12
VARIANTS = 5
# name -> (between-case sd, within-case sd): reliability from high to low.
FEATURES = {
    "stat_mean": (10.0, 0.5),
    "morph_volume": (200.0, 30.0),
    "cm_contrast_3D_avg": (1.0, 0.4),
    "log_s2_szm_zone_entropy_3D": (0.5, 0.5),
    "portal_ngt_coarseness_3D": (0.01, 0.03),
    "ih_entropy": (0.2, 1.0),
}

# pingouin rounds the CI95 column to 2 decimals for display by default;
# its unrounded bounds are what an exact comparison needs.
pg.options["round.column.CI95"] = None

rng = np.random.RandomState(20190)
rows = []
values = {}
for name, (between, within) in FEATURES.items():
    case_effect = rng.normal(0.0, between, CASES) + 5.0 * between
    noise = rng.normal(0.0, within, (CASES, VARIANTS))
    values[name] = case_effect[:, None] + noise

with open(os.path.join(HERE, "input.csv"), "w", newline="") as out:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["case_id", "variant", *FEATURES, "label"])
    for i in range(CASES):
        for v in range(VARIANTS):
            w.writerow(
                [f"case{i + 1:02d}", v]
                + [repr(float(values[name][i, v])) for name in FEATURES]
                + [i % 2]
            )

table = pd.read_csv(os.path.join(HERE, "input.csv"), dtype={"case_id": str})
with open(os.path.join(HERE, "reference.csv"), "w", newline="") as out:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["feature", "icc", "ci_low", "ci_high", "n_cases", "n_variants"])
    for name in FEATURES:
        res = pg.intraclass_corr(
            data=table, targets="case_id", raters="variant", ratings=name
        ).set_index("Type")
        row = res.loc["ICC(1,1)"]
        low, high = row["CI95"]
        w.writerow(
            [name, repr(float(row["ICC"])), repr(float(low)), repr(float(high)), CASES, VARIANTS]
        )

print("pingouin", pg.__version__, "pandas", pd.__version__, "numpy", np.__version__)
