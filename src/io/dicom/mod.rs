//! DICOM: CT series, RTSTRUCT, SEG.

pub mod rtstruct;
pub mod seg;
pub mod series;

use std::path::Path;

use dicom_core::Tag;
use dicom_object::DefaultDicomObject;

use crate::{Error, Result};

fn element<'a>(
    obj: &'a DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &str,
) -> Result<&'a dicom_object::mem::InMemElement> {
    obj.element(tag)
        .map_err(|_| Error::format(path, format!("the attribute {name} {tag} is missing")))
}

/// A text attribute of a data set or sequence item, trimmed of DICOM
/// padding; `None` when absent or empty.
pub(crate) fn item_text(item: &dicom_object::InMemDicomObject, tag: Tag) -> Option<String> {
    item.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .filter(|s| !s.is_empty())
}

/// A text attribute, trimmed of DICOM padding.
pub(crate) fn attribute_str(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &str,
) -> Result<String> {
    let e = element(obj, path, tag, name)?;
    e.to_str()
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .map_err(|err| Error::format(path, format!("{name} is not text: {err}")))
}

pub(crate) fn attribute_f64(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &str,
) -> Result<f64> {
    element(obj, path, tag, name)?
        .to_float64()
        .map_err(|err| Error::format(path, format!("{name} is not a number: {err}")))
}

pub(crate) fn attribute_multi_f64(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &str,
) -> Result<Vec<f64>> {
    element(obj, path, tag, name)?
        .to_multi_float64()
        .map_err(|err| Error::format(path, format!("{name} is not a list of numbers: {err}")))
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// What a single DICOM file holds, as far as choosing a reader goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// A DICOM-SEG (Modality SEG).
    Segmentation,
    /// An RTSTRUCT (Modality RTSTRUCT): contours of named ROIs.
    StructureSet,
    /// One image slice (it has rows, columns and a position).
    ImageSlice,
    /// Anything else, with its Modality when it has one.
    Other(Option<String>),
}

/// The kind of DICOM file at `path`, or `None` when it is not a DICOM file
/// (no "DICM" marker after the 128-byte preamble). Reads the header only.
pub fn file_kind(path: &Path) -> Option<FileKind> {
    use std::io::Read;
    let mut head = [0u8; 132];
    let mut file = std::fs::File::open(path).ok()?;
    file.read_exact(&mut head).ok()?;
    if &head[128..132] != b"DICM" {
        return None;
    }
    let obj = dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .open_file(path)
        .ok()?;
    use dicom_dictionary_std::tags;
    let modality = item_text(&obj, tags::MODALITY);
    Some(match modality.as_deref() {
        Some("SEG") => FileKind::Segmentation,
        Some("RTSTRUCT") => FileKind::StructureSet,
        _ if [tags::ROWS, tags::COLUMNS, tags::IMAGE_POSITION_PATIENT]
            .iter()
            .all(|&t| obj.element_opt(t).ok().flatten().is_some()) =>
        {
            FileKind::ImageSlice
        }
        _ => FileKind::Other(modality),
    })
}
