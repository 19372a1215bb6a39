// Index loops over small fixed axes (x, y, z) read better than iterator chains.
#![allow(clippy::needless_range_loop)]
//! radial: a radiomics engine conforming to IBSI chapters 1 and 2, and a
//! declarative, content-addressed pipeline runner.
//!
//! Layout (one job per module):
//! - [`image`]: the [`image::Volume`] type with its geometry, masks.
//! - [`io`]: readers (NIfTI, NRRD, DICOM series, RTSTRUCT) and the NIfTI writer.
//! - [`processing`]: the IBSI image processing chain (interpolation,
//!   re-segmentation, discretisation).
//! - [`features`]: the IBSI feature families.
//! - [`filters`]: the IBSI chapter 2 convolutional filters.
//! - [`pipeline`]: YAML pipelines, planning, the content-addressed store, execution.
//! - [`learn`]: feature selection, classifiers, cross-validation, metrics.
//! - [`report`]: HTML reports.
//! - [`synth`]: the synthetic liver lesion cohort generator.
//! - [`cli`]: the `radial` command line.

pub mod cli;
pub mod compat;
pub mod data;
pub mod error;
pub mod extract;
pub mod features;
pub mod filters;
pub mod image;
pub mod io;
pub mod learn;
pub mod pipeline;
pub mod predict;
pub mod processing;
pub mod report;
pub mod serve;
pub mod synth;

pub use error::{Error, Result};

/// The version recorded in run records and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
