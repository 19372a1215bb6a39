//! Receiving a job's files: multipart fields streamed to disk (never held
//! in memory) with the total size capped, each file's SHA-256 computed on
//! the way, its content checked against what its name claims, and a DICOM
//! series `.zip` unpacked with the archive's entry paths, entry count and
//! decompressed size checked (zip-slip, zip bombs). Details name the field
//! and the problem, never the uploaded file's name (it may carry patient
//! data).

use std::io::Read;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::auth::hex;
use super::problem::Problem;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of the uploaded files.
    pub max_upload_bytes: u64,
    /// Total decompressed bytes of a DICOM zip.
    pub max_zip_bytes: u64,
    pub max_zip_entries: usize,
}

/// One uploaded file, stored under the staging directory.
#[derive(Debug)]
pub struct Upload {
    pub original_name: String,
    pub stored: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// The fields of `POST /v1/jobs`.
#[derive(Debug, Default)]
pub struct Submission {
    pub model: Option<String>,
    pub label: Option<i64>,
    pub roi: Option<String>,
    pub case_id: Option<String>,
    pub transaction_id: Option<String>,
    pub image: Option<Upload>,
    pub mask: Option<Upload>,
}

const MAX_TEXT_FIELD: usize = 1024;

pub fn too_large(limits: &Limits) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload exceeds the limit of {} MB (--max-upload-mb)",
            limits.max_upload_bytes / (1024 * 1024)
        ),
    )
}

/// Reads every field, streaming files to `staging`.
pub async fn receive(
    multipart: &mut Multipart,
    staging: &Path,
    limits: &Limits,
) -> Result<Submission, Problem> {
    let mut sub = Submission::default();
    let mut total: u64 = 0;
    let bad_body = |e: axum::extract::multipart::MultipartError| {
        Problem::new(
            e.status(),
            format!("the multipart body is unreadable: {}", e.body_text()),
        )
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad_body)? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "image" | "mask" => {
                let original_name = field.file_name().unwrap_or("").to_string();
                let stored = staging.join(format!("upload-{name}"));
                let mut file = tokio::fs::File::create(&stored)
                    .await
                    .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(bad_body)? {
                    size += chunk.len() as u64;
                    total += chunk.len() as u64;
                    if total > limits.max_upload_bytes {
                        return Err(too_large(limits));
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
                }
                file.flush()
                    .await
                    .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
                if size == 0 {
                    return Err(Problem::unprocessable(format!(
                        "field `{name}`: the file is empty"
                    )));
                }
                let upload = Upload {
                    original_name,
                    stored,
                    sha256: hex(&hasher.finalize()),
                    size,
                };
                let slot = if name == "image" {
                    &mut sub.image
                } else {
                    &mut sub.mask
                };
                if slot.replace(upload).is_some() {
                    return Err(Problem::bad_request(format!(
                        "field `{name}` is given twice"
                    )));
                }
            }
            "model" | "label" | "roi" | "case_id" | "transaction_id" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_body)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > MAX_TEXT_FIELD {
                        return Err(Problem::bad_request(format!(
                            "field `{name}` is longer than {MAX_TEXT_FIELD} bytes"
                        )));
                    }
                }
                let text = String::from_utf8(text)
                    .map_err(|_| Problem::bad_request(format!("field `{name}` is not UTF-8 text")))?
                    .trim()
                    .to_string();
                if text.is_empty() {
                    continue;
                }
                match name.as_str() {
                    "model" => sub.model = Some(text),
                    "label" => {
                        sub.label = Some(text.parse().map_err(|_| {
                            Problem::bad_request(format!(
                                "field `label`: `{text}` is not an integer label value"
                            ))
                        })?)
                    }
                    "roi" => sub.roi = Some(text),
                    "case_id" => sub.case_id = Some(text),
                    _ => sub.transaction_id = Some(text),
                }
            }
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown field `{other}` (expected model, image, mask, label, roi, case_id, \
                     transaction_id)"
                )));
            }
        }
    }
    Ok(sub)
}

/// What an uploaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NiftiGz,
    Nifti,
    Nrrd,
    Zip,
    Dicom,
}

