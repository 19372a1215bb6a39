"""Write PyRadiomics 3.0.1's shape2D features (shape2d.csv and shape2d_masks.csv).

Run from the repository root in the scratch environment described in README.md here:

    python tests/pyradiomics/reference/make_shape2d_reference.py /work/shared/data tests/pyradiomics/reference

shape2d.csv: the six sample cases (label 1; the prostate phantom also label 7), each made
2D in memory along array axis 0 and along array axis 1 (no image copies are kept). Slice
rule, reproduced by the Rust test: along `axis`, the index holding the most voxels of the
label, the lowest index on ties; the mask keeps the label only in that slice (every other
voxel becomes 0). The image is the case's image, untouched; both keep the files' geometry.

PyRadiomics 3.0.1's extractor decides whether to compute shape2D by indexing its bounding
box (x, y, z order) with force2Ddimension (array order, z first) and inverts the test, so
for force2Ddimension 1 it never computes shape2D and for 0 it depends on the x extent. The
features are therefore computed the way the extractor's computeShape does when it does
compute them: checkMask's bounding box, cropToTumorMask, then RadiomicsShape2D on the
cropped image and mask with force2D and force2Ddimension, every feature enabled (deprecated
SphericalDisproportion included). Where the extractor does compute shape2D (axis 0), its
output is checked to be the same doubles.

Columns: case, label, axis, then original_shape2D_<feature> in PyRadiomics' order.

shape2d_masks.csv: the class on small random 2D masks holding all 16 marching-squares
patterns, at three pixel spacings. Columns: ny, nx (shape after cropping), sy, sx (spacing,
array order), bits (hex digits over the pixels in raster order, digit k holds pixels
4k..4k+3, pixel 4k+j in bit j), then the features.
Numbers are Python repr of the double PyRadiomics returned.
"""
import csv
import logging
import os
import sys

import numpy
import radiomics
import SimpleITK as sitk
from radiomics import featureextractor, imageoperations, shape2D

# The sample cases of the extractor tables (generate.py, in this directory).
from generate import CASES

SPACINGS = [(1.0, 1.0), (0.7, 2.3), (3.1, 0.45)]


def one_slice(mask_array, label, axis):
    inside = mask_array == label
    counts = inside.sum(axis=tuple(a for a in range(3) if a != axis))
    keep = int(numpy.argmax(counts))  # first maximum: lowest index on ties
    out = numpy.zeros(mask_array.shape, mask_array.dtype)
    index = [slice(None)] * 3
    index[axis] = keep
    out[tuple(index)] = numpy.where(inside[tuple(index)], label, 0)
    return out


def class_features(image, mask, label, axis):
    settings = {"label": label, "force2D": True, "force2Ddimension": axis}
    bb, _ = imageoperations.checkMask(image, mask, **settings)
    cropped_image, cropped_mask = imageoperations.cropToTumorMask(image, mask, bb)
    features = shape2D.RadiomicsShape2D(cropped_image, cropped_mask, **settings)
    features.enableAllFeatures()
    features.enableFeatureByName("SphericalDisproportion")
    return [("original_shape2D_" + k, float(v)) for k, v in features.execute().items()]


def cases(data, out_dir):
    rows = []
    header = None
    for case, image_file, mask_file, label in CASES:
        image = sitk.ReadImage(os.path.join(data, "pyradiomics-samples", image_file))
        mask_file_image = sitk.ReadImage(os.path.join(data, "pyradiomics-samples", mask_file))
        for axis in (0, 1):
            array = one_slice(sitk.GetArrayFromImage(mask_file_image), label, axis)
            mask = sitk.GetImageFromArray(array)
            mask.CopyInformation(mask_file_image)
            values = class_features(image, mask, label, axis)
            if axis == 0:
                extractor = featureextractor.RadiomicsFeatureExtractor(
                    label=label, force2D=True, force2Ddimension=0)
                extractor.disableAllFeatures()
                extractor.enableFeatureClassByName("shape2D")
                result = extractor.execute(image, mask)
                for name, value in values:
                    if name in result:
                        assert float(result[name]) == value, (case, name, result[name], value)
            names = [n for n, _ in values]
            if header is None:
                header = names
            assert names == header
            rows.append([case, str(label), str(axis)] + [repr(v) for _, v in values])
    with open(os.path.join(out_dir, "shape2d.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "label", "axis"] + header)
        w.writerows(rows)


def masks():
    rng = numpy.random.RandomState(20261130)
    for n in range(60):
        shape_yx = tuple(rng.randint(2, 9, size=2))
        density = [0.5, 0.3, 0.7][n % 3]
        yield rng.random_sample(shape_yx) < density


def crop(mask):
    idx = numpy.argwhere(mask)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return mask[lo[0]:hi[0], lo[1]:hi[1]]


def hex_bits(mask):
    flat = mask.ravel().astype(numpy.uint8)
    flat = numpy.concatenate([flat, numpy.zeros((-len(flat)) % 4, numpy.uint8)])
    digits = flat.reshape(-1, 4) @ numpy.array([1, 2, 4, 8])
    return "".join("%x" % d for d in digits)


def random_masks(out_dir):
    rows = []
    header = None
    patterns = set()
    for n, mask in enumerate(masks()):
        if not mask.any():
            continue
        mask = crop(mask)
        padded = numpy.pad(mask, 1)
        for y in range(padded.shape[0] - 1):
            for x in range(padded.shape[1] - 1):
                patterns.add(int(padded[y, x]) | int(padded[y, x + 1]) << 1
                             | int(padded[y + 1, x + 1]) << 2 | int(padded[y + 1, x]) << 3)
        sy, sx = SPACINGS[n % len(SPACINGS)]
        msk = sitk.GetImageFromArray(mask[None].astype(numpy.uint8))
        msk.SetSpacing((sx, sy, 1.0))
        img = sitk.GetImageFromArray(numpy.zeros((1,) + mask.shape, numpy.float32))
        img.SetSpacing((sx, sy, 1.0))
        features = shape2D.RadiomicsShape2D(img, msk, label=1, force2D=True, force2Ddimension=0)
        features.enableAllFeatures()
        features.enableFeatureByName("SphericalDisproportion")
        values = [(k, float(v)) for k, v in features.execute().items()]
        names = [k for k, _ in values]
        if header is None:
            header = names
        assert names == header
        rows.append([str(mask.shape[0]), str(mask.shape[1]), repr(sy), repr(sx), hex_bits(mask)]
                    + [repr(v) for _, v in values])
    assert patterns == set(range(16)), patterns
    with open(os.path.join(out_dir, "shape2d_masks.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ny", "nx", "sy", "sx", "bits"] + header)
        w.writerows(rows)


def main():
    assert radiomics.__version__ == "v3.0.1", radiomics.__version__
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    data, out_dir = sys.argv[1], sys.argv[2]
    cases(data, out_dir)
    random_masks(out_dir)


if __name__ == "__main__":
    main()
