//! The learning layer: a feature table in, a validated estimate of how well a
//! fully specified modelling protocol predicts the outcome out, and a final
//! model for new cases.
//!
//! - [`table`]: the feature table (CSV/Parquet via polars) and its checks.
//! - [`protocol`]: the protocol (the `evaluate` stage's parameters).
//! - [`preprocess`], [`select`], [`models`]: the steps, each fitted on
//!   training rows only, chained by [`fitted`].
//! - [`combat`]: ComBat harmonisation, fitted inside the folds too.
//! - [`cv`]: stratified repeated k-fold splits; [`evaluate`]: outer and
//!   nested cross-validation; [`metrics`]: AUC with CIs and the rest.
//! - [`model`]: the final model artifact; [`recipe`]: how its input
//!   features are extracted from images.

pub mod combat;
pub mod cv;
pub mod evaluate;
pub mod fitted;
pub mod icc;
pub mod metrics;
pub mod model;
pub mod model_check;
pub mod models;
pub mod preprocess;
pub mod protocol;
pub mod recipe;
pub mod select;
pub mod stage;
pub mod stats;
pub mod table;

pub use evaluate::{Evaluation, evaluate};
pub use model::{ModelArtifact, fit_final};
pub use protocol::Protocol;
pub use recipe::ExtractionRecipe;
pub use table::{FeatureTable, TableSpec};
