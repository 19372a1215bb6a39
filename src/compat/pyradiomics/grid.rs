//! The voxel spacing as SimpleITK reads it, for PyRadiomics' resampling.
//!
//! radial normalises spacings on reading (see `image::precision`): an NRRD
//! `space directions` norm of 0.78124999999999989 becomes 0.78125. SimpleITK
//! keeps the norm as computed, and PyRadiomics' resampling grid inherits it:
//! where the grid places a voxel centre exactly halfway between two input
//! voxels (1 mm from 0.5 mm or 6.5 mm), that last bit decides which voxel
//! the nearest-neighbour mask takes. So PyRadiomics mode takes the spacing
//! back from the file: the NRRD header's vector norms, NIfTI's float32
//! `pixdim` (the single-precision value radial's normalised spacing
//! identifies). Other formats keep radial's spacing.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// SimpleITK's spacing of the image at `path`, given radial's (normalised) one.
pub fn simpleitk_spacing(path: &Path, radial: [f64; 3]) -> Result<[f64; 3]> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".nrrd") || name.ends_with(".nhdr") {
        Ok(nrrd_spacing(path)?.unwrap_or(radial))
    } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        Ok(radial.map(|s| f64::from(s as f32)))
    } else {
        Ok(radial)
    }
}

/// The norms of the header's `space directions` (or its `spacings`).
fn nrrd_spacing(path: &Path) -> Result<Option<[f64; 3]>> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&head);
    let header = text.split("\n\n").next().unwrap_or("");
    for line in header.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "space directions" => {
                let mut out = [0.0; 3];
                let vectors: Vec<&str> = value.split_whitespace().collect();
                if vectors.len() != 3 {
                    return Ok(None);
                }
                for (a, v) in vectors.iter().enumerate() {
                    let inner = v.trim_start_matches('(').trim_end_matches(')');
                    let parts: Option<Vec<f64>> =
                        inner.split(',').map(|p| p.trim().parse().ok()).collect();
                    match parts {
                        Some(p) if p.len() == 3 => {
                            out[a] = p.iter().map(|x| x * x).sum::<f64>().sqrt()
                        }
                        _ => return Ok(None),
                    }
                }
                return Ok(Some(out));
            }
            "spacings" => {
                let parts: Option<Vec<f64>> =
                    value.split_whitespace().map(|p| p.parse().ok()).collect();
                if let Some(p) = parts.filter(|p| p.len() == 3) {
                    return Ok(Some([p[0], p[1], p[2]]));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}
