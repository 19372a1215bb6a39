//! The rounding rule: how geometry read from files, and values computed in
//! floating point, meet the thresholds and boundaries they are compared with.
//!
//! Two things make a result depend on a rounding error instead of on the
//! data. First, the same grid reaches radial as different numbers: NIfTI
//! stores a spacing as float32 (0.977 as 0.97699999809), DICOM as a decimal
//! string (0.977), and a slice step derived from slice positions carries
//! the error of the subtraction (3 mm as 2.9999999999998486). Second, the
//! processing chain compares computed values with exact boundaries: a mask
//! interpolated halfway between an inside and an outside slice is 0.5 in
//! exact arithmetic, and the partial-volume threshold is 0.5; an intensity
//! of exactly a re-segmentation bound or a bin edge; a contour through a
//! voxel centre. One ulp decides, and thousands of voxels flip.
//!
//! The rule, applied everywhere such a comparison is made:
//! - **Spacings** are normalised on reading to the shortest decimal that
//!   identifies their single-precision value ([`normalise_spacing`]): a
//!   grid has float32 precision whatever the format (NIfTI's own), and the
//!   same grid read from NIfTI, NRRD or DICOM gives the same numbers.
//! - **Comparisons with a boundary** ([`reaches`], [`at_most`], [`floor`],
//!   [`ceil`], [`round_half_up`], [`round_half_away`]) count a value within
//!   [`RELATIVE_TOLERANCE`] of the boundary (relative to the boundary's
//!   magnitude, at least 1) as lying on it. 10⁻⁶ is far above the error of
//!   double-precision arithmetic (10⁻¹⁵) and of float32 intensities
//!   (6·10⁻⁸ relative), and far below any difference that has a meaning
//!   (a millionth of a voxel, of a bin, of a mask fraction).

/// Relative distance within which a computed value counts as equal to the
/// boundary it is compared with.
pub const RELATIVE_TOLERANCE: f64 = 1e-6;

/// The tolerance around a boundary `b`.
fn tolerance(b: f64) -> f64 {
    RELATIVE_TOLERANCE * b.abs().max(1.0)
}

/// A spacing (mm) as the shortest decimal that identifies its float32
/// value: 0.97699999809 → 0.977, 2.9999999999998486 → 3, 0.9765625 stays.
pub fn normalise_spacing(s: f64) -> f64 {
    let single = s as f32;
    if !single.is_finite() {
        return s;
    }
    // Display prints the shortest decimal that reads back as `single`.
    single.to_string().parse().unwrap_or(s)
}

/// `value >= threshold`, a value within the tolerance below counting as on it.
pub fn reaches(value: f64, threshold: f64) -> bool {
    value >= threshold - tolerance(threshold)
}

/// `value <= bound`, a value within the tolerance above counting as on it.
pub fn at_most(value: f64, bound: f64) -> bool {
    value <= bound + tolerance(bound)
}

/// The integer nearest `x` when `x` is within the tolerance of it.
fn near_integer(x: f64) -> Option<f64> {
    let r = x.round();
    ((x - r).abs() <= tolerance(r)).then_some(r)
}

/// `floor(x)`, with `x` within the tolerance of an integer taken as it.
pub fn floor(x: f64) -> f64 {
    near_integer(x).unwrap_or_else(|| x.floor())
}

/// `ceil(x)`, with `x` within the tolerance of an integer taken as it.
pub fn ceil(x: f64) -> f64 {
    near_integer(x).unwrap_or_else(|| x.ceil())
}

/// The nearest integer, a tie (within the tolerance) going up.
pub fn round_half_up(x: f64) -> f64 {
    floor(x + 0.5)
}

/// The nearest integer, a tie (within the tolerance) going away from zero,
/// as `f64::round` does for exact ties.
pub fn round_half_away(x: f64) -> f64 {
    if x < 0.0 {
        -floor(-x + 0.5)
    } else {
        floor(x + 0.5)
    }
}

/// `x` itself, or the integer it is within the tolerance of: for positions
/// compared with voxel centres (contour vertices in index coordinates).
pub fn snap_to_integer(x: f64) -> f64 {
    near_integer(x).unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacings_from_any_format_meet() {
        assert_eq!(normalise_spacing(2.9999999999998486), 3.0);
        assert_eq!(normalise_spacing(f64::from(0.977f32)), 0.977);
        assert_eq!(normalise_spacing(0.977), 0.977);
        assert_eq!(normalise_spacing(0.9765625), 0.9765625);
        assert_eq!(normalise_spacing(0.68359375), 0.68359375);
        // A genuinely different spacing stays different.
        assert!((normalise_spacing(3.0001) - 3.0001).abs() < 1e-12);
    }

    #[test]
    fn a_rounding_error_does_not_cross_a_boundary() {
        let half_below = 0.5 - 4.0 * f64::EPSILON;
        assert!(half_below < 0.5 && reaches(half_below, 0.5));
        assert!(!reaches(0.4999, 0.5));
        assert!(at_most(400.00000001, 400.0) && !at_most(400.001, 400.0));
        assert_eq!(floor(2.9999999999999996), 3.0);
        assert_eq!(floor(2.9999), 2.0);
        assert_eq!(ceil(90.00000000000001), 90.0);
        assert_eq!(ceil(89.99999999999545), 90.0);
        assert_eq!(ceil(99.654), 100.0);
        assert_eq!(round_half_up(0.49999999999999994), 1.0);
        assert_eq!(round_half_up(-0.5000000000000001), 0.0);
        assert_eq!(round_half_away(-999.4999999999999), -1000.0);
        assert_eq!(round_half_away(-999.4), -999.0);
        assert_eq!(round_half_away(2.5), 3.0);
        assert_eq!(snap_to_integer(4.999999999999), 5.0);
        assert_eq!(snap_to_integer(4.9), 4.9);
    }
}
