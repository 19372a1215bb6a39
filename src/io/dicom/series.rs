//! DICOM image series reader (not implemented yet).

use std::path::Path;

use crate::io::LoadedImage;
use crate::{Error, Result};

pub fn read(path: &Path) -> Result<LoadedImage> {
    Err(Error::format(
        path,
        "DICOM series reading is not implemented yet",
    ))
}
