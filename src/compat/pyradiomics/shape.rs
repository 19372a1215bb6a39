//! PyRadiomics' 3D shape features: mesh volume and surface by marching cubes
//! on the mask (radial's mesh), maximum diameters between mesh vertices
//! (the midpoints of the voxel edges the surface cuts), and the principal
//! axes from the covariance of the voxel centres (divided by N).

use super::roi::Roi;
use crate::features::morphology::linalg::symmetric_eigen;
use crate::features::morphology::mesh::marching_cubes;

pub struct Shape {
    volume: f64,
    area: f64,
    voxel_volume: f64,
    /// Maximum diameters: same slice (z), same column (y), same row (x), any.
    diameters: [f64; 4],
    /// Covariance eigenvalues, increasing.
    eigen: [f64; 3],
}

impl Shape {
    pub fn new(roi: &Roi) -> Shape {
        let sp = roi.spacing_zyx;
        let spacing_xyz = [sp[2], sp[1], sp[0]];
        let mesh = marching_cubes(&roi.mask);
        let n = roi.voxels.len() as f64;
        // Voxel centres in mm, array order (z, y, x).
        let centres: Vec<[f64; 3]> = roi
            .mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((k, j, i), _)| [k as f64 * sp[0], j as f64 * sp[1], i as f64 * sp[2]])
            .collect();
        let mean: [f64; 3] = std::array::from_fn(|a| centres.iter().map(|c| c[a]).sum::<f64>() / n);
        let mut cov = [[0.0; 3]; 3];
        for c in &centres {
            for a in 0..3 {
                for b in 0..3 {
                    cov[a][b] += (c[a] - mean[a]) * (c[b] - mean[b]) / n;
                }
            }
        }
        let (mut eigen, _) = symmetric_eigen(cov);
        for e in &mut eigen {
            if *e < 0.0 && *e > -1e-10 {
                *e = 0.0;
            }
        }
        eigen.sort_by(f64::total_cmp);
        Shape {
            volume: mesh.volume(spacing_xyz),
            area: mesh.area(spacing_xyz),
            voxel_volume: n * sp[0] * sp[1] * sp[2],
            diameters: diameters(roi),
            eigen,
        }
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let (v, a) = (self.volume, self.area);
        let axis = |e: f64| if e < 0.0 { f64::NAN } else { e.sqrt() * 4.0 };
        Some(match name {
            "MeshVolume" => v,
            "VoxelVolume" => self.voxel_volume,
            "SurfaceArea" => a,
            "SurfaceVolumeRatio" => a / v,
            "Sphericity" => (36.0 * std::f64::consts::PI * v * v).cbrt() / a,
            "Compactness1" => v / (a.powf(1.5) * std::f64::consts::PI.sqrt()),
            "Compactness2" => 36.0 * std::f64::consts::PI * v * v / a.powi(3),
            "SphericalDisproportion" => a / (36.0 * std::f64::consts::PI * v * v).cbrt(),
            "Maximum3DDiameter" => self.diameters[3],
            "Maximum2DDiameterSlice" => self.diameters[0],
            "Maximum2DDiameterColumn" => self.diameters[1],
            "Maximum2DDiameterRow" => self.diameters[2],
            "MajorAxisLength" => axis(self.eigen[2]),
            "MinorAxisLength" => axis(self.eigen[1]),
            "LeastAxisLength" => axis(self.eigen[0]),
            "Elongation" => (self.eigen[1] / self.eigen[2]).sqrt(),
            "Flatness" => (self.eigen[0] / self.eigen[2]).sqrt(),
            _ => return None,
        })
    }
}

/// Maximum distances between mesh vertices, in half-voxel units converted
/// to mm: [same z, same y, same x, any].
fn diameters(roi: &Roi) -> [f64; 4] {
    let m = &roi.mask;
    let shape = m.shape();
    let mut vertices: Vec<[i64; 3]> = Vec::new();
    for ((k, j, i), &inside) in m.indexed_iter() {
        let here = [k, j, i];
        for axis in 0..3 {
            let mut next = here;
            next[axis] += 1;
            if next[axis] >= shape[axis] {
                continue;
            }
            if inside != m[next] {
                let mut v = [2 * k as i64, 2 * j as i64, 2 * i as i64];
                v[axis] += 1;
                vertices.push(v);
            }
        }
    }
    let h = roi.spacing_zyx.map(|s| s / 2.0);
    let mut best = [0.0f64; 4];
    for (x, a) in vertices.iter().enumerate() {
        for b in &vertices[x + 1..] {
            let d: [f64; 3] = std::array::from_fn(|c| (a[c] - b[c]) as f64 * h[c]);
            let dist = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            for c in 0..3 {
                if a[c] == b[c] && dist > best[c] {
                    best[c] = dist;
                }
            }
            if dist > best[3] {
                best[3] = dist;
            }
        }
    }
    best.map(f64::sqrt)
}
