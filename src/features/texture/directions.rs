//! The 13 unique direction vectors of the 26-neighbourhood (IBSI 3.6), shared
//! by the GLCM and the GLRLM. The four with dz = 0 are the in-plane (2D)
//! directions; their 3D matrices are the sums of the per-slice 2D ones,
//! which the families exploit to avoid traversing them twice.

/// Unit steps (dx, dy, dz); the in-plane ones first.
pub const DIRECTIONS: [[i32; 3]; 13] = [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [-1, 1, 0],
    [0, 0, 1],
    [0, 1, 1],
    [0, 1, -1],
    [1, 0, 1],
    [1, 0, -1],
    [1, 1, 1],
    [1, 1, -1],
    [1, -1, 1],
    [1, -1, -1],
];

/// Number of in-plane directions, at the start of [`DIRECTIONS`].
pub const N_IN_PLANE: usize = 4;

/// Direction `d` scaled to Chebyshev distance `distance`.
pub fn scaled(d: usize, distance: u32) -> [i32; 3] {
    DIRECTIONS[d].map(|c| c * distance as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_cover_the_26_neighbourhood_once() {
        let mut seen = std::collections::HashSet::new();
        for d in DIRECTIONS {
            assert!(seen.insert(d) && seen.insert(d.map(|c| -c)));
        }
        assert_eq!(seen.len(), 26);
        assert!(DIRECTIONS[..N_IN_PLANE].iter().all(|d| d[2] == 0));
        assert!(DIRECTIONS[N_IN_PLANE..].iter().all(|d| d[2] != 0));
    }
}
