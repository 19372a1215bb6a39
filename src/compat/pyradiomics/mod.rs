//! PyRadiomics 3.0.1 mode: its parameter files, its column names and order,
//! and its feature definitions (binning edges, kurtosis without −3, GLCM
//! symmetry and averaging over angles, NGTDM counting isolated voxels,
//! mesh-based shape), a second, faithful implementation beside the IBSI one.
//! The texture classes walk the ROI's levels on one padded array
//! (`lattice`); the marching-cubes surface is PyRadiomics' own (`mesh`),
//! not IBSI's.

pub mod batch;
pub mod binning;
pub mod diagnostics;
pub mod eigen;
pub mod extract;
pub mod firstorder;
pub mod glcm;
pub mod glrlm;
pub mod glszm;
pub mod gradient;
pub mod grid;
pub mod intensity;
pub mod lattice;
pub mod lbp;
pub mod lbp3d;
pub mod log;
pub mod mask_geometry;
pub mod mesh;
pub mod names;
pub mod neighbours;
pub mod params;
pub mod resample;
pub mod resegment;
pub mod roi;
pub mod shape;
pub mod shape2d;
pub mod texture;
pub mod wavelet;

pub use extract::{Cell, Row, extract_files, extract_stored, extract_typed};
pub use params::Params;
