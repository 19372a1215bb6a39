//! The memory a setting implies, estimated before anything is allocated.
//!
//! Some settings scale an allocation by a factor no input file limits: a
//! fine interpolation spacing (`interpolation.spacing: [0.001, 0.001,
//! 0.001]` asks for a grid of 10^11 voxels), a huge texture distance (the
//! texture grid is padded by it on every side), an enormous number of grey
//! levels (the histogram and texture features keep arrays indexed by grey
//! level). Allocating first would abort the process; instead each such
//! step estimates its largest allocations and refuses, naming the setting
//! and the figure, when they exceed the memory limit: the machine's
//! physical memory, or `RADIAL_MEMORY_LIMIT` (bytes, or with a K, M, G or
//! T suffix, powers of 1024) when set.

use crate::{Error, Result};

/// The environment variable that overrides the memory limit.
pub const LIMIT_VARIABLE: &str = "RADIAL_MEMORY_LIMIT";

/// Used when the physical memory cannot be read (not Linux).
const FALLBACK_LIMIT: f64 = 16.0 * GIB;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes per grey level of the arrays indexed by level: the histogram's
/// counts (8), the texture grid's dense level map (4), the GLCM's
/// difference and sum marginals (8 + 16), the NGTDM tone sums (8 + 8).
pub const BYTES_PER_GREY_LEVEL: f64 = 52.0;

/// Refuses `bytes` (an estimate for `what`) when above the memory limit,
/// with an error naming `setting`.
pub fn check(setting: &str, what: &str, bytes: f64) -> Result<()> {
    let limit = memory_limit()?;
    if bytes <= limit {
        return Ok(());
    }
    Err(Error::setting(
        setting,
        format!(
            "{what} would need about {} of memory, more than the {} available \
             (the limit is the physical memory, or {LIMIT_VARIABLE} when set)",
            human_bytes(bytes),
            human_bytes(limit)
        ),
    ))
}

/// The memory limit in bytes.
pub fn memory_limit() -> Result<f64> {
    match std::env::var(LIMIT_VARIABLE) {
        Ok(text) => parse_size(&text).ok_or_else(|| {
            Error::setting(
                LIMIT_VARIABLE,
                format!("`{text}` is not a size (e.g. 8G, 512M or a number of bytes)"),
            )
        }),
        Err(_) => Ok(physical_memory().unwrap_or(FALLBACK_LIMIT)),
    }
}

/// `8G`, `512M`, `1.5T`, `1048576`: a positive size in bytes.
fn parse_size(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let factor = match unit {
        'B' => 1.0,
        'K' => 1024.0,
        'M' => 1024.0 * 1024.0,
        'G' => GIB,
        'T' => 1024.0 * GIB,
        _ => return None,
    };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v * factor)
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn physical_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// `584 GB`, `34.1 GB`, `120 MB`: decimal units, as people read sizes.
pub fn human_bytes(bytes: f64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if !v.is_finite() || bytes >= 1e21 {
        return "more than 1000 EB".into();
    }
    if u == 0 || v >= 100.0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The number of voxels of a box, as a float (no overflow for absurd grids).
pub fn voxels(dims: [usize; 3]) -> f64 {
    dims.iter().map(|&d| d as f64).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1024"), Some(1024.0));
        assert_eq!(parse_size("8G"), Some(8.0 * GIB));
        assert_eq!(parse_size(" 1.5k "), Some(1536.0));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("5Q"), None);
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(human_bytes(584e9), "584 GB");
        assert_eq!(human_bytes(34.1e9), "34.1 GB");
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(f64::INFINITY), "more than 1000 EB");
    }

    #[test]
    fn an_estimate_above_the_limit_names_the_setting_and_both_figures() {
        let e = check("texture.distance", "a padded grid", 1e30)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`texture.distance`") && e.contains("1000 EB"),
            "{e}"
        );
        check("texture.distance", "a padded grid", 1024.0).unwrap();
    }
}
