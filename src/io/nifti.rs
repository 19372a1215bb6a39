//! NIfTI-1 (`.nii`, `.nii.gz`) through the `nifti` crate, with the geometry
//! converted from NIfTI's RAS to radial's LPS.
//!
//! Geometry follows the NIfTI-1 rules: the sform when `sform_code > 0`, else
//! the qform when `qform_code > 0`, else `pixdim` alone (the "old" method).
//! Intensities are scaled by `scl_slope`/`scl_inter` when the slope is non-zero.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use ndarray::Array3;
use nifti::{IntoNdArray, NiftiHeader, NiftiType};

use super::LoadedImage;
use super::atomic::write_via_temporary;
use crate::image::precision::normalise_spacing;
use crate::image::{Geometry, Volume};
use crate::{Error, Result};

/// Reads a 3D NIfTI image (a 4D file with one time point is accepted).
///
/// The voxels are read from the byte the header's `vox_offset` names, past
/// any extensions and padding (the `nifti` crate reads them from byte 352
/// when the header announces no extension, which shifts every voxel of a
/// file with padding). Compression is recognised by the gzip magic number,
/// not by the file name.
pub fn read(path: &Path) -> Result<LoadedImage> {
    check_not_truncated_plain(path)?;
    let mut stream = open_stream(path)?;
    let header = NiftiHeader::from_reader(&mut stream)
        .map_err(|e| Error::format(path, read_error_message(e)))?;
    if header.magic != *b"n+1\0" {
        return Err(Error::format(
            path,
            format!(
                "magic {:?} is not that of a single-file NIfTI-1 image (\"n+1\"); \
                 header/image pairs (.hdr/.img) are not read",
                String::from_utf8_lossy(&header.magic).trim_end_matches('\0')
            ),
        ));
    }
    let dims = spatial_dims(path, &header)?;
    let datatype = header
        .data_type()
        .map_err(|e| Error::format(path, format!("unsupported NIfTI datatype: {e}")))?;
    check_bitpix(path, &header, datatype)?;
    let geometry = geometry_from_header(path, &header)?;
    skip_to_voxels(path, &mut stream, data_offset(path, &header)?)?;
    let array = nifti::InMemNiftiVolume::from_reader(&mut stream, &header)
        .map_err(|e| Error::format(path, read_error_message(e)))?
        .into_ndarray::<f32>()
        .map_err(|e| Error::format(path, format!("cannot decode voxel data: {e}")))?;
    if array.len() != dims.iter().product::<usize>() {
        return Err(Error::format(
            path,
            format!(
                "header dimensions {dims:?} do not match the {} voxels stored",
                array.len()
            ),
        ));
    }
    // The crate yields [x, y, z(, 1)] in Fortran order, i.e. x fastest in
    // memory, which is radial's [z, y, x] C order: reuse the buffer as is.
    let voxels: Vec<f32> = if array.t().is_standard_layout() {
        let (raw, offset) = array.into_raw_vec_and_offset();
        debug_assert_eq!(offset.unwrap_or(0), 0);
        raw
    } else {
        array.t().iter().copied().collect()
    };
    let data = Array3::from_shape_vec((dims[2], dims[1], dims[0]), voxels)
        .map_err(|e| Error::format(path, format!("unexpected voxel layout: {e}")))?;
    Ok(LoadedImage {
        volume: Volume::new(data, geometry),
        datatype: datatype_name(datatype).to_string(),
        path: path.to_path_buf(),
    })
}

/// The size of a NIfTI-1 header; the voxels of a `.nii` file start at or
/// after byte 352 (header plus the 4-byte extension flag).
const HEADER_BYTES: u64 = 348;
const MIN_DATA_OFFSET: u64 = 352;

