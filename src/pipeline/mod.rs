//! The pipeline engine: YAML pipelines ([`spec`]) over a data manifest
//! ([`manifest`]) are planned into a DAG of tasks ([`plan`]), each keyed by
//! SHA-256 over its kind, version, canonical parameters and input content
//! ([`key`]), executed in parallel ([`execute`]) against a content-addressed
//! store ([`store`]) with early cutoff, and recorded ([`runs`], [`lock`]).
//! [`inspect`], [`audit`] and [`gc`] serve the `status`, `dag`, `diff`,
//! `audit` and `gc` commands.
//!
//! Stage kinds live in [`stages`]; the engine knows them only through the
//! [`stages::StageKind`] trait and a [`stages::Registry`].

pub mod artifact;
pub mod audit;
pub mod compare;
pub mod execute;
pub mod executor;
pub mod filehash;
pub mod gc;
pub mod hash;
pub mod inspect;
pub mod key;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod promote;
pub mod recipe;
pub mod runs;
pub mod slurm;
pub mod spec;
pub mod stages;
pub mod store;
pub mod sweep;

pub use execute::{RunOptions, RunOutcome, TaskRecord, TaskStatus, execute};
pub use plan::{Plan, PlanOptions};
pub use stages::Registry;