impl Kind {
    fn stored_name(self, field: &str) -> String {
        match self {
            Kind::NiftiGz => format!("{field}.nii.gz"),
            Kind::Nifti => format!("{field}.nii"),
            Kind::Nrrd => format!("{field}.nrrd"),
            Kind::Zip => field.to_string(),
            Kind::Dicom => format!("{field}.dcm"),
        }
    }
}

fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(132);
    std::fs::File::open(path)?.take(132).read_to_end(&mut buf)?;
    Ok(buf)
}

fn content_kind(head: &[u8]) -> Option<Kind> {
    let nifti_size = |b: &[u8]| {
        b.len() >= 4
            && (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == 348
                || u32::from_be_bytes([b[0], b[1], b[2], b[3]]) == 348)
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::NiftiGz)
    } else if head.starts_with(b"PK\x03\x04") {
        Some(Kind::Zip)
    } else if head.starts_with(b"NRRD") {
        Some(Kind::Nrrd)
    } else if head.len() >= 132 && &head[128..132] == b"DICM" {
        Some(Kind::Dicom)
    } else if nifti_size(head) {
        Some(Kind::Nifti)
    } else {
        None
    }
}

fn claimed_kind(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".nii.gz") {
        Some(Kind::NiftiGz)
    } else if lower.ends_with(".nii") {
        Some(Kind::Nifti)
    } else if lower.ends_with(".nrrd") {
        Some(Kind::Nrrd)
    } else if lower.ends_with(".zip") {
        Some(Kind::Zip)
    } else if lower.ends_with(".dcm") {
        Some(Kind::Dicom)
    } else {
        None
    }
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::NiftiGz => "gzip-compressed NIfTI",
        Kind::Nifti => "NIfTI",
        Kind::Nrrd => "NRRD",
        Kind::Zip => "zip",
        Kind::Dicom => "DICOM",
    }
}

/// The kind of an uploaded file from its content, checked against the kind
/// its name claims (when it claims one), and against what the field accepts.
fn checked_kind(field: &str, upload: &Upload, accepted: &[Kind]) -> Result<Kind, Problem> {
    let unsupported = |detail: String| Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail);
    let bytes = head(&upload.stored)
        .map_err(|e| Problem::internal(format!("cannot read the stored upload: {e}")))?;
    let content = content_kind(&bytes);
    let claimed = claimed_kind(&upload.original_name);
    let kind = match (claimed, content) {
        (Some(c), Some(k)) if c == k => k,
        (Some(c), Some(k)) => {
            return Err(unsupported(format!(
                "field `{field}`: the file is named as {} but its content is {}",
                describe(c),
                describe(k)
            )));
        }
        (Some(c), None) => {
            return Err(unsupported(format!(
                "field `{field}`: the file is named as {} but its content is not",
                describe(c)
            )));
        }
        (None, Some(k)) => k,
        (None, None) => {
            return Err(unsupported(format!(
                "field `{field}`: the content is not a recognised format"
            )));
        }
    };
    if !accepted.contains(&kind) {
        let names: Vec<&str> = accepted.iter().map(|&k| describe(k)).collect();
        return Err(unsupported(format!(
            "field `{field}`: {} is not accepted here (expected {})",
            describe(kind),
            names.join(", ")
        )));
    }
    Ok(kind)
}

/// Moves the image upload into `inputs/` (a zip unpacked into `inputs/image/`),
/// returning its path relative to `inputs/`. Blocking: call off the runtime.
pub fn place_image(upload: &Upload, inputs: &Path, limits: &Limits) -> Result<String, Problem> {
    let kind = checked_kind(
        "image",
        upload,
        &[Kind::NiftiGz, Kind::Nifti, Kind::Nrrd, Kind::Zip],
    )?;
    let name = kind.stored_name("image");
    if kind == Kind::Zip {
        let dir = inputs.join(&name);
        unzip_series(&upload.stored, &dir, limits)?;
        let _ = std::fs::remove_file(&upload.stored);
    } else {
        move_into(&upload.stored, &inputs.join(&name))?;
    }
    Ok(name)
}

