//! PyRadiomics 3.0.1 mode: its parameter files, its column names and order,
//! and its feature definitions (binning edges, kurtosis without −3, GLCM
//! symmetry and averaging over angles, mesh-based shape), a second,
//! faithful implementation beside the IBSI one. Shared traversals (zones)
//! are reused where the definitions coincide.

pub mod names;
pub mod params;
