//! PyRadiomics' resampling (`resampledPixelSpacing`, `interpolator`,
//! `padDistance`): its output grid and SimpleITK's interpolators, kept apart
//! from radial's IBSI interpolation, whose grid and rules differ.
//!
//! The grid (PyRadiomics' `imageoperations.resampleImage`): aligned to the
//! input origin, covering only the mask's bounding box plus `padDistance`
//! voxels of the new spacing, clipped to the image; a spacing of 0, or an
//! axis along which the ROI is one voxel thick, keeps the mask's spacing.
//! When the new spacing equals the image's, nothing is interpolated: image
//! and mask are only cropped to the bounding box plus `padDistance`.
//!
//! The values (SimpleITK's ResampleImageFilter with the input's pixel type):
//! a point outside the input's buffer (continuous index outside
//! [-0.5, n - 0.5)) gets 0; the interpolated value is clamped to the pixel
//! type's range and truncated toward zero for integer types (ITK's cast).
//! The mask is resampled with the nearest neighbour (index rounded half up).
//! B-spline is ITK's cubic B-spline: the coefficients of the whole line by
//! Unser's recursive prefilter with mirror boundaries, evaluated on 4×4×4
//! coefficients with indices mirrored at the image's first and last voxel.

use ndarray::Array3;
use rayon::prelude::*;

use super::params::Settings;
use crate::image::{Geometry, Volume};
use crate::{Error, Result};

/// The stored pixel type of the image, which SimpleITK keeps when resampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl PixelType {
    /// From the datatype name radial's readers record (`int16`, ...);
    /// anything else is treated as floating point (no cast).
    pub fn from_datatype(name: &str) -> PixelType {
        match name {
            "uint8" => PixelType::U8,
            "int8" => PixelType::I8,
            "uint16" => PixelType::U16,
            "int16" => PixelType::I16,
            "uint32" => PixelType::U32,
            "int32" => PixelType::I32,
            "uint64" => PixelType::U64,
            "int64" => PixelType::I64,
            "float64" => PixelType::F64,
            _ => PixelType::F32,
        }
    }

    /// ITK's cast of an interpolated value: clamped to the type's range,
    /// then truncated toward zero for integer types.
    pub fn cast(self, v: f64) -> f32 {
        let int = |lo: f64, hi: f64| v.clamp(lo, hi).trunc() as f32;
        match self {
            PixelType::U8 => int(0.0, 255.0),
            PixelType::I8 => int(-128.0, 127.0),
            PixelType::U16 => int(0.0, 65535.0),
            PixelType::I16 => int(-32768.0, 32767.0),
            PixelType::U32 => int(0.0, 4294967295.0),
            PixelType::I32 => int(-2147483648.0, 2147483647.0),
            PixelType::U64 => int(0.0, 18446744073709551615.0),
            PixelType::I64 => int(-9223372036854775808.0, 9223372036854775807.0),
            PixelType::F32 | PixelType::F64 => v as f32,
        }
    }
}

/// SimpleITK's interpolators that radial reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolator {
    NearestNeighbor,
    Linear,
    BSpline,
}

impl Interpolator {
    /// By SimpleITK's name; the others PyRadiomics accepts are refused by name.
    pub fn named(name: &str) -> Result<Interpolator> {
        match name {
            "sitkNearestNeighbor" => Ok(Interpolator::NearestNeighbor),
            "sitkLinear" => Ok(Interpolator::Linear),
            "sitkBSpline" => Ok(Interpolator::BSpline),
            other => Err(Error::setting(
                "setting.interpolator",
                format!(
                    "{other} is not implemented in radial's PyRadiomics mode (sitkNearestNeighbor, sitkLinear and sitkBSpline are)"
                ),
            )),
        }
    }
}

/// The resampled (or only cropped) image and mask, on one grid.
pub struct Resampled {
    pub image: Volume<f32>,
    pub mask: Volume<bool>,
}

