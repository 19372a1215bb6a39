//! Where the reference data live (IBSI phantoms, PyRadiomics samples, WDBC):
//! `$RADIAL_DATA_DIR`, by default `../shared/data` from the working directory.
//! Tests and the `wdbc` pipeline find them the same way.

use std::path::PathBuf;

pub const DATA_DIR_VARIABLE: &str = "RADIAL_DATA_DIR";
pub const DEFAULT_DATA_DIR: &str = "../shared/data";

pub fn reference_data_dir() -> PathBuf {
    std::env::var_os(DATA_DIR_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}