/// The file's bytes, decompressed when they start with the gzip magic
/// number (whatever the name says).
fn open_stream(path: &Path) -> Result<Box<dyn Read>> {
    let mut file = BufReader::new(File::open(path).map_err(|e| Error::io(path, e))?);
    let gzip = file
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Where the voxels start: `vox_offset`, which must be a whole number of
/// bytes past the header and extension flag.
fn data_offset(path: &Path, header: &NiftiHeader) -> Result<u64> {
    let v = header.vox_offset;
    if !(v.is_finite() && v.fract() == 0.0 && v >= MIN_DATA_OFFSET as f32) {
        return Err(Error::format(
            path,
            format!(
                "vox_offset {v} is not a valid start of the voxel data: a .nii file's voxels \
                 start at a whole byte, 352 or later"
            ),
        ));
    }
    Ok(v as u64)
}

/// Reads past the extension flag, any extensions and padding, up to the
/// first voxel byte.
fn skip_to_voxels(path: &Path, stream: &mut dyn Read, offset: u64) -> Result<()> {
    let gap = offset - HEADER_BYTES;
    let skipped = std::io::copy(&mut stream.take(gap), &mut std::io::sink())
        .map_err(|e| Error::format(path, read_error_message(nifti::NiftiError::Io(e))))?;
    if skipped != gap {
        return Err(Error::format(
            path,
            format!("truncated: the file ends before vox_offset {offset}, where its voxels start"),
        ));
    }
    Ok(())
}

/// `bitpix` decides how many bytes are read; it must agree with the datatype.
fn check_bitpix(path: &Path, header: &NiftiHeader, datatype: NiftiType) -> Result<()> {
    let expected = datatype.size_of() * 8;
    if header.bitpix as usize != expected {
        return Err(Error::format(
            path,
            format!(
                "bitpix {} does not match the datatype {} ({expected} bits per voxel)",
                header.bitpix,
                datatype_name(datatype)
            ),
        ));
    }
    Ok(())
}

/// The `nifti` crate reports a truncated `.nii.gz` as a debug-printed I/O
/// error; say what it means.
fn read_error_message(e: nifti::NiftiError) -> String {
    match e {
        nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("truncated: the file ends before the data the header describes ({io})")
        }
        nifti::NiftiError::Io(io) => format!("cannot read NIfTI: {io}"),
        other => format!("cannot read NIfTI: {other}"),
    }
}

/// For an uncompressed file, a header promising more voxels than the file
/// holds must be reported as such, not as a generic I/O error.
fn check_not_truncated_plain(path: &Path) -> Result<()> {
    let mut magic = [0u8; 2];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    if file.read(&mut magic).map_err(|e| Error::io(path, e))? == 2 && magic == [0x1f, 0x8b] {
        return Ok(()); // compressed: the stream reader reports truncation
    }
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len < 348 {
        return Err(Error::format(
            path,
            format!("file is {len} bytes, shorter than a NIfTI-1 header (348 bytes)"),
        ));
    }
    let header = NiftiHeader::from_reader(BufReader::new(file_at_start(path)?))
        .map_err(|e| Error::format(path, format!("cannot read NIfTI header: {e}")))?;
    let dims = spatial_dims(path, &header)?;
    let bytes_per_voxel = (header.bitpix.max(0) as u64).div_ceil(8);
    let needed =
        data_offset(path, &header)? + dims.iter().product::<usize>() as u64 * bytes_per_voxel;
    if len < needed {
        return Err(Error::format(
            path,
            format!(
                "truncated: the header's dimensions {dims:?} need {needed} bytes, the file has {len}"
            ),
        ));
    }
    Ok(())
}

fn file_at_start(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path, e))
}

fn spatial_dims(path: &Path, header: &NiftiHeader) -> Result<[usize; 3]> {
    let dim = header.dim;
    let rank = dim[0] as usize;
    if !(1..=7).contains(&rank) {
        return Err(Error::format(path, format!("invalid dim[0] = {}", dim[0])));
    }
    let extent = |a: usize| if a <= rank { dim[a] as usize } else { 1 };
    if (4..=rank).any(|a| dim[a] > 1) {
        return Err(Error::format(
            path,
            format!(
                "a {rank}D image with dimensions {:?}: radial reads 3D volumes only",
                &dim[1..=rank]
            ),
        ));
    }
    let dims = [extent(1), extent(2), extent(3)];
    if dims.contains(&0) {
        return Err(Error::format(
            path,
            format!("a dimension is zero: {dims:?}"),
        ));
    }
    Ok(dims)
}

