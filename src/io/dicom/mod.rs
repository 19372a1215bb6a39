//! DICOM: CT series, RTSTRUCT.

pub mod rtstruct;
pub mod series;
