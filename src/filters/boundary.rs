//! Boundary conditions: what a filter sees beyond the edge of the image.
//! This is the only place that decides it; every convolution (direct or by
//! FFT) asks [`Boundary::source`] for the voxel that stands in for an
//! outside position.

use serde::{Deserialize, Serialize};

/// The IBSI boundary conditions (IBSI 2, section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    /// Zero outside the image.
    Zero,
    /// The nearest edge voxel.
    Nearest,
    /// The image repeats (wraps around).
    Periodic,
    /// The image is mirrored about its edge, repeating the edge voxel:
    /// `c b a | a b c | c b a` (IBSI "mirror"; SciPy calls it "reflect").
    #[default]
    Mirror,
}

impl Boundary {
    /// The index of the voxel standing in for position `i` on an axis of `n`
    /// voxels, or `None` when the position reads as zero.
    pub fn source(self, i: isize, n: usize) -> Option<usize> {
        let n_i = n as isize;
        if (0..n_i).contains(&i) {
            return Some(i as usize);
        }
        match self {
            Boundary::Zero => None,
            Boundary::Nearest => Some(i.clamp(0, n_i - 1) as usize),
            Boundary::Periodic => Some(i.rem_euclid(n_i) as usize),
            Boundary::Mirror => {
                let period = 2 * n_i;
                let r = i.rem_euclid(period);
                Some(if r < n_i { r } else { period - 1 - r } as usize)
            }
        }
    }

    /// `line` extended by `before` and `after` positions into `out`.
    pub fn pad_line(self, line: &[f64], before: usize, after: usize, out: &mut Vec<f64>) {
        out.clear();
        let n = line.len();
        let outside = |p: usize| {
            let i = p as isize - before as isize;
            self.source(i, n).map_or(0.0, |s| line[s])
        };
        out.extend((0..before).map(outside));
        out.extend_from_slice(line);
        out.extend((before + n..before + n + after).map(outside));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(b: Boundary) -> Vec<f64> {
        let mut out = Vec::new();
        b.pad_line(&[1.0, 2.0, 3.0], 4, 4, &mut out);
        out
    }

    #[test]
    fn each_mode_extends_a_line_as_defined() {
        assert_eq!(
            padded(Boundary::Zero),
            [0., 0., 0., 0., 1., 2., 3., 0., 0., 0., 0.]
        );
        assert_eq!(
            padded(Boundary::Nearest),
            [1., 1., 1., 1., 1., 2., 3., 3., 3., 3., 3.]
        );
        assert_eq!(
            padded(Boundary::Periodic),
            [3., 1., 2., 3., 1., 2., 3., 1., 2., 3., 1.]
        );
        // The edge voxel repeats: ... 3 2 1 | 1 2 3 | 3 2 1 ...
        assert_eq!(
            padded(Boundary::Mirror),
            [3., 3., 2., 1., 1., 2., 3., 3., 2., 1., 1.]
        );
    }
}