/// Resamples as PyRadiomics does when `resampledPixelSpacing` is set.
pub fn resample(
    image: &Volume<f32>,
    pixel: PixelType,
    mask: &Volume<bool>,
    s: &Settings,
) -> Result<Resampled> {
    let requested = s
        .resampled_pixel_spacing
        .as_ref()
        .expect("called only with resampledPixelSpacing");
    let interpolator = Interpolator::named(s.interpolator.unwrap_or("sitkBSpline"))?;
    let pad = s.pad_distance.unwrap_or(5) as f64;
    let mask_spacing = mask.geometry.spacing;
    let Some(bounds) = crate::processing::crop::bounding_box(&mask.data) else {
        return Err(Error::data("the mask selects no voxel"));
    };
    // Bounding box as (start, size) per axis x, y, z.
    let start = bounds.map(|(lo, _)| lo as f64);
    let size = bounds.map(|(lo, hi)| (hi - lo) as f64);
    let mut spacing = [0.0; 3];
    for a in 0..3 {
        spacing[a] = if requested[a] == 0.0 || size[a] == 1.0 {
            mask_spacing[a]
        } else {
            requested[a]
        };
    }
    // numpy.allclose(imageSpacing, spacing): |a - b| <= 1e-8 + 1e-5 |b|.
    let same = (0..3)
        .all(|a| (image.geometry.spacing[a] - spacing[a]).abs() <= 1e-8 + 1e-5 * spacing[a].abs());
    if same {
        // PyRadiomics then only resamples the mask onto the image's grid
        // (nearest neighbour: the same mask when it is already there) and
        // crops both around the ROI's new bounding box.
        let on_image = super::mask_geometry::differences(
            &image.geometry,
            image.dims(),
            &mask.geometry,
            mask.dims(),
            s.geometry_tolerance,
        )
        .map(|_| nearest_onto(mask, &image.geometry, image.dims()));
        let mask = on_image.as_ref().unwrap_or(mask);
        let Some(bounds) = crate::processing::crop::bounding_box(&mask.data) else {
            return Err(Error::data(
                "the mask selects no voxel once resampled onto the image's grid",
            ));
        };
        return Ok(crop_padded(
            image,
            mask,
            &bounds,
            s.pad_distance.unwrap_or(5),
        ));
    }
    let dims = mask.dims();
    let mut lower = [0.0; 3];
    let mut new_size = [0usize; 3];
    let mut origin_index = [0.0; 3];
    for a in 0..3 {
        let ratio = mask_spacing[a] / spacing[a];
        let lo = ((start[a] - 0.5) * ratio - pad).floor().max(0.0);
        let max_upper = (dims[a] as f64 * ratio).ceil() - 1.0;
        let hi = ((start[a] + size[a] - 0.5) * ratio + pad)
            .ceil()
            .min(max_upper);
        lower[a] = lo;
        new_size[a] = (hi - lo + 1.0) as usize;
        origin_index[a] = 0.5 * (spacing[a] - mask_spacing[a]) / mask_spacing[a] + lo / ratio;
    }
    let geometry = Geometry {
        spacing,
        origin: itk_index_to_physical(&mask.geometry, origin_index),
        direction: mask.geometry.direction,
    };
    let shape = (new_size[2], new_size[1], new_size[0]);
    let nx = new_size[0];
    let positions = |k: usize, j: usize, i: usize| {
        scan_line_position(&geometry, nx, &image.geometry, [i, j, k])
    };
    let image_dims = image.dims();
    let values: Vec<f32> = match interpolator {
        Interpolator::NearestNeighbor => sample(shape, |k, j, i| {
            nearest(&image.data, image_dims, positions(k, j, i)).map(f64::from)
        }),
        Interpolator::Linear => sample(shape, |k, j, i| {
            linear(&image.data, image_dims, positions(k, j, i))
        }),
        Interpolator::BSpline => {
            let spline = BSpline::new(image, &geometry, shape);
            sample(shape, |k, j, i| spline.at(positions(k, j, i)))
        }
    }
    .into_iter()
    .map(|v| pixel.cast(v))
    .collect();
    Ok(Resampled {
        image: Volume::new(
            Array3::from_shape_vec(shape, values).expect("one value per voxel"),
            geometry,
        ),
        mask: nearest_onto(mask, &geometry, new_size),
    })
}

