"""Write PyRadiomics 3.0.1's features with `correctMask` on masks whose grid is not the image's
(correct_mask.csv).

Run from the repository root in the scratch environment described in README.md here:

    python tests/pyradiomics/reference/make_correct_mask_reference.py /work/shared/data tests/pyradiomics/reference

Each sample case's label map is moved to another grid in memory (no image copies are kept);
the Rust test (tests/pyradiomics_compat.rs) builds the same masks. Variants, with (i, j, k) a
continuous index of the image grid and the voxel data in array order (z, y, x):

- shift: the same voxels, origin at image index (0.3, -0.2, 0.4) (a sub-voxel shift);
- fine_z: every slice repeated 3 times (z spacing / 3), origin at image index (0.3, 0, -1/3);
- coarse_xy: every second voxel along x and y from the first (x and y spacing * 2), origin at
  image index (0.3, 0.3, 0).

No voxel centre of the image falls halfway between two mask voxels, so the nearest neighbour
does not depend on the last bit of the positions. Settings: PyRadiomics' defaults with
correctMask true. Columns: variant, case, label, then PyRadiomics' columns in its order.
Numbers are Python repr of the double PyRadiomics returned.

correct_mask_refused.csv: the variants PyRadiomics refuses because the ROI's bounding box
reaches beyond the image (`_checkROI`), with the first line of its message.

resampled_mask.csv: the same moved masks with resampling and without correctMask, which
PyRadiomics does not need then: it resamples the image onto a grid computed from the mask's
own grid (`resampleImage`). `config` is `2mm` (resampledPixelSpacing [2, 2, 2], B-spline) or
`mask_spacing` ([0, 0, 0]: the mask's own spacing; for `shift` that is the image's spacing, and
PyRadiomics takes its other branch, the mask resampled onto the image's grid and both cropped).
Columns: config, variant, case, label, then PyRadiomics' columns; the variants it refuses are
left out (the same as correct_mask_refused.csv's).
"""
import csv
import logging
import os
import sys

import numpy
import radiomics
import SimpleITK as sitk
from radiomics import featureextractor

from generate import CASES, text

VARIANTS = ["shift", "fine_z", "coarse_xy"]
KEEP = {("breast1", 1), ("brain2", 1), ("lung1", 1), ("prostate_phantom", 1)}
RESAMPLED = [("2mm", [2, 2, 2]), ("mask_spacing", [0, 0, 0])]


def moved(image, labels, variant):
    array = sitk.GetArrayFromImage(labels)
    spacing = list(image.GetSpacing())
    if variant == "shift":
        origin_index = (0.3, -0.2, 0.4)
    elif variant == "fine_z":
        array = numpy.repeat(array, 3, axis=0)
        spacing[2] = spacing[2] / 3
        origin_index = (0.3, 0.0, -1.0 / 3.0)
    elif variant == "coarse_xy":
        array = array[:, ::2, ::2]
        spacing[0] = spacing[0] * 2
        spacing[1] = spacing[1] * 2
        origin_index = (0.3, 0.3, 0.0)
    else:
        raise ValueError(variant)
    mask = sitk.GetImageFromArray(numpy.ascontiguousarray(array))
    mask.SetSpacing(spacing)
    mask.SetDirection(image.GetDirection())
    mask.SetOrigin(image.TransformContinuousIndexToPhysicalPoint(origin_index))
    return mask


def main():
    assert radiomics.__version__ == "v3.0.1", radiomics.__version__
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    data, out_dir = sys.argv[1], sys.argv[2]
    samples = os.path.join(data, "pyradiomics-samples")
    extractor = featureextractor.RadiomicsFeatureExtractor(correctMask=True)
    rows = []
    refused = []
    header = None
    for variant in VARIANTS:
        for case, image_file, mask_file, label in CASES:
            if (case, label) not in KEEP:
                continue
            image = sitk.ReadImage(os.path.join(samples, image_file))
            labels = sitk.ReadImage(os.path.join(samples, mask_file))
            try:
                result = extractor.execute(image, moved(image, labels, variant), label=label)
            except ValueError as e:
                # _checkROI: the ROI reaches beyond the image.
                message = str(e).splitlines()[0]
                assert message.startswith("Bounding box of ROI is larger than image space"), message
                refused.append([variant, case, str(label), message])
                print(f"{variant} {case} {label}: refused", flush=True)
                continue
            names = list(result.keys())
            assert "diagnostics_Mask-corrected_VoxelNum" in names, (variant, case)
            if header is None:
                header = names
            assert names == header, (variant, case)
            rows.append([variant, case, str(label)] + [text(result[n]) for n in names])
            print(f"{variant} {case} {label}", flush=True)
    resampled_rows = []
    resampled_header = None
    for config, spacing in RESAMPLED:
        resampler = featureextractor.RadiomicsFeatureExtractor(resampledPixelSpacing=spacing)
        for variant in VARIANTS:
            for case, image_file, mask_file, label in CASES:
                if (case, label) not in KEEP or [variant, case, str(label)] in [r[:3] for r in refused]:
                    continue
                image = sitk.ReadImage(os.path.join(samples, image_file))
                labels = sitk.ReadImage(os.path.join(samples, mask_file))
                result = resampler.execute(image, moved(image, labels, variant), label=label)
                names = list(result.keys())
                if resampled_header is None:
                    resampled_header = names
                assert names == resampled_header, (config, variant, case)
                resampled_rows.append([config, variant, case, str(label)] + [text(result[n]) for n in names])
                print(f"{config} {variant} {case} {label}", flush=True)
    with open(os.path.join(out_dir, "resampled_mask.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["config", "variant", "case", "label"] + resampled_header)
        w.writerows(resampled_rows)
    with open(os.path.join(out_dir, "correct_mask.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["variant", "case", "label"] + header)
        w.writerows(rows)
    with open(os.path.join(out_dir, "correct_mask_refused.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["variant", "case", "label", "message"])
        w.writerows(refused)


if __name__ == "__main__":
    main()
