//! [`Volume`]: voxel data with the geometry that places it in the patient.
//!
//! # Axis order (read this once)
//! Geometry is always given in **(x, y, z) = (i, j, k)** order: `spacing[0]` is
//! the distance between columns, `spacing[2]` between slices. The voxel array
//! is stored in C order with shape **`[nz, ny, nx]`** and indexed
//! `data[[k, j, i]]`, so that x varies fastest (as in every file format we
//! read) and an axial slice `data.index_axis(Axis(0), k)` is contiguous.
//!
//! Patient coordinates are DICOM LPS (x to the patient's left, y posterior,
//! z superior), in millimetres. NIfTI's RAS is converted on reading.

use ndarray::Array3;

/// Where a voxel grid sits in the patient: physical position of voxel
/// `(i, j, k)` is `origin + Σ_a index[a] · spacing[a] · direction[a]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Geometry {
    /// Voxel size along i, j, k in mm.
    pub spacing: [f64; 3],
    /// LPS position (mm) of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// `direction[a]` is the unit vector (LPS) along which index `a` grows.
    pub direction: [[f64; 3]; 3],
}

/// Tolerances used when two grids must be the same grid.
pub const GEOMETRY_TOLERANCE_MM: f64 = 1e-3;
pub const DIRECTION_TOLERANCE: f64 = 1e-4;

impl Geometry {
    pub const IDENTITY_DIRECTION: [[f64; 3]; 3] =
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    pub fn new(spacing: [f64; 3], origin: [f64; 3]) -> Self {
        Geometry {
            spacing,
            origin,
            direction: Self::IDENTITY_DIRECTION,
        }
    }

    /// LPS position of a (possibly fractional) voxel index given as (i, j, k).
    pub fn index_to_physical(&self, index: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for (a, &idx) in index.iter().enumerate() {
            for (c, pc) in p.iter_mut().enumerate() {
                *pc += idx * self.spacing[a] * self.direction[a][c];
            }
        }
        p
    }

    /// Continuous (i, j, k) index of an LPS position. Exact inverse of
    /// [`Geometry::index_to_physical`] for orthonormal directions.
    pub fn physical_to_index(&self, point: [f64; 3]) -> [f64; 3] {
        let d = [
            point[0] - self.origin[0],
            point[1] - self.origin[1],
            point[2] - self.origin[2],
        ];
        let mut index = [0.0; 3];
        for a in 0..3 {
            let dot: f64 = (0..3).map(|c| d[c] * self.direction[a][c]).sum();
            index[a] = dot / self.spacing[a];
        }
        index
    }

    /// Describes every way in which `other` differs from `self` beyond the
    /// tolerances; `None` when they are the same grid.
    pub fn differences(&self, other: &Geometry) -> Option<String> {
        let mut diffs = Vec::new();
        for a in 0..3 {
            if (self.spacing[a] - other.spacing[a]).abs() > GEOMETRY_TOLERANCE_MM {
                diffs.push(format!(
                    "spacing {:?} vs {:?} mm",
                    self.spacing, other.spacing
                ));
                break;
            }
        }
        for a in 0..3 {
            if (self.origin[a] - other.origin[a]).abs() > GEOMETRY_TOLERANCE_MM {
                diffs.push(format!("origin {:?} vs {:?} mm", self.origin, other.origin));
                break;
            }
        }
        'dir: for a in 0..3 {
            for c in 0..3 {
                if (self.direction[a][c] - other.direction[a][c]).abs() > DIRECTION_TOLERANCE {
                    diffs.push(format!(
                        "direction {:?} vs {:?}",
                        self.direction, other.direction
                    ));
                    break 'dir;
                }
            }
        }
        if diffs.is_empty() {
            None
        } else {
            Some(diffs.join("; "))
        }
    }
}

/// Voxel data on a grid. See the module documentation for the axis order.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume<T> {
    /// Shape `[nz, ny, nx]`, indexed `[[k, j, i]]`.
    pub data: Array3<T>,
    pub geometry: Geometry,
}

impl<T> Volume<T> {
    pub fn new(data: Array3<T>, geometry: Geometry) -> Self {
        Volume { data, geometry }
    }

    /// Grid size in (x, y, z) order.
    pub fn dims(&self) -> [usize; 3] {
        let s = self.data.shape();
        [s[2], s[1], s[0]]
    }

    pub fn voxel_count(&self) -> usize {
        self.data.len()
    }

    /// Voxel at (i, j, k), in the same order as the geometry.
    pub fn get(&self, i: usize, j: usize, k: usize) -> Option<&T> {
        self.data.get([k, j, i])
    }

    /// Checks that `self` and `other` share a grid: same dimensions and the same
    /// geometry within [`GEOMETRY_TOLERANCE_MM`]. Returns a description of
    /// both grids when they differ.
    pub fn grid_differences<U>(&self, other: &Volume<U>) -> Option<String> {
        let mut parts = Vec::new();
        if self.dims() != other.dims() {
            parts.push(format!(
                "dimensions {:?} vs {:?}",
                self.dims(),
                other.dims()
            ));
        }
        if let Some(d) = self.geometry.differences(&other.geometry) {
            parts.push(d);
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("; "))
        }
    }
}

impl<T: Copy> Volume<T> {
    /// A new volume on the same grid.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Volume<U> {
        Volume {
            data: self.data.map(f),
            geometry: self.geometry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_physical_are_inverse_for_oblique_grids() {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let g = Geometry {
            spacing: [0.5, 0.7, 3.0],
            origin: [-10.0, 20.0, 5.0],
            direction: [[s, s, 0.0], [-s, s, 0.0], [0.0, 0.0, 1.0]],
        };
        let p = g.index_to_physical([3.0, 4.0, 5.0]);
        let back = g.physical_to_index(p);
        for a in 0..3 {
            assert!((back[a] - [3.0, 4.0, 5.0][a]).abs() < 1e-12);
        }
        // One step along j moves 0.7 mm along the second direction.
        let q = g.index_to_physical([3.0, 5.0, 5.0]);
        let step: f64 = (0..3).map(|c| (q[c] - p[c]).powi(2)).sum::<f64>().sqrt();
        assert!((step - 0.7).abs() < 1e-12);
    }

    #[test]
    fn differences_name_what_differs() {
        let a = Geometry::new([1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
        let mut b = a;
        assert!(a.differences(&b).is_none());
        b.origin[2] = 0.5;
        let d = a.differences(&b).unwrap();
        assert!(d.contains("origin"), "{d}");
        assert!(!d.contains("spacing"), "{d}");
    }

    #[test]
    fn dims_are_reported_in_xyz_order() {
        let v = Volume::new(
            Array3::<u8>::zeros((4, 3, 2)),
            Geometry::new([1.0; 3], [0.0; 3]),
        );
        assert_eq!(v.dims(), [2, 3, 4]);
        assert_eq!(v.get(1, 2, 3), Some(&0));
        assert_eq!(v.get(2, 0, 0), None);
    }
}