/// Where output voxel `index` (x, y, z) of the grid `output` (scan lines of
/// `nx` voxels along x) falls in the input grid `input`, as a continuous
/// index. ITK's resampler maps the first voxel of a scan line and the voxel
/// one past its end into the input, and places the voxels between by
/// start + alpha (end - start), alpha = i / nx (ITK 5.4).
fn scan_line_position(
    output: &Geometry,
    nx: usize,
    input: &Geometry,
    index: [usize; 3],
) -> [f64; 3] {
    let [i, j, k] = index;
    let start = itk_physical_to_index(
        input,
        itk_index_to_physical(output, [0.0, j as f64, k as f64]),
    );
    let end = itk_physical_to_index(
        input,
        itk_index_to_physical(output, [nx as f64, j as f64, k as f64]),
    );
    let alpha = i as f64 / nx as f64;
    [
        start[0] + alpha * (end[0] - start[0]),
        start[1] + alpha * (end[1] - start[1]),
        start[2] + alpha * (end[2] - start[2]),
    ]
}

/// A mask resampled onto the grid `geometry` of `dims` (x, y, z) voxels with
/// the nearest neighbour, 0 outside the mask's buffer: SimpleITK's
/// ResampleImageFilter with a reference image, the identity transform and
/// the default value 0, as PyRadiomics' `correctMask` runs it.
pub fn nearest_onto(mask: &Volume<bool>, geometry: &Geometry, dims: [usize; 3]) -> Volume<bool> {
    let shape = (dims[2], dims[1], dims[0]);
    let mask_dims = mask.dims();
    let inside: Vec<bool> = sample_any(shape, |k, j, i| {
        let x = scan_line_position(geometry, dims[0], &mask.geometry, [i, j, k]);
        nearest(&mask.data, mask_dims, x).unwrap_or(false)
    });
    Volume::new(
        Array3::from_shape_vec(shape, inside).expect("one value per voxel"),
        *geometry,
    )
}

/// ITK's index to physical point: origin + (direction · diag(spacing)) · index,
/// the matrix product summed first.
pub(super) fn itk_index_to_physical(g: &Geometry, index: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|r| {
        let mut sum = 0.0;
        for (c, &i) in index.iter().enumerate() {
            sum += (g.direction[c][r] * g.spacing[c]) * i;
        }
        sum + g.origin[r]
    })
}

/// ITK's physical point to continuous index, with the inverse matrix
/// diag(1 / spacing) · directionᵀ (exact for axis-aligned directions, where
/// ITK's inverse is exact too): the reciprocal, not a division, decides the
/// last bit and with it the nearest neighbour of a voxel centre halfway.
pub(super) fn itk_physical_to_index(g: &Geometry, p: [f64; 3]) -> [f64; 3] {
    let d = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]];
    std::array::from_fn(|a| {
        let inverse = 1.0 / g.spacing[a];
        let mut sum = 0.0;
        for (c, &dc) in d.iter().enumerate() {
            sum += (g.direction[a][c] * inverse) * dc;
        }
        sum
    })
}

/// Every output voxel in raster order (z, y, x), 0 where the point is outside the input.
fn sample(
    shape: (usize, usize, usize),
    f: impl Fn(usize, usize, usize) -> Option<f64> + Sync,
) -> Vec<f64> {
    sample_any(shape, |k, j, i| f(k, j, i).unwrap_or(0.0))
}

