//! PyRadiomics' `diagnostics_*` columns, in its order. Reproduced exactly:
//! dimensionality, spacing, size, image mean/minimum/maximum, the mask's
//! bounding box, voxel count, number of 26-connected volumes and centre of
//! mass (index and physical). radial's own values under PyRadiomics' names:
//! the versions (radial's), the configuration (radial's rendering of the
//! settings) and the hashes (SHA-256 of radial's voxel data, not SimpleITK's
//! SHA-1 of the file's pixel buffer).

use sha2::{Digest, Sha256};

use super::extract::{Cell, Row};
use super::intensity::IntensityMap;
use super::params::Params;
use crate::image::Volume;

/// Python's `repr` of a tuple of floats.
fn float_tuple(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("({})", parts.join(", "))
}

fn int_tuple(v: &[usize]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("({})", parts.join(", "))
}

fn text(name: &str, value: impl Into<String>) -> (String, Cell) {
    (format!("diagnostics_{name}"), Cell::Text(value.into()))
}

fn number(name: &str, value: f64) -> (String, Cell) {
    (format!("diagnostics_{name}"), Cell::Number(value))
}

fn hash<T: Copy, const N: usize>(v: &Volume<T>, bytes: impl Fn(T) -> [u8; N]) -> String {
    let mut h = Sha256::new();
    // The same byte stream fed in blocks (the digest does not depend on
    // how the stream is cut), not one call per voxel.
    let mut block: Vec<u8> = Vec::with_capacity(1 << 16);
    for &x in v.data.iter() {
        block.extend_from_slice(&bytes(x));
        if block.len() >= (1 << 16) - N {
            h.update(&block);
            block.clear();
        }
    }
    h.update(&block);
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn diagnostics(image: &Volume<f32>, mask: &Volume<bool>, params: &Params) -> Row {
    let g = &image.geometry;
    let dims = image.dims();
    let n = image.data.len() as f64;
    let mean = image.data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let min = image.data.iter().copied().fold(f32::INFINITY, f32::min);
    let max = image.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let types: Vec<String> = params
        .image_types
        .iter()
        .map(|(t, _)| format!("'{}': {{}}", t.name()))
        .collect();
    let mut row = vec![
        text(
            "Versions_PyRadiomics",
            format!("radial {} (PyRadiomics 3.0.1 mode)", crate::VERSION),
        ),
        text("Versions_Numpy", "not used by radial"),
        text("Versions_SimpleITK", "not used by radial"),
        text("Versions_PyWavelet", "not used by radial"),
        text("Versions_Python", "not used by radial"),
        text("Configuration_Settings", format!("{:?}", params.settings)),
        text(
            "Configuration_EnabledImageTypes",
            format!("{{{}}}", types.join(", ")),
        ),
        text("Image-original_Hash", hash(image, |v: f32| v.to_le_bytes())),
        text("Image-original_Dimensionality", "3D"),
        text("Image-original_Spacing", float_tuple(&g.spacing)),
        text("Image-original_Size", int_tuple(&dims)),
        number("Image-original_Mean", mean),
        number("Image-original_Minimum", f64::from(min)),
        number("Image-original_Maximum", f64::from(max)),
        text("Mask-original_Hash", hash(mask, |v: bool| [u8::from(v)])),
    ];
    row.extend(mask_elements("original", mask, None));
    row
}

/// The `Image-<prefix>_*` columns of a processed image: spacing, size,
/// mean, minimum and maximum of every voxel.
pub fn image_elements(prefix: &str, image: &Volume<f32>) -> Row {
    let n = image.data.len() as f64;
    let mean = image.data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let min = image.data.iter().copied().fold(f32::INFINITY, f32::min);
    let max = image.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let name = |field: &str| format!("Image-{prefix}_{field}");
    vec![
        text(&name("Spacing"), float_tuple(&image.geometry.spacing)),
        text(&name("Size"), int_tuple(&image.dims())),
        number(&name("Mean"), mean),
        number(&name("Minimum"), f64::from(min)),
        number(&name("Maximum"), f64::from(max)),
    ]
}

/// The `Mask-<prefix>_*` columns of a mask: spacing, size, bounding box,
/// voxel count, 26-connected volumes, centre of mass (index and physical),
/// and with the image (and its intensity map), the ROI's mean, minimum and
/// maximum, as PyRadiomics adds them for a processed mask.
pub fn mask_elements(
    prefix: &str,
    mask: &Volume<bool>,
    image: Option<(&Volume<f32>, &IntensityMap)>,
) -> Row {
    let g = &mask.geometry;
    let name = |field: &str| format!("Mask-{prefix}_{field}");
    let mut row = vec![
        text(&name("Spacing"), float_tuple(&g.spacing)),
        text(&name("Size"), int_tuple(&mask.dims())),
    ];
    let bounds = crate::processing::crop::bounding_box(&mask.data).unwrap_or([(0, 0); 3]);
    let bbox = [
        bounds[0].0,
        bounds[1].0,
        bounds[2].0,
        bounds[0].1 - bounds[0].0,
        bounds[1].1 - bounds[1].0,
        bounds[2].1 - bounds[2].0,
    ];
    let (mut count, mut sum) = (0usize, [0.0f64; 3]);
    for ((k, j, i), &m) in mask.data.indexed_iter() {
        if m {
            count += 1;
            sum[0] += i as f64;
            sum[1] += j as f64;
            sum[2] += k as f64;
        }
    }
    let centre = sum.map(|s| s / count.max(1) as f64);
    row.push(text(&name("BoundingBox"), int_tuple(&bbox)));
    row.push(number(&name("VoxelNum"), count as f64));
    row.push(number(
        &name("VolumeNum"),
        connected_components(mask) as f64,
    ));
    row.push(text(&name("CenterOfMassIndex"), float_tuple(&centre)));
    row.push(text(
        &name("CenterOfMass"),
        float_tuple(&g.index_to_physical(centre)),
    ));
    if let Some((image, values)) = image {
        let inside = super::intensity::roi_values(image, mask, values);
        let n = inside.len().max(1) as f64;
        row.push(number(&name("Mean"), inside.iter().sum::<f64>() / n));
        row.push(number(
            &name("Minimum"),
            inside.iter().copied().fold(f64::INFINITY, f64::min),
        ));
        row.push(number(
            &name("Maximum"),
            inside.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ));
    }
    row
}

/// Number of 26-connected components of the mask (PyRadiomics runs
/// SimpleITK's ConnectedComponent fully connected).
fn connected_components(mask: &Volume<bool>) -> usize {
    let m = &mask.data;
    let shape = m.shape();
    let mut seen = ndarray::Array3::<bool>::from_elem(m.raw_dim(), false);
    let mut components = 0;
    let mut stack = Vec::new();
    let steps: Vec<[i32; 3]> = super::roi::angles(&[1])
        .into_iter()
        .flat_map(|d| [d, d.map(|c| -c)])
        .collect();
    for ((k, j, i), &inside) in m.indexed_iter() {
        if !inside || seen[[k, j, i]] {
            continue;
        }
        components += 1;
        seen[[k, j, i]] = true;
        stack.push([k, j, i]);
        while let Some(p) = stack.pop() {
            for &d in &steps {
                if let Some(q) = super::roi::step(shape, p, d)
                    && m[q]
                    && !seen[q]
                {
                    seen[q] = true;
                    stack.push(q);
                }
            }
        }
    }
    components
}
