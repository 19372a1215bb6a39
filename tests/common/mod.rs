//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The reference data directory (`$RADIAL_DATA_DIR`, default `../shared/data`
/// from the crate root), or `None` after saying loudly that the calling test
/// is skipped. With `RADIAL_REQUIRE_DATA=1` (as in CI) absence is a failure.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("RADIAL_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    if std::env::var("RADIAL_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!(
            "{test}: reference data not found at {} (RADIAL_REQUIRE_DATA=1)",
            dir.display()
        );
    }
    eprintln!(
        "\n*** SKIPPED {test}: reference data not found at {} (set RADIAL_DATA_DIR) ***\n",
        dir.display()
    );
    None
}

/// The `radial` binary built for this test run.
pub fn radial_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_radial"))
}
