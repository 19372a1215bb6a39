//! NIfTI voxel data start where the header's `vox_offset` says, past
//! padding and extensions, in `.nii` and `.nii.gz` alike; compression is
//! recognised by content; a header that cannot be trusted is an error.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use radial::image::{Geometry, Volume};
use radial::io::{nifti, read_image};

/// A 5 x 4 x 3 ramp: every voxel different, so any shift shows.
fn ramp() -> Volume<f32> {
    let data = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (100 * k + 10 * j + i) as f32 + 0.5);
    Volume::new(data, Geometry::new([0.8, 0.9, 2.5], [1.0, -2.0, 3.0]))
}

/// The bytes radial writes for the ramp: a 348-byte header, the 4-byte
/// extension flag and the voxels from byte 352.
fn plain_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("ramp.nii");
    nifti::write(&path, &ramp()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        f32::from_le_bytes(bytes[108..112].try_into().unwrap()),
        352.0
    );
    bytes
}

/// Header (with `vox_offset` patched), then `between` (extension flag,
/// extensions, padding), then the voxels.
fn with_gap(plain: &[u8], vox_offset: f32, between: &[u8]) -> Vec<u8> {
    let mut out = plain[..348].to_vec();
    out[108..112].copy_from_slice(&vox_offset.to_le_bytes());
    out.extend_from_slice(between);
    out.extend_from_slice(&plain[352..]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn assert_is_the_ramp(path: &Path) {
    let image = read_image(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        image.volume.data,
        ramp().data,
        "{}: voxels shifted",
        path.display()
    );
}

#[test]
fn padding_after_the_header_is_skipped_in_nii_and_nii_gz() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_bytes(dir.path());
    // No extension (flag 0), then 16 bytes of padding: voxels at 368.
    let mut between = vec![0u8; 4];
    between.extend_from_slice(&[0xAB; 16]);
    let padded = with_gap(&plain, 368.0, &between);
    assert_is_the_ramp(&write(dir.path(), "padded.nii", &padded));
    assert_is_the_ramp(&write(dir.path(), "padded.nii.gz", &gzip(&padded)));
}

#[test]
fn extensions_and_padding_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_bytes(dir.path());
    // Flag 1, one comment extension (esize 24, ecode 6, 16 bytes of text),
    // then 20 bytes of padding: voxels at 352 + 24 + 20 = 396.
    let mut between = vec![1u8, 0, 0, 0];
    between.extend_from_slice(&24i32.to_le_bytes());
    between.extend_from_slice(&6i32.to_le_bytes());
    between.extend_from_slice(b"a comment here..");
    between.extend_from_slice(&[0u8; 20]);
    let extended = with_gap(&plain, 396.0, &between);
    assert_is_the_ramp(&write(dir.path(), "ext.nii", &extended));
    assert_is_the_ramp(&write(dir.path(), "ext.nii.gz", &gzip(&extended)));
    // An extension whose size field is nonsense (0) is not followed: the
    // header's offset alone decides.
    let mut broken = vec![1u8, 0, 0, 0];
    broken.extend_from_slice(&0i32.to_le_bytes());
    broken.extend_from_slice(&[0u8; 12]);
    let odd = with_gap(&plain, 368.0, &broken);
    assert_is_the_ramp(&write(dir.path(), "odd.nii.gz", &gzip(&odd)));
}

#[test]
fn compression_is_recognised_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_bytes(dir.path());
    assert_is_the_ramp(&write(dir.path(), "really-gzip.nii", &gzip(&plain)));
    assert_is_the_ramp(&write(dir.path(), "really-plain.nii.gz", &plain));
}

#[test]
fn an_offset_inside_the_header_or_past_the_end_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_bytes(dir.path());
    for bad in [100.0f32, 351.0, 360.5, f32::NAN, -352.0] {
        let bytes = with_gap(&plain, bad, &[0u8; 4]);
        for name in ["bad.nii", "bad.nii.gz"] {
            let content = if name.ends_with(".gz") {
                gzip(&bytes)
            } else {
                bytes.clone()
            };
            let path = write(dir.path(), name, &content);
            let err = read_image(&path).unwrap_err().to_string();
            assert!(
                err.contains("vox_offset") && err.contains(name),
                "{bad}: {err}"
            );
        }
    }
    // Voxels announced beyond the end of a compressed file.
    let far = with_gap(&plain, 352.0 + 4096.0, &[0u8; 4]);
    let path = write(dir.path(), "far.nii.gz", &gzip(&far));
    let err = read_image(&path).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn bitpix_disagreeing_with_the_datatype_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = plain_bytes(dir.path());
    // float32 (datatype 16) claiming 16 bits per voxel.
    bytes[72..74].copy_from_slice(&16i16.to_le_bytes());
    let path = write(dir.path(), "bitpix.nii.gz", &gzip(&bytes));
    let err = read_image(&path).unwrap_err().to_string();
    assert!(
        err.contains("bitpix 16") && err.contains("float32"),
        "{err}"
    );
}
