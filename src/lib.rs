//! accessctl: declarative access management for Amazon EKS.
//!
//! `access.yaml` → [`spec::load`] → desired [`model::State`]; live state (read, or a saved
//! snapshot) → [`plan::plan`] → [`plan::Plan`] → [`render`] (text, JSON, Markdown) or apply.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod drift;
/// The properties of the fuzz targets under `fuzz/` (not an API).
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod insight;
pub mod kube;
#[cfg(test)]
mod layers;
pub mod live;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod render;
pub mod retry;
pub mod snapshot;
pub mod spec;
pub(crate) mod suggest;
#[cfg(test)]
mod testing;
pub mod words;
