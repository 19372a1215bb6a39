"""Write PyRadiomics 3.0.1's MeshVolume and SurfaceArea on small random masks (mesh.csv).

The masks exercise every marching-cubes configuration (all 256 corner patterns, both
orientations of every ambiguous face) so that radial's PyRadiomics mesh can be checked
configuration by configuration. Run from the repository root in the scratch environment
described in README.md here:

    python tests/pyradiomics/reference/make_mesh_reference.py > tests/pyradiomics/reference/mesh.csv

Each mask is generated from a fixed seed, cropped to its bounding box (as PyRadiomics'
extractor crops before the shape class pads one voxel of background), and written with its
bits, so the Rust test needs no random generator of its own. Columns:
  nz, ny, nx      array shape in (z, y, x) order after cropping
  sz, sy, sx      voxel spacing in mm, (z, y, x) order
  bits            hex digits over the voxels in raster order (z slowest, x fastest); digit k
                  holds voxels 4k..4k+3, voxel 4k+j in bit j (value 1 << j); the last digit is
                  padded with zeros
  MeshVolume, SurfaceArea   PyRadiomics' values (Python repr: reads back to the same double)
"""
import sys

import numpy
import radiomics
import SimpleITK as sitk
from radiomics import shape

SPACINGS = [(1.0, 1.0, 1.0), (2.5, 0.7, 0.9), (0.6, 1.3, 3.1)]


def masks():
    rng = numpy.random.RandomState(20261130)
    # Dense noise, sparse noise, and smoothed blobs, on small grids.
    for n in range(120):
        shape_zyx = tuple(rng.randint(2, 7, size=3))
        density = [0.5, 0.3, 0.7][n % 3]
        yield (rng.random_sample(shape_zyx) < density)
    for n in range(30):
        shape_zyx = tuple(rng.randint(5, 10, size=3))
        field = rng.random_sample(shape_zyx)
        smooth = field.copy()
        for axis in range(3):
            smooth = smooth + numpy.roll(field, 1, axis) + numpy.roll(field, -1, axis)
        yield smooth > numpy.median(smooth)


def crop(mask):
    idx = numpy.argwhere(mask)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]


def hex_bits(mask):
    flat = mask.ravel().astype(numpy.uint8)
    flat = numpy.concatenate([flat, numpy.zeros((-len(flat)) % 4, numpy.uint8)])
    digits = flat.reshape(-1, 4) @ numpy.array([1, 2, 4, 8])
    return "".join("%x" % d for d in digits)


def main():
    assert radiomics.__version__ == "v3.0.1", radiomics.__version__
    out = sys.stdout
    out.write("nz,ny,nx,sz,sy,sx,bits,MeshVolume,SurfaceArea\n")
    for n, mask in enumerate(masks()):
        if not mask.any():
            continue
        mask = crop(mask)
        spacing = SPACINGS[n % len(SPACINGS)]
        msk = sitk.GetImageFromArray(mask.astype(numpy.uint8))
        msk.SetSpacing(spacing[::-1])
        img = sitk.GetImageFromArray(numpy.zeros(mask.shape, numpy.float32))
        img.SetSpacing(spacing[::-1])
        features = shape.RadiomicsShape(img, msk, label=1)
        volume = features.getMeshVolumeFeatureValue()
        area = features.getSurfaceAreaFeatureValue()
        out.write(",".join(
            [str(s) for s in mask.shape] + [repr(s) for s in spacing]
            + [hex_bits(mask), repr(float(volume)), repr(float(area))]) + "\n")


if __name__ == "__main__":
    main()
