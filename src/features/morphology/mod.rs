//! IBSI family: morphology (IBSI 3.1), 29 features. The mesh comes from the
//! morphological mask; the intensity-dependent features (centre of mass
//! shift, integrated intensity, Moran's I, Geary's C) read the intensity mask.
//! Positions are in mm along the grid axes (spacing only: every feature is
//! invariant to the grid's origin and orientation).

pub mod ellipsoid;
pub mod hull;
pub mod linalg;
pub mod mesh;
pub mod moran;
pub mod ombb;

use std::f64::consts::PI;

use ndarray::Array3;

use super::{FamilyInput, FeatureSet};
use crate::{Error, Result};

/// Khachiyan stopping tolerance for the MVEE (IBSI default).
const MVEE_TOLERANCE: f64 = 0.001;

pub fn compute(input: &FamilyInput, out: &mut FeatureSet) -> Result<()> {
    let roi = input.roi;
    let image = &roi.image.data;
    let spacing = roi.image.geometry.spacing;
    for (name, mask) in [
        ("morphological", &roi.morph_mask),
        ("intensity", &roi.int_mask),
    ] {
        if mask.shape() != image.shape() {
            return Err(Error::data(format!(
                "{name} mask shape {:?} differs from image shape {:?}",
                mask.shape(),
                image.shape()
            )));
        }
    }
    let mesh = mesh::marching_cubes(&roi.morph_mask);
    if mesh.triangles.is_empty() {
        return Err(Error::data("the morphological mask is empty"));
    }
    if !roi.int_mask.iter().any(|&m| m) {
        return Err(Error::data("the intensity mask is empty"));
    }
    let volume = mesh.volume(spacing);
    let area = mesh.area(spacing);
    let voxel_volume = spacing[0] * spacing[1] * spacing[2];
    let n_morph = roi.morph_mask.iter().filter(|&&m| m).count();

    let vertices = mesh.vertices();
    let physical =
        |p: [i64; 3]| -> [f64; 3] { std::array::from_fn(|d| p[d] as f64 * spacing[d] / 2.0) };
    let hull_input = row_extremes(&vertices);
    let hull_faces = hull::convex_hull(&hull_input)
        .ok_or_else(|| Error::data("the ROI mesh is flat: no convex hull"))?;
    let hull_shape = HullShape::new(&hull_input, &hull_faces, spacing, physical);

    // Axis-aligned bounding box of the mesh vertices.
    let mut lo = [i32::MAX; 3];
    let mut hi = [i32::MIN; 3];
    for v in &vertices {
        for d in 0..3 {
            lo[d] = lo[d].min(v[d]);
            hi[d] = hi[d].max(v[d]);
        }
    }
    let aabb: [f64; 3] = std::array::from_fn(|d| f64::from(hi[d] - lo[d]) * spacing[d] / 2.0);

    let pca = principal_components(&roi.morph_mask, spacing);
    let [l_major, l_minor, l_least] = pca;
    let semi_axes = pca.map(|l| 2.0 * l.max(0.0).sqrt());

    let ombb = ombb::oriented_minimum_box(&hull_shape.vertices, &hull_shape.normals);
    let mvee = ellipsoid::minimum_volume_enclosing_ellipsoid(&hull_shape.vertices, MVEE_TOLERANCE);

    let intensity = intensity_summary(image, &roi.morph_mask, &roi.int_mask, spacing);
    let (moran_i, geary_c) = moran::moran_geary(image, &roi.int_mask, spacing);

    let sphere_term = (36.0 * PI * volume * volume).cbrt();
    out.push("morph_volume", volume);
    out.push("morph_vol_approx", n_morph as f64 * voxel_volume);
    out.push("morph_area_mesh", area);
    out.push("morph_av", area / volume);
    out.push("morph_comp_1", volume / (PI.sqrt() * area.powf(1.5)));
    out.push("morph_comp_2", 36.0 * PI * volume * volume / area.powi(3));
    out.push("morph_sph_dispr", area / sphere_term);
    out.push("morph_sphericity", sphere_term / area);
    out.push("morph_asphericity", area / sphere_term - 1.0);
    out.push("morph_com", intensity.centre_of_mass_shift);
    out.push("morph_diam", hull_shape.diameter);
    out.push("morph_pca_maj_axis", 4.0 * l_major.max(0.0).sqrt());
    out.push("morph_pca_min_axis", 4.0 * l_minor.max(0.0).sqrt());
    out.push("morph_pca_least_axis", 4.0 * l_least.max(0.0).sqrt());
    out.push("morph_pca_elongation", (l_minor / l_major).sqrt());
    out.push("morph_pca_flatness", (l_least / l_major).sqrt());
    out.push(
        "morph_vol_dens_aabb",
        volume / (aabb[0] * aabb[1] * aabb[2]),
    );
    out.push("morph_area_dens_aabb", area / box_area(aabb));
    let (ombb_vol, ombb_area) = ombb.map_or((f64::NAN, f64::NAN), |b| {
        (volume / (b[0] * b[1] * b[2]), area / box_area(b))
    });
    out.push("morph_vol_dens_ombb", ombb_vol);
    out.push("morph_area_dens_ombb", ombb_area);
    let [a, b, c] = semi_axes;
    out.push("morph_vol_dens_aee", 3.0 * volume / (4.0 * PI * a * b * c));
    out.push(
        "morph_area_dens_aee",
        area / ellipsoid::ellipsoid_area(a, b, c),
    );
    let (mvee_vol, mvee_area) = mvee.map_or((f64::NAN, f64::NAN), |[a, b, c]| {
        (
            3.0 * volume / (4.0 * PI * a * b * c),
            area / ellipsoid::ellipsoid_area(a, b, c),
        )
    });
    out.push("morph_vol_dens_mvee", mvee_vol);
    out.push("morph_area_dens_mvee", mvee_area);
    out.push("morph_vol_dens_conv_hull", volume / hull_shape.volume);
    out.push("morph_area_dens_conv_hull", area / hull_shape.area);
    out.push("morph_integ_int", volume * intensity.mean);
    out.push("morph_moran_i", moran_i);
    out.push("morph_geary_c", geary_c);
    Ok(())
}

