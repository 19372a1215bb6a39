//! Volumes with geometry, and masks.

pub mod mask;
pub mod precision;
pub mod volume;

pub use mask::{LabelCount, label_counts, select_label};
pub use volume::{Geometry, Volume};