fn datatype_name(t: NiftiType) -> &'static str {
    match t {
        NiftiType::Uint8 => "uint8",
        NiftiType::Int8 => "int8",
        NiftiType::Uint16 => "uint16",
        NiftiType::Int16 => "int16",
        NiftiType::Uint32 => "uint32",
        NiftiType::Int32 => "int32",
        NiftiType::Uint64 => "uint64",
        NiftiType::Int64 => "int64",
        NiftiType::Float32 => "float32",
        NiftiType::Float64 => "float64",
        _ => "other",
    }
}

type Mat3 = [[f64; 3]; 3];

/// Spacing, origin and direction (LPS) from the header's transforms.
fn geometry_from_header(path: &Path, h: &NiftiHeader) -> Result<Geometry> {
    // `linear[r][c]`: RAS row r, voxel axis c, spacing included.
    let (linear, offset): (Mat3, [f64; 3]) = if h.sform_code > 0 {
        let rows = [h.srow_x, h.srow_y, h.srow_z];
        let mut m = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = rows[r][c] as f64;
            }
        }
        (m, [rows[0][3] as f64, rows[1][3] as f64, rows[2][3] as f64])
    } else if h.qform_code > 0 {
        let rot =
            quaternion_to_rotation(h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
        let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let scale = [
            h.pixdim[1] as f64,
            h.pixdim[2] as f64,
            h.pixdim[3] as f64 * qfac,
        ];
        let mut m = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = rot[r][c] * scale[c];
            }
        }
        (
            m,
            [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64],
        )
    } else {
        let mut m = [[0.0; 3]; 3];
        for a in 0..3 {
            m[a][a] = h.pixdim[a + 1] as f64;
        }
        (m, [0.0; 3])
    };
    let mut spacing = [0.0; 3];
    let mut direction = [[0.0; 3]; 3];
    for c in 0..3 {
        let norm = (0..3).map(|r| linear[r][c].powi(2)).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(Error::format(
                path,
                format!("voxel axis {c} has zero or invalid spacing in the header"),
            ));
        }
        spacing[c] = normalise_spacing(norm);
        for r in 0..3 {
            // RAS -> LPS: the first two world axes change sign.
            let flip = if r < 2 { -1.0 } else { 1.0 };
            direction[c][r] = flip * linear[r][c] / norm;
        }
    }
    let origin = [-offset[0], -offset[1], offset[2]];
    Ok(Geometry {
        spacing,
        origin,
        direction,
    })
}

fn quaternion_to_rotation(b: f64, c: f64, d: f64) -> Mat3 {
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ]
}