fn box_area(d: [f64; 3]) -> f64 {
    2.0 * (d[0] * d[1] + d[1] * d[2] + d[0] * d[2])
}

/// The lowest- and highest-x vertex of every (y, z) row: every other vertex
/// lies between them, so the convex hull is unchanged.
fn row_extremes(vertices: &[[i32; 3]]) -> Vec<hull::Point> {
    let mut sorted = vertices.to_vec();
    sorted.sort_unstable_by_key(|v| (v[2], v[1], v[0]));
    let mut out = Vec::new();
    for row in sorted.chunk_by(|a, b| (a[1], a[2]) == (b[1], b[2])) {
        out.push(row[0].map(i64::from));
        if row.len() > 1 {
            out.push(row[row.len() - 1].map(i64::from));
        }
    }
    out
}

/// What the morphology family needs from the convex hull, in mm.
struct HullShape {
    volume: f64,
    area: f64,
    diameter: f64,
    vertices: Vec<[f64; 3]>,
    /// Distinct face normal directions.
    normals: Vec<[f64; 3]>,
}

impl HullShape {
    fn new(
        points: &[hull::Point],
        faces: &[[usize; 3]],
        spacing: [f64; 3],
        physical: impl Fn([i64; 3]) -> [f64; 3],
    ) -> HullShape {
        let mut volume = 0.0;
        let mut area = 0.0;
        let mut lattice_normals = Vec::with_capacity(faces.len());
        for f in faces {
            let [a, b, c] = f.map(|i| physical(points[i]));
            let u: [f64; 3] = std::array::from_fn(|d| b[d] - a[d]);
            let v: [f64; 3] = std::array::from_fn(|d| c[d] - a[d]);
            let n = [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ];
            area += (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() / 2.0;
            volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0]))
                / 6.0;
            // Exact lattice normal, reduced, to deduplicate coplanar faces.
            let [pa, pb, pc] = f.map(|i| points[i].map(i128::from));
            let (lu, lv): ([i128; 3], [i128; 3]) = (
                std::array::from_fn(|d| pb[d] - pa[d]),
                std::array::from_fn(|d| pc[d] - pa[d]),
            );
            let ln = [
                lu[1] * lv[2] - lu[2] * lv[1],
                lu[2] * lv[0] - lu[0] * lv[2],
                lu[0] * lv[1] - lu[1] * lv[0],
            ];
            let g = gcd(gcd(ln[0].abs(), ln[1].abs()), ln[2].abs());
            if g > 0 {
                lattice_normals.push(ln.map(|c| c / g));
            }
        }
        lattice_normals.sort_unstable();
        lattice_normals.dedup();
        // Lattice units are spacing/2 per axis: a normal scales by 1/spacing.
        let normals = lattice_normals
            .iter()
            .map(|n| std::array::from_fn(|d| n[d] as f64 / spacing[d]))
            .collect();
        let mut ids: Vec<usize> = faces.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let vertices: Vec<[f64; 3]> = ids.iter().map(|&i| physical(points[i])).collect();
        HullShape {
            volume: volume.abs(),
            area,
            diameter: max_distance(&vertices),
            vertices,
            normals,
        }
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Largest distance between two points (O(n²) over hull vertices).
fn max_distance(points: &[[f64; 3]]) -> f64 {
    let mut best = 0.0f64;
    for (k, p) in points.iter().enumerate() {
        for q in &points[k + 1..] {
            let d2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
            best = best.max(d2);
        }
    }
    best.sqrt()
}