fn sample_any<T: Send>(
    shape: (usize, usize, usize),
    f: impl Fn(usize, usize, usize) -> T + Sync,
) -> Vec<T> {
    let (nz, ny, nx) = shape;
    (0..nz * ny)
        .into_par_iter()
        .flat_map_iter(|kj| {
            let (k, j) = (kj / ny, kj % ny);
            let f = &f;
            (0..nx).map(move |i| f(k, j, i))
        })
        .collect()
}

/// ITK's buffer test for a continuous index: within [-0.5, n - 0.5) on every axis.
fn inside_buffer(x: [f64; 3], dims: [usize; 3]) -> bool {
    (0..3).all(|a| x[a] >= -0.5 && x[a] < dims[a] as f64 - 0.5)
}

fn nearest<T: Copy>(data: &Array3<T>, dims: [usize; 3], x: [f64; 3]) -> Option<T> {
    if !inside_buffer(x, dims) {
        return None;
    }
    // ITK's RoundHalfIntegerUp: 2x + 0.5 rounded to the nearest even
    // integer, halved toward minus infinity (a value within an ulp below a
    // half rounds up, as ITK's does).
    let idx = x.map(|c| ((((2.0 * c + 0.5).round_ties_even() as i64) >> 1).max(0)) as usize);
    let idx = [
        idx[0].min(dims[0] - 1),
        idx[1].min(dims[1] - 1),
        idx[2].min(dims[2] - 1),
    ];
    Some(data[[idx[2], idx[1], idx[0]]])
}

/// ITK's linear interpolation: trilinear, neighbours beyond the last voxel
/// (or before the first) replaced by the edge voxel.
fn linear(data: &Array3<f32>, dims: [usize; 3], x: [f64; 3]) -> Option<f64> {
    if !inside_buffer(x, dims) {
        return None;
    }
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    let mut w = [0.0f64; 3];
    for a in 0..3 {
        let f = x[a].floor();
        let base = f.max(0.0) as usize;
        let d = (x[a] - base as f64).max(0.0);
        lo[a] = base.min(dims[a] - 1);
        hi[a] = (base + 1).min(dims[a] - 1);
        w[a] = d;
    }
    let mut sum = 0.0;
    for (cz, wz) in [(lo[2], 1.0 - w[2]), (hi[2], w[2])] {
        for (cy, wy) in [(lo[1], 1.0 - w[1]), (hi[1], w[1])] {
            for (cx, wx) in [(lo[0], 1.0 - w[0]), (hi[0], w[0])] {
                let weight = wz * wy * wx;
                if weight != 0.0 {
                    sum += weight * f64::from(data[[cz, cy, cx]]);
                }
            }
        }
    }
    Some(sum)
}

/// The pole of the cubic B-spline's prefilter.
pub(super) const POLE: f64 = -0.267_949_192_431_122_7; // sqrt(3) - 2
/// Margin (voxels) of the coefficients computed beyond the region the
/// output needs: the prefilter's influence decays as |POLE|^n, below 1e-22
/// after 40 voxels, so the coefficients equal those of the whole image.
pub(super) const MARGIN: usize = 40;

/// ITK's cubic B-spline coefficients over the part of the image the output
/// grid reaches (plus [`MARGIN`]), and the image's extent for the mirror rule.
struct BSpline {
    coefficients: Array3<f64>,
    /// Index (x, y, z) in the image of the coefficients' first voxel.
    offset: [usize; 3],
    dims: [usize; 3],
}

