//! NRRD reader (not implemented yet).

use std::path::Path;

use super::LoadedImage;
use crate::{Error, Result};

pub fn read(path: &Path) -> Result<LoadedImage> {
    Err(Error::format(path, "NRRD reading is not implemented yet"))
}