/// Moves the mask upload into `inputs/`.
pub fn place_mask(upload: &Upload, inputs: &Path) -> Result<String, Problem> {
    let kind = checked_kind(
        "mask",
        upload,
        &[Kind::NiftiGz, Kind::Nifti, Kind::Nrrd, Kind::Dicom],
    )?;
    let name = kind.stored_name("mask");
    move_into(&upload.stored, &inputs.join(&name))?;
    Ok(name)
}

fn move_into(from: &Path, to: &Path) -> Result<(), Problem> {
    std::fs::rename(from, to)
        .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))
}

/// Unpacks a zip holding one DICOM series into `dir` (flat, entries renamed
/// by index). Refuses entries with absolute or `..` paths, more than
/// `max_zip_entries` files, more than `max_zip_bytes` decompressed (counted
/// while decompressing, not trusted from the headers), and a zip holding no
/// DICOM image series or several.
pub fn unzip_series(zip_path: &Path, dir: &Path, limits: &Limits) -> Result<(), Problem> {
    let bad = |detail: String| Problem::unprocessable(format!("field `image`: {detail}"));
    let file = std::fs::File::open(zip_path)
        .map_err(|e| Problem::internal(format!("cannot read the stored upload: {e}")))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip archive: {e}")))?;
    if archive.len() > limits.max_zip_entries {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "field `image`: the zip has {} entries, more than the limit of {}",
                archive.len(),
                limits.max_zip_entries
            ),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
    let mut written: u64 = 0;
    let mut files = 0usize;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("zip entry {index} is unreadable: {e}")))?;
        let raw = entry
            .name()
            .map_err(|e| bad(format!("zip entry {index} has an unreadable name: {e}")))?
            .to_string();
        let unsafe_path = raw.starts_with('/')
            || raw.starts_with('\\')
            || raw.contains(':')
            || raw.split(['/', '\\']).any(|part| part == "..")
            || entry.enclosed_name().is_none();
        if unsafe_path {
            return Err(bad(format!(
                "zip entry {index} has an absolute or `..` path (zip-slip); the archive is refused"
            )));
        }
        if entry.is_dir() {
            continue;
        }
        let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
        if raw.starts_with("__MACOSX/") || base.starts_with('.') || base.is_empty() {
            continue;
        }
        let target = dir.join(format!("{index:06}.dcm"));
        let mut out = std::fs::File::create(&target)
            .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
        let allowance = limits.max_zip_bytes - written;
        let copied = std::io::copy(&mut (&mut entry).take(allowance + 1), &mut out)
            .map_err(|e| bad(format!("zip entry {index} cannot be decompressed: {e}")))?;
        written += copied;
        if written > limits.max_zip_bytes {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "field `image`: the zip decompresses to more than {} MB (limit); refused as \
                     a possible zip bomb",
                    limits.max_zip_bytes / (1024 * 1024)
                ),
            ));
        }
        files += 1;
    }
    if files == 0 {
        return Err(bad("the zip holds no file".to_string()));
    }
    let series = crate::io::dicom::series::list_series(dir).map_err(|_| {
        bad(format!(
            "the zip holds no DICOM image series ({files} files)"
        ))
    })?;
    match series.len() {
        1 => Ok(()),
        0 => Err(bad(format!(
            "the zip holds no DICOM image series ({files} files)"
        ))),
        n => {
            let counts: Vec<String> = series.iter().map(|(_, c)| c.to_string()).collect();
            Err(bad(format!(
                "the zip holds {n} DICOM image series (of {} slices); upload one series",
                counts.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_kinds() {
        assert_eq!(content_kind(&[0x1f, 0x8b, 8]), Some(Kind::NiftiGz));
        assert_eq!(content_kind(b"NRRD0004\n"), Some(Kind::Nrrd));
        assert_eq!(content_kind(&348u32.to_le_bytes()), Some(Kind::Nifti));
        assert_eq!(content_kind(b"hello"), None);
        assert_eq!(claimed_kind("A.NII.GZ"), Some(Kind::NiftiGz));
    }
}