/// Inverse of [`quaternion_to_rotation`] for a proper rotation (det = +1).
fn rotation_to_quaternion(r: &Mat3) -> [f64; 3] {
    let trace = r[0][0] + r[1][1] + r[2][2];
    let (a, b, c, d);
    if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        a = 0.25 * s;
        b = (r[2][1] - r[1][2]) / s;
        c = (r[0][2] - r[2][0]) / s;
        d = (r[1][0] - r[0][1]) / s;
    } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
        let s = (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt() * 2.0;
        a = (r[2][1] - r[1][2]) / s;
        b = 0.25 * s;
        c = (r[0][1] + r[1][0]) / s;
        d = (r[0][2] + r[2][0]) / s;
    } else if r[1][1] > r[2][2] {
        let s = (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt() * 2.0;
        a = (r[0][2] - r[2][0]) / s;
        b = (r[0][1] + r[1][0]) / s;
        c = 0.25 * s;
        d = (r[1][2] + r[2][1]) / s;
    } else {
        let s = (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt() * 2.0;
        a = (r[1][0] - r[0][1]) / s;
        b = (r[0][2] + r[2][0]) / s;
        c = (r[1][2] + r[2][1]) / s;
        d = 0.25 * s;
    }
    // NIfTI stores (b, c, d) with a >= 0.
    let sign = if a < 0.0 { -1.0 } else { 1.0 };
    [b * sign, c * sign, d * sign]
}

/// Writes a volume as NIfTI-1 (`.nii` or `.nii.gz`, chosen by the name), with
/// both sform and qform set, atomically. `f32` voxels are written as float32,
/// `u8` as uint8 (masks), `i16` as int16.
pub fn write<T>(path: &Path, volume: &Volume<T>) -> Result<()>
where
    T: nifti::DataElement + bytemuck::Pod,
{
    let header = header_for(&volume.geometry);
    write_via_temporary(path, |tmp| {
        nifti::writer::WriterOptions::new(tmp)
            .reference_header(&header)
            .write_nifti(&volume.data.view().reversed_axes())
            .map_err(|e| Error::format(tmp, format!("cannot write NIfTI: {e}")))
    })
}

fn header_for(g: &Geometry) -> NiftiHeader {
    // LPS -> RAS for the stored transform.
    let flip = [-1.0, -1.0, 1.0];
    let mut linear = [[0.0; 3]; 3]; // linear[r][c]
    let mut rotation = [[0.0; 3]; 3];
    for c in 0..3 {
        for r in 0..3 {
            rotation[r][c] = flip[r] * g.direction[c][r];
            linear[r][c] = rotation[r][c] * g.spacing[c];
        }
    }
    let offset = [flip[0] * g.origin[0], flip[1] * g.origin[1], g.origin[2]];
    let det = rotation[0][0] * (rotation[1][1] * rotation[2][2] - rotation[1][2] * rotation[2][1])
        - rotation[0][1] * (rotation[1][0] * rotation[2][2] - rotation[1][2] * rotation[2][0])
        + rotation[0][2] * (rotation[1][0] * rotation[2][1] - rotation[1][1] * rotation[2][0]);
    let qfac = if det < 0.0 { -1.0 } else { 1.0 };
    if qfac < 0.0 {
        for row in rotation.iter_mut() {
            row[2] = -row[2];
        }
    }
    let q = rotation_to_quaternion(&rotation);
    let row = |r: usize| {
        [
            linear[r][0] as f32,
            linear[r][1] as f32,
            linear[r][2] as f32,
            offset[r] as f32,
        ]
    };
    NiftiHeader {
        pixdim: [
            qfac as f32,
            g.spacing[0] as f32,
            g.spacing[1] as f32,
            g.spacing[2] as f32,
            1.0,
            1.0,
            1.0,
            1.0,
        ],
        qform_code: 1,
        sform_code: 1,
        quatern_b: q[0] as f32,
        quatern_c: q[1] as f32,
        quatern_d: q[2] as f32,
        quatern_x: offset[0] as f32,
        quatern_y: offset[1] as f32,
        quatern_z: offset[2] as f32,
        srow_x: row(0),
        srow_y: row(1),
        srow_z: row(2),
        xyzt_units: 2, // millimetres
        ..NiftiHeader::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quaternion_round_trip() {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let r = [[s, -s, 0.0], [s, s, 0.0], [0.0, 0.0, 1.0]];
        let q = rotation_to_quaternion(&r);
        let back = quaternion_to_rotation(q[0], q[1], q[2]);
        for i in 0..3 {
            for j in 0..3 {
                assert!((back[i][j] - r[i][j]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn write_then_read_keeps_voxels_and_geometry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.nii.gz");
        let mut data = Array3::<f32>::zeros((3, 4, 5));
        for ((k, j, i), v) in data.indexed_iter_mut() {
            *v = (100 * k + 10 * j + i) as f32 - 50.5;
        }
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let geometry = Geometry {
            spacing: [0.8, 0.9, 2.5],
            origin: [-120.0, 35.5, 12.0],
            direction: [[s, s, 0.0], [-s, s, 0.0], [0.0, 0.0, 1.0]],
        };
        let v = Volume::new(data, geometry);
        write(&path, &v).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.datatype, "float32");
        assert_eq!(back.volume.data, v.data);
        assert!(back.volume.geometry.differences(&geometry).is_none());
    }
}
