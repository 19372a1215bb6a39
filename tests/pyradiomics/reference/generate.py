"""Write PyRadiomics 3.0.1 reference feature tables for radial's compatibility tests.

Run in a scratch virtual environment with PyRadiomics installed (see README.md here), from the
repository root:

    python tests/pyradiomics/reference/generate.py DATA_DIR OUT_DIR [NAME ...]

DATA_DIR is the shared reference data (its pyradiomics-samples/ folder is read). One CSV per
settings: default.csv (PyRadiomics' defaults) and NAME.csv for tests/pyradiomics/params/NAME.yaml
(exampleCT, derived, normalised, resegment_relative, gradient, gradient_voxels, force2d,
force2d_y, glcm_mcc_bw1, lbp2d, lbp2d_ror, lbp3d, lbp3d_options; all of them when
no NAME is given).
One row per (case, label); columns case, label, then PyRadiomics' own columns in its order.
Numbers are written with Python's repr (shortest text that reads back to the same double).
"""
import csv
import os
import sys

import numpy
from radiomics import featureextractor

CASES = [
    ("brain1", "brain1_image.nrrd", "brain1_label.nrrd", 1),
    ("brain2", "brain2_image.nrrd", "brain2_label.nrrd", 1),
    ("breast1", "breast1_image.nrrd", "breast1_label.nrrd", 1),
    ("lung1", "lung1_image.nrrd", "lung1_label.nrrd", 1),
    ("lung2", "lung2_image.nrrd", "lung2_label.nrrd", 1),
    ("prostate_phantom", "prostate_phantom_subvolume.nrrd", "prostate_phantom_subvolume-label.nrrd", 1),
    ("prostate_phantom", "prostate_phantom_subvolume.nrrd", "prostate_phantom_subvolume-label.nrrd", 7),
]


def text(value):
    if isinstance(value, numpy.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (float, numpy.floating)):
        return repr(float(value))
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


def table(extractor, samples, out_path):
    rows = []
    header = None
    for case, image, mask, label in CASES:
        result = extractor.execute(os.path.join(samples, image), os.path.join(samples, mask), label=label)
        names = list(result.keys())
        if header is None:
            header = names
        elif names != header:
            raise SystemExit(f"{case} label {label}: columns differ from the first case")
        rows.append([case, str(label)] + [text(result[n]) for n in names])
        print(f"{out_path}: {case} label {label}: {len(names)} columns", flush=True)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "label"] + header)
        w.writerows(rows)


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    samples = os.path.join(data_dir, "pyradiomics-samples")
    which = sys.argv[3:] or ["default", "exampleCT", "derived", "normalised", "resegment_relative", "gradient", "gradient_voxels", "force2d", "force2d_y", "lbp2d", "lbp2d_ror", "glcm_mcc_bw1", "lbp3d", "lbp3d_options"]
    for name in which:
        if name == "default":
            extractor = featureextractor.RadiomicsFeatureExtractor()
        else:
            params = os.path.join(os.path.dirname(__file__), "..", "params", name + ".yaml")
            extractor = featureextractor.RadiomicsFeatureExtractor(params)
        table(extractor, samples, os.path.join(out_dir, name + ".csv"))


if __name__ == "__main__":
    main()
