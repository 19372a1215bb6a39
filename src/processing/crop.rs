//! Bounding boxes and cropping around the ROI.

use ndarray::{Array3, s};

use super::interpolate::IndexBox;

/// Radius (mm) of the 1 cm³ sphere of the local intensity features.
pub fn local_intensity_radius_mm() -> f64 {
    (3.0 / (4.0 * std::f64::consts::PI) * 1000.0).cbrt()
}

/// Voxels to keep on each side of the ROI along each axis: the local
/// intensity sphere plus one voxel.
pub fn margin_voxels(spacing: [f64; 3]) -> [usize; 3] {
    let r = local_intensity_radius_mm();
    spacing.map(|s| (r / s).ceil() as usize + 1)
}

/// Half-open bounding box (x, y, z) of the true voxels; `None` when empty.
/// Scans row by row: only the first and last set voxel of each x row matter.
pub fn bounding_box(mask: &Array3<bool>) -> Option<IndexBox> {
    let ny = mask.shape()[1];
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (r, row) in mask.rows().into_iter().enumerate() {
        let Some(first) = row.iter().position(|&m| m) else {
            continue;
        };
        let last = row.iter().rposition(|&m| m).unwrap_or(first);
        let (k, j) = (r / ny, r % ny);
        lo = [lo[0].min(first), lo[1].min(j), lo[2].min(k)];
        hi = [hi[0].max(last + 1), hi[1].max(j + 1), hi[2].max(k + 1)];
    }
    (lo[0] != usize::MAX).then(|| [(lo[0], hi[0]), (lo[1], hi[1]), (lo[2], hi[2])])
}

/// Bounding-box extents (x, y, z) in voxels; zeros when empty.
pub fn box_extent(b: Option<IndexBox>) -> [usize; 3] {
    b.map(|b| b.map(|(l, h)| h - l)).unwrap_or([0; 3])
}

/// `b` grown by `margin` on each side and clipped to `dims`.
pub fn grow(b: IndexBox, margin: [usize; 3], dims: [usize; 3]) -> IndexBox {
    let mut out = b;
    for a in 0..3 {
        out[a] = (
            b[a].0.saturating_sub(margin[a]),
            (b[a].1 + margin[a]).min(dims[a]),
        );
    }
    out
}

/// The part of `data` inside `b`.
pub fn crop<T: Clone>(data: &Array3<T>, b: IndexBox) -> Array3<T> {
    data.slice(s![b[2].0..b[2].1, b[1].0..b[1].1, b[0].0..b[0].1])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_margin_and_crop() {
        let mut m = Array3::from_elem((5, 6, 7), false);
        m[[2, 3, 4]] = true;
        m[[3, 3, 5]] = true;
        let b = bounding_box(&m).unwrap();
        assert_eq!(b, [(4, 6), (3, 4), (2, 4)]);
        assert_eq!(box_extent(Some(b)), [2, 1, 2]);
        let g = grow(b, [2, 5, 1], [7, 6, 5]);
        assert_eq!(g, [(2, 7), (0, 6), (1, 5)]);
        let c = crop(&m, g);
        assert_eq!(c.shape(), &[4, 6, 5]);
        assert_eq!(c.iter().filter(|&&v| v).count(), 2);
        assert!(bounding_box(&Array3::from_elem((2, 2, 2), false)).is_none());
        // 6.2 mm sphere at 2 mm: 4 voxels plus one.
        assert!((local_intensity_radius_mm() - 6.2035).abs() < 1e-3);
        assert_eq!(margin_voxels([2.0, 2.0, 3.0]), [5, 5, 4]);
    }
}