impl BSpline {
    fn new(image: &Volume<f32>, grid: &Geometry, shape: (usize, usize, usize)) -> BSpline {
        let dims = image.dims();
        let (nz, ny, nx) = shape;
        // Continuous indices of the output grid's corners in the image.
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for k in [0, nz.saturating_sub(1)] {
            for j in [0, ny.saturating_sub(1)] {
                for i in [0, nx.saturating_sub(1)] {
                    let p = itk_index_to_physical(grid, [i as f64, j as f64, k as f64]);
                    let c = itk_physical_to_index(&image.geometry, p);
                    for a in 0..3 {
                        lo[a] = lo[a].min(c[a]);
                        hi[a] = hi[a].max(c[a]);
                    }
                }
            }
        }
        let mut offset = [0usize; 3];
        let mut end = [0usize; 3];
        for a in 0..3 {
            let first = (lo[a].floor() - 2.0 - MARGIN as f64).max(0.0) as usize;
            let last = ((hi[a].floor() + 3.0 + MARGIN as f64).max(0.0) as usize).min(dims[a] - 1);
            offset[a] = first.min(dims[a] - 1);
            end[a] = last.max(offset[a]);
        }
        let region = image.data.slice(ndarray::s![
            offset[2]..=end[2],
            offset[1]..=end[1],
            offset[0]..=end[0]
        ]);
        let mut coefficients = region.mapv(f64::from);
        for axis in [2, 1, 0] {
            // array axis 2 is x: ITK filters x first, then y, then z.
            prefilter_axis(&mut coefficients, axis, prefilter_line);
        }
        BSpline {
            coefficients,
            offset,
            dims,
        }
    }

    fn at(&self, x: [f64; 3]) -> Option<f64> {
        if !inside_buffer(x, self.dims) {
            return None;
        }
        let mut idx = [[0usize; 4]; 3];
        let mut w = [[0.0f64; 4]; 3];
        for a in 0..3 {
            let first = x[a].floor() as i64 - 1;
            let t = x[a] - (first + 1) as f64;
            let w3 = t * t * t / 6.0;
            let w0 = 1.0 / 6.0 + 0.5 * t * (t - 1.0) - w3;
            let w2 = t + w0 - 2.0 * w3;
            let w1 = 1.0 - w0 - w2 - w3;
            w[a] = [w0, w1, w2, w3];
            let n = self.dims[a] as i64;
            for (m, slot) in idx[a].iter_mut().enumerate() {
                let mut p = first + m as i64;
                if n == 1 {
                    p = 0;
                } else {
                    let period = 2 * (n - 1);
                    if p < 0 {
                        p = (-p) % period;
                    }
                    if p > n - 1 {
                        p = period - p;
                        if p < 0 {
                            p = (-p) % period;
                        }
                    }
                }
                *slot = p as usize - self.offset[a];
            }
        }
        let c = &self.coefficients;
        let mut sum = 0.0;
        for (mz, &z) in idx[2].iter().enumerate() {
            let mut plane = 0.0;
            for (my, &y) in idx[1].iter().enumerate() {
                let mut line = 0.0;
                for (mx, &xx) in idx[0].iter().enumerate() {
                    line += w[0][mx] * c[[z, y, xx]];
                }
                plane += w[1][my] * line;
            }
            sum += w[2][mz] * plane;
        }
        Some(sum)
    }
}

/// A cubic B-spline prefilter (`filter`, one line in place) along one
/// array axis, line by line.
pub(super) fn prefilter_axis(c: &mut Array3<f64>, axis: usize, filter: fn(&mut [f64])) {
    let mut line = Vec::new();
    for mut lane in c.lanes_mut(ndarray::Axis(axis)) {
        line.clear();
        line.extend(lane.iter().copied());
        filter(&mut line);
        for (dst, &v) in lane.iter_mut().zip(&line) {
            *dst = v;
        }
    }
}