/// Eigenvalues (descending) of the sample covariance (divisor N − 1, as the
/// IBSI reference values assume) of the voxel centres (mm).
fn principal_components(mask: &Array3<bool>, spacing: [f64; 3]) -> [f64; 3] {
    let mut n = 0.0;
    let mut sum = [0.0; 3];
    let mut sum2 = [[0.0; 3]; 3];
    for ((k, j, i), &m) in mask.indexed_iter() {
        if m {
            let p = [
                i as f64 * spacing[0],
                j as f64 * spacing[1],
                k as f64 * spacing[2],
            ];
            n += 1.0;
            for r in 0..3 {
                sum[r] += p[r];
                for c in 0..3 {
                    sum2[r][c] += p[r] * p[c];
                }
            }
        }
    }
    let cov: [[f64; 3]; 3] = std::array::from_fn(|r| {
        std::array::from_fn(|c| (sum2[r][c] - sum[r] * sum[c] / n) / (n - 1.0).max(1.0))
    });
    linalg::symmetric_eigen(cov).0
}

struct IntensitySummary {
    mean: f64,
    centre_of_mass_shift: f64,
}

/// Mean intensity of the intensity mask, and the distance between the
/// morphological centroid and the intensity-weighted intensity-mask centroid.
fn intensity_summary(
    image: &Array3<f32>,
    morph: &Array3<bool>,
    int_mask: &Array3<bool>,
    spacing: [f64; 3],
) -> IntensitySummary {
    let (mut n_m, mut geom) = (0.0, [0.0; 3]);
    let (mut n_i, mut total, mut weighted) = (0.0, 0.0, [0.0; 3]);
    for ((k, j, i), &v) in image.indexed_iter() {
        let p = [
            i as f64 * spacing[0],
            j as f64 * spacing[1],
            k as f64 * spacing[2],
        ];
        if morph[[k, j, i]] {
            n_m += 1.0;
            for d in 0..3 {
                geom[d] += p[d];
            }
        }
        if int_mask[[k, j, i]] {
            let v = v as f64;
            n_i += 1.0;
            total += v;
            for d in 0..3 {
                weighted[d] += v * p[d];
            }
        }
    }
    let shift = (0..3)
        .map(|d| (geom[d] / n_m - weighted[d] / total).powi(2))
        .sum::<f64>()
        .sqrt();
    IntensitySummary {
        mean: total / n_i,
        centre_of_mass_shift: shift,
    }
}