/// Unser's recursive B-spline prefilter of one line with mirror boundaries
/// (ITK's BSplineDecompositionImageFilter, tolerance 1e-10).
fn prefilter_line(c: &mut [f64]) {
    let n = c.len();
    if n == 1 {
        return;
    }
    let z = POLE;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    // Initial causal coefficient.
    let horizon = ((1e-10f64).ln() / z.abs().ln()).ceil() as usize;
    if horizon < n {
        let mut zn = z;
        let mut sum = c[0];
        for v in c.iter().take(horizon).skip(1) {
            sum += zn * v;
            zn *= z;
        }
        c[0] = sum;
    } else {
        let mut zn = z;
        let iz = 1.0 / z;
        let mut z2n = z.powi((n - 1) as i32);
        let mut sum = c[0] + z2n * c[n - 1];
        z2n = z2n * (z2n * iz);
        for v in c.iter().take(n - 1).skip(1) {
            sum += (zn + z2n) * v;
            zn *= z;
            z2n *= iz;
        }
        c[0] = sum / (1.0 - zn * zn);
    }
    for i in 1..n {
        c[i] += z * c[i - 1];
    }
    c[n - 1] = (z / (z * z - 1.0)) * (z * c[n - 2] + c[n - 1]);
    for i in (0..n - 1).rev() {
        c[i] = z * (c[i + 1] - c[i]);
    }
}

/// PyRadiomics' `preCrop`: image and mask cropped to the mask's bounding
/// box plus `pad` voxels (the mask must select a voxel).
pub fn crop_to_mask(image: &Volume<f32>, mask: &Volume<bool>, pad: i64) -> Resampled {
    let bounds = crate::processing::crop::bounding_box(&mask.data).unwrap_or([
        (0, mask.dims()[0]),
        (0, mask.dims()[1]),
        (0, mask.dims()[2]),
    ]);
    crop_padded(image, mask, &bounds, pad)
}

/// No interpolation: image and mask cropped to the mask's bounding box
/// plus `pad` voxels (PyRadiomics' cropToTumorMask).
fn crop_padded(
    image: &Volume<f32>,
    mask: &Volume<bool>,
    bounds: &[(usize, usize); 3],
    pad: i64,
) -> Resampled {
    let dims = mask.dims();
    let pad = pad.max(0) as usize;
    let lo: [usize; 3] = std::array::from_fn(|a| bounds[a].0.saturating_sub(pad));
    let hi: [usize; 3] = std::array::from_fn(|a| (bounds[a].1 + pad).min(dims[a]));
    let region = ndarray::s![lo[2]..hi[2], lo[1]..hi[1], lo[0]..hi[0]];
    let geometry = Geometry {
        origin: mask
            .geometry
            .index_to_physical([lo[0] as f64, lo[1] as f64, lo[2] as f64]),
        ..mask.geometry
    };
    Resampled {
        image: Volume::new(image.data.slice(region).to_owned(), geometry),
        mask: Volume::new(mask.data.slice(region).to_owned(), geometry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itk_cast_truncates_toward_zero_and_clamps() {
        assert_eq!(PixelType::I16.cast(1.5), 1.0);
        assert_eq!(PixelType::I16.cast(-1.5), -1.0);
        assert_eq!(PixelType::I16.cast(-0.5), 0.0);
        assert_eq!(PixelType::U8.cast(-3.0), 0.0);
        assert_eq!(PixelType::I16.cast(40000.0), 32767.0);
        assert_eq!(PixelType::F32.cast(1.25), 1.25);
    }

    #[test]
    fn bspline_interpolates_the_samples_exactly() {
        // The prefilter makes the spline pass through the data.
        let data: Vec<f64> = (0..30).map(|i| ((i * 7) % 11) as f64).collect();
        let mut c = data.clone();
        prefilter_line(&mut c);
        for i in 1..29 {
            let v = c[i - 1] / 6.0 + c[i] * 4.0 / 6.0 + c[i + 1] / 6.0;
            assert!((v - data[i]).abs() < 1e-9, "{i}: {v} vs {}", data[i]);
        }
    }

    #[test]
    fn other_interpolators_are_refused_by_name() {
        let e = Interpolator::named("sitkGaussian").unwrap_err().to_string();
        assert!(
            e.contains("setting.interpolator") && e.contains("sitkGaussian"),
            "{e}"
        );
    }
}
